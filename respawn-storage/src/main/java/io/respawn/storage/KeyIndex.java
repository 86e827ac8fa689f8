package io.respawn.storage;

import io.respawn.storage.memory.RecordTable;
import io.respawn.storage.memory.SlabAllocator;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The primary's in-memory index: every live key with its value, expiry and the segment holding
 * its record, all off the Java heap in a {@link RecordTable} (see there for the hash table, its
 * incremental rebuild, SCAN cursors and memory reclamation).
 *
 * <p><b>Record</b> (the table's common 8-byte header, then this index's 12 bytes of meta;
 * little-endian):
 *
 * <pre>
 *  0        3     4          8              16             20            20|28   +k
 * +--------+-----+----------+--------------+--------------+-------------+-------+-------+
 * | keyLen | flg | valueLen | sequence     | segmentId    | [expiresAt] | key   | value |
 * | u24    | u8  | u32      | u64          | u32          | [i64]       | k B   | v B   |
 * +--------+-----+----------+--------------+--------------+-------------+-------+-------+
 *  expiresAt (epoch ms) is present only when flg has EXPIRES; segmentId is rewritten in place by
 *  the writer when compaction moves the record's log copy.
 * </pre>
 *
 * A record with a 16-byte key and a 100-byte value takes 136 bytes (class 136), with a 496-byte
 * value 532 bytes (class 544); plus 8 bytes of slot per key at a load between 3/8 and 3/4.
 *
 * <p><b>Reads copy.</b> {@link #get} copies the value into a new {@code byte[]} (the API hands out
 * arrays): one allocation and one copy per read, ~20 ns for 100 bytes, and short-lived garbage
 * that the young collection frees without copying.
 *
 * <p><b>Threads.</b> Writes (put, remove, clear, {@link #reclaim}, {@link #remapSegments}) from
 * one writer at a time: the engine's append lock, or recovery before the index is published.
 * {@link #get}, {@link #scan} and {@link #scanRecords} from any thread at any time. Invariant:
 * {@link #size()} equals the number of live keys and {@link #expiringSize()} those with an expiry.
 */
final class KeyIndex implements AutoCloseable {
  static final int SCAN_COUNT_MAX = RecordTable.SCAN_COUNT_MAX;
  /** What put and remove return when the key had no live record. */
  static final long NONE = -1;

  static final int META_BYTES = 12;
  private static final int SEQUENCE = 0;
  private static final int SEGMENT_ID = 8;
  private static final ValueLayout.OfLong LONG =
      ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfInt INT =
      ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle EXPIRING;

  static {
    try {
      EXPIRING = MethodHandles.lookup().findVarHandle(KeyIndex.class, "expiring", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final RecordTable table = new RecordTable(META_BYTES);
  private final SlabAllocator memory = table.memory();
  /** Live keys with an expiry time; written by the writer only, read by anyone (INFO). */
  private volatile long expiring;
  /** Writer only: prefetch scratch. */
  private final long[] prefetchHashes = new long[RecordTable.PREFETCH_MAX];

  /**
   * Bytes one key costs here: its record rounded up to its size class, plus 16 bytes of slot
   * table (an 8-byte slot at a load of 1/2, the middle of the 3/8..3/4 the table keeps).
   */
  static long memoryBytesPerKey(int keyBytes, int valueBytes, boolean expires) {
    long record = RecordTable.HEADER_BYTES + META_BYTES + (expires ? 8 : 0) + keyBytes + valueBytes;
    return SlabAllocator.blockBytes(record) + 16;
  }

  // ------------------------------------------------------------------ record fields

  long sequence(MemorySegment chunk, long record) {
    return chunk.get(LONG, RecordTable.metaOffset(record) + SEQUENCE);
  }

  long segmentId(MemorySegment chunk, long record) {
    return Integer.toUnsignedLong(chunk.get(INT, RecordTable.metaOffset(record) + SEGMENT_ID));
  }

  long expiresAtMillis(MemorySegment chunk, long record) {
    return (RecordTable.flags(chunk, record) & RecordTable.FLAG_EXPIRES) == 0
        ? 0 : chunk.get(LONG, table.expiryOffset(record));
  }

  int keyLength(MemorySegment chunk, long record) {
    return RecordTable.keyLength(chunk, record);
  }

  long keyOffset(MemorySegment chunk, long record) {
    return table.keyOffset(chunk, record);
  }

  int valueLength(MemorySegment chunk, long record) {
    return RecordTable.valueLength(chunk, record);
  }

  long valueOffset(MemorySegment chunk, long record) {
    return table.valueOffset(chunk, record);
  }

  /** Bytes of the record's copy in the log ({@link LogFormat#recordBytes}). */
  long logRecordBytes(MemorySegment chunk, long record) {
    return LogFormat.recordBytes(keyLength(chunk, record), valueLength(chunk, record));
  }

  /** What put and remove return for a previous record: its segment and log bytes, packed. */
  private long summary(long ref) {
    if (ref == 0) {
      return NONE;
    }
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    long bytes = logRecordBytes(c, off);
    assert bytes < 1L << 32 : bytes;
    return segmentId(c, off) << 32 | bytes;
  }

  /** The segment of a previous record returned by put or remove (not NONE). */
  static long segmentOf(long summary) {
    assert summary != NONE;
    return summary >>> 32;
  }

  /** The log bytes of a previous record returned by put or remove (not NONE). */
  static int recordBytesOf(long summary) {
    assert summary != NONE;
    return (int) summary;
  }

  // ------------------------------------------------------------------ readers

  private int enter() {
    try {
      return table.enter();
    } catch (IllegalStateException e) {
      throw new StorageException("store is closed");
    }
  }

  /** The live value (a copy) and its expiry, or null. Any thread. */
  StoredValue get(byte[] key) {
    long hash = table.hash(key);
    int token = enter();
    try {
      long ref = table.find(hash, key);
      if (ref == 0) {
        return null;
      }
      MemorySegment c = memory.chunk(ref);
      long off = SlabAllocator.offset(ref);
      byte[] value = new byte[valueLength(c, off)];
      MemorySegment.copy(c, ValueLayout.JAVA_BYTE, valueOffset(c, off), value, 0, value.length);
      return new StoredValue(value, expiresAtMillis(c, off));
    } finally {
      table.exit(token);
    }
  }

  /**
   * Hands the key's live value to {@code sink} as a read-only slice of its slab, inside the
   * read's epoch (the record's memory is not reused before the sink returns); false if absent.
   * Copies nothing onto the heap. Any thread.
   */
  boolean readValue(byte[] key, KvStore.ValueSink sink) throws java.io.IOException {
    long hash = table.hash(key);
    int token = enter();
    try {
      long ref = table.find(hash, key);
      if (ref == 0) {
        return false;
      }
      MemorySegment c = memory.chunk(ref);
      long off = SlabAllocator.offset(ref);
      sink.accept(c.asSlice(valueOffset(c, off), valueLength(c, off)).asReadOnly(),
          expiresAtMillis(c, off));
      return true;
    } finally {
      table.exit(token);
    }
  }

  /** The expiry of the key's live record (0 = never), or -1 if absent; copies nothing. Any thread. */
  long expiresAtMillisOf(byte[] key) {
    long hash = table.hash(key);
    int token = enter();
    try {
      long ref = table.find(hash, key);
      return ref == 0 ? -1 : expiresAtMillis(memory.chunk(ref), SlabAllocator.offset(ref));
    } finally {
      table.exit(token);
    }
  }

  /** Sequence of the key's live record, or -1 (tests). Any thread. */
  long sequenceOf(byte[] key) {
    long hash = table.hash(key);
    int token = enter();
    try {
      long ref = table.find(hash, key);
      return ref == 0 ? -1 : sequence(memory.chunk(ref), SlabAllocator.offset(ref));
    } finally {
      table.exit(token);
    }
  }

  long size() {
    return table.size();
  }

  long expiringSize() {
    return expiring;
  }

  /** Bytes of memory in use: records and slot tables. Any thread. */
  /** {@link SlabAllocator#canCutWithoutZeroing} of the records' memory. Writer only. */
  boolean hasZeroedRoomFor(long bytes) {
    return memory.canCutWithoutZeroing(bytes);
  }

  long memoryUsedBytes() {
    return table.usedBytes();
  }

  /** Memory figures for INFO. Any thread. */
  MemoryStats memoryStats() {
    return new MemoryStats(table.usedBytes(), memory.liveBytes(), table.tableBytes(),
        table.reservedBytes(), memory.freeListBytes());
  }

  /**
   * @param usedBytes records (live and awaiting reuse) and slot tables
   * @param recordBytes live records, each rounded up to its size class
   * @param tableBytes slot tables
   * @param reservedBytes taken from the operating system (slabs and tables)
   * @param freeListBytes freed blocks kept for reuse by their size class
   */
  record MemoryStats(long usedBytes, long recordBytes, long tableBytes, long reservedBytes,
      long freeListBytes) {}

  /**
   * One page of keys: whole homes from the cursor on, in hash order, until the page holds {@code
   * countHint} keys (clamped to 1..{@value #SCAN_COUNT_MAX}). Any thread.
   */
  ScanPage scan(long cursor, int countHint) {
    List<byte[]> keys = new ArrayList<>(Math.min(Math.max(countHint, 1), 64));
    long next;
    try {
      next = table.scan(cursor, countHint, (chunk, record, ref) -> {
        keys.add(table.copyKey(ref));
        return true;
      });
    } catch (IllegalStateException e) {
      throw new StorageException("store is closed");
    }
    return new ScanPage(keys, next);
  }

  /**
   * Visits the live records of a SCAN page (see {@link RecordTable#scan}); the visitor runs
   * while the memory is protected and must copy what it keeps. Any thread.
   */
  long scanRecords(long cursor, int countHint, RecordTable.RecordVisitor visitor) {
    try {
      return table.scan(cursor, countHint, visitor);
    } catch (IllegalStateException e) {
      throw new StorageException("store is closed");
    }
  }

  // ------------------------------------------------------------------ writer

  /** Writer: about {@code keys} keys are coming ({@link RecordTable#expect}). */
  void expect(long keys) {
    table.expect(keys);
  }

  /**
   * Before a batch of writes: loads what writes to these keys will read (see {@link
   * RecordTable#prefetch}). Writer only; the first {@value RecordTable#PREFETCH_MAX} keys.
   */
  void prefetch(List<Mutation> batch) {
    prefetch(batch, 0);
  }

  /**
   * As {@link #prefetch(List)}, for the {@value RecordTable#PREFETCH_MAX} keys from {@code from}
   * on: a writer of a long batch (a BatchPull chunk installs ~500) calls it before every group of
   * that many, so that no write of the batch meets its cache misses one after the other.
   */
  void prefetch(List<Mutation> batch, int from) {
    int n = Math.min(batch.size() - from, prefetchHashes.length);
    for (int k = 0; k < n; k++) {
      prefetchHashes[k] = table.hash(batch.get(from + k).key());
    }
    table.prefetch(prefetchHashes, n);
  }

  /**
   * Inserts or replaces; returns the previous record's {@link #segmentOf segment} and {@link
   * #recordBytesOf log bytes}, or {@link #NONE}. Writer only.
   */
  long put(byte[] key, byte[] value, long expiresAtMillis, long sequence, long segmentId) {
    assert segmentId >= 0 && segmentId < 0xFFFF_FFFFL : "segment id " + segmentId;
    int flags = expiresAtMillis != 0 ? RecordTable.FLAG_EXPIRES : 0;
    long ref = table.newRecord(flags, key, value.length);
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    c.set(LONG, RecordTable.metaOffset(off) + SEQUENCE, sequence);
    c.set(INT, RecordTable.metaOffset(off) + SEGMENT_ID, (int) segmentId);
    if (flags != 0) {
      c.set(LONG, table.expiryOffset(off), expiresAtMillis);
    }
    MemorySegment.copy(value, 0, c, ValueLayout.JAVA_BYTE, valueOffset(c, off), value.length);
    long previous = table.put(table.hash(key), ref);
    long summary = summary(previous);
    countExpiry(previous, expiresAtMillis != 0 ? 1 : 0);
    return summary;
  }

  /** Removes; returns the previous record's summary (as {@link #put}) or {@link #NONE}. Writer. */
  long remove(byte[] key) {
    long previous = table.remove(table.hash(key), key);
    long summary = summary(previous);
    countExpiry(previous, 0);
    return summary;
  }

  /** Removes everything. Writer only. */
  void clear() {
    table.clear();
    EXPIRING.setRelease(this, 0L);
  }

  /** Writer: lets memory freed by earlier writes be reused once readers allow; after a batch. */
  void reclaim() {
    table.reclaim();
  }

  /**
   * Writer: one page of the walk that compaction ends with: every live record whose log copy is
   * in a segment up to {@code last} now has it in {@code last}; returns the next cursor and adds
   * the moved records' log bytes to {@code movedBytes[0]}. A walk visits each key once.
   */
  long remapSegments(long cursor, int countHint, long last, long[] movedBytes) {
    return scanRecords(cursor, countHint, (chunk, record, ref) -> {
      if (segmentId(chunk, record) <= last) {
        chunk.set(INT, RecordTable.metaOffset(record) + SEGMENT_ID, (int) last);
        movedBytes[0] += logRecordBytes(chunk, record);
      }
      return true;
    });
  }

  /** Writer only: the previous record (0 or live) gave way to a record with {@code next} expiries. */
  private void countExpiry(long previous, int next) {
    int had = 0;
    if (previous != 0) {
      MemorySegment c = memory.chunk(previous);
      had = (RecordTable.flags(c, SlabAllocator.offset(previous)) & RecordTable.FLAG_EXPIRES) != 0
          ? 1 : 0;
    }
    int delta = next - had;
    if (delta != 0) {
      EXPIRING.setRelease(this, expiring + delta);
    }
  }

  /** True while a rebuilt table is being filled from the previous one (for tests). */
  boolean migrating() {
    return table.migrating();
  }

  /** Frees the memory; later reads throw "store is closed". Writer only. */
  @Override
  public void close() {
    table.close();
  }
}
