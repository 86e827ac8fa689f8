package io.respawn.server.shard;

/**
 * The rate of online recovery's background copy (BatchPull), derived from the latency of the
 * priority pulls the new primary measures (DESIGN §5.3: the copy continues "at a rate that keeps
 * PriorityPull latency low"). A command that touches a key not copied yet waits for a priority
 * pull; the copy competes with that pull for the backup's disk and answering thread, the wire and
 * the new primary's node loop, and with the client commands for the cores. So the copy goes as
 * fast as priority pulls stay fast, and slows down as soon as they do not.
 *
 * <p>Once per {@link #PERIOD_NANOS} the rate is multiplied by {@code target / latency}, bounded
 * to [{@link #SHRINK_MAX}, {@link #GROWTH_MAX}] per period, and kept within [{@link
 * #RATE_MIN_BYTES_PER_SECOND}, {@link #RATE_MAX_BYTES_PER_SECOND}], where {@code latency} is the
 * mean latency of the priority pulls answered in the period, or the wait of the oldest one still
 * unanswered if that is longer (a pull stuck behind the copy counts before it is answered). A
 * period in which no priority pull was answered or waited grows the rate by {@link #GROWTH_MAX}:
 * nobody waits for the backup, so the copy may use it. The floor keeps the copy going whatever
 * the latency (2 GiB at the floor take about 4 minutes; the commands' own pulls bring what they
 * need meanwhile).
 *
 * <p>Worked example, target 2 ms: the copy runs at 64 MiB/s; in a period the priority pulls take
 * 4 ms on average, so the rate halves to 32 MiB/s; at 1.6 ms in the next it grows by 1.25 to 40
 * MiB/s; with no priority pull for half a second it is back at 64 × 1.25⁵ ≈ 195 MiB/s (the
 * backup's reads and the installs then set the pace, not this).
 *
 * <p>The copy sends a request of {@code chunks} chunks and the next one no earlier than {@link
 * #gapNanos} after it, so that on average it asks for no more than the rate. Owned by the node
 * loop thread; {@link #bytesPerSecond} may be read from any thread (INFO).
 */
final class CopyPace {
  static final long PERIOD_NANOS = 100_000_000L;
  /**
   * The priority-pull latency the copy aims at: a pull on an idle loopback shard takes 0.3–1 ms
   * (a device read and two hops), and a command waiting for it should stay well within a p99.9
   * SLO of a few times the steady state's (5–10 ms on the development machine).
   */
  static final long TARGET_LATENCY_NANOS = 2_000_000L;
  static final double RATE_START_BYTES_PER_SECOND = 64.0 * (1 << 20);
  static final double RATE_MIN_BYTES_PER_SECOND = 8.0 * (1 << 20);
  static final double RATE_MAX_BYTES_PER_SECOND = 1024.0 * (1 << 20);
  static final double GROWTH_MAX = 1.25;
  static final double SHRINK_MAX = 0.5;

  private volatile double bytesPerSecond = RATE_START_BYTES_PER_SECOND;
  private long periodEndsAtNanos = Long.MIN_VALUE;
  private long periodReplies;
  private long periodLatencyNanos;

  /** A priority pull was answered after {@code nanos}. */
  void onPriorityLatency(long nanos) {
    periodReplies++;
    periodLatencyNanos += Math.max(0, nanos);
  }

  /**
   * Adjusts the rate if a period has passed. {@code oldestWaitNanos}: how long the oldest priority
   * pull still unanswered has waited (0 if none).
   */
  void control(long nowNanos, long oldestWaitNanos) {
    if (periodEndsAtNanos == Long.MIN_VALUE) {
      periodEndsAtNanos = nowNanos + PERIOD_NANOS;
      return;
    }
    if (nowNanos < periodEndsAtNanos) {
      return;
    }
    long latency = Math.max(periodReplies == 0 ? 0 : periodLatencyNanos / periodReplies,
        Math.max(0, oldestWaitNanos));
    double factor = latency == 0 ? GROWTH_MAX
        : Math.clamp((double) TARGET_LATENCY_NANOS / latency, SHRINK_MAX, GROWTH_MAX);
    bytesPerSecond = Math.clamp(bytesPerSecond * factor, RATE_MIN_BYTES_PER_SECOND,
        RATE_MAX_BYTES_PER_SECOND);
    periodReplies = 0;
    periodLatencyNanos = 0;
    periodEndsAtNanos = nowNanos + PERIOD_NANOS;
  }

  double bytesPerSecond() {
    return bytesPerSecond;
  }

  /** How long after sending a request of {@code bytes} the next one may go out. */
  long gapNanos(long bytes) {
    return (long) (bytes * 1e9 / bytesPerSecond);
  }

  /** Back to the start rate (a new recovery). */
  void reset() {
    bytesPerSecond = RATE_START_BYTES_PER_SECOND;
    periodEndsAtNanos = Long.MIN_VALUE;
    periodReplies = 0;
    periodLatencyNanos = 0;
  }
}
