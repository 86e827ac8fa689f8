package io.respawn.sim.node;

import io.respawn.node.ProposalHandle;
import io.respawn.node.RuntimeConfig;
import java.util.ArrayDeque;

/**
 * One incarnation's client writes given to its runtime, counted from their handles' futures
 * alone, to judge the runtime's {@code QUEUE_FULL} refusals (<b>queue-full-unjustified</b>) and
 * the writes it accepts (<b>write-bound-exceeded</b>).
 *
 * <p>A write is <i>queued</i> while the core has not assigned it an index, <i>unapplied</i>
 * while its ORDERED future is open, and <i>awaiting its durable notice</i> once that completed
 * normally while its durable future is open. A refusal is justified only while at least
 * {@code proposalsQueuedMax} are queued, {@code proposalsInFlightMax} unapplied, or {@link
 * RuntimeConfig#durableNoticesMax()} unapplied or awaiting: anything else refuses a write the
 * runtime had room for (a client told to retry while its shard could take the write; the
 * runtime did this whenever a flush lagged, until awaiting notices got a bound of their own).
 * And a write accepted must leave at most {@code proposalsQueuedMax} queued, {@code
 * proposalsInFlightMax} unapplied and {@code durableNoticesMax} unapplied or awaiting: the
 * bounds are what keeps an overloaded member's memory bounded. The count does not read the
 * runtime's own bookkeeping, so a wrong count there shows.
 *
 * <p>Owned by the simulation thread; cleared when the node crashes or restarts.
 */
final class WritesInRuntime {
  private final ArrayDeque<ProposalHandle<Long>> handles = new ArrayDeque<>();

  /**
   * A write the runtime accepted (not refused on the spot); null when the bounds still hold with
   * it, else what the counts were.
   */
  String accepted(ProposalHandle<Long> h, RuntimeConfig config) {
    handles.add(h);
    while (!handles.isEmpty() && finished(handles.peek())) {
      handles.poll(); // mostly in log order: the oldest finish first
    }
    Counts c = count();
    if (c.queued <= config.proposalsQueuedMax() && c.unapplied <= config.proposalsInFlightMax()
        && c.unapplied + c.awaiting <= config.durableNoticesMax()) {
      return null;
    }
    return "accepted a write, leaving " + c.describe(config);
  }

  void clear() {
    handles.clear();
  }

  /** Null when a QUEUE_FULL refusal now is justified, else what the counts were. */
  String unjustifiedRefusal(RuntimeConfig config) {
    Counts c = count();
    if (c.queued >= config.proposalsQueuedMax() || c.unapplied >= config.proposalsInFlightMax()
        || c.unapplied + c.awaiting >= config.durableNoticesMax()) {
      return null;
    }
    return "refused a write QUEUE_FULL with " + c.describe(config);
  }

  private Counts count() {
    int queued = 0;
    int unapplied = 0;
    int awaiting = 0;
    for (ProposalHandle<Long> h : handles) {
      if (!h.ordered().isDone()) {
        unapplied++;
        if (h.term() == 0) {
          queued++;
        }
      } else if (!h.ordered().isCompletedExceptionally() && !h.durable().isDone()) {
        awaiting++;
      }
    }
    return new Counts(queued, unapplied, awaiting);
  }

  private record Counts(int queued, int unapplied, int awaiting) {
    String describe(RuntimeConfig config) {
      return queued + " queued (max " + config.proposalsQueuedMax() + "), " + unapplied
          + " unapplied (max " + config.proposalsInFlightMax() + "), " + awaiting
          + " applied awaiting the durable notice (with the unapplied, max "
          + config.durableNoticesMax() + ")";
    }
  }

  private static boolean finished(ProposalHandle<Long> h) {
    return h.ordered().isDone() && h.durable().isDone();
  }
}
