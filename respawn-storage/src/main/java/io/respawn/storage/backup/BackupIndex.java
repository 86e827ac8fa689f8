package io.respawn.storage.backup;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * The backup's DRAM index: key → (location, term, index, record length), entirely off the Java
 * heap, so a million keys cost the collector nothing. An open-addressing table with linear
 * probing in one {@link MemorySegment}, keys in an arena of 1 MiB chunks beside it.
 *
 * <pre>
 * Slot (40 bytes, native byte order: it never leaves the process)
 *  0          8          16         24         32       36       40
 * +----------+----------+----------+----------+--------+--------+
 * | hash u64 | keyRef   | location | index u64| term   | length |
 * |          | i64      | u64      |          | u32    | u32    |
 * +----------+----------+----------+----------+--------+--------+
 *  hash     = {@link KeyHash} of the key; 0 = never used
 *  keyRef   = (chunk &lt;&lt; 20) | offset of the key in the arena; -1 = deleted (hash kept, so the
 *             probe runs through it stay unbroken; an insert reuses it)
 *  location = {@link Location}: buffer position or (log, segment, offset), and a tombstone bit
 *  term, index = the record's logical timestamp (terms above 2^32-1 are refused on apply)
 *  length   = the record's encoded length, so a read is one positional read
 *
 * Key arena entry (unaligned): [ length u32 | key bytes ]
 * </pre>
 *
 * <p>Used slots stay at most 3/4 of the table; past that (or when deleted keys waste more arena
 * than live keys use) the table and arena are rebuilt at the smallest power of two that holds
 * the live keys at most half full — one pass under the owner's lock ({@code expectedKeys}
 * presizes the table to hold that many keys at most 3/4 full, avoiding the pause).
 * Not thread-safe: {@link BackupStore} calls it under its state lock. Invariant: a key occurs in
 * at most one slot.
 */
final class BackupIndex implements AutoCloseable {
  static final int SLOT_BYTES = 40;
  static final long KEYS_MAX = 1L << 29;
  static final int CHUNK_SHIFT = 20;
  static final int CHUNK_BYTES = 1 << CHUNK_SHIFT;
  private static final int CAPACITY_MIN = 1 << 10;

  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
  private static final ValueLayout.OfInt INT_UNALIGNED = ValueLayout.JAVA_INT_UNALIGNED;
  private static final int F_HASH = 0;
  private static final int F_KEY = 8;
  private static final int F_LOCATION = 16;
  private static final int F_INDEX = 24;
  private static final int F_TERM = 32;
  private static final int F_LENGTH = 36;

  private Arena arena;
  private MemorySegment table;
  private int mask;
  private long used; // slots with a hash (live or deleted)
  private long live;
  private long tombstones;
  private final List<MemorySegment> chunks = new ArrayList<>();
  private int chunkFill = CHUNK_BYTES; // forces a first chunk
  private long arenaLiveBytes;
  private long arenaDeadBytes;
  private long rebuilds;

  BackupIndex(long expectedKeys) {
    int capacity = capacityFor(expectedKeys, 0.75);
    arena = Arena.ofShared();
    table = arena.allocate((long) capacity * SLOT_BYTES, 8);
    mask = capacity - 1;
  }

  /** The smallest power of two holding keys at most loadMax full. */
  private static int capacityFor(long keys, double loadMax) {
    long want = Math.max(CAPACITY_MIN, (long) Math.ceil(keys / loadMax) + 1);
    long capacity = Long.highestOneBit(want - 1) << 1;
    if (capacity > (1L << 30)) {
      throw new IllegalStateException("index of " + keys + " keys exceeds KEYS_MAX " + KEYS_MAX);
    }
    return (int) Math.max(CAPACITY_MIN, capacity);
  }

  long size() {
    return live;
  }

  long tombstones() {
    return tombstones;
  }

  long rebuilds() {
    return rebuilds;
  }

  /** Bytes allocated off the heap: table plus key arena chunks. */
  long offHeapBytes() {
    return table.byteSize() + (long) chunks.size() * CHUNK_BYTES;
  }

  /** Slot holding key, or -1. */
  int find(byte[] key, long hash) {
    int i = (int) hash & mask;
    while (true) {
      long base = (long) i * SLOT_BYTES;
      long h = table.get(LONG, base + F_HASH);
      if (h == 0) {
        return -1;
      }
      if (h == hash) {
        long ref = table.get(LONG, base + F_KEY);
        if (ref >= 0 && keyEquals(ref, key)) {
          return i;
        }
      }
      i = (i + 1) & mask;
    }
  }

  /**
   * Adds key (absent) with the given fields; returns nothing because a rebuild may move slots:
   * look the key up again to touch it.
   */
  void insert(byte[] key, long hash, long location, long term, long index, int length) {
    assert find(key, hash) < 0 : "key already indexed";
    if (live >= KEYS_MAX) {
      throw new IllegalStateException("index holds KEYS_MAX " + KEYS_MAX + " keys");
    }
    if ((used + 1) * 4 > (long) (mask + 1) * 3) {
      rebuild(live + 1);
    }
    int i = (int) hash & mask;
    int reuse = -1;
    while (true) {
      long base = (long) i * SLOT_BYTES;
      long h = table.get(LONG, base + F_HASH);
      if (h == 0) {
        break;
      }
      if (reuse < 0 && table.get(LONG, base + F_KEY) < 0) {
        reuse = i;
      }
      i = (i + 1) & mask;
    }
    if (reuse >= 0) {
      i = reuse;
    } else {
      used++;
    }
    long base = (long) i * SLOT_BYTES;
    table.set(LONG, base + F_HASH, hash);
    table.set(LONG, base + F_KEY, storeKey(key));
    write(base, location, term, index, length);
    live++;
    if (Location.isTombstone(location)) {
      tombstones++;
    }
  }

  long location(int slot) {
    return table.get(LONG, (long) slot * SLOT_BYTES + F_LOCATION);
  }

  long term(int slot) {
    return Integer.toUnsignedLong(table.get(INT, (long) slot * SLOT_BYTES + F_TERM));
  }

  long index(int slot) {
    return table.get(LONG, (long) slot * SLOT_BYTES + F_INDEX);
  }

  int length(int slot) {
    return table.get(INT, (long) slot * SLOT_BYTES + F_LENGTH);
  }

  /** Replaces a slot's fields. */
  void update(int slot, long location, long term, long index, int length) {
    long base = (long) slot * SLOT_BYTES;
    if (Location.isTombstone(table.get(LONG, base + F_LOCATION))) {
      tombstones--;
    }
    write(base, location, term, index, length);
    if (Location.isTombstone(location)) {
      tombstones++;
    }
  }

  /** Repoints a slot to a new copy of the same record. */
  void relocate(int slot, long location, int length) {
    long base = (long) slot * SLOT_BYTES;
    assert Location.isTombstone(location) == Location.isTombstone(table.get(LONG, base + F_LOCATION));
    table.set(LONG, base + F_LOCATION, location);
    table.set(INT, base + F_LENGTH, length);
  }

  private void write(long base, long location, long term, long index, int length) {
    assert term >= 0 && term <= 0xFFFF_FFFFL : term;
    table.set(LONG, base + F_LOCATION, location);
    table.set(LONG, base + F_INDEX, index);
    table.set(INT, base + F_TERM, (int) term);
    table.set(INT, base + F_LENGTH, length);
  }

  /** Removes the key in slot (its tombstone was dropped by GC). */
  void remove(int slot) {
    unlink(slot);
    maybeCompactArena();
  }

  private void unlink(int slot) {
    long base = (long) slot * SLOT_BYTES;
    long ref = table.get(LONG, base + F_KEY);
    assert ref >= 0 : "slot already deleted";
    if (Location.isTombstone(table.get(LONG, base + F_LOCATION))) {
      tombstones--;
    }
    int keyBytes = chunk(ref).get(INT_UNALIGNED, ref & (CHUNK_BYTES - 1));
    arenaLiveBytes -= 4 + keyBytes;
    arenaDeadBytes += 4 + keyBytes;
    table.set(LONG, base + F_KEY, -1L);
    table.set(LONG, base + F_LOCATION, 0L);
    live--;
  }

  private void maybeCompactArena() {
    if (arenaDeadBytes > arenaLiveBytes && arenaDeadBytes > 8L * CHUNK_BYTES) {
      rebuild(live);
    }
  }

  /** Tests a slot's timestamp. */
  @FunctionalInterface
  interface TimestampTest {
    boolean test(long term, long index);
  }

  /** Told the location and length of each slot {@link #removeIf} removes. */
  @FunctionalInterface
  interface Removed {
    void accept(long location, int length);
  }

  /** Removes every key whose timestamp passes the test (a CLEAR). */
  void removeIf(TimestampTest test, Removed removed) {
    for (int i = 0; i <= mask; i++) {
      long base = (long) i * SLOT_BYTES;
      if (table.get(LONG, base + F_HASH) == 0 || table.get(LONG, base + F_KEY) < 0
          || !test.test(term(i), index(i))) {
        continue;
      }
      removed.accept(location(i), length(i));
      unlink(i);
    }
    maybeCompactArena();
  }

  /** The key stored in a live slot (a copy). */
  byte[] key(int slot) {
    long ref = table.get(LONG, (long) slot * SLOT_BYTES + F_KEY);
    MemorySegment c = chunk(ref);
    long at = ref & (CHUNK_BYTES - 1);
    int n = c.get(INT_UNALIGNED, at);
    byte[] key = new byte[n];
    MemorySegment.copy(c, ValueLayout.JAVA_BYTE, at + 4, key, 0, n);
    return key;
  }

  /** Visits every live slot (slot numbers are stable while the visitor does not insert). */
  void forEach(java.util.function.IntConsumer visitor) {
    for (int i = 0; i <= mask; i++) {
      long base = (long) i * SLOT_BYTES;
      if (table.get(LONG, base + F_HASH) != 0 && table.get(LONG, base + F_KEY) >= 0) {
        visitor.accept(i);
      }
    }
  }

  private MemorySegment chunk(long ref) {
    return chunks.get((int) (ref >>> CHUNK_SHIFT));
  }

  private boolean keyEquals(long ref, byte[] key) {
    MemorySegment c = chunk(ref);
    long at = ref & (CHUNK_BYTES - 1);
    if (c.get(INT_UNALIGNED, at) != key.length) {
      return false;
    }
    return MemorySegment.mismatch(c, at + 4, at + 4 + key.length,
        MemorySegment.ofArray(key), 0, key.length) < 0;
  }

  private long storeKey(byte[] key) {
    int need = 4 + key.length;
    if (chunkFill + need > CHUNK_BYTES) {
      chunks.add(arena.allocate(CHUNK_BYTES, 8));
      chunkFill = 0;
    }
    MemorySegment c = chunks.get(chunks.size() - 1);
    c.set(INT_UNALIGNED, chunkFill, key.length);
    MemorySegment.copy(key, 0, c, ValueLayout.JAVA_BYTE, chunkFill + 4, key.length);
    long ref = ((long) (chunks.size() - 1) << CHUNK_SHIFT) | chunkFill;
    chunkFill += need;
    arenaLiveBytes += need;
    return ref;
  }

  /** Rebuilds table and arena for keys live keys at most half full; frees the old memory. */
  private void rebuild(long keys) {
    Arena oldArena = arena;
    MemorySegment oldTable = table;
    List<MemorySegment> oldChunks = new ArrayList<>(chunks);
    int oldCapacity = mask + 1;
    int capacity = capacityFor(keys, 0.5);
    arena = Arena.ofShared();
    table = arena.allocate((long) capacity * SLOT_BYTES, 8);
    mask = capacity - 1;
    chunks.clear();
    chunkFill = CHUNK_BYTES;
    arenaLiveBytes = 0;
    arenaDeadBytes = 0;
    used = 0;
    for (int s = 0; s < oldCapacity; s++) {
      long base = (long) s * SLOT_BYTES;
      long hash = oldTable.get(LONG, base + F_HASH);
      long ref = oldTable.get(LONG, base + F_KEY);
      if (hash == 0 || ref < 0) {
        continue;
      }
      MemorySegment c = oldChunks.get((int) (ref >>> CHUNK_SHIFT));
      long at = ref & (CHUNK_BYTES - 1);
      byte[] key = new byte[c.get(INT_UNALIGNED, at)];
      MemorySegment.copy(c, ValueLayout.JAVA_BYTE, at + 4, key, 0, key.length);
      int i = (int) hash & mask;
      while (table.get(LONG, (long) i * SLOT_BYTES + F_HASH) != 0) {
        i = (i + 1) & mask;
      }
      MemorySegment.copy(oldTable, base, table, (long) i * SLOT_BYTES, SLOT_BYTES);
      table.set(LONG, (long) i * SLOT_BYTES + F_KEY, storeKey(key));
      used++;
    }
    assert used == live : "rebuild lost keys: " + used + " != " + live;
    rebuilds++;
    oldArena.close();
  }

  @Override
  public void close() {
    arena.close();
  }
}
