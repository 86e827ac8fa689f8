package io.respawn.sim;

import io.respawn.node.RuntimeConfig;
import java.util.SplittableRandom;

/**
 * The runtime's bounds on client writes in a run ({@link RuntimeConfig#proposalsQueuedMax()},
 * {@link RuntimeConfig#proposalsInFlightMax()}, and through it {@link
 * RuntimeConfig#durableNoticesMax()}).
 *
 * <ul>
 *   <li>{@link #RUNTIME_DEFAULTS}: the server's (4,096 queued, 10,000 in flight), which the
 *       sweep's few clients never reach: no write is refused for room.
 *   <li>{@link #TIGHT}: drawn per seed, 1 to 4 queued and the queued bound to 6 in flight (so
 *       10 to 60 writes may wait for their durable notice): writes are refused {@code
 *       QUEUE_FULL} whenever a few clients' writes pile up behind a slow commit, and ORDERED
 *       writes wait in bulk for their durable notices while a member's flush lags, which is where
 *       the runtime once refused writes it had room for (the queue-full-unjustified check, {@code
 *       Variant.COUNT_DURABLE_NOTICES_IN_FLIGHT}).
 *   <li>{@link #MIXED}: one or the other per seed, half each (the sweep's).
 * </ul>
 *
 * Drawn from a generator of their own ({@code seed ^ SALT}), so the run's other draws are those
 * it drew before this existed.
 */
public enum SimProposalLimits {
  RUNTIME_DEFAULTS,
  TIGHT,
  MIXED;

  private static final long SALT = 0x5EED_0F_B0_0D5L;

  /** A seed's bounds; {@code tight} when they are not the server's defaults. */
  public record Drawn(boolean tight, int queuedMax, int inFlightMax) {
    @Override
    public String toString() {
      return tight ? "tight(queued " + queuedMax + ", in flight " + inFlightMax + ")" : "defaults";
    }

    /** {@code config} with these bounds (the batch size stays the runtime's). */
    public RuntimeConfig applyTo(RuntimeConfig config) {
      return config.withProposalLimits(queuedMax, inFlightMax, config.proposalsPerBatchMax());
    }
  }

  /** defaults, tight or mixed. */
  public static SimProposalLimits parse(String text) {
    return switch (text.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "defaults" -> RUNTIME_DEFAULTS;
      case "tight" -> TIGHT;
      case "mixed" -> MIXED;
      default -> throw new IllegalArgumentException("--proposal-limits '" + text
          + "': expected defaults, tight or mixed");
    };
  }

  public Drawn draw(long seed) {
    SplittableRandom r = new SplittableRandom(seed ^ SALT);
    boolean drawnTight = r.nextBoolean(); // drawn always: a seed's tight bounds are the same
    boolean tight = this == TIGHT || (this == MIXED && drawnTight); // under TIGHT and MIXED
    RuntimeConfig defaults = RuntimeConfig.defaults();
    if (!tight) {
      return new Drawn(false, defaults.proposalsQueuedMax(), defaults.proposalsInFlightMax());
    }
    int queuedMax = 1 + r.nextInt(4);
    int inFlightMax = queuedMax + r.nextInt(7 - queuedMax);
    return new Drawn(true, queuedMax, inFlightMax);
  }
}
