package io.respawn.core;

/**
 * Seam for a failure detector ({@link PhiAccrualDetector}). Pure: it sees only heartbeat
 * arrival times the core passes in. When {@link ReplicaConfig#failureDetector()} is null the core
 * uses its randomized election timeout instead.
 */
public interface FailureDetector {
  /** How sure we are that a peer is gone. */
  enum Suspicion {
    /** Heard recently enough. */
    NONE,
    /** "Maybe": start proactive recovery (catch-up), do not campaign yet. */
    SOFT,
    /** "Surely": campaigning is allowed. */
    HARD
  }

  /** A heartbeat (any AppendEntries) from {@code peer} arrived at {@code nowNanos}. */
  void heartbeat(NodeId peer, long nowNanos);

  /** The current suspicion of {@code peer}. */
  Suspicion suspicion(NodeId peer, long nowNanos);

  /**
   * The earliest time at which {@link #suspicion} of {@code peer} may be above NONE if no further
   * heartbeat of it arrives: before it, asking gives NONE. A driver that ticks only when something
   * may be due ({@link Replica#tickDueNanos}) looks again then. It may be a little early (looking
   * early is harmless), never late by more than rounding. {@code Long.MAX_VALUE} for a peer never
   * heard (never suspected); the default, {@code Long.MIN_VALUE}, says "unknown: look at every
   * tick".
   */
  default long suspicionDueNanos(NodeId peer) {
    return Long.MIN_VALUE;
  }

  /**
   * Drops what was learned about {@code peer}'s heartbeats: its next one starts afresh (the core
   * calls this when {@code peer} starts a new leadership). A detector that keeps nothing per
   * peer has nothing to drop.
   */
  default void forget(NodeId peer) {}
}
