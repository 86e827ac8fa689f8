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
   * Drops what was learned about {@code peer}'s heartbeats: its next one starts afresh (the core
   * calls this when {@code peer} starts a new leadership). A detector that keeps nothing per
   * peer has nothing to drop.
   */
  default void forget(NodeId peer) {}
}
