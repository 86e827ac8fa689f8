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
 * Slot (32 bytes, native byte order: it never leaves the process)
 *  0        4        8          16         24       28       32
 * +--------+--------+----------+----------+--------+--------+
 * | tag    | keyRef | location | index u64| term   | length |
 * | u32    | u32    | u64      |          | u32    | u32    |
 * +--------+--------+----------+----------+--------+--------+
 *  tag      = the high 32 bits of the key's {@link KeyHash} (1 if they are 0); 0 = never used.
 *             The home slot is tag mod capacity, so a rebuild needs no key bytes.
 *  keyRef   = (chunk &lt;&lt; 18) | (offset in the chunk / 4); 0xFFFFFFFF = deleted (the tag is kept
 *             so the probe runs through it stay unbroken; an insert reuses it)
 *  location = {@link Location}: buffer position or (log, segment, offset), and a tombstone bit
 *  term, index = the record's logical timestamp (terms above 2^32-1 are refused on apply)
 *  length   = the record's encoded length, so a read is one positional read
 *
 * Key arena entry, 4-byte aligned: [ length u32 | key bytes | 0-3 bytes padding ]
 * </pre>
 *
 * <p>Used slots stay at most 3/4 of the table; past that the table is rebuilt at the smallest
 * power of two that holds the live keys at most half full, in one pass under the owner's lock
 * ({@code expectedKeys} presizes the table to hold that many keys at most 3/4 full, avoiding the
 * pause). Key chunks are never copied when the table grows; only when deleted keys waste more
 * arena than live keys use is the arena compacted. So the only memory ever freed is a whole old
 * table (a large block the allocator hands back to the system) or, rarely, a whole arena. Not
 * thread-safe: {@link BackupStore} calls it under its state lock. Invariant: a key occurs in at
 * most one slot.
 */
final class BackupIndex implements AutoCloseable {
  static final int SLOT_BYTES = 32;
  static final long KEYS_MAX = 1L << 29;
  static final int CHUNK_SHIFT = 20;
  static final int CHUNK_BYTES = 1 << CHUNK_SHIFT;
  /** Chunks a 32-bit key reference can name (16 GiB of keys). */
  static final int CHUNKS_MAX = (1 << 14) - 1;
  private static final int CAPACITY_MIN = 1 << 10;
  private static final int DELETED = -1;

  private static final ValueLayout.OfLong LONG = ValueLayout.JAVA_LONG;
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT;
  private static final int F_TAG = 0;
  private static final int F_KEY = 4;
  private static final int F_LOCATION = 8;
  private static final int F_INDEX = 16;
  private static final int F_TERM = 24;
  private static final int F_LENGTH = 28;

  /** Holds the table alone, so that a rebuild frees the old table and nothing else. */
  private Arena tableArena;
  /** Holds the key chunks; replaced only when the arena is compacted. */
  private Arena keyArena;
  private MemorySegment table;
  private int mask;
  private long used; // slots with a tag (live or deleted)
  private long live;
  private long tombstones;
  /**
   * Live keys with a value, by where their newest record is: [buffer, hot log, cold log], kept
   * up to date by every change of a slot's location (INFO reads it; a walk of a table of millions
   * of slots took tens of milliseconds of the event loop per INFO).
   */
  private final long[] valuesByPlace = new long[3];
  private final List<MemorySegment> chunks = new ArrayList<>();
  private int chunkFill = CHUNK_BYTES; // forces a first chunk
  private long arenaLiveBytes;
  private long arenaDeadBytes;
  private long rebuilds;
  private long prefetchSink;
  private long compactions;

  BackupIndex(long expectedKeys) {
    int capacity = capacityFor(expectedKeys, 0.75);
    tableArena = Arena.ofShared();
    keyArena = Arena.ofShared();
    table = tableArena.allocate((long) capacity * SLOT_BYTES, 8);
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

  /** The 32-bit tag of a key's 64-bit hash: never 0. */
  static int tag(long hash) {
    int t = (int) (hash >>> 32);
    return t == 0 ? 1 : t;
  }

  long size() {
    return live;
  }

  long tombstones() {
    return tombstones;
  }

  /**
   * Live keys with a value (not a tombstone) by where their newest record is: {@code [buffer, hot
   * log, cold log]}; a copy.
   */
  long[] valuesByPlace() {
    return valuesByPlace.clone();
  }

  /** Counts a slot's location in (delta 1) or out (delta -1) of the tombstones or valuesByPlace. */
  private void count(long location, int delta) {
    if (Location.isTombstone(location)) {
      tombstones += delta;
    } else {
      valuesByPlace[Location.logCode(location)] += delta;
    }
  }

  long rebuilds() {
    return rebuilds;
  }

  long compactions() {
    return compactions;
  }

  /** Bytes allocated off the heap: table plus key arena chunks. */
  long offHeapBytes() {
    return table.byteSize() + (long) chunks.size() * CHUNK_BYTES;
  }

  private int tagAt(int slot) {
    return table.get(INT, (long) slot * SLOT_BYTES + F_TAG);
  }

  private int refAt(int slot) {
    return table.get(INT, (long) slot * SLOT_BYTES + F_KEY);
  }

  /**
   * The live slot of the key whose hash is {@code hash} if it points at {@code place} (a {@link
   * Location#place}), else -1: a slot means the record there is that key's newest version. No key
   * bytes are read: one record sits at a place, so the only live slot that can point at it is its
   * key's, and the probe run of the hash holds that slot if the key is here. A scan deciding,
   * record by record, whether each is current (BatchPull, GC) thus reads the table only, not the
   * key arena: a lookup by key costs another cache miss there, and in E2 half of a BatchPull's CPU
   * went to comparing keys.
   */
  int slotPointingAt(long hash, long place) {
    int tag = tag(hash); // probe()'s walk, without a predicate made per call
    for (int i = tag & mask; ; i = (i + 1) & mask) {
      int t = tagAt(i);
      if (t == 0) {
        return -1;
      }
      if (t == tag && refAt(i) != DELETED && Location.place(location(i)) == place) {
        return i;
      }
    }
  }

  /** Slot holding key, or -1. */
  int find(byte[] key, long hash) {
    return probe(hash, slot -> keyEquals(refAt(slot), key));
  }

  /**
   * The slot of a live key whose {@link KeyHash} is {@code hash}, or -1 (a popularity report
   * names keys by hash only). Should two live keys share a hash, the first in the probe run is
   * returned. The home slot is the hash's tag, so this probes one run and reads the key of each
   * slot whose tag matches.
   */
  int findByHash(long hash) {
    return probe(hash, slot -> KeyHash.of(key(slot)) == hash);
  }

  /**
   * Loads the home slots of {@code count} hashes from {@code from} on, one after the other with
   * nothing depending on each load, so that their cache misses overlap; changes nothing. A scan
   * that then asks {@link #slotPointingAt} for each finds the slots in the cache: a table of
   * millions of keys is hundreds of MiB, and every probe of it missed (a BatchPull chunk
   * checks ~500 records).
   */
  void prefetch(long[] hashes, int from, int count) {
    long sink = 0;
    for (int k = from; k < from + count; k++) {
      sink += tagAt(tag(hashes[k]) & mask);
    }
    prefetchSink += sink; // keeps the loads from being optimised away
  }

  /**
   * The first live slot in the probe run of {@code hash} whose tag is the hash's and which {@code
   * matches} accepts, or -1 at the run's end (a slot never used).
   */
  private int probe(long hash, java.util.function.IntPredicate matches) {
    int tag = tag(hash);
    for (int i = tag & mask; ; i = (i + 1) & mask) {
      int t = tagAt(i);
      if (t == 0) {
        return -1;
      }
      if (t == tag && refAt(i) != DELETED && matches.test(i)) {
        return i;
      }
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
      rebuild(live + 1, false);
    }
    int tag = tag(hash);
    int i = tag & mask;
    int reuse = -1;
    while (true) {
      int t = tagAt(i);
      if (t == 0) {
        break;
      }
      if (reuse < 0 && refAt(i) == DELETED) {
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
    int ref = storeKey(key);
    table.set(INT, base + F_TAG, tag);
    table.set(INT, base + F_KEY, ref);
    write(base, location, term, index, length);
    live++;
    count(location, 1);
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
    count(table.get(LONG, base + F_LOCATION), -1);
    write(base, location, term, index, length);
    count(location, 1);
  }

  /** Repoints a slot to a new copy of the same record. */
  void relocate(int slot, long location, int length) {
    long base = (long) slot * SLOT_BYTES;
    long old = table.get(LONG, base + F_LOCATION);
    assert Location.isTombstone(location) == Location.isTombstone(old);
    count(old, -1);
    count(location, 1);
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
    int ref = refAt(slot);
    assert ref != DELETED : "slot already deleted";
    count(table.get(LONG, base + F_LOCATION), -1);
    int entryBytes = entryBytes(chunk(ref).get(INT, offsetOf(ref)));
    arenaLiveBytes -= entryBytes;
    arenaDeadBytes += entryBytes;
    table.set(INT, base + F_KEY, DELETED);
    table.set(LONG, base + F_LOCATION, 0L);
    live--;
  }

  private void maybeCompactArena() {
    if (arenaDeadBytes > arenaLiveBytes && arenaDeadBytes > 8L * CHUNK_BYTES) {
      rebuild(live, true);
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
      if (tagAt(i) == 0 || refAt(i) == DELETED || !test.test(term(i), index(i))) {
        continue;
      }
      removed.accept(location(i), length(i));
      unlink(i);
    }
    maybeCompactArena();
  }

  /** The key stored in a live slot (a copy). */
  byte[] key(int slot) {
    int ref = refAt(slot);
    MemorySegment c = chunk(ref);
    long at = offsetOf(ref);
    byte[] key = new byte[c.get(INT, at)];
    MemorySegment.copy(c, ValueLayout.JAVA_BYTE, at + 4, key, 0, key.length);
    return key;
  }

  /** Slots in the table now (a power of two). */
  int capacity() {
    return mask + 1;
  }

  /**
   * Appends to {@code out} every live key without a tombstone whose home slot is {@code home}
   * (they sit in the probe run from it to the next never-used slot); returns the slots examined.
   */
  int keysAtHome(int home, List<byte[]> out) {
    int i = home;
    int examined = 0;
    do {
      int t = tagAt(i);
      examined++;
      if (t == 0) {
        break;
      }
      if ((t & mask) == home && refAt(i) != DELETED && !Location.isTombstone(location(i))) {
        out.add(key(i));
      }
      i = (i + 1) & mask;
    } while (i != home);
    return examined;
  }

  /**
   * The home after {@code cursor} in reverse-binary order over a table of {@code mask + 1}
   * slots; 0 after the last. Visiting homes in this order and carrying the cursor across a
   * rebuild to another power-of-two capacity skips no home whose keys were there all along.
   */
  static int nextHomeCursor(int cursor, int mask) {
    int v = cursor | ~mask;
    v = Integer.reverse(v);
    v++;
    return Integer.reverse(v);
  }

  /** Whether the slot holds a key (deleted and never-used slots do not). */
  boolean isLive(int slot) {
    return tagAt(slot) != 0 && refAt(slot) != DELETED;
  }

  /** Visits every live slot (slot numbers are stable while the visitor does not insert). */
  void forEach(java.util.function.IntConsumer visitor) {
    for (int i = 0; i <= mask; i++) {
      if (tagAt(i) != 0 && refAt(i) != DELETED) {
        visitor.accept(i);
      }
    }
  }

  private MemorySegment chunk(int ref) {
    return chunks.get(ref >>> (CHUNK_SHIFT - 2));
  }

  private static long offsetOf(int ref) {
    return (long) (ref & ((1 << (CHUNK_SHIFT - 2)) - 1)) << 2;
  }

  private static int entryBytes(int keyBytes) {
    return (4 + keyBytes + 3) & ~3;
  }

  private boolean keyEquals(int ref, byte[] key) {
    MemorySegment c = chunk(ref);
    long at = offsetOf(ref);
    if (c.get(INT, at) != key.length) {
      return false;
    }
    return MemorySegment.mismatch(c, at + 4, at + 4 + key.length,
        MemorySegment.ofArray(key), 0, key.length) < 0;
  }

  private int storeKey(byte[] key) {
    int need = entryBytes(key.length);
    if (chunkFill + need > CHUNK_BYTES) {
      if (chunks.size() >= CHUNKS_MAX) {
        throw new IllegalStateException("index key arena is full (" + CHUNKS_MAX + " chunks of "
            + CHUNK_BYTES + " bytes)");
      }
      chunks.add(keyArena.allocate(CHUNK_BYTES, 8));
      chunkFill = 0;
    }
    MemorySegment c = chunks.get(chunks.size() - 1);
    c.set(INT, chunkFill, key.length);
    MemorySegment.copy(key, 0, c, ValueLayout.JAVA_BYTE, chunkFill + 4, key.length);
    int ref = ((chunks.size() - 1) << (CHUNK_SHIFT - 2)) | (chunkFill >>> 2);
    chunkFill += need;
    arenaLiveBytes += need;
    return ref;
  }

  /**
   * Rebuilds the table for keys live keys at most half full and frees the old one; with
   * compactKeys also copies the live keys into a fresh arena and frees the old chunks.
   */
  private void rebuild(long keys, boolean compactKeys) {
    Arena oldTableArena = tableArena;
    Arena oldKeyArena = keyArena;
    MemorySegment oldTable = table;
    List<MemorySegment> oldChunks = new ArrayList<>(chunks);
    int oldCapacity = mask + 1;
    int capacity = capacityFor(keys, 0.5);
    tableArena = Arena.ofShared();
    table = tableArena.allocate((long) capacity * SLOT_BYTES, 8);
    mask = capacity - 1;
    if (compactKeys) {
      keyArena = Arena.ofShared();
      chunks.clear();
      chunkFill = CHUNK_BYTES;
      arenaLiveBytes = 0;
      arenaDeadBytes = 0;
    }
    used = 0;
    for (int s = 0; s < oldCapacity; s++) {
      long base = (long) s * SLOT_BYTES;
      int tag = oldTable.get(INT, base + F_TAG);
      int ref = oldTable.get(INT, base + F_KEY);
      if (tag == 0 || ref == DELETED) {
        continue;
      }
      int i = tag & mask;
      while (table.get(INT, (long) i * SLOT_BYTES + F_TAG) != 0) {
        i = (i + 1) & mask;
      }
      MemorySegment.copy(oldTable, base, table, (long) i * SLOT_BYTES, SLOT_BYTES);
      if (compactKeys) {
        MemorySegment c = oldChunks.get(ref >>> (CHUNK_SHIFT - 2));
        long at = offsetOf(ref);
        byte[] key = new byte[c.get(INT, at)];
        MemorySegment.copy(c, ValueLayout.JAVA_BYTE, at + 4, key, 0, key.length);
        table.set(INT, (long) i * SLOT_BYTES + F_KEY, storeKey(key));
      }
      used++;
    }
    assert used == live : "rebuild lost keys: " + used + " != " + live;
    rebuilds++;
    oldTableArena.close();
    if (compactKeys) {
      compactions++;
      oldKeyArena.close();
    }
  }

  @Override
  public void close() {
    tableArena.close();
    keyArena.close();
  }
}
