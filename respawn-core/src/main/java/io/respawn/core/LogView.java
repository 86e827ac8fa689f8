package io.respawn.core;

import java.util.List;

/**
 * Read-only view of a replica's log, for the runtime and the simulator's checkers. Indexes start
 * at 1; index 0 is the empty prefix with term 0. Terms and elision are answered from memory;
 * {@link #entry} and {@link #entries} may read entries below the in-memory tail back through the
 * replica's {@link LogReader} (and throw {@link IllegalStateException} if that fails).
 */
public interface LogView {
  /**
   * The index of the snapshot base: entries up to it were compacted (0 when nothing was). {@link
   * #term} answers for it; {@link #entry} and {@link #entries} only above it.
   */
  default long snapshotIndex() {
    return 0;
  }

  /** The last index, 0 when empty. */
  long lastIndex();

  /** The term of the entry at {@code index}; 0 for index 0; throws if beyond the end. */
  long term(long index);

  /** The entry at {@code index} in [snapshotIndex + 1, lastIndex]. */
  Entry entry(long index);

  /** Whether the entry at {@code index} in [snapshotIndex + 1, lastIndex] is held elided. */
  default boolean isElided(long index) {
    return entry(index).isElided();
  }

  /** Entries in [fromIndex, toIndexInclusive] (clamped to the log), a copy. */
  List<Entry> entries(long fromIndex, long toIndexInclusive);
}
