package io.respawn.server.cli;

import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What a serving command ({@code server}, {@code node}) runs once its flags are parsed and checked:
 * handed back to {@link RespawnCommand#main}, which runs it after the command line is dropped.
 * picocli's model of every command, option and help text (about 20,000 objects, 1 MB, measured
 * with a heap dump of an idle {@code respawn server}) is then garbage when the server tenures its
 * start-up state ({@code RespawnServer}), not part of what every young collection or the start-up
 * collection copies. One per command line: a new one ({@link RespawnCommand#newCommandLine})
 * forgets what an earlier one deferred (a test that executes a serving command with valid flags
 * gets exit code 0 and nothing runs).
 */
final class DeferredServe {
  private static final AtomicReference<Callable<Integer>> PENDING = new AtomicReference<>();

  private DeferredServe() {}

  /**
   * Records {@code serve} (which must not hold the command object, or the model stays reachable)
   * to run after parsing. Returns the exit code parsing ends with: 0.
   */
  static int defer(Callable<Integer> serve) {
    PENDING.set(serve);
    return 0;
  }

  /** Forgets a run deferred by a command line that was executed without {@link #runPending}. */
  static void forget() {
    PENDING.set(null);
  }

  /**
   * Runs what a command deferred, if parsing ended with 0: the run's exit code, 1 if it throws (as
   * picocli reports an exception from a command); else {@code parsedExitCode}.
   */
  static int runPending(int parsedExitCode) {
    Callable<Integer> serve = PENDING.getAndSet(null);
    if (serve == null || parsedExitCode != 0) {
      return parsedExitCode;
    }
    try {
      return serve.call();
    } catch (Exception e) {
      System.err.println("respawn: " + e.getMessage());
      e.printStackTrace();
      return 1;
    }
  }
}
