package io.respawn.node;

import io.respawn.core.MemberReplacement;
import io.respawn.core.Membership;
import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.Status;
import io.respawn.core.Variant;
import java.util.function.Predicate;

/**
 * How a leader hands leadership over: a <b>drain</b> (it stops serving and waits, at most {@link
 * #DRAIN_NANOS_MAX}, for the client writes it proposed to settle), then a leadership transfer to
 * a target, or to the voter that may lead whose log is furthest ahead (the configured primary on
 * a tie). Two things start one: an operator's request (a planned stop, {@code RESPAWN HANDOVER})
 * and the <b>give-back</b>: a leader that is not the configured primary hands leadership back to
 * it once that primary has been reachable and caught up (within {@link
 * #GIVE_BACK_LAG_ENTRIES_MAX} entries of the commit index) for {@link #GIVE_BACK_AFTER_NANOS},
 * and this leader is ready (its term's first entry committed and applied) and done recovering
 * values (DESIGN §3: the primary is the member meant to hold every value in memory). A leader
 * still not ready {@link #GIVE_BACK_AFTER_NANOS} after its election gives back without waiting
 * to be ready: a witness leading while the backup is away cannot commit at all (only a primary
 * lets a witness stand in for a silent backup), and the transfer needs no commit (it waits for
 * the target to hold this leader's whole log).
 *
 * <p>The driver calls {@link #leading} when its member becomes leader, then after each pass
 * {@link #transferOnceDrained} and {@link #maybeGiveBack}; while {@link #draining} it serves
 * nothing. The shard member's node loop and the simulator's nodes run this class.
 *
 * <p>Broken variant (tests only): {@link Variant#NEVER_GIVE_BACK} never starts a give-back, so
 * leadership stays with a witness after a failover for good; the simulator's end check that the
 * configured primary leads again catches it.
 *
 * <p>Owned by the driver's thread; time is passed in.
 */
public final class LeadershipHandOver {
  /** How long the configured primary must stay caught up before leadership goes back to it. */
  public static final long GIVE_BACK_AFTER_NANOS = 500_000_000L;
  /** How far behind the commit index the configured primary may be and still count caught up. */
  public static final long GIVE_BACK_LAG_ENTRIES_MAX = 256;
  /** Longest drain: the transfer then starts even if writes are still unsettled. */
  public static final long DRAIN_NANOS_MAX = 1_000_000_000L;

  /** What {@link #transferOnceDrained} did. */
  public enum Transfer {
    /** Nothing: no drain ended in this pass. */
    NONE,
    /** A drain ended and the transfer to {@link #lastTarget} began. */
    STARTED,
    /** A drain ended with no member to hand to, or the runtime refused the transfer. */
    REFUSED,
    /** A drain ended because this member no longer leads: nothing to hand over. */
    LOST_LEADERSHIP
  }

  private final NodeId self;
  private final boolean neverGiveBack;
  /** While draining: when the transfer starts even if writes are still unsettled; else MIN. */
  private long drainDeadlineNanos = Long.MIN_VALUE;
  /** While draining: the member to hand leadership to, or null for the best caught-up one. */
  private NodeId drainTarget;
  /** Since when the configured primary is reachable and caught up; MIN when it is not. */
  private long primaryCaughtUpSinceNanos = Long.MIN_VALUE;
  /** When this member last became leader. */
  private long leaderSinceNanos;
  private NodeId lastTarget;
  private long lastTargetMatch;
  private boolean lastGiveBackBeforeReady;
  private long giveBacks;

  public LeadershipHandOver(NodeId self, Variant variant) {
    this.self = self;
    this.neverGiveBack = variant == Variant.NEVER_GIVE_BACK;
  }

  /** This member became leader at {@code nowNanos}. */
  public void leading(long nowNanos) {
    leaderSinceNanos = nowNanos;
    primaryCaughtUpSinceNanos = Long.MIN_VALUE;
  }

  /**
   * Starts a drain toward {@code target} (null: the best caught-up voter that may lead); false if
   * a hand-over is under way already.
   */
  public boolean startDrain(Replica r, NodeId target, long nowNanos) {
    if (draining() || r.transferTarget() != null) {
      return false;
    }
    drainTarget = target;
    drainDeadlineNanos = nowNanos + DRAIN_NANOS_MAX;
    return true;
  }

  /** Whether a drain is under way: this member serves nothing meanwhile. */
  public boolean draining() {
    return drainDeadlineNanos != Long.MIN_VALUE;
  }

  /**
   * Transfers leadership once the drain is over: every one of the {@code writesUnsettled} client
   * writes settled, or {@link #DRAIN_NANOS_MAX} passed.
   */
  public Transfer transferOnceDrained(NodeRuntime<?> runtime, int writesUnsettled,
      long nowNanos) {
    if (!draining()) {
      return Transfer.NONE;
    }
    Replica r = runtime.replica();
    if (r.status() != Status.LEADER) {
      drainDeadlineNanos = Long.MIN_VALUE;
      return Transfer.LOST_LEADERSHIP;
    }
    if (writesUnsettled > 0 && nowNanos < drainDeadlineNanos) {
      return Transfer.NONE;
    }
    drainDeadlineNanos = Long.MIN_VALUE;
    NodeId target = drainTarget;
    NodeId designatedPrimary = designatedPrimary(r, self);
    long best = target == null ? -1 : r.matchIndex(target);
    if (drainTarget == null) {
      for (NodeId id : r.membership().allVoters()) {
        if (id.equals(self) || !r.membership().role(id).mayCampaign()) {
          continue;
        }
        long match = r.matchIndex(id);
        // The configured primary wins ties; a member further ahead wins otherwise.
        if (match > best || (match == best && id.equals(designatedPrimary))) {
          best = match;
          target = id;
        }
      }
    }
    lastTarget = target;
    lastTargetMatch = best;
    if (target == null || !runtime.transferLeadership(target)) {
      return Transfer.REFUSED;
    }
    return Transfer.STARTED;
  }

  /**
   * The give-back (class comment): starts a drain toward the configured primary when it is due.
   * {@code recovering}: this leader still pulls values; {@code connected}: whether the transport
   * holds a connection to a peer now. Returns whether a give-back started.
   */
  public boolean maybeGiveBack(NodeRuntime<?> runtime, boolean recovering,
      Predicate<NodeId> connected, long nowNanos) {
    Replica r = runtime.replica();
    NodeId designatedPrimary = designatedPrimary(r, self);
    boolean readyInTerm = runtime.readyInTerm();
    boolean readyAndRecovered = readyInTerm && !recovering;
    boolean stillNotReady = !readyInTerm && nowNanos - leaderSinceNanos >= GIVE_BACK_AFTER_NANOS;
    if (neverGiveBack || designatedPrimary == null || r.status() != Status.LEADER
        || !r.membership().isVoter(designatedPrimary) // replaced: docs/operations.md
        || !(readyAndRecovered || stillNotReady)
        || r.transferTarget() != null || draining()) {
      primaryCaughtUpSinceNanos = Long.MIN_VALUE;
      return false;
    }
    // "Caught up" tolerates the entries in flight under a steady write load; the transfer itself
    // waits for an exact match (writes are refused meanwhile, so the target catches up). A
    // primary whose next entry this leader no longer holds (compacted into an image) is not:
    // it must first be sent an image, and a transfer begun now would only wait for it.
    if (!connected.test(designatedPrimary) || !canCatchUpFromLog(r, designatedPrimary)
        || r.matchIndex(designatedPrimary) < Math.min(r.commitIndex(), r.lastIndex())
        - GIVE_BACK_LAG_ENTRIES_MAX) {
      primaryCaughtUpSinceNanos = Long.MIN_VALUE;
      return false;
    }
    if (primaryCaughtUpSinceNanos == Long.MIN_VALUE) {
      primaryCaughtUpSinceNanos = nowNanos;
      return false;
    }
    if (nowNanos - primaryCaughtUpSinceNanos < GIVE_BACK_AFTER_NANOS) {
      return false;
    }
    primaryCaughtUpSinceNanos = Long.MIN_VALUE;
    lastGiveBackBeforeReady = !readyInTerm;
    giveBacks++;
    return startDrain(r, designatedPrimary, nowNanos);
  }

  /** Whether {@code r}'s log still holds the entries after {@code peer}'s match. */
  public static boolean canCatchUpFromLog(Replica r, NodeId peer) {
    return r.matchIndex(peer) >= r.snapshotIndex();
  }

  /**
   * The configuration's voter of role primary, unless that is {@code self} (nothing to give
   * back), from the configuration itself, so a spare primary that took a lost primary's place is
   * given leadership back as that primary was (docs/operations.md, "Spares").
   */
  public static NodeId designatedPrimary(Replica r, NodeId self) {
    Membership.Member p = MemberReplacement.primaryVoter(r.membership());
    return p == null || p.id().equals(self) ? null : p.id();
  }

  /** The target of the last transfer a drain ended in (null: none could be found). */
  public NodeId lastTarget() {
    return lastTarget;
  }

  /** That target's match index when the transfer began. */
  public long lastTargetMatch() {
    return lastTargetMatch;
  }

  /** Whether the last give-back started before this leader was ready (nothing committed). */
  public boolean lastGiveBackBeforeReady() {
    return lastGiveBackBeforeReady;
  }

  /** When this member last became leader. */
  public long leaderSinceNanos() {
    return leaderSinceNanos;
  }

  /** Give-backs started. */
  public long giveBacks() {
    return giveBacks;
  }
}
