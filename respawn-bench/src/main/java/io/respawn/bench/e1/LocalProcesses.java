package io.respawn.bench.e1;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The processes E1 starts (Redis servers, etcd members), each stopped by its own pid: SIGTERM,
 * then SIGKILL after {@link #STOP_TIMEOUT_MILLIS}. {@link #close} stops them in reverse start
 * order; a JVM shutdown hook does the same if the benchmark is interrupted (Ctrl-C).
 */
final class LocalProcesses implements AutoCloseable {
  static final long STOP_TIMEOUT_MILLIS = 20_000;

  private final Deque<Process> started = new ArrayDeque<>();
  private final Thread hook = new Thread(this::stopAll, "e1-stop-processes");

  LocalProcesses() {
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Starts {@code command}, its output appended to {@code logFile}. */
  synchronized Process start(List<String> command, Path logFile) throws IOException {
    Process p = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile())).start();
    started.push(p);
    return p;
  }

  /** Stops one process this object started. */
  static void stop(Process p) {
    if (!p.isAlive()) {
      return;
    }
    p.destroy(); // SIGTERM to p.pid()
    try {
      if (!p.waitFor(STOP_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
        System.err.println("e1: pid " + p.pid() + " did not stop within " + STOP_TIMEOUT_MILLIS
            + " ms of SIGTERM; killing it");
        p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  private synchronized void stopAll() {
    while (!started.isEmpty()) {
      stop(started.pop());
    }
  }

  @Override
  public void close() {
    stopAll();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook runs stopAll, which found nothing left
    }
  }
}
