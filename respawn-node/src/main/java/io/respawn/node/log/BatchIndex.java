package io.respawn.node.log;

import java.util.Arrays;

/**
 * Where the batches of a {@link SegmentedReplicaLog} are: for each batch of PUT records still
 * holding live entries, the index of its first entry, its segment and its byte range, in log
 * order, so that reading an entry back is a binary search and one read of its batch. About 28
 * bytes per batch (one batch per append), not per entry. Owned by its log, which tells it of
 * every append, suffix truncation and prefix drop; single-threaded.
 *
 * <p>A batch's live entries run from its first index to the next batch's first index minus one
 * (a suffix truncation ends a batch early; the entries after it come in later batches).
 * Invariant: first indexes strictly ascending.
 */
final class BatchIndex {
  private long[] first = new long[64];
  private long[] segment = new long[64];
  private long[] offset = new long[64];
  private int[] bytes = new int[64];
  private int size;

  /** A batch of {@code batchBytes} at {@code batchOffset} of segment {@code segmentNumber}. */
  void added(long firstIndex, long segmentNumber, long batchOffset, int batchBytes) {
    truncatedFrom(firstIndex);
    if (size == first.length) {
      int n = size * 2;
      first = Arrays.copyOf(first, n);
      segment = Arrays.copyOf(segment, n);
      offset = Arrays.copyOf(offset, n);
      bytes = Arrays.copyOf(bytes, n);
    }
    first[size] = firstIndex;
    segment[size] = segmentNumber;
    offset[size] = batchOffset;
    bytes[size] = batchBytes;
    size++;
  }

  /** Entries from {@code fromIndex} on were deleted: batches starting there go. */
  void truncatedFrom(long fromIndex) {
    while (size > 0 && first[size - 1] >= fromIndex) {
      size--;
    }
  }

  /** Entries below {@code firstIndex} were dropped: batches holding only those go. */
  void droppedBelow(long firstIndex) {
    int drop = 0;
    while (drop + 1 < size && first[drop + 1] <= firstIndex) {
      drop++;
    }
    if (drop == 0) {
      return;
    }
    System.arraycopy(first, drop, first, 0, size - drop);
    System.arraycopy(segment, drop, segment, 0, size - drop);
    System.arraycopy(offset, drop, offset, 0, size - drop);
    System.arraycopy(bytes, drop, bytes, 0, size - drop);
    size -= drop;
  }

  void clear() {
    size = 0;
  }

  /** The position of the batch holding {@code index} (the last starting at or below it), or -1. */
  int holding(long index) {
    int lo = 0;
    int hi = size - 1;
    int found = -1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      if (first[mid] <= index) {
        found = mid;
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

  long first(int k) {
    return first[k];
  }

  long segment(int k) {
    return segment[k];
  }

  long offset(int k) {
    return offset[k];
  }

  int bytes(int k) {
    return bytes[k];
  }
}
