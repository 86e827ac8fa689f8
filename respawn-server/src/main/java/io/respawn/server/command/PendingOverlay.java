package io.respawn.server.command;

import io.respawn.storage.Mutation;
import io.respawn.storage.StoredValue;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pass's pending writes seen as key → value, for the reads that must see them, derived from
 * the pass's batch itself (owned by {@link Keyspace}, which only appends to it or empties it).
 *
 * <p>Why not a map kept up to date by every write: a pass holds a handful of writes (about 3.5
 * SETs a pass under {@code redis-benchmark -c 50}), and almost no pass reads one of them back,
 * yet a map entry per SET (a key wrapper, a value holder, a hash of the key, a node) was 2–3 %
 * of the single-node event loop's time. Now a write costs nothing here; a lookup scans the batch
 * newest first while it holds at most {@link #SCAN_WRITES_MAX} writes, and past that folds the
 * batch into a map once and keeps folding only what was appended since.
 *
 * <p>Answers: the {@link StoredValue} of the key's newest pending write, {@link #ABSENT} when
 * the newest pending event for the key deletes it (a DEL, or a FLUSHALL after its last write),
 * or null when the pass has not touched it.
 */
final class PendingOverlay {
  /** Batches up to this many writes are scanned; longer ones are indexed. */
  static final int SCAN_WRITES_MAX = 16;
  /** The key's newest pending event removes it. */
  static final StoredValue ABSENT = new StoredValue(new byte[0], 0);

  private final List<Mutation> batch;
  /** Keys written since the batch's last CLEAR, folded from {@code batch[0, folded)}. */
  private final HashMap<ByteKey, StoredValue> folded = new HashMap<>();
  private int foldedCount;
  /** A CLEAR is among the folded writes. */
  private boolean foldedClear;

  PendingOverlay(List<Mutation> batch) {
    this.batch = batch;
  }

  /** See the class comment for what the answer means. */
  StoredValue lookup(byte[] key) {
    int n = batch.size();
    if (n == 0) {
      return null;
    }
    if (n <= SCAN_WRITES_MAX && foldedCount == 0) {
      for (int i = n - 1; i >= 0; i--) {
        Mutation m = batch.get(i);
        switch (m.kind()) {
          case CLEAR -> {
            return ABSENT;
          }
          case PUT -> {
            if (Arrays.equals(m.key(), key)) {
              return new StoredValue(m.value(), m.expiresAtMillis());
            }
          }
          case DELETE -> {
            if (Arrays.equals(m.key(), key)) {
              return ABSENT;
            }
          }
        }
      }
      return null;
    }
    StoredValue v = map().get(new ByteKey(key));
    return v != null ? v : foldedClear ? ABSENT : null;
  }

  /**
   * Every key written since the batch's last CLEAR, with its pending value ({@link #ABSENT} for
   * a deletion); whether a CLEAR came before them is {@link Keyspace}'s to know. Valid until the
   * batch changes.
   */
  Map<ByteKey, StoredValue> map() {
    int n = batch.size();
    for (; foldedCount < n; foldedCount++) {
      Mutation m = batch.get(foldedCount);
      switch (m.kind()) {
        case CLEAR -> {
          folded.clear();
          foldedClear = true;
        }
        case PUT -> folded.put(new ByteKey(m.key()), new StoredValue(m.value(),
            m.expiresAtMillis()));
        case DELETE -> folded.put(new ByteKey(m.key()), ABSENT);
      }
    }
    return folded;
  }

  /** The batch was emptied: forget what was folded. */
  void reset() {
    if (foldedCount > 0) {
      folded.clear();
      foldedCount = 0;
      foldedClear = false;
    }
  }
}
