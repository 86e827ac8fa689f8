package io.respawn.storage.memory;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Reference;
import java.nio.ByteOrder;
import java.util.concurrent.ThreadLocalRandom;

/**
 * An off-heap hash table from keys to records: the memory layout shared by the primary's index
 * ({@code KeyIndex}: key → value, expiry, log position) and the witness's key table
 * ({@link WitnessTable}: key → term, index). Neither keys nor values are Java objects, so the
 * garbage collector never sees or copies them.
 *
 * <p><b>Records</b> live in a {@link SlabAllocator}; every field little-endian:
 *
 * <pre>
 *  0          3       4             8                8+M                8+M+k
 * +----------+-------+-------------+----------------+------------------+-----------+
 * | keyLen   | flags | valueLen    | meta           | key              | value     |
 * | u24      | u8    | u32         | M bytes        | k bytes          | v bytes   |
 * +----------+-------+-------------+----------------+------------------+-----------+
 *  flags: bit 0 EXPIRES (meta ends with an extra 8 bytes), bit 1 MARKER (a deletion marker,
 *         see below; no value)
 *  M = the table's metaBytes, + 8 when EXPIRES is set; the owner defines what meta holds
 * </pre>
 *
 * A record never changes once published, except meta fields its owner documents as updated in
 * place by the writer. Replacing a key's value writes a new record and retires the old one.
 *
 * <p>A <i>keys-only</i> table ({@link #RecordTable(int, boolean)}) holds records without values:
 * the table never reads their valueLen field (a record's size is its header, meta and key), so
 * those 4 bytes at offset 4 belong to the owner, which may update them in place like meta
 * (the witness keeps a write version there).
 *
 * <p><b>Slots.</b> An open-addressing table with linear probing over one off-heap array of 64-bit
 * words, a power of two long:
 *
 * <pre>
 *  63                   36 35                                0
 * +-----------------------+-----------------------------------+
 * | tag: hash bits 63..36 | record reference (36 bits)        |   live record or marker
 * +-----------------------+-----------------------------------+
 *  0 = never used; 1 = deleted (a probe run continues past it)
 * </pre>
 *
 * A key's home slot is its 64-bit hash's <i>top</i> bits (as many as the table has slots), so the
 * tag of a table of up to 2^28 slots holds every key's home, and the table is in hash order; a
 * lookup walks from the home to the first 0, comparing tags and, on a tag match, the key bytes in
 * the record. Migration and SCAN read homes from the tags and touch no record to find them. One word is one atomic store,
 * so a slot is never seen half-written. Used slots stay at most 3/4 of the table; past that it is
 * rebuilt at the size that puts the live keys at 1/2 at most (doubling from 3/4, or shrinking once
 * fewer than 1/16 of the slots are live). At 1 M keys the table holds 2^21 words: 16.8 bytes per
 * key.
 *
 * <p><b>Each table hashes with a seed of its own</b>, drawn at random when it is made ({@link
 * #hash}). A table in hash order hands its keys out in that order (SCAN, and everything written
 * by walking it: snapshot images, compacted log segments), and with one hash for all tables a
 * table filling from such a stream would get its keys in the order of its own homes: while it is
 * still small, every key's home lies in the few slots at the front that the stream has reached,
 * so they all pile into one probe run and each insert walks the whole run. Measured before the
 * seed: 100,000 keys loaded from a shard member's image in 3.5 s, reopening a compacted log of
 * 100,000 keys in 2.3-3.0 s, growing with the square of the keys; a table of random order takes
 * ~0.1 s. With its own seed a table sees another table's order as random. (The seed also keeps a
 * client from choosing keys that share a home in every process; the hash is not a keyed
 * cryptographic hash, so it is no guarantee against a determined attacker.)
 *
 * <p><b>Rebuilding is incremental</b>, so no write stalls on a large table: the new table is
 * published next to the old one, writes go to the new one, and each write first moves at least
 * {@value #MIGRATE_PER_WRITE} old slots across (the same record, not a copy). The old table is
 * never modified once the new one is published. While a migration runs, a removal leaves a
 * <i>marker</i> (a record with the key and the MARKER flag) in the new table so the stale copy in
 * the old table stays hidden; after the migration ends, markers still in place become deleted slots.
 * A lookup probes the new table, and only if it has no record of the key, the old one, and then
 * checks that the migration is still running (else the old copy may be stale, and it looks again).
 * A record the old table still points at is retired only when the migration ends, because SCAN and
 * the migration itself read the old table's records. What a migration leaves (those records, and
 * its markers, which become deleted slots) is worked off a few per write once it ends, not at
 * once; a marker still in place reads as an absent key meanwhile.
 *
 * <p><b>The next table is made ahead.</b> A new table is zeroed memory, and zeroing is mostly
 * the kernel's page faults (a 4 MiB slab chunk took ~7 ms on the development VM, see {@link
 * NativeArenas}): at that rate growing to 2^23 slots (64 MiB, at 3.1 M keys) stalls the writer,
 * a shard member's event loop that also serves its clients, for ~110 ms. So once a table of {@value #PREPARE_CAPACITY_MIN} slots or more is half used, it
 * asks {@link NativeArenas#prepare} for the table it will most likely grow into (the capacity for
 * 1.5× the live keys), zeroed on a background thread while it fills to 3/4; the rebuild takes
 * it ready-made, or allocates inline if the guess was wrong or it is not ready yet. Shrinking
 * likewise: below 1/12 used it asks for the table a shrink at 1/16 takes (a witness's table of
 * unknown keys empties as a new primary's recovery copies their values in; in E2 at 2 GiB the
 * shrink from 2^23 slots zeroed its successor inline and stopped the loop for 30 ms).
 *
 * <p><b>SCAN cursors</b> are positions in hash order: the top 32 bits of the first hash not yet
 * visited (0 starts, and 0 returned means the end). A page visits whole homes in order; since a
 * key's position never changes, a key present for the whole iteration is visited exactly once
 * however the table grows or shrinks between pages (a page that starts inside a home, after a
 * shrink, skips the records before the cursor).
 *
 * <p><b>Threads and memory reclamation.</b> One writer at a time (the owner serializes {@link
 * #put}, {@link #remove}, {@link #clear}, {@link #reclaim}). Readers on any thread bracket their
 * work with {@link #enter}/{@link #exit} and may read any record they find in between; {@link
 * Epochs} guarantees that nothing they can reach is freed or reused before they exit, which is why
 * a retired record or table stays allocated until the writer's {@link #reclaim} finds the readers
 * gone. A slot is published with a release store after its record is complete; readers load it
 * with acquire. Invariant: {@link #size()} equals the number of live keys, counting each key once
 * across both tables.
 */
public final class RecordTable implements AutoCloseable {
  public static final int SCAN_COUNT_MAX = 10_000;
  /** Empty homes one SCAN page may step over before it returns (possibly with no keys). */
  public static final int SCAN_EMPTY_BUCKETS_MAX = 100_000;
  static final int CAPACITY_MIN = 16;
  static final int CAPACITY_MAX = 1 << 30;
  /**
   * A table of at least this many slots (512 KiB) asks for its successor to be made ahead once
   * it is half used (see the class comment); a smaller one is zeroed inline in under a
   * millisecond.
   */
  static final int PREPARE_CAPACITY_MIN = 1 << 16;
  /**
   * Records and markers a finished migration left, worked off per write. A migration that
   * shrinks a table under mass deletes (a new primary's witness table loses every key as the
   * values arrive) makes a marker for nearly every removal while it runs, ~250,000 of them
   * shrinking 2^23 slots; turning them all into deleted slots at once stalled a shard member's
   * event loop for 72 ms.
   */
  static final int CLEAN_PER_WRITE = 64;
  /** Old slots moved by each write while a migration is in progress, at least. */
  static final int MIGRATE_PER_WRITE = 8;

  /** Bytes before the meta fields. */
  public static final int HEADER_BYTES = 8;
  public static final int FLAG_EXPIRES = 1;
  static final int FLAG_MARKER = 2;
  /** Keys are at most this long (24 bits in the record). */
  public static final int KEY_BYTES_MAX = (1 << 24) - 1;

  private static final int TAG_SHIFT = SlabAllocator.REF_BITS;
  /** Hash bits a slot word keeps: the top 28. */
  private static final int TAG_BITS = 64 - TAG_SHIFT;
  /** A SCAN cursor is the top this many bits of a hash. */
  private static final int CURSOR_BITS = 32;
  private static final long REF_MASK = (1L << TAG_SHIFT) - 1;
  private static final long DELETED = 1;

  static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle SLOT = ValueLayout.JAVA_LONG.varHandle();
  private static final VarHandle LONG_LE_ARRAY =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle SIZE;

  static {
    try {
      SIZE = MethodHandles.lookup().findVarHandle(RecordTable.class, "size", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** One table of slot words; see the class comment. */
  private static final class Table {
    final MemorySegment slots;
    final int mask;
    /** log2 of the capacity: a key's home is the top this many bits of its hash. */
    final int bits;
    /** Slots not 0 (live, deleted or marker). Writer only. */
    int used;

    Table(MemorySegment slots) {
      this.slots = slots;
      this.mask = (int) (slots.byteSize() / 8) - 1;
      this.bits = Integer.numberOfTrailingZeros(mask + 1);
      assert Long.bitCount(mask + 1L) == 1 : "capacity must be a power of two: " + (mask + 1L);
    }

    int capacity() {
      return mask + 1;
    }

    long word(int i) {
      return (long) SLOT.getAcquire(slots, (long) i << 3);
    }

    long plain(int i) {
      return slots.getAtIndex(ValueLayout.JAVA_LONG, i);
    }

    void publish(int i, long word) {
      SLOT.setRelease(slots, (long) i << 3, word);
    }
  }

  /** What readers see: the current table and, while a migration runs, the table it empties. */
  private record View(Table table, Table old) {}

  private final int metaBytes;
  /** Starts this table's hash (see the class comment): drawn at random for each table. */
  private final long seed;
  /** Records carry no value; the header's valueLen field is the owner's. */
  private final boolean keysOnly;
  private final Epochs epochs = new Epochs();
  private final SlabAllocator memory;
  private final NativeArenas tableArenas;
  private volatile View view;
  private volatile boolean closed;
  /** Live keys; the writer stores it with release (no fence per write), readers load it. */
  private volatile long size;

  /** Writer only: mirrors {@link #view}. */
  private Table table;
  private Table old;
  private int migrateNext;
  private int migratePerWrite;
  /**
   * Writer only: a finished migration's {@link #retireAfterMigration} and {@link #markerSlots}
   * are being worked off, {@link #CLEAN_PER_WRITE} per write, from these positions.
   */
  private boolean cleaning;
  private int retiresCleaned;
  private int markersCleaned;
  /** Writer only: the current table asked for its successor to be made ahead. */
  private boolean nextTableAsked;
  /**
   * Writer only: the table a shrink would take was asked for. Apart from {@link #nextTableAsked}:
   * a table asks for its larger successor once half used and may then empty instead (a witness's
   * table of unknown keys during a recovery), and the newer request replaces the older one.
   */
  private boolean smallerTableAsked;
  /**
   * Writer only: the capacity {@link #expect} asked for (0: none): the table grows to it as soon
   * as it is made, and does not shrink below it.
   */
  private int expectedCapacity;
  /** Writer only: removals do not shrink the table ({@link #holdSize}). */
  private boolean sizeHeld;
  /** Writer only: slots of the new table that hold markers made during this migration. */
  private final LongList markerSlots = new LongList(16);
  /** Writer only: records the old table still points at, retired when the migration ends. */
  private final LongList retireAfterMigration = new LongList(16);

  /** Prefetch scratch (writer only). */
  public static final int PREFETCH_MAX = 64;
  private long prefetchSink;

  /**
   * @param metaBytes fixed meta bytes per record (before the optional expiry), a multiple of 4
   */
  public RecordTable(int metaBytes) {
    this(metaBytes, false);
  }

  /**
   * @param metaBytes fixed meta bytes per record (before the optional expiry), a multiple of 4
   * @param keysOnly records have no value, and the header's 4 valueLen bytes are the owner's (see
   *     the class comment); {@link #newRecord} then refuses a value
   */
  public RecordTable(int metaBytes, boolean keysOnly) {
    this(metaBytes, keysOnly, ThreadLocalRandom.current().nextLong());
  }

  /** A table whose hash starts from {@code seed} (tests: two tables that hash alike). */
  RecordTable(int metaBytes, boolean keysOnly, long seed) {
    if (metaBytes < 0 || metaBytes % 4 != 0) {
      throw new IllegalArgumentException("metaBytes " + metaBytes + " must be a multiple of 4");
    }
    this.metaBytes = metaBytes;
    this.seed = seed;
    this.keysOnly = keysOnly;
    this.memory = new SlabAllocator(epochs, this);
    this.tableArenas = new NativeArenas(this);
    this.table = newTable(CAPACITY_MIN);
    this.view = new View(table, null);
  }

  private Table newTable(int capacity) {
    return new Table(tableArenas.allocate((long) capacity * 8));
  }

  // ------------------------------------------------------------------ hashing

  /**
   * 64-bit hash of a key, never 0: eight bytes per multiply, the tail bytes one by one, then
   * murmur3's finalizer to spread the bits over all 64 (homes use the top ones). Unseeded: the
   * same in every process, for hashes that travel (the backup's {@code KeyHash}); a table hashes
   * its keys with its own seed instead ({@link #hash}).
   */
  public static long hash64(byte[] key) {
    return hash64(key, 0, key.length, 0);
  }

  /** {@link #hash64(byte[])} of the {@code length} bytes at {@code offset} in {@code bytes}. */
  public static long hash64(byte[] bytes, int offset, int length) {
    return hash64(bytes, offset, length, 0);
  }

  /**
   * This table's hash of a key ({@link #hash64(byte[])} started from this table's seed, see the
   * class comment): what {@link #find}, {@link #put}, {@link #remove} and {@link #prefetch}
   * take. Any thread.
   */
  public long hash(byte[] key) {
    return hash64(key, 0, key.length, seed);
  }

  private static long hash64(byte[] bytes, int offset, int length, long seed) {
    long h = 0xcbf29ce484222325L ^ length ^ seed;
    int i = offset;
    int end = offset + length;
    for (; i + 8 <= end; i += 8) {
      h = Long.rotateLeft((h ^ (long) LONG_LE_ARRAY.get(bytes, i)) * 0x9e3779b97f4a7c15L, 29);
    }
    for (; i < end; i++) {
      h = (h ^ (bytes[i] & 0xff)) * 0x100000001b3L;
    }
    return finish(h);
  }

  /** {@link #hash64(byte[], int, int, long)} of {@code length} bytes at {@code offset} in {@code s}. */
  static long hash64(MemorySegment s, long offset, int length, long seed) {
    long h = 0xcbf29ce484222325L ^ length ^ seed;
    int i = 0;
    for (; i + 8 <= length; i += 8) {
      h = Long.rotateLeft((h ^ s.get(LONG, offset + i)) * 0x9e3779b97f4a7c15L, 29);
    }
    for (; i < length; i++) {
      h = (h ^ (s.get(ValueLayout.JAVA_BYTE, offset + i) & 0xff)) * 0x100000001b3L;
    }
    return finish(h);
  }

  private static long finish(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h == 0 ? 0x9e3779b97f4a7c15L : h;
  }

  private static long word(long hash, long ref) {
    return (hash >>> TAG_SHIFT) << TAG_SHIFT | ref;
  }

  private static int home(long hash, Table t) {
    return (int) (hash >>> (64 - t.bits));
  }

  /** The home in t of the record a slot word names: from its tag if t has at most 2^28 slots. */
  private int homeOf(long word, Table t) {
    if (t.bits <= TAG_BITS) {
      return (int) ((word >>> TAG_SHIFT) >>> (TAG_BITS - t.bits));
    }
    return home(recordHash(word & REF_MASK), t);
  }

  /** The record a slot word names comes before {@code cursor} in hash order. */
  private boolean before(long word, long cursor) {
    if ((cursor & ((1L << (CURSOR_BITS - TAG_BITS)) - 1)) == 0) {
      return (word >>> TAG_SHIFT) < cursor >>> (CURSOR_BITS - TAG_BITS); // the tag suffices
    }
    return recordHash(word & REF_MASK) >>> (64 - CURSOR_BITS) < cursor;
  }

  // ------------------------------------------------------------------ records

  /** The allocator holding the records; resolve references with it while inside. */
  public SlabAllocator memory() {
    return memory;
  }

  public static int keyLength(MemorySegment chunk, long record) {
    return chunk.get(INT, record) & 0xFF_FFFF;
  }

  public static int flags(MemorySegment chunk, long record) {
    return chunk.get(INT, record) >>> 24;
  }

  public static int valueLength(MemorySegment chunk, long record) {
    return chunk.get(INT, record + 4);
  }

  /** Offset of the meta fields of the record at {@code record}. */
  public static long metaOffset(long record) {
    return record + HEADER_BYTES;
  }

  /** Offset of the expiry (after the fixed meta) of a record with FLAG_EXPIRES. */
  public long expiryOffset(long record) {
    return record + HEADER_BYTES + metaBytes;
  }

  public long keyOffset(MemorySegment chunk, long record) {
    return record + HEADER_BYTES + metaBytes
        + ((flags(chunk, record) & FLAG_EXPIRES) != 0 ? 8 : 0);
  }

  public long valueOffset(MemorySegment chunk, long record) {
    return keyOffset(chunk, record) + keyLength(chunk, record);
  }

  /** Bytes of a record with these fields. */
  public long recordBytes(int flags, int keyBytes, long valueBytes) {
    return HEADER_BYTES + metaBytes + ((flags & FLAG_EXPIRES) != 0 ? 8 : 0) + keyBytes + valueBytes;
  }

  private long recordBytes(long ref) {
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    long valueBytes = keysOnly ? 0 : Integer.toUnsignedLong(valueLength(c, off));
    return recordBytes(flags(c, off), keyLength(c, off), valueBytes);
  }

  private boolean isMarker(long ref) {
    return (flags(memory.chunk(ref), SlabAllocator.offset(ref)) & FLAG_MARKER) != 0;
  }

  /**
   * Writer: allocates a record with its header and key written; the caller writes meta (and the
   * expiry, with FLAG_EXPIRES) and value, then publishes it with {@link #put}.
   */
  public long newRecord(int flags, byte[] key, int valueBytes) {
    if (key.length > KEY_BYTES_MAX) {
      throw new IllegalArgumentException(
          "key of " + key.length + " bytes exceeds the memory table's " + KEY_BYTES_MAX);
    }
    if (keysOnly && valueBytes != 0) {
      throw new IllegalArgumentException("a keys-only table's records hold no value ("
          + valueBytes + " bytes given)");
    }
    assert (flags & ~(FLAG_EXPIRES | FLAG_MARKER)) == 0 : "flags " + flags;
    long ref = memory.allocate(recordBytes(flags, key.length, valueBytes));
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    c.set(INT, off, key.length | flags << 24);
    c.set(INT, off + 4, valueBytes);
    MemorySegment.copy(key, 0, c, ValueLayout.JAVA_BYTE, keyOffset(c, off), key.length);
    return ref;
  }

  /** Copies a record's key out. Readers: inside. */
  public byte[] copyKey(long ref) {
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    byte[] key = new byte[keyLength(c, off)];
    MemorySegment.copy(c, ValueLayout.JAVA_BYTE, keyOffset(c, off), key, 0, key.length);
    return key;
  }

  private long recordHash(long ref) {
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    return hash64(c, keyOffset(c, off), keyLength(c, off), seed);
  }

  /** The record's key equals {@code length} bytes at {@code keyOffset} in {@code key}. */
  private boolean keyEquals(long ref, MemorySegment key, long keyOffset, int length) {
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    if (keyLength(c, off) != length) {
      return false;
    }
    long k = keyOffset(c, off);
    return MemorySegment.mismatch(c, k, k + length, key, keyOffset, keyOffset + length) == -1;
  }

  private boolean sameKey(long ref, long other) {
    MemorySegment c = memory.chunk(other);
    long off = SlabAllocator.offset(other);
    return keyEquals(ref, c, keyOffset(c, off), keyLength(c, off));
  }

  // ------------------------------------------------------------------ readers

  /**
   * Enters a read (see the class comment); returns the token for {@link #exit}. Throws {@link
   * IllegalStateException} once the table is closed.
   */
  public int enter() {
    int token = epochs.enter();
    if (closed) {
      epochs.exit(token);
      throw new IllegalStateException("memory table is closed");
    }
    return token;
  }

  public void exit(int token) {
    epochs.exit(token);
    Reference.reachabilityFence(this); // the cleaner must not free memory a reader still reads
  }

  /** Key's record in t (possibly a marker), or 0 if t has none. Inside, or the writer. */
  private long lookup(Table t, long hash, MemorySegment key, long keyOffset, int length) {
    int mask = t.mask;
    long tag = hash >>> TAG_SHIFT;
    int i = home(hash, t);
    for (int probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
      long w = t.word(i);
      if (w == 0) {
        return 0;
      }
      long ref = w & REF_MASK;
      if (w >>> TAG_SHIFT == tag && ref >= SlabAllocator.REF_MIN
          && keyEquals(ref, key, keyOffset, length)) {
        return ref;
      }
    }
    return 0; // unreachable while a table always keeps an empty slot
  }

  /** The live record of the key, or 0. Readers: inside. */
  public long find(long hash, byte[] key) {
    MemorySegment k = MemorySegment.ofArray(key);
    while (true) {
      View v = view;
      long r = lookup(v.table(), hash, k, 0, key.length);
      if (r != 0) {
        return isMarker(r) ? 0 : r;
      }
      if (v.old() == null) {
        return 0;
      }
      long o = lookup(v.old(), hash, k, 0, key.length);
      if (view == v) { // the old copy was current when the new table had no record of the key
        return o == 0 || isMarker(o) ? 0 : o;
      }
      // The migration ended while we looked: look again.
    }
  }

  /** Live keys. Any thread. */
  public long size() {
    return size;
  }

  private void setSize(long n) {
    SIZE.setRelease(this, n);
  }

  /** Bytes of the slot tables (both during a migration). Any thread. */
  public long tableBytes() {
    return tableArenas.bytes();
  }

  /** Bytes in use: records (live and awaiting reuse) and slot tables. Any thread. */
  public long usedBytes() {
    return memory.usedBytes() + tableArenas.bytes();
  }

  /** Bytes taken from the operating system: slabs and tables. Any thread. */
  public long reservedBytes() {
    return memory.reservedBytes() + tableArenas.bytes();
  }

  // ------------------------------------------------------------------ writer

  /**
   * Writer only: the slot of the key's record in the current table, or {@code -1 - slot} of where
   * to insert it (the first deleted slot on its run when reuse is safe, else the first empty one).
   */
  private int slotFor(long hash, MemorySegment key, long keyOffset, int length) {
    return slotFor(home(hash, table), hash >>> TAG_SHIFT, key, keyOffset, length);
  }

  private int slotFor(int home, long tag, MemorySegment key, long keyOffset, int length) {
    return slotFor(home, tag, key, keyOffset, length, 0);
  }

  /**
   * The slot of the key in the current table ({@code >= 0}), or {@code -1 - free slot}. The key
   * is given as bytes, or, when {@code keyRef} is not 0, as that record's key, read only if a
   * slot's tag matches: migration moves a record without touching it (a cache miss per record
   * was a tenth of a growing table's write path).
   */
  private int slotFor(int home, long tag, MemorySegment key, long keyOffset, int length,
      long keyRef) {
    Table t = table;
    boolean reuse = old == null; // during a migration a deleted slot must keep hiding nothing
    int mask = t.mask;
    int free = -1;
    int i = home;
    for (int probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
      long w = t.plain(i);
      if (w == 0) {
        return -1 - (free >= 0 ? free : i);
      }
      if (w == DELETED) {
        if (reuse && free < 0) {
          free = i;
        }
      } else if (w >>> TAG_SHIFT == tag && (keyRef == 0
          ? keyEquals(w & REF_MASK, key, keyOffset, length) : sameKey(w & REF_MASK, keyRef))) {
        return i;
      }
    }
    throw new IllegalStateException("memory table has no empty slot (" + t.capacity() + ")");
  }

  /**
   * The longest run of used slots in the current table: the longest walk a lookup can make from
   * a home (tests; reads the whole table). Writer only.
   */
  int longestRun() {
    int longest = 0;
    int run = 0;
    for (int i = 0; i <= table.mask; i++) {
      run = table.plain(i) == 0 ? 0 : run + 1;
      longest = Math.max(longest, run);
    }
    return longest;
  }

  private int slotForRecord(long hash, long ref) {
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    return slotFor(hash, c, keyOffset(c, off), keyLength(c, off));
  }

  /** Writer only: fills a free slot from {@link #slotFor}; visible to readers at once. */
  private void insertAt(int slot, long word) {
    Table t = table;
    if (t.plain(slot) == 0) {
      t.used++;
    }
    t.publish(slot, word);
  }

  /** Writer only: the live record for the key in the old table, if a migration runs. */
  private long liveInOld(long hash, MemorySegment key, long keyOffset, int length) {
    if (old == null) {
      return 0;
    }
    long o = lookup(old, hash, key, keyOffset, length);
    return o == 0 || isMarker(o) ? 0 : o;
  }

  /**
   * Writer only: gives back a record no slot of the current table points at any more: at once
   * (reused after readers move on) unless the old table of a running migration still points at
   * it.
   */
  private void retireRecord(long hash, long ref) {
    if (old != null) {
      MemorySegment c = memory.chunk(ref);
      long off = SlabAllocator.offset(ref);
      if (lookup(old, hash, c, keyOffset(c, off), keyLength(c, off)) == ref) {
        retireAfterMigration.add(ref);
        return;
      }
    }
    memory.retire(ref, recordBytes(ref));
  }

  /**
   * Writer: loads, for up to {@value #PREFETCH_MAX} keys about to be written, the slot words at
   * their homes and then the records whose tags match, one stage for all keys at a time, so the
   * cache misses of different keys overlap. Changes nothing.
   */
  public void prefetch(long[] hashes, int count) {
    Table t = table;
    int n = Math.min(count, PREFETCH_MAX);
    long sink = 0;
    for (int k = 0; k < n; k++) { // stage 1: the slot line at each key's home
      sink += t.plain(home(hashes[k], t));
    }
    for (int k = 0; k < n; k++) { // stage 2: the record whose tag matches
      long hash = hashes[k];
      long tag = hash >>> TAG_SHIFT;
      int i = home(hash, t);
      for (int probes = 0; probes < 8; probes++, i = (i + 1) & t.mask) {
        long w = t.plain(i);
        if (w == 0) {
          break;
        }
        if (w >>> TAG_SHIFT == tag && (w & REF_MASK) >= SlabAllocator.REF_MIN) {
          long ref = w & REF_MASK;
          sink += memory.chunk(ref).get(INT, SlabAllocator.offset(ref));
          break;
        }
      }
    }
    prefetchSink += sink; // keeps the loads from being optimised away
  }

  /**
   * Writer: makes {@code ref} (from {@link #newRecord}, complete) the key's record. Returns the
   * previous live record or 0; that record is retired, and stays readable by the writer until its
   * next {@link #reclaim}.
   */
  public long put(long hash, long ref) {
    migrateSome();
    int slot = slotForRecord(hash, ref);
    long w = word(hash, ref);
    if (slot >= 0) {
      long previous = table.plain(slot) & REF_MASK;
      table.publish(slot, w);
      if (isMarker(previous)) { // the key had been removed during a migration
        memory.retire(previous, recordBytes(previous));
        setSize(size + 1);
        return 0;
      }
      retireRecord(hash, previous);
      return previous;
    }
    MemorySegment c = memory.chunk(ref);
    long off = SlabAllocator.offset(ref);
    long previous = liveInOld(hash, c, keyOffset(c, off), keyLength(c, off));
    insertAt(-1 - slot, w);
    if (previous == 0) {
      setSize(size + 1);
    } else {
      retireAfterMigration.add(previous);
    }
    rebuildIfFull();
    return previous;
  }

  /**
   * Writer: removes the key. Returns its previous live record or 0; that record is retired and
   * stays readable by the writer until its next {@link #reclaim}.
   */
  public long remove(long hash, byte[] key) {
    migrateSome();
    MemorySegment k = MemorySegment.ofArray(key);
    int slot = slotFor(hash, k, 0, key.length);
    long previous;
    if (slot >= 0) {
      previous = table.plain(slot) & REF_MASK;
      if (isMarker(previous)) {
        return 0;
      }
      if (old == null) {
        table.publish(slot, DELETED);
      } else {
        table.publish(slot, word(hash, newRecord(FLAG_MARKER, key, 0)));
        markerSlots.add(slot);
      }
      retireRecord(hash, previous);
    } else {
      previous = liveInOld(hash, k, 0, key.length);
      if (previous == 0) {
        return 0;
      }
      insertAt(-1 - slot, word(hash, newRecord(FLAG_MARKER, key, 0)));
      markerSlots.add(-1 - slot);
      retireAfterMigration.add(previous);
      rebuildIfFull();
    }
    setSize(size - 1);
    if (old == null && !sizeHeld
        && table.capacity() > Math.max(CAPACITY_MIN, expectedCapacity)) {
      if (size < table.capacity() / 16) {
        startMigration(Math.max(capacityFor(size), expectedCapacity)); // mass deletes: shrink
      } else if (size < table.capacity() / 12 && !smallerTableAsked
          && table.capacity() >= PREPARE_CAPACITY_MIN) {
        smallerTableAsked = true; // the table a shrink at the next 1/16 takes, made ahead
        tableArenas.prepare(
            (long) Math.max(capacityFor(table.capacity() / 16 - 1), expectedCapacity) * 8);
      }
    }
    return previous;
  }

  /** Writer: removes every key; the memory is freed once readers move on. */
  public void clear() {
    View was = view;
    memory.retireAll();
    markerSlots.clear();
    retireAfterMigration.clear();
    cleaning = false;
    table = newTable(CAPACITY_MIN);
    old = null;
    expectedCapacity = 0;
    setSize(0);
    view = new View(table, null);
    retireTable(was.table());
    if (was.old() != null) {
      retireTable(was.old());
    }
  }

  private void retireTable(Table t) {
    epochs.retire(() -> tableArenas.free(t.slots));
  }

  /**
   * Writer: lets memory retired two epochs ago be reused, if readers allow. Call after each batch
   * of writes; cheap when there is nothing to do.
   */
  public void reclaim() {
    memory.reclaim();
  }

  /** Tables a rebuild took ready-made from {@link NativeArenas#prepare} (tests, diagnostics). */
  long tablesMadeAhead() {
    return tableArenas.aheadTaken();
  }

  /** Whether a table of {@code capacity} slots made ahead waits for the next rebuild (tests). */
  boolean nextTableReady(int capacity) {
    return tableArenas.readyFor((long) capacity * 8);
  }

  /** Whether a table made ahead waits for the next rebuild (tests). */
  boolean nextTableReady() {
    return tableArenas.aheadReady();
  }

  /** True while what the last migration left is being worked off (for tests). */
  boolean cleaning() {
    return cleaning;
  }

  /** True while a rebuilt table is being filled from the previous one (for tests). */
  public boolean migrating() {
    return old != null;
  }

  /** The smallest table that holds {@code keys} at a load of at most 1/2. */
  private static int capacityFor(long keys) {
    long wanted = Math.max(CAPACITY_MIN, keys * 2);
    return (int) Math.min(CAPACITY_MAX, Long.highestOneBit(wanted - 1) << 1);
  }

  /**
   * Writer: about {@code keys} keys are coming, many of them new here (a new primary about to
   * copy back the values of that many unknown keys), so the table grows once to the size that
   * holds them at a load of 1/2 instead of doubling its way there: every doubling moves every
   * record, and while one runs each write of a new key also probes the old table, a cache miss
   * that was a fifth of a new primary's event loop in E2 at 2 GiB (twenty-eighth session). The
   * larger table is made ahead on the background thread ({@link NativeArenas#prepare}); the
   * migration into it starts with the first write that finds it made; until then the table
   * grows by need as before (zeroing the large table on the writer's thread would stall it). The
   * table does not shrink below it until {@code expect(0)} or {@link #clear}. {@code keys} at or
   * below what the table holds at 1/2 asks for nothing.
   */
  public void expect(long keys) {
    if (keys < 0) {
      throw new IllegalArgumentException("expected keys " + keys + " must be >= 0");
    }
    if (keys == 0) {
      expectedCapacity = 0;
      return;
    }
    int capacity = capacityFor(Math.min(keys, CAPACITY_MAX / 2));
    if (capacity <= table.capacity() || capacity <= expectedCapacity) {
      return;
    }
    expectedCapacity = capacity;
    if (capacity >= PREPARE_CAPACITY_MIN) {
      nextTableAsked = true; // the expected table is the next one: nothing smaller is asked for
      tableArenas.prepare((long) capacity * 8);
    }
  }

  /**
   * Writer: while {@code hold}, removals never shrink the table. For a table that empties on
   * purpose: a new primary's table of unknown keys loses every key as the recovery copies their
   * values in, and each shrink on the way (at 1/16 of the slots live) ran a migration during which
   * every removal made a marker record, ~5 ms of the writer per 500 removals for a hundred
   * thousand of them, and started with one write of ~80 ms (a harness emptying 4 M keys in
   * batches of 500, twenty-eighth session); in E2 the new primary's event loop stood still up to
   * 41 ms near the copy's end. Released ({@code false}), an empty table is cleared at once (its
   * slot table freed); one with keys left shrinks with its next removals as usual.
   */
  public void holdSize(boolean hold) {
    sizeHeld = hold;
    if (!hold && size == 0 && old == null && table.capacity() > CAPACITY_MIN) {
      clear();
    }
  }

  private void rebuildIfFull() {
    Table t = table;
    if (expectedCapacity > t.capacity() && old == null
        && (expectedCapacity < PREPARE_CAPACITY_MIN
            || tableArenas.readyFor((long) expectedCapacity * 8))) {
      startMigration(expectedCapacity); // the table expect() asked for is made: move into it
      return;
    }
    if (t.used <= t.capacity() - t.capacity() / 4) {
      if (t.used > t.capacity() / 2 && !nextTableAsked && old == null
          && t.capacity() >= PREPARE_CAPACITY_MIN) {
        nextTableAsked = true;
        tableArenas.prepare((long) capacityFor(size + size / 2) * 8);
      }
      return;
    }
    // A migration fills its table to at most 3/4 (see startMigration), so none runs now.
    assert old == null : "table full during a migration";
    if (size * 2 > CAPACITY_MAX) {
      // Past this the largest table cannot start at 1/2 load, and startMigration's bound fails.
      throw new IllegalStateException("memory table is full: " + size + " keys");
    }
    // Growing by need while an expected table is still being made: this one is smaller, and
    // zeroing the expected one here would stall the writer.
    startMigration(capacityFor(size));
  }

  /**
   * Publishes an empty table of {@code capacity} in front of the current one. Writer only.
   *
   * <p>The live keys fill at most 1/2 of the new table; each write during the migration adds at
   * most one used slot, so moving {@code 4 · old/new} old slots per write ends the migration
   * before the new table passes 3/4. That is {@value #MIGRATE_PER_WRITE} for a doubling, and the
   * whole old table in a few writes for a steep shrink.
   */
  private void startMigration(int capacity) {
    assert old == null : "one migration at a time";
    if (cleaning) {
      cleanSome(Integer.MAX_VALUE); // markers must not outlive into the next migration
    }
    Table fresh = newTable(capacity);
    old = table;
    table = fresh;
    migrateNext = 0;
    nextTableAsked = expectedCapacity > capacity; // the expected table stays the one asked for
    smallerTableAsked = false;
    long needed = 4L * old.capacity() / capacity + 2;
    migratePerWrite = (int) Math.min(old.capacity(), Math.max(MIGRATE_PER_WRITE, needed));
    view = new View(table, old);
  }

  /**
   * Before a write: moves a few old slots across, ending the migration after the last, or works
   * off some of what the last migration left.
   */
  private void migrateSome() {
    if (cleaning) {
      cleanSome(CLEAN_PER_WRITE);
    }
    for (int k = 0; k < migratePerWrite && old != null; k++) {
      migrateNext();
    }
  }

  private void migrateNext() {
    Table from = old;
    int j = migrateNext++;
    long w = from.plain(j);
    long ref = w & REF_MASK;
    if (ref >= SlabAllocator.REF_MIN) {
      assert !isMarker(ref) : "markers never outlive their migration";
      int slot = slotFor(homeOf(w, table), w >>> TAG_SHIFT, null, 0, 0, ref);
      if (slot < 0) { // else the key was written during the migration: the new record wins
        insertAt(-1 - slot, w);
      }
    }
    if (migrateNext == from.capacity()) {
      finishMigration();
    }
  }

  /**
   * The old table is empty of anything the new one lacks: publish the new table alone, then
   * retire the old table, the records only it pointed at, and the markers (their slots become
   * deleted: a reader still holding the two-table view looks in the old table, sees the view has
   * changed, and looks again).
   */
  private void finishMigration() {
    Table from = old;
    old = null;
    view = new View(table, null);
    retireTable(from);
    cleaning = true;
    retiresCleaned = 0;
    markersCleaned = 0;
  }

  /**
   * Works off up to {@code budget} of the records and markers a finished migration left (see
   * {@link #CLEAN_PER_WRITE}); ends the cleaning after the last. Until then a marker left in the
   * table reads as an absent key, as during the migration: lookups, SCAN, put and remove all
   * treat it so, and no new marker is made (there is no old table).
   */
  private void cleanSome(int budget) {
    for (int k = 0; k < budget; k++) {
      if (retiresCleaned < retireAfterMigration.size()) {
        long ref = retireAfterMigration.get(retiresCleaned++);
        memory.retire(ref, recordBytes(ref));
      } else if (markersCleaned < markerSlots.size()) {
        int slot = (int) markerSlots.get(markersCleaned++);
        long ref = table.plain(slot) & REF_MASK;
        if (ref >= SlabAllocator.REF_MIN && isMarker(ref)) { // else rewritten since
          table.publish(slot, DELETED);
          memory.retire(ref, recordBytes(ref));
        }
      } else {
        retireAfterMigration.clear();
        markerSlots.clear();
        cleaning = false;
        return;
      }
    }
  }

  // ------------------------------------------------------------------ iteration

  /** Receives the live records of a SCAN step; runs inside (it may read the record). */
  @FunctionalInterface
  public interface RecordVisitor {
    /** Returns false to end the page after the current home. */
    boolean visit(MemorySegment chunk, long record, long ref);
  }

  /**
   * One page of a SCAN: visits the live records of whole homes in hash order from the cursor on
   * (see the class comment), until {@code countHint} records (clamped to 1..{@value
   * #SCAN_COUNT_MAX}) have been visited or the visitor returned false; then skips empty homes so
   * an iteration whose remaining homes are empty ends here, visiting at most {@value
   * #SCAN_EMPTY_BUCKETS_MAX} empty homes per page. Returns the next cursor, 0 at the end. Enters
   * and exits by itself; the visitor must not keep references to the memory.
   */
  public long scan(long cursor, int countHint, RecordVisitor visitor) {
    int count = Math.max(1, Math.min(countHint, SCAN_COUNT_MAX));
    int token = enter();
    try {
      if (size == 0) {
        return 0;
      }
      View v = view;
      Table t = v.table();
      int shift = CURSOR_BITS - t.bits;
      long c = cursor & ((1L << CURSOR_BITS) - 1);
      int h = (int) (c >>> shift);
      LongList home = new LongList(16);
      int visited = 0;
      int emptyVisits = 0;
      boolean more = true;
      while (true) {
        collectLiveHome(v, h, c, home);
        if (home.size() == 0) {
          emptyVisits++;
        } else if (visited >= count || !more) {
          return c; // this home starts the next page
        }
        for (int i = 0; i < home.size(); i++) {
          long ref = home.get(i) & REF_MASK;
          more &= visitor.visit(memory.chunk(ref), SlabAllocator.offset(ref), ref);
        }
        visited += home.size();
        if (++h == t.capacity()) {
          return 0;
        }
        c = (long) h << shift;
        if (emptyVisits >= SCAN_EMPTY_BUCKETS_MAX) {
          return c;
        }
      }
    } finally {
      exit(token);
    }
  }

  /**
   * Replaces {@code out}'s contents with the slot words of the live records of home {@code home}
   * that do not come before {@code cursor}.
   */
  private void collectLiveHome(View v, int home, long cursor, LongList out) {
    out.clear();
    collectHome(v, home, cursor, out);
    int kept = 0;
    for (int i = 0; i < out.size(); i++) {
      long w = out.get(i);
      if (!isMarker(w & REF_MASK)) {
        out.set(kept++, w);
      }
    }
    out.truncate(kept);
  }

  /**
   * Appends the slot words of the records (live or marker) whose home in v's table is {@code
   * home}: the new table's own, then the old table's that will land there and that the new table
   * has no record of (markers are only ever in the new table).
   */
  private void collectHome(View v, int home, long cursor, LongList out) {
    Table t = v.table();
    int start = out.size();
    collectRun(t, home, t, home, cursor, out);
    Table o = v.old();
    if (o == null) {
      return;
    }
    int fromNew = out.size();
    if (o.bits >= t.bits) { // shrinking: several old homes make up this one
      int first = home << (o.bits - t.bits);
      for (int k = 0; k < 1 << (o.bits - t.bits); k++) {
        collectRun(o, first + k, t, home, cursor, out);
      }
    } else { // growing: part of one old home lands here
      collectRun(o, home >>> (t.bits - o.bits), t, home, cursor, out);
    }
    for (int i = out.size() - 1; i >= fromNew; i--) {
      if (recordedIn(out, start, fromNew, out.get(i))) {
        out.removeAt(i);
      }
    }
  }

  /**
   * Appends the words of t's records in the run from {@code runHome} whose home in t is {@code
   * runHome}, whose home in {@code target} is {@code home}, and that do not come before {@code
   * cursor}.
   */
  private void collectRun(Table t, int runHome, Table target, int home, long cursor,
      LongList out) {
    boolean partial = (cursor & ((1L << (CURSOR_BITS - target.bits)) - 1)) != 0;
    int i = runHome;
    for (int probes = 0; probes <= t.mask; probes++, i = (i + 1) & t.mask) {
      long w = t.word(i);
      if (w == 0) {
        return;
      }
      if ((w & REF_MASK) < SlabAllocator.REF_MIN) {
        continue;
      }
      if (homeOf(w, t) == runHome && homeOf(w, target) == home
          && !(partial && before(w, cursor))) {
        out.add(w);
      }
    }
  }

  /** Some word in {@code list[from, to)} names a record with the same key as {@code word}. */
  private boolean recordedIn(LongList list, int from, int to, long word) {
    for (int i = from; i < to; i++) {
      long other = list.get(i);
      if (other == word
          || other >>> TAG_SHIFT == word >>> TAG_SHIFT && sameKey(other & REF_MASK, word & REF_MASK)) {
        return true;
      }
    }
    return false;
  }

  // ------------------------------------------------------------------ close

  /**
   * Frees all memory. Readers that enter afterwards get {@link IllegalStateException}; waits
   * (briefly: readers stay inside for one lookup or one SCAN page) for those inside to leave.
   * Writer only.
   */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (epochs.readersInside() > 0) {
      if (System.nanoTime() > deadline) {
        // A reader stuck inside for 10 s: leave the memory to the cleaner rather than free it
        // under the reader.
        return;
      }
      Thread.onSpinWait();
    }
    memory.close();
    tableArenas.closeAll();
  }
}
