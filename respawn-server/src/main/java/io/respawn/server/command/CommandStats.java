package io.respawn.server.command;

/**
 * Per-command counters for INFO commandstats, as Redis keeps them: calls and their total time,
 * calls refused before running (wrong arity, NOAUTH, ...) and calls that answered an error.
 * Written and read by the command thread only.
 */
final class CommandStats {
  long calls;
  long nanos;
  long rejectedCalls;
  long failedCalls;

  boolean isEmpty() {
    return calls == 0 && rejectedCalls == 0 && failedCalls == 0;
  }

  void reset() {
    calls = 0;
    nanos = 0;
    rejectedCalls = 0;
    failedCalls = 0;
  }
}
