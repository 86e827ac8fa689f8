package io.respawn.node;

import io.respawn.storage.Durability;
import java.util.Objects;

/**
 * Limits and policies of a {@link NodeRuntime}, validated on construction with messages that name
 * the limit.
 *
 * @param replicaAck when this member acknowledges entries to its leader: {@link
 *     Durability#ORDERED} once written in order (the default: an ack costs no fsync, a machine
 *     crash may lose the unflushed suffix), or {@link Durability#DURABLE} once flushed (every
 *     Ready with entries is fsynced before its messages leave; needs a replica log whose flush
 *     completes before it returns)
 * @param flushIntervalMillis longest time an entry stays unflushed on this node when no DURABLE
 *     write waits on it (leader or follower; a DURABLE write's entries are flushed at once on the
 *     leader and, told by the leader, on its followers)
 * @param proposalsQueuedMax proposals waiting for the next {@link NodeRuntime#processQueued()};
 *     more are refused with {@link Refusal.Reason#QUEUE_FULL}
 * @param proposalsInFlightMax proposals queued or appended but not yet applied; more are refused
 *     with {@link Refusal.Reason#QUEUE_FULL} (back-pressure instead of unbounded memory). Applied
 *     proposals waiting only for their durable notice have a bound of their own, ten times this
 *     one ({@link #durableNoticesMax()})
 * @param proposalsPerBatchMax proposals handed to the core as one batch (one entry each)
 */
public record RuntimeConfig(
    Durability replicaAck,
    long flushIntervalMillis,
    int proposalsQueuedMax,
    int proposalsInFlightMax,
    int proposalsPerBatchMax) {

  public RuntimeConfig {
    Objects.requireNonNull(replicaAck, "replicaAck");
    require(flushIntervalMillis >= 0, "flushIntervalMillis " + flushIntervalMillis + " must be >= 0");
    require(proposalsQueuedMax >= 1, "proposalsQueuedMax must be >= 1");
    require(proposalsInFlightMax >= proposalsQueuedMax, "proposalsInFlightMax "
        + proposalsInFlightMax + " must be >= proposalsQueuedMax " + proposalsQueuedMax);
    require(proposalsPerBatchMax >= 1, "proposalsPerBatchMax must be >= 1");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /**
   * Applied proposals that may wait for their durable notice, per unit of {@code
   * proposalsInFlightMax}: 100,000 at the default (about 20 MB), a flush lag of ~3.7 s at 27,000
   * writes a second, before new writes are refused.
   */
  public static final int DURABLE_NOTICES_PER_IN_FLIGHT = 10;

  /**
   * The most proposals queued, appended or applied and waiting for their durable notice: past it
   * new ones are refused with {@link Refusal.Reason#QUEUE_FULL} (a flush that lags for seconds).
   */
  public long durableNoticesMax() {
    return (long) proposalsInFlightMax * DURABLE_NOTICES_PER_IN_FLIGHT;
  }

  /** ORDERED replica acks, 100 ms flush interval, 10,000 proposals in flight, batches of 1,024. */
  public static RuntimeConfig defaults() {
    return new RuntimeConfig(Durability.ORDERED, 100, 4_096, 10_000, 1_024);
  }

  public RuntimeConfig withReplicaAck(Durability v) {
    return new RuntimeConfig(v, flushIntervalMillis, proposalsQueuedMax, proposalsInFlightMax,
        proposalsPerBatchMax);
  }

  public RuntimeConfig withFlushIntervalMillis(long v) {
    return new RuntimeConfig(replicaAck, v, proposalsQueuedMax, proposalsInFlightMax,
        proposalsPerBatchMax);
  }

  public RuntimeConfig withProposalLimits(int queuedMax, int inFlightMax, int perBatchMax) {
    return new RuntimeConfig(replicaAck, flushIntervalMillis, queuedMax, inFlightMax, perBatchMax);
  }
}
