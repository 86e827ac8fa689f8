package io.respawn.bench.faults;

import java.util.ArrayList;
import java.util.List;

/**
 * Measures failover latency as a client sees it: from the instant a primary was lost (killed,
 * stalled or cut off from the other members) to the completion of the first write that was
 * invoked after that and acknowledged. Thread-safe.
 */
final class FailoverClock {
  private long killedAtNanos = -1;
  private final List<Long> latenciesNanos = new ArrayList<>();

  synchronized void primaryLost(long atNanos) {
    killedAtNanos = atNanos;
  }

  synchronized void writeSucceeded(long invokedAtNanos, long completedAtNanos) {
    if (killedAtNanos >= 0 && invokedAtNanos > killedAtNanos) {
      latenciesNanos.add(completedAtNanos - killedAtNanos);
      killedAtNanos = -1;
    }
  }

  /** Whether the last kill has been followed by a successful write yet. */
  synchronized boolean recovered() {
    return killedAtNanos < 0;
  }

  synchronized List<Long> latenciesMillis() {
    List<Long> out = new ArrayList<>();
    for (long n : latenciesNanos) {
      out.add(n / 1_000_000);
    }
    return out;
  }
}
