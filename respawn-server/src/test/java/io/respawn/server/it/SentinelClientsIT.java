package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.ReadFrom;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.masterreplica.MasterReplica;
import io.lettuce.core.masterreplica.StatefulRedisMasterReplicaConnection;
import io.respawn.server.solo.sentinel.HostPort;
import io.respawn.server.solo.sentinel.MasterBoard;
import io.respawn.server.solo.sentinel.MasterView;
import io.respawn.server.solo.sentinel.SentinelEndpoint;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisSentinelPool;

/**
 * Real Sentinel clients against the Sentinel endpoint, with two real {@code respawn server}
 * processes as the master before and after a switch: Jedis's {@code JedisSentinelPool},
 * Lettuce's {@code RedisClient} and {@code MasterReplica} with a {@code redis-sentinel} URI, and
 * redis-py's {@code Sentinel} in a {@code /usr/bin/python3} process. The endpoint runs in this
 * JVM on a {@link MasterBoard}, switched by the test the way the monitor switches it.
 *
 * <p>First the master is killed (kill -9) and the board switched to the other server: every
 * client must write to the new master, checked by reading the value there with a plain client.
 * Then the first server comes back and the board is switched to it while the second still runs:
 * the clients that listen to {@code +switch-master} (Jedis's pool, Lettuce's MasterReplica)
 * must move on that event alone.
 */
class SentinelClientsIT {
  static final Path PYTHON = Path.of("/usr/bin/python3");
  /** Generous: the machine running the tests may be loaded; this test checks following. */
  static final int CLIENT_TIMEOUT_MILLIS = 5_000;
  static final long RECOVER_SECONDS = 60;

  @TempDir Path tmp;

  /** redis-py: writes before, waits for "go", then writes again through the same client. */
  private static final String PY_CLIENT = """
      import sys, time
      import redis
      from redis.sentinel import Sentinel
      port, recover = int(sys.argv[1]), float(sys.argv[2])
      sentinel = Sentinel([('127.0.0.1', port)], socket_timeout=5, socket_connect_timeout=5)
      master = sentinel.master_for('mymaster', socket_timeout=5, socket_connect_timeout=5)
      def write(key, value):
          deadline = time.time() + recover
          errors = 0
          while True:
              try:
                  master.set(key, value)
                  return errors
              except (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError):
                  errors += 1
                  if time.time() > deadline:
                      raise
                  time.sleep(0.1)
      write('py:before', 'p1')
      assert master.get('py:before') == b'p1'
      print('BEFORE', sentinel.discover_master('mymaster')[1], flush=True)
      print('READY', flush=True)
      sys.stdin.readline()
      errors = write('py:after', 'p2')
      print('AFTER', sentinel.discover_master('mymaster')[1], errors, flush=True)
      """;

  private static boolean pythonRedisAvailable() throws InterruptedException {
    try {
      return Files.isExecutable(PYTHON) && new ProcessBuilder(PYTHON.toString(), "-c",
          "import redis.sentinel").start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    }
  }

  /** Calls {@code op} until it returns without throwing, at most RECOVER_SECONDS. */
  private static <T> T retry(String what, Callable<T> op) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RECOVER_SECONDS);
    while (true) {
      try {
        return op.call();
      } catch (Exception e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(what + " did not succeed within " + RECOVER_SECONDS + " s", e);
        }
        Thread.sleep(100);
      }
    }
  }

  /** {@code op} until the value written lands on {@code port} (read back by a plain client). */
  private static void writeUntilOn(String what, int port, String key, String value,
      Callable<?> write) throws Exception {
    retry(what, () -> {
      write.call();
      try (Jedis direct = new Jedis("127.0.0.1", port)) {
        String there = direct.get(key);
        if (!value.equals(there)) {
          throw new IllegalStateException(key + " not on port " + port + " yet: " + there);
        }
      }
      return null;
    });
  }

  @Test
  void jedisLettuceAndRedisPyFollowASwitchOfMaster() throws Exception {
    boolean python = pythonRedisAvailable();
    int portA = ServerProcess.freePort();
    int portB = ServerProcess.freePort();
    MasterBoard board = new MasterBoard();
    HostPort a = new HostPort("127.0.0.1", portA);
    HostPort b = new HostPort("127.0.0.1", portB);
    ServerProcess serverA = ServerProcess.start(tmp.resolve("a"), portA);
    try (ServerProcess serverB = ServerProcess.start(tmp.resolve("b"), portB)) {
      board.put(MasterView.serving("mymaster", a, 1, 0, 1_000, 10_000));
      try (SentinelEndpoint sentinel = SentinelEndpoint.start("127.0.0.1", 0, board)) {
        JedisClientConfig config = DefaultJedisClientConfig.builder()
            .connectionTimeoutMillis(CLIENT_TIMEOUT_MILLIS)
            .socketTimeoutMillis(CLIENT_TIMEOUT_MILLIS).build();
        RedisURI sentinelUri = RedisURI.Builder.sentinel("127.0.0.1", sentinel.port(), "mymaster")
            .withTimeout(Duration.ofMillis(CLIENT_TIMEOUT_MILLIS)).build();
        RedisClient lettuceClient = RedisClient.create();
        Process py = python ? new ProcessBuilder(PYTHON.toString(), "-c", PY_CLIENT,
            Integer.toString(sentinel.port()), Long.toString(RECOVER_SECONDS))
            .redirectErrorStream(true).start() : null;
        try (JedisSentinelPool pool = new JedisSentinelPool("mymaster",
                Set.of(new HostAndPort("127.0.0.1", sentinel.port())), config, config);
            StatefulRedisConnection<String, String> plain = lettuceClient.connect(sentinelUri);
            StatefulRedisMasterReplicaConnection<String, String> masterReplica =
                MasterReplica.connect(lettuceClient, StringCodec.UTF8, sentinelUri)) {
          masterReplica.setReadFrom(ReadFrom.UPSTREAM);
          RedisCommands<String, String> lettuce = plain.sync();
          RedisCommands<String, String> lettuceMr = masterReplica.sync();

          // Before: every client found A through the sentinel.
          assertThat(pool.getCurrentHostMaster().getPort()).isEqualTo(portA);
          writeUntilOn("Jedis before", portA, "jedis:0", "j0", () -> {
            try (Jedis j = pool.getResource()) {
              return j.set("jedis:0", "j0");
            }
          });
          writeUntilOn("Lettuce before", portA, "lettuce:0", "l0", () -> lettuce.set("lettuce:0",
              "l0"));
          writeUntilOn("Lettuce MasterReplica before", portA, "mr:0", "m0",
              () -> lettuceMr.set("mr:0", "m0"));
          BufferedReader pyOut = null;
          StringBuilder pyLog = new StringBuilder();
          if (py != null) {
            pyOut = new BufferedReader(new InputStreamReader(py.getInputStream(),
                StandardCharsets.UTF_8));
            String line;
            while ((line = pyOut.readLine()) != null && !line.equals("READY")) {
              pyLog.append(line).append('\n');
            }
            assertThat(line).as("redis-py before the kill:\n" + pyLog).isEqualTo("READY");
            assertThat(pyLog.toString()).contains("BEFORE " + portA);
          }

          // Failover: A dies, then the monitor points clients at B.
          serverA.kill9();
          board.switchMaster("mymaster", b);
          if (py != null) {
            Writer pyIn = new java.io.OutputStreamWriter(py.getOutputStream(),
                StandardCharsets.UTF_8);
            pyIn.write("go\n");
            pyIn.flush();
          }
          writeUntilOn("Jedis after the kill", portB, "jedis:1", "j1", () -> {
            try (Jedis j = pool.getResource()) {
              return j.set("jedis:1", "j1");
            }
          });
          writeUntilOn("Lettuce after the kill", portB, "lettuce:1", "l1",
              () -> lettuce.set("lettuce:1", "l1"));
          writeUntilOn("Lettuce MasterReplica after the kill", portB, "mr:1", "m1",
              () -> lettuceMr.set("mr:1", "m1"));
          assertThat(pool.getCurrentHostMaster().getPort()).isEqualTo(portB);
          if (py != null) {
            String line;
            while ((line = pyOut.readLine()) != null) {
              pyLog.append(line).append('\n');
            }
            assertThat(py.waitFor(RECOVER_SECONDS + 10, TimeUnit.SECONDS)).isTrue();
            assertThat(py.exitValue()).as("redis-py:\n" + pyLog).isZero();
            assertThat(pyLog.toString()).contains("AFTER " + portB);
            try (Jedis direct = new Jedis("127.0.0.1", portB)) {
              assertThat(direct.get("py:after")).isEqualTo("p2");
            }
          }

          // A live switch back to a restarted A, B still serving: only the event tells clients.
          serverA = ServerProcess.start(tmp.resolve("a"), portA);
          board.switchMaster("mymaster", a);
          // The pool hears the event on its own thread. A connection borrowed before that and
          // returned after it would stay in the pool, still to B: Jedis checks a pooled
          // connection against its factory's address, which the event has already changed, not
          // against the socket's. (The monitor never leaves the old master serving: it is fenced
          // and exits, which breaks such a connection.) So the test waits for the event first.
          retry("Jedis's pool hearing +switch-master", () -> {
            if (pool.getCurrentHostMaster().getPort() != portA) {
              throw new IllegalStateException("pool's master " + pool.getCurrentHostMaster());
            }
            return null;
          });
          writeUntilOn("Jedis after the live switch", portA, "jedis:2", "j2", () -> {
            try (Jedis j = pool.getResource()) {
              String r = j.set("jedis:2", "j2");
              String served = j.info("server");
              if (!served.contains("tcp_port:" + portA + "\r\n")) {
                throw new IllegalStateException("Jedis wrote to the server whose INFO says "
                    + served.lines().filter(l -> l.startsWith("tcp_port:")).findFirst()
                    + "; pool's master " + pool.getCurrentHostMaster() + "; sentinel says "
                    + board.master("mymaster").address());
              }
              return r;
            }
          });
          writeUntilOn("Lettuce MasterReplica after the live switch", portA, "mr:2", "m2",
              () -> lettuceMr.set("mr:2", "m2"));
          try (Jedis direct = new Jedis("127.0.0.1", portA)) {
            // A's data survived its kill -9 (the server's own durability), so did B's writes.
            assertThat(direct.get("jedis:0")).isEqualTo("j0");
          }
        } finally {
          if (py != null && py.isAlive()) {
            py.destroyForcibly();
          }
          lettuceClient.shutdown();
        }
      }
    } finally {
      serverA.close();
    }
    Assumptions.assumeTrue(python,
        "python3 with the redis package (python3-redis) not installed: redis-py not checked");
  }
}
