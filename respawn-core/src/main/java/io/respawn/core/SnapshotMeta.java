package io.respawn.core;

/**
 * The base of a compacted log: everything up to and including {@code index} lives in the state
 * machine's image rather than in log entries. {@code term} is the term of the entry at {@code
 * index} (so log matching still works at the boundary) and {@code membership} the configuration
 * in effect there ({@code null}: the bootstrap configuration, no CONFIG entry at or below it).
 *
 * <p>A base is only ever taken at an index the shard holds durably (flushed on a write quorum,
 * see {@link Replica#compactableIndex()}), so every leader of every later term holds the same
 * entries below it: no base can ever be contradicted by a log.
 */
public record SnapshotMeta(long index, long term, Membership membership) {
  /** No snapshot: the log starts at index 1. */
  public static final SnapshotMeta NONE = new SnapshotMeta(0, 0, null);

  public SnapshotMeta {
    if (index < 0 || term < 0) {
      throw new IllegalArgumentException("negative snapshot index or term: " + term + "/" + index);
    }
    if ((index == 0) != (term == 0)) {
      throw new IllegalArgumentException("snapshot at index " + index + " with term " + term
          + ": only the empty base has term 0");
    }
    if (index == 0 && membership != null) {
      throw new IllegalArgumentException("the empty base carries no membership");
    }
  }

  public boolean isNone() {
    return index == 0;
  }

  @Override
  public String toString() {
    return "Snapshot[" + term + "/" + index + (membership != null ? " " + membership : "") + "]";
  }
}
