package io.respawn.node;

import io.respawn.core.NodeId;
import java.util.Objects;

/**
 * Why the runtime did not (or cannot say that it did) carry out a proposal: the
 * exception a {@link ProposalHandle}'s futures complete with. {@link Reason#OUTCOME_UNKNOWN}
 * is the only reason after which the write may still take effect; every other reason means it
 * did not and will not.
 */
public final class Refusal extends RuntimeException {

  /** What happened; each constant says whether the write may still take effect. */
  public enum Reason {
    /** Too many proposals queued or in flight: back off and retry. Not appended. */
    QUEUE_FULL,
    /** This node cannot accept writes now; try {@link #leaderHint()}. */
    NOT_LEADER,
    /** Another entry was committed at the proposal's index: it never took and never will. */
    SUPERSEDED,
    /**
     * This node stopped leading before it learned the outcome (or, for the DURABLE level, before
     * it learned that the write is durable): it may or may not take effect.
     */
    OUTCOME_UNKNOWN
  }

  private final Reason reason;
  private final NodeId leaderHint;

  public Refusal(Reason reason, NodeId leaderHint, String message) {
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason, "reason");
    this.leaderHint = leaderHint;
  }

  public Reason reason() {
    return reason;
  }

  /** The leader as far as this node knows when it refused, or null. */
  public NodeId leaderHint() {
    return leaderHint;
  }
}
