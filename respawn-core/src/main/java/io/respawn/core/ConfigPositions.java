package io.respawn.core;

import java.util.Arrays;

/**
 * The indexes of the CONFIG entries a {@link RaftLog} holds, ascending, so that finding the
 * configuration in force at an index is a binary search instead of a walk back through the log
 * (which, with no CONFIG entry in the log, went down to its first entry on every commit: the
 * shard's cost per write grew with the length of its log). Owned by its {@link RaftLog}, which
 * tells it of every change to the entries: append, truncation of a suffix, removal of a prefix.
 *
 * <p>Invariant: strictly ascending; exactly the indexes of the log's CONFIG entries.
 */
final class ConfigPositions {
  private long[] indexes = new long[4];
  private int size;

  /** A CONFIG entry was appended at {@code index}, past every one held. */
  void appended(long index) {
    if (size > 0 && indexes[size - 1] >= index) {
      throw new IllegalStateException("CONFIG at " + index + " appended after one at "
          + indexes[size - 1]);
    }
    if (size == indexes.length) {
      indexes = Arrays.copyOf(indexes, size * 2);
    }
    indexes[size++] = index;
  }

  /** Entries from {@code fromIndex} on were dropped. */
  void truncatedFrom(long fromIndex) {
    while (size > 0 && indexes[size - 1] >= fromIndex) {
      size--;
    }
  }

  /** Entries up to {@code throughIndex} were dropped (compaction). */
  void droppedThrough(long throughIndex) {
    int keepFrom = 0;
    while (keepFrom < size && indexes[keepFrom] <= throughIndex) {
      keepFrom++;
    }
    System.arraycopy(indexes, keepFrom, indexes, 0, size - keepFrom);
    size -= keepFrom;
  }

  void clear() {
    size = 0;
  }

  /** The largest CONFIG index at or below {@code index}, or -1 if none. */
  long latestAtOrBelow(long index) {
    int lo = 0;
    int hi = size - 1;
    long found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (indexes[mid] <= index) {
        found = indexes[mid];
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  int size() {
    return size;
  }
}
