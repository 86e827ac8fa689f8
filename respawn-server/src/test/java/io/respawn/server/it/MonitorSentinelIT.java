package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.JedisPubSub;
import redis.clients.jedis.JedisSentinelPool;

/**
 * {@code respawn monitor --sentinel-port 0} as a real process: Jedis's {@code JedisSentinelPool}
 * and Lettuce with a {@code redis-sentinel} URI find the serving node through the monitor's
 * Sentinel endpoint; the node is killed (kill -9), the monitor (REDS) has a standby recover the
 * volume and serve, and both clients write to the new node and read what they wrote before. A
 * subscriber to every channel hears what a Redis Sentinel would publish: {@code +sdown} and
 * {@code +odown} once the node has been silent for the timeout, then {@code +switch-master}.
 */
class MonitorSentinelIT {
  /** Generous: on a loaded machine the monitor's JVM may take seconds to answer its first request. */
  static final int CLIENT_TIMEOUT_MILLIS = 15_000;
  static final long WAIT_SECONDS = 90;
  /** The first node is a standby JVM that recovers the volume: slow on a loaded machine. */
  static final long START_SECONDS = 240;

  @TempDir Path tmp;

  private static <T> T retry(String what, Callable<T> op) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
    while (true) {
      try {
        return op.call();
      } catch (Exception e) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError(what + " did not succeed within " + WAIT_SECONDS + " s", e);
        }
        Thread.sleep(100);
      }
    }
  }

  @Test
  void sentinelClientsFollowTheMonitorsTakeover() throws Exception {
    String classpath = System.getProperty("surefire.test.class.path");
    if (classpath == null || classpath.isBlank()) {
      classpath = System.getProperty("java.class.path");
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Path log = tmp.resolve("monitor.log");
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-cp",
        classpath, "io.respawn.server.cli.RespawnCommand", "monitor",
        "--data", tmp.resolve("volume").toString(), "--mode", "reds", "--timeout-ms", "1000",
        "--suspect-ms", "300", "--port", "0", "--sentinel-port", "0", "--master-name", "solo",
        "--node-arg=--durability=DURABLE", "--node-jvm-opt=-XX:+UseSerialGC",
        "--node-jvm-opt=-Xmx256m"));
    Process monitor = new ProcessBuilder(cmd)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    CompletableFuture<Integer> sentinelPort = new CompletableFuture<>();
    CompletableFuture<long[]> firstNode = new CompletableFuture<>(); // port, pid
    CompletableFuture<Integer> switchedTo = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(monitor.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          String[] w = line.split(" ");
          if (line.startsWith("respawn: sentinel on ")) {
            // respawn: sentinel on HOST:PORT (master NAME)
            sentinelPort.complete(Integer.parseInt(w[3].substring(w[3].lastIndexOf(':') + 1)));
          } else if (line.startsWith("respawn: monitor (")) {
            // respawn: monitor (reds) watching HOST:PORT (pid PID, data DIR)
            firstNode.complete(new long[] {
                Integer.parseInt(w[4].substring(w[4].lastIndexOf(':') + 1)),
                Long.parseLong(w[6].replace(",", ""))});
          } else if (line.startsWith("respawn: +switch-master ")) {
            switchedTo.complete(Integer.parseInt(w[5]));
          }
        }
      } catch (java.io.IOException e) {
        // the monitor is gone
      }
      sentinelPort.complete(-1);
      firstNode.complete(null);
    }, "monitor-stdout");
    reader.setDaemon(true);
    reader.start();
    RedisClient lettuceClient = RedisClient.create();
    try {
      int port;
      try {
        port = sentinelPort.get(START_SECONDS, TimeUnit.SECONDS);
      } catch (java.util.concurrent.TimeoutException e) {
        throw new AssertionError("the monitor did not listen for Sentinel clients within "
            + START_SECONDS + " s; its log:\n" + logOf(log), e);
      }
      assertThat(port).as("monitor log:\n" + logOf(log)).isPositive();
      long[] node = firstNode.get(WAIT_SECONDS, TimeUnit.SECONDS);
      int oldPort = (int) node[0];

      JedisClientConfig config = DefaultJedisClientConfig.builder()
          .connectionTimeoutMillis(CLIENT_TIMEOUT_MILLIS)
          .socketTimeoutMillis(CLIENT_TIMEOUT_MILLIS).build();
      RedisURI uri = RedisURI.Builder.sentinel("127.0.0.1", port, "solo")
          .withTimeout(Duration.ofMillis(CLIENT_TIMEOUT_MILLIS)).build();
      try (JedisSentinelPool pool = retry("JedisSentinelPool asks the monitor for the master",
              () -> new JedisSentinelPool("solo", Set.of(new HostAndPort("127.0.0.1", port)),
                  config, config));
          StatefulRedisConnection<String, String> lettuce = lettuceClient.connect(uri)) {
        RedisCommands<String, String> l = lettuce.sync();
        assertThat(pool.getCurrentHostMaster().getPort()).isEqualTo(oldPort);
        try (Jedis j = pool.getResource()) {
          assertThat(j.set("jedis:before", "j0")).isEqualTo("OK");
        }
        assertThat(l.set("lettuce:before", "l0")).isEqualTo("OK");

        LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
        JedisPubSub listener = new JedisPubSub() {
          @Override
          public void onPMessage(String pattern, String channel, String message) {
            events.add(channel + " " + message);
          }
        };
        Jedis subscriber = new Jedis("127.0.0.1", port);
        Thread subscribing = new Thread(() -> subscriber.psubscribe(listener, "*"));
        subscribing.setDaemon(true);
        subscribing.start();
        retry("subscribed", () -> {
          if (!listener.isSubscribed()) {
            throw new IllegalStateException("not yet");
          }
          return true;
        });

        assertThat(new ProcessBuilder("kill", "-9", Long.toString(node[1])).start().waitFor())
            .isZero();
        int newPort = switchedTo.get(WAIT_SECONDS, TimeUnit.SECONDS);
        assertThat(newPort).isNotEqualTo(oldPort);
        String old = "127.0.0.1 " + oldPort;
        List<String> heard = new ArrayList<>();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (heard.stream().noneMatch(e -> e.startsWith("+switch-master "))
            && System.nanoTime() < deadline) {
          String e = events.poll(100, TimeUnit.MILLISECONDS);
          if (e != null) {
            heard.add(e);
          }
        }
        listener.punsubscribe();
        subscriber.close();
        assertThat(heard).as("events, in order; monitor log:\n" + logOf(log)).containsSubsequence(
            "+sdown master solo " + old,
            "+odown master solo " + old + " #quorum 1/1",
            "+switch-master solo " + old + " 127.0.0.1 " + newPort);
        assertThat(heard).noneMatch(e -> e.startsWith("-sdown")); // it never came back

        retry("Jedis write after the takeover", () -> {
          try (Jedis j = pool.getResource()) {
            return j.set("jedis:after", "j1");
          }
        });
        assertThat(pool.getCurrentHostMaster().getPort()).isEqualTo(newPort);
        retry("Lettuce write after the takeover", () -> l.set("lettuce:after", "l1"));
        // The new node recovered the volume: what was acknowledged before the kill is there.
        try (Jedis direct = new Jedis("127.0.0.1", newPort)) {
          assertThat(direct.get("jedis:before")).isEqualTo("j0");
          assertThat(direct.get("lettuce:before")).isEqualTo("l0");
          assertThat(direct.get("jedis:after")).isEqualTo("j1");
          assertThat(direct.get("lettuce:after")).isEqualTo("l1");
        }
        try (Jedis sentinel = new Jedis("127.0.0.1", port)) {
          assertThat(sentinel.sentinelGetMasterAddrByName("solo"))
              .containsExactly("127.0.0.1", Integer.toString(newPort));
          assertThat(sentinel.sentinelMaster("solo")).containsEntry("config-epoch", "1")
              .containsEntry("flags", "master");
        }
      }
    } finally {
      lettuceClient.shutdown();
      monitor.destroy(); // SIGTERM: the monitor stops its standbys and the serving node
      if (!monitor.waitFor(60, TimeUnit.SECONDS)) {
        monitor.destroyForcibly();
      }
    }
  }

  private static String logOf(Path log) throws java.io.IOException {
    return Files.exists(log) ? Files.readString(log) : "(no log)";
  }
}
