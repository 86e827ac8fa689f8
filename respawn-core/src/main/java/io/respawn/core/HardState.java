package io.respawn.core;

/**
 * What a replica must persist besides its log, before sending any message of the same
 * {@link Ready}: the current term, the vote cast in it ({@code null} if none) and the commit
 * index (an optimisation: it may be persisted lazily, the core recomputes it).
 */
public record HardState(long term, NodeId votedFor, long commitIndex) {
  public static final HardState INITIAL = new HardState(0, null, 0);

  public HardState {
    if (term < 0 || commitIndex < 0) {
      throw new IllegalArgumentException("negative term or commit index");
    }
  }
}
