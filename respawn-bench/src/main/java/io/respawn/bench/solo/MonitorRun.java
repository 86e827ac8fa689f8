package io.respawn.bench.solo;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * One {@code respawn monitor} process of the experiment, started with this JVM's class path, and
 * what its stdout says: the serving node's address and pid, takeovers, aborted speculations and
 * how many standbys are warm. A client follows the monitor through {@link #primary()}.
 *
 * <p>Owns a reader thread for the monitor's stdout; the fields it updates are read by any thread.
 */
final class MonitorRun implements AutoCloseable {
  /** What the monitor says serves now. */
  record Node(InetSocketAddress address, long pid) {}

  private final Process process;
  private final Path log;
  private volatile Node primary;
  private volatile int failovers;
  private volatile int aborts;
  private volatile int standbysReady;
  private final List<Long> recoveryMillis = new ArrayList<>();
  private final List<Map<String, String>> phases = new ArrayList<>();

  private MonitorRun(Process process, Path log) {
    this.process = process;
    this.log = log;
  }

  /**
   * Starts the monitor and waits (bounded) until it serves and a standby is warm besides the
   * serving node (the pool's first standby became the serving node: the second ready line).
   */
  static MonitorRun start(Path volume, String mode, long timeoutMillis, long suspectMillis,
      int port, long waitMillis) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(List.of("-Xmx256m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        "io.respawn.server.cli.RespawnCommand", "monitor", "--data", volume.toString(),
        "--mode", mode, "--timeout-ms", Long.toString(timeoutMillis),
        "--suspect-ms", Long.toString(suspectMillis), "--port", Integer.toString(port),
        "--node-arg=--durability=DURABLE", "--node-arg=--compaction-interval-ms=0"));
    Path logs = Files.createDirectories(volume.resolveSibling(volume.getFileName() + "-logs"));
    cmd.add("--log-dir=" + logs);
    Path log = logs.resolve("monitor.log");
    Process p = new ProcessBuilder(cmd)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
    MonitorRun run = new MonitorRun(p, log);
    Thread t = new Thread(run::readStdout, "monitor-stdout");
    t.setDaemon(true);
    t.start();
    long deadline = System.nanoTime() + waitMillis * 1_000_000;
    while (run.primary == null || run.standbysReady < 1) {
      if (!p.isAlive()) {
        throw new IOException("monitor exited (" + p.exitValue() + "); see " + log);
      }
      if (System.nanoTime() > deadline) {
        run.close();
        throw new IOException("monitor not ready within " + waitMillis + " ms; see " + log);
      }
      Thread.sleep(20);
    }
    return run;
  }

  private void readStdout() {
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        parse(line);
      }
    } catch (IOException e) {
      // the monitor is gone
    }
  }

  /** Parses one line of the monitor's stdout. */
  void parse(String line) {
    if (line.startsWith("respawn: monitor (")) {
      // respawn: monitor (reds) watching 127.0.0.1:PORT (pid PID, data DIR)
      String[] w = line.split(" ");
      String hostPort = w[4];
      int colon = hostPort.lastIndexOf(':');
      primary = new Node(new InetSocketAddress(hostPort.substring(0, colon),
          Integer.parseInt(hostPort.substring(colon + 1))), Long.parseLong(w[6].replace(",", "")));
    } else if (line.startsWith("respawn: +switch-master ")) {
      // respawn: +switch-master OH OP NH NP (mode, pid PID, T ms after detection, recovery R ms)
      String[] w = line.split(" ");
      long pid = Long.parseLong(w[8].replace(",", ""));
      synchronized (recoveryMillis) {
        recoveryMillis.add(Long.parseLong(w[w.length - 2]));
      }
      primary = new Node(new InetSocketAddress(w[4], Integer.parseInt(w[5])), pid);
      failovers++;
    } else if (line.startsWith("respawn: phases ")) {
      // respawn: phases mode=specreds cause=connection-lost detected_at_ms=... total_ms=...
      Map<String, String> p = new LinkedHashMap<>();
      for (String word : line.substring("respawn: phases ".length()).trim().split(" ")) {
        int eq = word.indexOf('=');
        if (eq > 0) {
          p.put(word.substring(0, eq), word.substring(eq + 1));
        }
      }
      synchronized (phases) {
        phases.add(p);
      }
    } else if (line.startsWith("respawn: speculation aborted")) {
      aborts++;
    } else if (line.startsWith("respawn: standbys ready ")) {
      standbysReady = Integer.parseInt(line.substring("respawn: standbys ready ".length()).trim());
    }
  }

  Node primary() {
    return primary;
  }

  int failovers() {
    return failovers;
  }

  int aborts() {
    return aborts;
  }

  /** Waits (bounded) until the monitor reports a warm standby ready now. */
  void awaitStandby(long waitMillis) throws InterruptedException, IOException {
    long deadline = System.nanoTime() + waitMillis * 1_000_000;
    while (standbysReady < 1) {
      if (System.nanoTime() > deadline) {
        throw new IOException("no warm standby within " + waitMillis + " ms; see " + log);
      }
      Thread.sleep(20);
    }
  }

  /** The phases of every takeover so far, in order ({@code key -> value} of the phases line). */
  List<Map<String, String>> phases() {
    synchronized (phases) {
      return List.copyOf(phases);
    }
  }

  List<Long> recoveryMillis() {
    synchronized (recoveryMillis) {
      return List.copyOf(recoveryMillis);
    }
  }

  Path log() {
    return log;
  }

  /** Stops the monitor (SIGTERM: it stops its standbys and the serving node), then makes sure. */
  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(60, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
    Node p = primary;
    if (p != null) {
      ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroyForcibly);
    }
  }
}
