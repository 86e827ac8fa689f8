package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;

/**
 * {@code respawn monitor --primary HOST:PORT}: the monitor watches a {@code respawn solo} it did
 * not start. It refuses a node that does not serve its volume (a takeover would serve the
 * volume's data in place of the node's); it takes over from the right one when it is killed
 * (SpecREDS, on the lost connection), with every acknowledged write; and it leaves a node it did
 * not start alone when it stops.
 */
class MonitorPrimaryIT {
  @TempDir Path tmp;
  private final List<Process> monitors = new ArrayList<>();

  @AfterEach
  void stop() throws InterruptedException {
    for (Process m : monitors) {
      m.destroy();
      if (!m.waitFor(60, TimeUnit.SECONDS)) {
        m.destroyForcibly();
      }
    }
  }

  private Process monitor(LinkedBlockingQueue<String> lines, String... args) throws IOException {
    String classpath = System.getProperty("surefire.test.class.path");
    if (classpath == null || classpath.isBlank()) {
      classpath = System.getProperty("java.class.path");
    }
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
        "-XX:+UseSerialGC", "-cp", classpath, "io.respawn.server.cli.RespawnCommand", "monitor",
        "--log-dir", tmp.resolve("logs").toString(), "--node-arg=--durability=DURABLE",
        "--node-jvm-opt=-Xmx256m", "--node-jvm-opt=-XX:+UseSerialGC"));
    cmd.addAll(List.of(args));
    Files.createDirectories(tmp.resolve("logs"));
    Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(
        tmp.resolve("logs").resolve("monitor-" + monitors.size() + ".log").toFile())).start();
    monitors.add(p);
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String l;
        while ((l = r.readLine()) != null) {
          lines.add(l);
        }
      } catch (IOException e) {
        // gone
      }
    });
    reader.setDaemon(true);
    reader.start();
    return p;
  }

  private String awaitLine(LinkedBlockingQueue<String> lines, String prefix, long seconds)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (System.nanoTime() < deadline) {
      String l = lines.poll(100, TimeUnit.MILLISECONDS);
      if (l != null && l.startsWith(prefix)) {
        return l;
      }
    }
    throw new AssertionError("no line '" + prefix + "' from the monitor within " + seconds
        + " s; its logs: " + tmp.resolve("logs"));
  }

  private static Jedis client(int port) {
    return new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
        .timeoutMillis(30_000).protocol(RedisProtocol.RESP2).build());
  }

  @Test
  void refusesANodeThatDoesNotServeItsVolume() throws Exception {
    Path volume = tmp.resolve("volume");
    Files.createDirectories(volume);
    int otherPort = ServerProcess.freePort();
    try (ServerProcess other = ServerProcess.start(tmp.resolve("other"), otherPort)) {
      Process m = monitor(new LinkedBlockingQueue<>(), "--data", volume.toString(),
          "--primary", "127.0.0.1:" + otherPort, "--port", "0");
      assertThat(m.waitFor(240, TimeUnit.SECONDS)).as("monitor exits").isTrue();
      assertThat(m.exitValue()).isEqualTo(1);
      assertThat(Files.readString(tmp.resolve("logs").resolve("monitor-0.log")))
          .contains("does not serve volume");
      try (Jedis j = client(otherPort)) {
        assertThat(j.ping()).isEqualTo("PONG"); // untouched
      }
    }
  }

  @Test
  void takesOverFromANodeItDidNotStartAndStopsTheOneItStartedWhenItStops()
      throws Exception {
    Path volume = tmp.resolve("volume");
    int port = ServerProcess.freePort();
    try (ServerProcess solo = ServerProcess.startSolo(volume, port, "--durability=DURABLE")) {
      try (Jedis j = client(port)) {
        for (int i = 0; i < 100; i++) {
          assertThat(j.set("k" + i, "v" + i)).isEqualTo("OK");
        }
      }
      LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
      monitor(lines, "--data", volume.toString(), "--primary", "127.0.0.1:" + port,
          "--mode", "specreds", "--port", "0");
      String watching = awaitLine(lines, "respawn: monitor (specreds) watching 127.0.0.1:"
          + port, 240);
      assertThat(watching).contains("(pid " + solo.pid() + ",");
      awaitLine(lines, "respawn: standbys ready 1", 240);

      solo.kill9();
      String switched = awaitLine(lines, "respawn: +switch-master", 180);
      assertThat(switched).startsWith("respawn: +switch-master 127.0.0.1 " + port + " ")
          .contains("(specreds,");
      // a lost connection, or silence first if the monitor's probe thread was starved of CPU
      assertThat(awaitLine(lines, "respawn: phases ", 10)).containsAnyOf("cause=connection-lost",
          "cause=silent");
      int newPort = Integer.parseInt(switched.split(" ")[5]);
      long newPid = Long.parseLong(switched.replaceAll(".*pid (\\d+),.*", "$1"));
      try (Jedis j = client(newPort)) {
        for (int i = 0; i < 100; i++) {
          assertThat(j.get("k" + i)).isEqualTo("v" + i);
        }
        assertThat(j.set("after", "x")).isEqualTo("OK");
      }
      // the node serving now is one the monitor started: it stops with the monitor
      Process m = monitors.get(0);
      m.destroy();
      assertThat(m.waitFor(90, TimeUnit.SECONDS)).isTrue();
      ProcessHandle h = ProcessHandle.of(newPid).orElse(null);
      if (h != null) {
        h.onExit().get(90, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void stoppingTheMonitorLeavesANodeItDidNotStartServing() throws Exception {
    Path volume = tmp.resolve("volume");
    int port = ServerProcess.freePort();
    try (ServerProcess solo = ServerProcess.startSolo(volume, port)) {
      LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();
      Process m = monitor(lines, "--data", volume.toString(), "--primary",
          "127.0.0.1:" + port, "--mode", "reds", "--port", "0");
      awaitLine(lines, "respawn: monitor (reds) watching 127.0.0.1:" + port, 240);
      m.destroy();
      assertThat(m.waitFor(90, TimeUnit.SECONDS)).isTrue();
      assertThat(m.exitValue()).isZero();
      try (Jedis j = client(port)) {
        assertThat(j.set("still", "serving")).isEqualTo("OK");
      }
    }
  }
}
