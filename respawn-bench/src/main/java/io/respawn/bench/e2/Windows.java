package io.respawn.bench.e2;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Latency samples cut into non-overlapping windows of {@link #WINDOW_NANOS} (100 ms, as the
 * seed measures), and the time to repair (TTR) over them.
 *
 * <p>A sample is one client operation: when it completed and how long it took (from its first
 * send to its answer, across every retry and redirect). It counts in the window in which it
 * completed, so an operation stalled by a failover shows up, with its whole latency, when it
 * finally completes.
 *
 * <p><b>TTR</b> (the seed's §7.5): time from the kill to the <em>end</em> of the first window
 * that meets the SLO such that every later window up to the end of the run meets it too. A window
 * in which no operation completed does not meet any SLO (the store answered nobody). Windows
 * start at the kill (and every 100 ms before and after it); those before it do not count.
 *
 * <p>Immutable once built; not thread-safe while {@link #add} runs.
 */
final class Windows {
  static final long WINDOW_NANOS = 100_000_000L;

  /** Statistics of one window; latencies in milliseconds, {@code NaN} when it has no sample. */
  record Window(long startNanos, int operations, double p50Millis, double p99Millis,
      double p999Millis) {
    double opsPerSecond() {
      return operations * 1e9 / WINDOW_NANOS;
    }

    /** The latency at {@code quantile} ("p50", "p99", "p99.9"). */
    double millis(String quantile) {
      return switch (quantile) {
        case "p50" -> p50Millis;
        case "p99" -> p99Millis;
        case "p99.9" -> p999Millis;
        default -> throw new IllegalArgumentException("unknown quantile " + quantile);
      };
    }
  }

  private long[] completedAt = new long[1 << 16];
  private long[] latency = new long[1 << 16];
  private int size;

  /** One operation that completed at {@code completedAtNanos} after taking {@code latencyNanos}. */
  void add(long completedAtNanos, long latencyNanos) {
    if (latencyNanos < 0) {
      throw new IllegalArgumentException("latency " + latencyNanos + " < 0");
    }
    if (size == completedAt.length) {
      completedAt = Arrays.copyOf(completedAt, size * 2);
      latency = Arrays.copyOf(latency, size * 2);
    }
    completedAt[size] = completedAtNanos;
    latency[size] = latencyNanos;
    size++;
  }

  void addAll(Windows other) {
    for (int i = 0; i < other.size; i++) {
      add(other.completedAt[i], other.latency[i]);
    }
  }

  int size() {
    return size;
  }

  /** Latency quantile (0..1) in ms of the samples completed in [fromNanos, toNanos); NaN if none. */
  double quantileMillis(long fromNanos, long toNanos, double q) {
    long[] in = between(fromNanos, toNanos);
    return in.length == 0 ? Double.NaN : quantile(in, q) / 1e6;
  }

  private long[] between(long fromNanos, long toNanos) {
    long[] out = new long[size];
    int n = 0;
    for (int i = 0; i < size; i++) {
      if (completedAt[i] >= fromNanos && completedAt[i] < toNanos) {
        out[n++] = latency[i];
      }
    }
    out = Arrays.copyOf(out, n);
    Arrays.sort(out);
    return out;
  }

  /** Nearest-rank quantile of sorted values. */
  static long quantile(long[] sorted, double q) {
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /** The windows [fromNanos + k * 100 ms, ...) up to {@code toNanos}. */
  List<Window> windows(long fromNanos, long toNanos) {
    List<Window> out = new ArrayList<>();
    for (long start = fromNanos; start + WINDOW_NANOS <= toNanos; start += WINDOW_NANOS) {
      long[] in = between(start, start + WINDOW_NANOS);
      out.add(in.length == 0 ? new Window(start, 0, Double.NaN, Double.NaN, Double.NaN)
          : new Window(start, in.length, quantile(in, 0.5) / 1e6, quantile(in, 0.99) / 1e6,
              quantile(in, 0.999) / 1e6));
    }
    return out;
  }

  /**
   * TTR in ms after {@code killNanos} for the SLO "{@code quantile} at most {@code sloMillis}"
   * over {@code windows} (consecutive, one of them starting at the kill): the end of the first
   * window after the kill that meets the SLO such that every later window meets it too, minus the
   * kill. -1 if the last window misses it (not repaired within the run).
   */
  static double ttrMillis(List<Window> windows, long killNanos, String quantile,
      double sloMillis) {
    int firstGood = -1;
    for (int i = windows.size() - 1; i >= 0; i--) {
      Window w = windows.get(i);
      if (w.startNanos() < killNanos) {
        break; // windows before the kill do not count
      }
      if (w.operations() == 0 || !(w.millis(quantile) <= sloMillis)) {
        break;
      }
      firstGood = i;
    }
    if (firstGood < 0) {
      return -1;
    }
    return (windows.get(firstGood).startNanos() + WINDOW_NANOS - killNanos) / 1e6;
  }
}
