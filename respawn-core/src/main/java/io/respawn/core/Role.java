package io.respawn.core;

/**
 * What a member is in the shard's configuration: which data it keeps and whether it may lead.
 * This is fixed by {@link Membership}; whether a node currently leads is its {@link Status}.
 */
public enum Role {
  /** Holds every key and value in memory; may campaign and lead (the designated primary). */
  PRIMARY,
  /** Holds every key and value on disk; votes, is always in the write quorum, never campaigns. */
  BACKUP,
  /**
   * Holds keys and their (term, index) timestamps only (entries arrive with values elided); votes,
   * may campaign and lead. While standing in for a failed backup it receives full entries.
   */
  WITNESS;

  /** Whether a member of this role may start an election. */
  public boolean mayCampaign() {
    return this != BACKUP;
  }
}
