package io.respawn.server.it;

import io.respawn.server.shard.LoopbackPorts;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A Respawn server running as a real, separate java process (same classpath as the tests), for
 * integration tests. Start-up waits, bounded, for the "serving RESP" line; {@link #close} kills the
 * process by pid if it is still alive. Its stderr goes to {@code server-<port>.log} in the data
 * directory's parent, which failures print.
 */
final class ServerProcess implements AutoCloseable {
  static final long START_TIMEOUT_SECONDS = 30;

  private final Process process;
  private final int port;
  private final Path log;

  private ServerProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  static int freePort() throws IOException {
    return LoopbackPorts.free();
  }

  /** Runs a server that is expected to refuse to start; returns its exit code and stderr. */
  static String[] runExpectingExit(Path dataDir, int port, String... extraArgs)
      throws IOException, InterruptedException {
    List<String> cmd = command(dataDir, port, extraArgs);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(30, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("server did not exit: " + out);
    }
    return new String[] {Integer.toString(p.exitValue()), out};
  }

  private static List<String> command(Path dataDir, int port, String... extraArgs) {
    return command(dataDir, port, List.of(), extraArgs);
  }

  private static List<String> command(Path dataDir, int port, List<String> jvmOptions,
      String... extraArgs) {
    return command("server", dataDir, port, jvmOptions, extraArgs);
  }

  private static List<String> command(String subcommand, Path dataDir, int port,
      List<String> jvmOptions, String... extraArgs) {
    String classpath = System.getProperty("surefire.test.class.path");
    if (classpath == null || classpath.isBlank()) {
      classpath = System.getProperty("java.class.path");
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-ea", "-Xmx512m", "-XX:+UseSerialGC",
        "-XX:TieredStopAtLevel=1"));
    cmd.addAll(jvmOptions); // after the defaults: a later -Xmx wins
    cmd.addAll(List.of("-cp", classpath, "io.respawn.server.cli.RespawnCommand",
        subcommand, "--port", Integer.toString(port), "--data", dataDir.toString()));
    cmd.addAll(List.of(extraArgs));
    return cmd;
  }

  static ServerProcess start(Path dataDir, int port, String... extraArgs)
      throws IOException, InterruptedException {
    return start(dataDir, port, List.of(), extraArgs);
  }

  /** Like {@link #start(Path, int, String...)} with extra JVM options (e.g. a larger -Xmx). */
  static ServerProcess start(Path dataDir, int port, List<String> jvmOptions, String... extraArgs)
      throws IOException, InterruptedException {
    return startCommand(command(dataDir, port, jvmOptions, extraArgs), dataDir, port);
  }

  /** {@code respawn solo} on a volume directory instead of {@code respawn server}. */
  static ServerProcess startSolo(Path volume, int port, String... extraArgs)
      throws IOException, InterruptedException {
    return startCommand(command("solo", volume, port, List.of(), extraArgs), volume, port);
  }

  private static ServerProcess startCommand(List<String> cmd, Path dataDir, int port)
      throws IOException, InterruptedException {
    Path log = dataDir.toAbsolutePath().getParent().resolve("server-" + port + ".log");
    Process p = new ProcessBuilder(cmd)
        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
    ServerProcess server = new ServerProcess(p, port, log);
    CompletableFuture<String> ready = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (line.startsWith("respawn: serving RESP on")) {
            ready.complete(line);
          }
        }
      } catch (IOException e) {
        // process gone
      }
      ready.complete(null);
    }, "server-stdout-" + port);
    reader.setDaemon(true);
    reader.start();
    try {
      String line = ready.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (line == null) {
        p.waitFor(5, TimeUnit.SECONDS);
        throw new IllegalStateException("server exited before serving (exit "
            + (p.isAlive() ? "?" : p.exitValue()) + "):\n" + server.logTail());
      }
    } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
      p.destroyForcibly();
      throw new IllegalStateException("server did not start within " + START_TIMEOUT_SECONDS
          + " s:\n" + server.logTail(), e);
    }
    return server;
  }

  int port() {
    return port;
  }

  long pid() {
    return process.pid();
  }

  /** SIGKILL, then wait for the process to be gone. */
  void kill9() throws InterruptedException {
    process.destroyForcibly();
    if (!process.waitFor(10, TimeUnit.SECONDS)) {
      throw new IllegalStateException("pid " + pid() + " survived SIGKILL for 10 s");
    }
  }

  /** SIGTERM, then wait (bounded) for a clean exit; returns the exit code. */
  int terminate() throws InterruptedException {
    return terminate(30, TimeUnit.SECONDS);
  }

  /** SIGTERM; the process must exit within {@code timeout} (else SIGKILL and an exception). */
  int terminate(long timeout, TimeUnit unit) throws InterruptedException {
    process.destroy();
    if (!process.waitFor(timeout, unit)) {
      process.destroyForcibly();
      throw new IllegalStateException("pid " + pid() + " did not exit " + timeout + " "
          + unit.name().toLowerCase(java.util.Locale.ROOT) + " after SIGTERM:\n" + logTail());
    }
    return process.exitValue();
  }

  /** Waits (bounded) for the process to exit by itself; returns the exit code. */
  int awaitExit(long timeoutSeconds) throws InterruptedException {
    if (!process.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
      throw new IllegalStateException("pid " + pid() + " still running after " + timeoutSeconds
          + " s:\n" + logTail());
    }
    return process.exitValue();
  }

  String logTail() {
    try {
      if (!Files.exists(log)) {
        return "(no log)";
      }
      List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
      return String.join(File.separator.equals("/") ? "\n" : "\r\n",
          lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(log unreadable: " + e + ")";
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
