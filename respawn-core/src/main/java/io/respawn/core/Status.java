package io.respawn.core;

/** Where a replica is in the election state machine. Backups are only ever {@link #FOLLOWER}. */
public enum Status {
  /** Follows the leader of the current term (or waits for one). */
  FOLLOWER,
  /**
   * Suspects the leader and copies the newest log it can find from its peers (RequestLog) before
   * asking for any vote; see {@code docs/protocol.md}, "Reconciliation".
   */
  CATCHING_UP,
  /** Asks for pre-votes at term + 1 without changing its term. */
  PRE_CANDIDATE,
  /** Has incremented its term, voted for itself and asks for votes. */
  CANDIDATE,
  /** The primary of the current term: replicates, commits, serves leased reads. */
  LEADER
}
