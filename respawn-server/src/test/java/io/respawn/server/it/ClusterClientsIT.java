package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisURI;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.JedisCluster;

/**
 * Redis Cluster clients, used unchanged and configured as a user would, against a three-process
 * shard (1+1+1): JedisCluster, Lettuce's cluster client, {@code redis-cli -c} and redis-py's
 * {@code RedisCluster} each write and read through a member that is not the primary, then the
 * primary's process is killed with {@code kill -9}; each client (the same client object, for the
 * long-lived ones) must write and read again after the failover, and every value acknowledged
 * before the kill must still be there. Once the killed member has restarted and leadership has
 * been handed back to it, JedisCluster, Lettuce and redis-cli write and read again at once.
 */
class ClusterClientsIT {
  static final Path REDIS_CLI = Path.of("/usr/bin/redis-cli");
  static final Path PYTHON = Path.of("/usr/bin/python3");
  /**
   * Read timeout of every client: above the 3 s for which a member holds a command while the
   * shard changes primary before it answers MOVED (docs/shard.md).
   */
  static final int CLIENT_TIMEOUT_MILLIS = 5_000;
  /** Longest a client may take to write again after the primary died. */
  static final long RECOVER_SECONDS = 30;
  @TempDir Path tmp;

  /**
   * A long-lived redis-py RedisCluster: writes and reads {@code py:before}, says READY, waits
   * for a line on stdin (the kill happened), then retries a write until it is acknowledged and
   * prints what it reads back. Configured as docs/shard.md advises: the seeds kept as given, and,
   * before redis-py 4.4.2 only, an IndexError from its topology reload retried like a
   * connection error (its bug: a replica promoted to primary keeps its replica type, see
   * docs/shard.md); with a fixed redis-py an IndexError fails the test.
   */
  private static final String PY_CLIENT = """
      import re, sys, time
      import redis
      from redis.cluster import RedisCluster
      from redis.exceptions import RedisClusterException, RedisError
      version = tuple(int(x) for x in re.findall(r'\\d+', redis.__version__)[:3])
      retryable = (RedisError, RedisClusterException)
      if version < (4, 4, 2):
          retryable = retryable + (IndexError,)
      rc = RedisCluster(host='127.0.0.1', port=int(sys.argv[1]), socket_timeout=5,
                        socket_connect_timeout=1, cluster_error_retry_attempts=5,
                        dynamic_startup_nodes=False)
      assert rc.set('py:before', 'v1')
      print('BEFORE', rc.get('py:before').decode(), flush=True)
      print('READY', flush=True)
      sys.stdin.readline()
      deadline = time.time() + float(sys.argv[2])
      while True:
          try:
              rc.set('py:after', 'v2')
              break
          except retryable as e:
              print('RETRY', type(e).__name__, flush=True)
              if time.time() > deadline:
                  raise
              time.sleep(0.1)
      print('AFTER', rc.get('py:after').decode(), rc.get('py:before').decode(), flush=True)
      """;

  private static String cli(int port, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(REDIS_CLI.toString(), "-c", "-p",
        Integer.toString(port)));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("redis-cli finished").isTrue();
    return out.strip();
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

  private static boolean pythonRedisAvailable() throws InterruptedException {
    try {
      return Files.isExecutable(PYTHON) && new ProcessBuilder(PYTHON.toString(), "-c",
          "import redis.cluster").start().waitFor() == 0;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void everyClusterClientFollowsAFailover() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(REDIS_CLI), "redis-cli not installed");
    Assumptions.assumeTrue(pythonRedisAvailable(),
        "python3 with the redis package (python3-redis) not installed");
    int port = ShardProcess.freePortRange(3);
    try (ShardProcess shard = ShardProcess.start(tmp.resolve("data"), port, "1+1+1")) {
      int backup = port + 1; // never leads, never killed here: every client starts there
      Set<HostAndPort> seeds = Set.of(new HostAndPort("127.0.0.1", backup));
      DefaultJedisClientConfig jedisConfig = DefaultJedisClientConfig.builder()
          .connectionTimeoutMillis(1_000).socketTimeoutMillis(CLIENT_TIMEOUT_MILLIS).build();
      RedisClusterClient lettuceClient = RedisClusterClient.create(RedisURI.builder()
          .withHost("127.0.0.1").withPort(backup)
          .withTimeout(Duration.ofMillis(CLIENT_TIMEOUT_MILLIS)).build());
      lettuceClient.setOptions(ClusterClientOptions.builder()
          .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
              .enableAllAdaptiveRefreshTriggers()
              .adaptiveRefreshTriggersTimeout(Duration.ofMillis(100))
              .enablePeriodicRefresh(Duration.ofSeconds(1))
              .build())
          .build());
      Process py = new ProcessBuilder(PYTHON.toString(), "-c", PY_CLIENT,
          Integer.toString(backup), Long.toString(RECOVER_SECONDS)).redirectErrorStream(true)
          .start();
      try (JedisCluster jedis = new JedisCluster(seeds, jedisConfig, 5, Duration.ofSeconds(10));
          StatefulRedisClusterConnection<String, String> lettuceConnection =
              lettuceClient.connect()) {
        RedisAdvancedClusterCommands<String, String> lettuce = lettuceConnection.sync();
        BufferedReader pyOut = new BufferedReader(
            new InputStreamReader(py.getInputStream(), StandardCharsets.UTF_8));
        // Before: each client writes through the cluster protocol and reads its value back.
        assertThat(jedis.set("jedis:before", "j1")).isEqualTo("OK");
        assertThat(jedis.get("jedis:before")).isEqualTo("j1");
        assertThat(lettuce.set("lettuce:before", "l1")).isEqualTo("OK");
        assertThat(lettuce.get("lettuce:before")).isEqualTo("l1");
        assertThat(cli(backup, "set", "cli:before", "c1")).isEqualTo("OK");
        assertThat(cli(backup + 1, "get", "cli:before")).isEqualTo("c1");
        StringBuilder pyLog = new StringBuilder();
        String line;
        while ((line = pyOut.readLine()) != null && !line.equals("READY")) {
          pyLog.append(line).append('\n');
        }
        assertThat(line).as("redis-py before the kill:\n" + pyLog).isEqualTo("READY");
        assertThat(pyLog.toString()).contains("BEFORE v1");

        int primary = shard.primaryPort();
        assertThat(primary).isNotEqualTo(backup).isPositive();
        long pid = ShardProcess.pidAt(primary);
        assertThat(new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor())
            .isZero();
        Writer pyIn = new java.io.OutputStreamWriter(py.getOutputStream(),
            StandardCharsets.UTF_8);
        pyIn.write("go\n");
        pyIn.flush();

        // After: the same client objects write and read again, and see what was acknowledged.
        retry("JedisCluster write after the failover", () -> jedis.set("jedis:after", "j2"));
        assertThat(jedis.get("jedis:after")).isEqualTo("j2");
        assertThat(jedis.get("jedis:before")).isEqualTo("j1");
        retry("Lettuce write after the failover", () -> lettuce.set("lettuce:after", "l2"));
        assertThat(lettuce.get("lettuce:after")).isEqualTo("l2");
        assertThat(lettuce.get("lettuce:before")).isEqualTo("l1");
        String cliReply = retry("redis-cli -c write after the failover", () -> {
          String r = cli(backup, "set", "cli:after", "c2");
          if (!r.equals("OK")) {
            throw new IllegalStateException(r);
          }
          return r;
        });
        assertThat(cliReply).isEqualTo("OK");
        assertThat(cli(backup + 1, "get", "cli:after")).isEqualTo("c2");
        assertThat(cli(backup + 1, "get", "cli:before")).isEqualTo("c1");
        while ((line = pyOut.readLine()) != null) {
          pyLog.append(line).append('\n');
        }
        assertThat(py.waitFor(RECOVER_SECONDS + 10, TimeUnit.SECONDS)).isTrue();
        assertThat(py.exitValue()).as("redis-py after the kill:\n" + pyLog).isZero();
        assertThat(pyLog.toString()).contains("AFTER v2 v1");
        // Every client's earlier values, through another client.
        assertThat(jedis.get("lettuce:before")).isEqualTo("l1");
        assertThat(lettuce.get("py:before")).isEqualTo("v1");
        assertThat(jedis.get("cli:before")).isEqualTo("c1");

        // The killed member restarts and the witness hands leadership back to it (a planned
        // transfer); the same clients follow it without a retry.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(RECOVER_SECONDS);
        while (shard.primaryPort() != primary && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertThat(shard.primaryPort()).as("leadership back on the restarted primary")
            .isEqualTo(primary);
        assertThat(jedis.set("jedis:back", "j3")).isEqualTo("OK");
        assertThat(lettuce.set("lettuce:back", "l3")).isEqualTo("OK");
        assertThat(cli(backup, "set", "cli:back", "c3")).isEqualTo("OK");
        assertThat(lettuce.get("jedis:back")).isEqualTo("j3");
        assertThat(jedis.get("lettuce:back")).isEqualTo("l3");
        assertThat(jedis.get("cli:back")).isEqualTo("c3");
        assertThat(jedis.get("jedis:after")).isEqualTo("j2");
      } finally {
        py.destroyForcibly();
        lettuceClient.shutdown();
      }
      assertThat(shard.terminate()).isZero();
    }
  }
}
