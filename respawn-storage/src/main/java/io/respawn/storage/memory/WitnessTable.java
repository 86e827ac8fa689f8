package io.respawn.storage.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * A witness's key table (DESIGN.md §3): for every key it has seen, the (term, index) of the
 * newest write to it, with no value, off the Java heap in a {@link RecordTable}. A witness answers
 * "has this key a write I know of, and which" from it, and forgets keys once the writes they name
 * are safe elsewhere ({@link #forgetUpTo}).
 *
 * <p><b>Record</b> (the table's common 8-byte header, then 16 bytes of meta; little-endian; the
 * table is keys-only, so the header's valueLen field is this class's version word):
 *
 * <pre>
 *  0        3     4          8              16             24        24+k
 * +--------+-----+----------+--------------+--------------+---------+
 * | keyLen | flg | version  | term         | index        | key     |
 * | u24    | u8  | u32      | u64          | u64          | k bytes |
 * +--------+-----+----------+--------------+--------------+---------+
 *  version: even when (term, index) is whole, odd while the writer rewrites it; 0 when created
 * </pre>
 *
 * A 16-byte key takes 40 bytes (class 40), plus 8 bytes of slot at a load between 3/8 and 3/4:
 * about 57 bytes per key at 1 M keys.
 *
 * <p><b>Order.</b> A key's timestamp only moves forward: {@link #record} keeps whichever of the
 * stored and the given (term, index) is newer (term first, then index), so entries applied out of
 * order or twice leave the newest.
 *
 * <p><b>Newer writes to a known key update its record in place</b> (a witness applies a write to
 * every key it names, and most writes go to keys it knows): the writer makes the version odd,
 * rewrites (term, index) and makes it even again, one higher than before; a {@link #lookup}
 * reads the version, the timestamp and the version again, and retries unless both versions were
 * the same even number (a sequence lock: the writer never waits, a reader retries only while one
 * rewrite of that very key is under way). Copying the record instead cost an allocation, a second
 * probe, a retirement and its reclamation per write. A reader stalled across 2^31 rewrites of one
 * key could be fooled by the 32-bit version wrapping; nothing stays inside that long.
 *
 * <p><b>Threads.</b> One writer at a time for {@link #record}, {@link #recordAll}, {@link #remove},
 * {@link #forgetUpTo}, {@link #clear} and {@link #reclaim} (call reclaim after each batch of
 * writes); {@link #lookup} and {@link #size} from any thread.
 */
public final class WitnessTable implements AutoCloseable {
  private static final int TERM = 0;
  private static final int INDEX = 8;
  static final int META_BYTES = 16;
  /** The version word: the header's valueLen field, which a keys-only table leaves to its owner. */
  private static final int VERSION = 4;
  private static final VarHandle VERSION_WORD =
      ValueLayout.JAVA_INT.withOrder(ByteOrder.LITTLE_ENDIAN).varHandle();
  /** Retries of a lookup that met a rewrite in progress before it yields the processor. */
  private static final int SPINS_BEFORE_YIELD = 64;

  /** A key's newest write. */
  public record Timestamp(long term, long index) {
    /** True if this write comes after {@code other}'s. */
    public boolean isNewerThan(long otherTerm, long otherIndex) {
      return term != otherTerm ? term > otherTerm : index > otherIndex;
    }
  }

  private final RecordTable table = new RecordTable(META_BYTES, true);
  private final SlabAllocator memory = table.memory();
  /** Writer only: the hashes of the keys {@link #recordAll} is about to write. */
  private final long[] batchHashes = new long[RecordTable.PREFETCH_MAX];

  /**
   * Writer: {@code key} was written at (term, index). Keeps the newer of this and what is stored.
   * Returns true if the table changed.
   */
  public boolean record(byte[] key, long term, long index) {
    checkTimestamp(term, index);
    return record(key, table.hash(key), term, index);
  }

  /**
   * Writer: every key of {@code keys} was written at (term, index), as by {@link #record} for
   * each; returns how many changed. Hashes the keys of up to {@value RecordTable#PREFETCH_MAX}
   * at a time first and loads their slots and records together, so that their cache misses
   * overlap instead of coming one key after the other.
   */
  public int recordAll(List<byte[]> keys, long term, long index) {
    checkTimestamp(term, index);
    int changed = 0;
    int n = keys.size();
    for (int from = 0; from < n; from += batchHashes.length) {
      int count = Math.min(batchHashes.length, n - from);
      for (int k = 0; k < count; k++) {
        batchHashes[k] = table.hash(keys.get(from + k));
      }
      if (count > 1) {
        table.prefetch(batchHashes, count);
      }
      for (int k = 0; k < count; k++) {
        if (record(keys.get(from + k), batchHashes[k], term, index)) {
          changed++;
        }
      }
    }
    return changed;
  }

  private static void checkTimestamp(long term, long index) {
    if (term < 0 || index < 0) {
      throw new IllegalArgumentException("term " + term + " and index " + index + " must be >= 0");
    }
  }

  private boolean record(byte[] key, long hash, long term, long index) {
    long current = table.find(hash, key); // the writer may read without entering: it frees nothing
    if (current != 0) {
      MemorySegment c = memory.chunk(current);
      long off = SlabAllocator.offset(current);
      long meta = RecordTable.metaOffset(off);
      long storedTerm = c.get(RecordTable.LONG, meta + TERM);
      long storedIndex = c.get(RecordTable.LONG, meta + INDEX);
      if (!new Timestamp(term, index).isNewerThan(storedTerm, storedIndex)) {
        return false;
      }
      int version = (int) VERSION_WORD.get(c, off + VERSION); // only this writer changes it
      assert (version & 1) == 0 : "version " + version + " left odd";
      VERSION_WORD.setOpaque(c, off + VERSION, version + 1);
      VarHandle.releaseFence(); // the odd version is visible no later than the new timestamp
      c.set(RecordTable.LONG, meta + TERM, term);
      c.set(RecordTable.LONG, meta + INDEX, index);
      VERSION_WORD.setRelease(c, off + VERSION, version + 2); // after the timestamp, even again
      return true;
    }
    long ref = table.newRecord(0, key, 0); // version 0
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    c.set(RecordTable.LONG, RecordTable.metaOffset(off) + TERM, term);
    c.set(RecordTable.LONG, RecordTable.metaOffset(off) + INDEX, index);
    table.put(hash, ref);
    return true;
  }

  /** The newest write to {@code key} this witness knows, or null. Any thread. */
  public Timestamp lookup(byte[] key) {
    long hash = table.hash(key);
    int token = table.enter();
    try {
      long ref = table.find(hash, key);
      if (ref == 0) {
        return null;
      }
      MemorySegment c = memory.chunk(ref);
      long off = SlabAllocator.offset(ref);
      long meta = RecordTable.metaOffset(off);
      for (int tries = 1; ; tries++) {
        int before = (int) VERSION_WORD.getAcquire(c, off + VERSION);
        long term = c.get(RecordTable.LONG, meta + TERM);
        long index = c.get(RecordTable.LONG, meta + INDEX);
        VarHandle.acquireFence(); // the timestamp is read before the version is read again
        if ((before & 1) == 0 && (int) VERSION_WORD.getOpaque(c, off + VERSION) == before) {
          return new Timestamp(term, index);
        }
        if (tries % SPINS_BEFORE_YIELD == 0) {
          Thread.yield(); // the writer may have been descheduled mid-rewrite
        } else {
          Thread.onSpinWait();
        }
      }
    } finally {
      table.exit(token);
    }
  }

  /**
   * Writer: for each of the {@code count} keys {@code keyAt.apply(0 .. count-1)}, the index of
   * the newest write this witness knows into {@code indexes[k]} ({@link #NOT_HERE} if the key is
   * not here) and the key's hash in this table into {@code hashes[k]} (for {@link
   * #remove(byte[], long)}). As {@link #lookup} key by key, but the slots and records of up to
   * {@value RecordTable#PREFETCH_MAX} keys are loaded together first, so that their cache misses
   * overlap: a new primary checks every value of a BatchPull chunk, hundreds of keys spread over a
   * table of millions, and one miss after the other was a sixth of its event loop (E2,
   * twenty-eighth session). The writer reads without the readers' protocol: only it changes a
   * record.
   */
  public void newestIndexes(int count, IntFunction<byte[]> keyAt, long[] hashes,
      long[] indexes) {
    if (hashes.length < count || indexes.length < count) {
      throw new IllegalArgumentException("arrays of " + hashes.length + " and " + indexes.length
          + " for " + count + " keys");
    }
    for (int from = 0; from < count; from += RecordTable.PREFETCH_MAX) {
      int n = Math.min(RecordTable.PREFETCH_MAX, count - from);
      for (int k = from; k < from + n; k++) {
        hashes[k] = table.hash(keyAt.apply(k));
      }
      if (n > 1) {
        System.arraycopy(hashes, from, batchHashes, 0, n);
        table.prefetch(batchHashes, n);
      }
      for (int k = from; k < from + n; k++) {
        long ref = table.find(hashes[k], keyAt.apply(k));
        if (ref == 0) {
          indexes[k] = NOT_HERE;
        } else {
          MemorySegment c = memory.chunk(ref);
          indexes[k] = c.get(RecordTable.LONG,
              RecordTable.metaOffset(SlabAllocator.offset(ref)) + INDEX);
        }
      }
    }
  }

  /** {@link #newestIndexes} of a key that is not here (indexes are at least 0). */
  public static final long NOT_HERE = -1;

  /** Writer: forgets {@code key}; returns whether it was known. */
  public boolean remove(byte[] key) {
    return table.remove(table.hash(key), key) != 0;
  }

  /** As {@link #remove(byte[])}, with the key's hash from {@link #newestIndexes}. Writer. */
  public boolean remove(byte[] key, long hash) {
    return table.remove(hash, key) != 0;
  }

  /**
   * Writer: forgets every key whose newest write is at or below {@code index} (those writes are
   * durable on the backups, so the witness need not vouch for them). Walks the whole table, a page
   * at a time; returns how many keys it forgot.
   */
  public long forgetUpTo(long index) {
    long forgotten = 0;
    long cursor = 0;
    List<byte[]> keys = new ArrayList<>();
    do {
      keys.clear();
      cursor = table.scan(cursor, 1000, (chunk, record, ref) -> {
        if (chunk.get(RecordTable.LONG, RecordTable.metaOffset(record) + INDEX) <= index) {
          keys.add(table.copyKey(ref));
        }
        return true;
      });
      for (byte[] key : keys) { // removing moves nothing the walk has yet to visit
        if (remove(key)) {
          forgotten++;
        }
      }
      table.reclaim();
    } while (cursor != 0);
    return forgotten;
  }

  /**
   * One page of a walk over the known keys in hash order: appends to {@code out} copies of the keys
   * of whole hash homes from {@code cursor} on (0 starts) until {@code max} keys were appended or
   * the walk ended, and returns the cursor of the next page, 0 at the end. A page may append more
   * than {@code max} keys by the rest of its last home (a home holds a few keys at the table's
   * load), so that no key is skipped: a key present for the whole walk is returned exactly once,
   * whatever is added or removed between pages. Any thread.
   */
  public long keys(long cursor, int max, List<byte[]> out) {
    if (max < 1) {
      throw new IllegalArgumentException("max " + max + " must be >= 1");
    }
    int limit = out.size() + max;
    return table.scan(cursor, max, (chunk, record, ref) -> {
      out.add(table.copyKey(ref));
      return out.size() < limit;
    });
  }

  /**
   * Writer: while {@code hold}, forgetting keys never shrinks the table ({@link
   * RecordTable#holdSize}): a new primary's table of unknown keys empties as its recovery copies
   * the values in. Released, an empty table gives its memory back at once.
   */
  public void holdSize(boolean hold) {
    table.holdSize(hold);
  }

  /** Writer: forgets every key. */
  public void clear() {
    table.clear();
  }

  /** Writer: lets memory freed by earlier writes be reused once readers allow. */
  public void reclaim() {
    table.reclaim();
  }

  /** Keys known. Any thread. */
  public long size() {
    return table.size();
  }

  /** Bytes in use: records and the slot table. Any thread. */
  public long memoryUsedBytes() {
    return table.usedBytes();
  }

  /** Bytes taken from the operating system. Any thread. */
  public long reservedBytes() {
    return table.reservedBytes();
  }

  /** Bytes of live records (each rounded up to its size class). Any thread. */
  public long recordBytes() {
    return memory.liveBytes();
  }

  @Override
  public void close() {
    table.close();
  }

  @Override
  public String toString() {
    return "WitnessTable[" + size() + " keys, " + memoryUsedBytes() + " bytes]";
  }
}
