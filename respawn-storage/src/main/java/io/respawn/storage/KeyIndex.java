package io.respawn.storage;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The in-memory index: every live key with its value, expiry and where its record lives.
 *
 * <p><b>Layout.</b> An open-addressing table with linear probing, two parallel arrays of a
 * power-of-two length:
 *
 * <pre>
 *   hashes  [ 0 | h1 | h2 | h3 | 0 | ... ]   long: 0 = never used, else the key's 64-bit hash
 *   entries [ - | e1 | ·  | e3 | - | ... ]   Entry: null = deleted (or never used)
 *              ^home(h1) = h1 &amp; mask; a key lives in the run of used slots from its home on
 * </pre>
 *
 * A lookup reads consecutive hashes (one cache line for most runs) and touches an entry only
 * when the whole 64-bit hash matches, so a miss costs one cache miss and a hit three (hash line,
 * entry, key bytes). A slot's hash never goes back to 0, so the run from a key's home to the key
 * never has a gap; a deleted slot (hash kept, entry null) is reused by a later insert. Used slots
 * (live + deleted) stay at most 3/4 of the table; past that the table is rebuilt at the size
 * that puts the live keys at 3/8.
 *
 * <p><b>Rebuilding is incremental</b>, so no single write stalls on a large table: the new table
 * is published next to the old one, writes go to the new table only, and each write first moves
 * {@value #MIGRATE_PER_WRITE} old slots across (skipping keys the new table already has). The old
 * table is never modified once the new one is published. While a migration runs, a removal
 * leaves a <i>deletion marker</i> in the new table (an entry with a null value) so that the stale
 * copy in the old table stays hidden, and deleted slots of the new table are not reused. A lookup
 * probes the new table, and only if it has no record of the key, the old one, and then checks
 * that the migration is still running (else the old copy may be stale, and it looks again).
 *
 * <p><b>SCAN cursors</b> are home slots visited in <b>reverse-binary</b> order (Redis's
 * dictScan): the cursor's bits are incremented from the top. A page returns, for each home slot
 * it visits, every key whose home that is. When the table doubles, every home already visited
 * maps to two homes whose cursors are also already visited; when it halves, homes visited map to
 * homes that may be visited again. So a key present for the whole iteration is returned at least
 * once (possibly more than once after a shrink) however the table changes between pages, and a
 * cursor is a plain number below the table size. During a migration a home of the new table
 * covers the old table's keys that will land there.
 *
 * <p><b>Threads.</b> Mutations come from one writer at a time (the engine's append lock, or
 * recovery before the index is published). {@link #get}, {@link #scan} and {@link #entries} may
 * run on any thread at the same time. An insert stores the entry, then the hash (release); a
 * reader loads the hash, then the entry (acquire); entries are immutable records. Invariant:
 * {@link #size()} equals the number of live keys, counting each key once across both tables.
 */
final class KeyIndex {
  static final int SCAN_COUNT_MAX = 10_000;
  /** Empty homes one SCAN page may step over before it returns (possibly with no keys). */
  static final int SCAN_EMPTY_BUCKETS_MAX = 100_000;
  static final int CAPACITY_MIN = 16;
  static final int CAPACITY_MAX = 1 << 30;
  /** Old slots moved by each write while a migration is in progress, at least. */
  static final int MIGRATE_PER_WRITE = 8;

  /**
   * An immutable index entry; {@code segmentId} is the segment holding its record. A null
   * {@code value} marks a deletion inside the index only; such entries never leave this class.
   */
  record Entry(
      byte[] key, byte[] value, long expiresAtMillis, long sequence, long segmentId, int recordBytes) {
    Entry inSegment(long newSegmentId) {
      return new Entry(key, value, expiresAtMillis, sequence, newSegmentId, recordBytes);
    }
  }

  /** One open-addressing table; see the class comment for the layout. */
  private static final class Table {
    final long[] hashes;
    final Entry[] entries;
    final int mask;
    /** Slots with a hash (live, deleted or marked). Writer only. */
    int used;

    Table(int capacity) {
      assert Integer.bitCount(capacity) == 1 : "capacity must be a power of two: " + capacity;
      hashes = new long[capacity];
      entries = new Entry[capacity];
      mask = capacity - 1;
    }

    int capacity() {
      return hashes.length;
    }

    long hashAt(int i) {
      return (long) HASH.getAcquire(hashes, i);
    }

    Entry entryAt(int i) {
      return (Entry) ENTRY.getAcquire(entries, i);
    }
  }

  /** What readers see: the current table and, while a migration runs, the table it empties. */
  private record View(Table table, Table old) {}

  private static final VarHandle HASH = MethodHandles.arrayElementVarHandle(long[].class);
  private static final VarHandle ENTRY = MethodHandles.arrayElementVarHandle(Entry[].class);
  private static final VarHandle SIZE;
  private static final VarHandle EXPIRING;
  private static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  static {
    try {
      SIZE = MethodHandles.lookup().findVarHandle(KeyIndex.class, "size", long.class);
      EXPIRING = MethodHandles.lookup().findVarHandle(KeyIndex.class, "expiring", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private volatile View view = new View(new Table(CAPACITY_MIN), null);
  /** Live keys; the writer stores it with release (no fence per write), readers load it. */
  private volatile long size;
  /** Live keys with an expiry time; written by the writer only, read by anyone (INFO). */
  private volatile long expiring;
  /** Writer only: mirrors {@link #view} (the writer holds the append lock, so plain fields do). */
  private Table table = view.table();
  private Table old;
  /** Writer only: the next old slot to move, and how many each write moves. */
  private int migrateNext;
  private int migratePerWrite;

  /**
   * 64-bit hash of a key, never 0 (0 marks an empty slot): eight bytes per multiply, the tail
   * bytes one by one, then murmur3's finalizer to spread the bits over the low (home) ones.
   */
  static long hash64(byte[] key) {
    long h = 0xcbf29ce484222325L ^ key.length;
    int i = 0;
    for (; i + 8 <= key.length; i += 8) {
      h = Long.rotateLeft((h ^ (long) LONG_LE.get(key, i)) * 0x9e3779b97f4a7c15L, 29);
    }
    for (; i < key.length; i++) {
      h = (h ^ (key[i] & 0xff)) * 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h == 0 ? 0x9e3779b97f4a7c15L : h;
  }

  private static boolean isMarker(Entry e) {
    return e.value() == null;
  }

  private static Entry marker(byte[] key) {
    return new Entry(key, null, 0, -1, -1, 0);
  }

  /** Key's record in t (possibly a deletion marker), or null if t has none. Any thread. */
  private static Entry lookup(Table t, long hash, byte[] key) {
    int mask = t.mask;
    int i = (int) hash & mask;
    for (int probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
      long h = t.hashAt(i);
      if (h == 0) {
        return null;
      }
      if (h == hash) {
        Entry e = t.entryAt(i);
        if (e != null && Arrays.equals(e.key(), key)) {
          return e;
        }
      }
    }
    return null; // unreachable while a table always keeps an empty slot
  }

  Entry get(byte[] key) {
    long hash = hash64(key);
    while (true) {
      View v = view;
      Entry e = lookup(v.table(), hash, key);
      if (e != null) {
        return isMarker(e) ? null : e;
      }
      if (v.old() == null) {
        return null;
      }
      Entry o = lookup(v.old(), hash, key);
      if (view == v) { // the old copy was current when the new table had no record of the key
        return o == null || isMarker(o) ? null : o;
      }
      // The migration ended while we looked (each retry needs another whole migration to end,
      // at least a few writes): look again.
    }
  }

  // ------------------------------------------------------------------ writer

  /**
   * Writer only: the slot of key's record in the current table, or {@code -1 - slot} of where to
   * insert it (the first deleted slot on its run when reuse is safe, else the first empty one).
   */
  private int slotFor(long hash, byte[] key) {
    Table t = table;
    boolean reuse = old == null; // during a migration a deleted slot must keep hiding nothing
    int mask = t.mask;
    int free = -1;
    int i = (int) hash & mask;
    for (int probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
      long h = t.hashes[i];
      if (h == 0) {
        return -1 - (free >= 0 ? free : i);
      }
      Entry e = t.entries[i];
      if (e == null) {
        if (reuse && free < 0) {
          free = i;
        }
      } else if (h == hash && Arrays.equals(e.key(), key)) {
        return i;
      }
    }
    throw new IllegalStateException("index table has no empty slot (" + t.capacity() + ")");
  }

  /** Writer only: fills a free slot from {@link #slotFor}; the entry is visible once the hash is. */
  private void insertAt(int slot, long hash, Entry e) {
    Table t = table;
    ENTRY.setRelease(t.entries, slot, e);
    if (t.hashes[slot] == 0) {
      t.used++;
    }
    HASH.setRelease(t.hashes, slot, hash);
  }

  /** Writer only: the live entry for key in the old table, if a migration runs. */
  private Entry liveInOld(long hash, byte[] key) {
    if (old == null) {
      return null;
    }
    Entry o = lookup(old, hash, key);
    return o == null || isMarker(o) ? null : o;
  }

  /**
   * Before a batch of writes: loads the hash slots, then the entries and key bytes, that writes
   * to these keys will read, one stage for all keys at a time, so the cache misses of different
   * keys overlap instead of following one another as they would inside each write. Changes
   * nothing. Writer only; the first {@value #PREFETCH_MAX} keys of the batch.
   */
  void prefetch(List<Mutation> batch) {
    Table t = table;
    int n = Math.min(batch.size(), PREFETCH_MAX);
    long[] hashes = prefetchHashes;
    long sink = 0;
    for (int k = 0; k < n; k++) { // stage 1: the hash line at each key's home
      long hash = hash64(batch.get(k).key());
      hashes[k] = hash;
      sink += t.hashes[(int) hash & t.mask];
    }
    for (int k = 0; k < n; k++) { // stage 2: the entry whose hash matches, and its key bytes
      long hash = hashes[k];
      int i = (int) hash & t.mask;
      for (int probes = 0; probes < 8 && t.hashes[i] != 0; probes++, i = (i + 1) & t.mask) {
        if (t.hashes[i] == hash) {
          Entry e = t.entries[i];
          if (e != null) {
            byte[] key = e.key();
            sink += key.length == 0 ? 0 : key[0];
          }
          break;
        }
      }
    }
    prefetchSink += sink; // keeps the loads from being optimised away
  }

  /** Keys one {@link #prefetch} handles; more would evict what the first ones loaded. */
  static final int PREFETCH_MAX = 64;

  private final long[] prefetchHashes = new long[PREFETCH_MAX];
  private long prefetchSink;

  /** Inserts or replaces; returns the previous entry. Writer only. */
  Entry put(Entry entry) {
    assert entry.value() != null : "a stored entry has a value";
    long hash = hash64(entry.key());
    migrateSome();
    int slot = slotFor(hash, entry.key());
    if (slot >= 0) {
      Entry previous = table.entries[slot];
      ENTRY.setRelease(table.entries, slot, entry);
      if (isMarker(previous)) { // the key had been removed during a migration
        previous = null;
        setSize(size + 1);
      }
      countExpiry(previous, entry);
      return previous;
    }
    Entry previous = liveInOld(hash, entry.key());
    insertAt(-1 - slot, hash, entry);
    if (previous == null) {
      setSize(size + 1);
    }
    countExpiry(previous, entry);
    rebuildIfFull();
    return previous;
  }

  /** Replaces the entry only if it is still {@code expected} (same instance). Writer only. */
  boolean replace(Entry expected, Entry replacement) {
    assert replacement.value() != null : "a stored entry has a value";
    long hash = hash64(expected.key());
    migrateSome();
    int slot = slotFor(hash, expected.key());
    if (slot >= 0) {
      if (table.entries[slot] != expected) {
        return false;
      }
      ENTRY.setRelease(table.entries, slot, replacement);
      countExpiry(expected, replacement);
      return true;
    }
    if (liveInOld(hash, expected.key()) != expected) {
      return false;
    }
    insertAt(-1 - slot, hash, replacement);
    countExpiry(expected, replacement);
    rebuildIfFull();
    return true;
  }

  /** Removes; returns the previous entry. Writer only. */
  Entry remove(byte[] key) {
    long hash = hash64(key);
    migrateSome();
    int slot = slotFor(hash, key);
    Entry previous;
    if (slot >= 0) {
      previous = table.entries[slot];
      if (isMarker(previous)) {
        return null;
      }
      ENTRY.setRelease(table.entries, slot, old == null ? null : marker(key));
    } else {
      previous = liveInOld(hash, key);
      if (previous == null) {
        return null;
      }
      insertAt(-1 - slot, hash, marker(key));
      rebuildIfFull();
    }
    setSize(size - 1);
    countExpiry(previous, null);
    if (old == null && table.capacity() > CAPACITY_MIN && size < table.capacity() / 16) {
      startMigration(capacityFor(size)); // mass deletes: shrink
    }
    return previous;
  }

  /** Removes everything. Writer only. */
  void clear() {
    table = new Table(CAPACITY_MIN);
    old = null;
    setSize(0);
    EXPIRING.setRelease(this, 0L);
    view = new View(table, null);
  }

  long size() {
    return size;
  }

  private void setSize(long n) {
    SIZE.setRelease(this, n);
  }

  long expiringSize() {
    return expiring;
  }

  /** Writer only: {@code previous} (live or null) gave way to {@code next} (live or null). */
  private void countExpiry(Entry previous, Entry next) {
    int delta = (next != null && next.expiresAtMillis() != 0 ? 1 : 0)
        - (previous != null && previous.expiresAtMillis() != 0 ? 1 : 0);
    if (delta != 0) {
      EXPIRING.setRelease(this, expiring + delta);
    }
  }

  /** True while a rebuilt table is being filled from the previous one (for tests). */
  boolean migrating() {
    return old != null;
  }

  /** The smallest table that holds {@code keys} at a load of at most 3/8. */
  private static int capacityFor(long keys) {
    long wanted = Math.max(CAPACITY_MIN, keys * 8 / 3 + 1);
    return (int) Math.min(CAPACITY_MAX, Long.highestOneBit(wanted - 1) << 1);
  }

  private void rebuildIfFull() {
    Table t = table;
    if (t.used <= t.capacity() - t.capacity() / 4) {
      return;
    }
    // A migration fills its table to at most 3/4 (see startMigration), so none runs now.
    assert old == null : "table full during a migration";
    finishMigration();
    if (size > (long) CAPACITY_MAX / 8 * 3) {
      // Past this the largest table cannot start at 3/8 load, and startMigration's bound fails.
      throw new IllegalStateException("index is full: " + size + " keys");
    }
    startMigration(capacityFor(size));
  }

  /**
   * Publishes an empty table of {@code capacity} in front of the current one. Writer only.
   *
   * <p>The live keys fill at most 3/8 of the new table; each write during the migration adds at
   * most one used slot, so moving {@code 8/3 · old/new} old slots per write ends the migration
   * before the new table passes 3/4. That is {@value #MIGRATE_PER_WRITE} for a doubling, and the
   * whole old table in a few writes for a steep shrink.
   */
  private void startMigration(int capacity) {
    assert old == null : "one migration at a time";
    old = table;
    table = new Table(capacity);
    migrateNext = 0;
    long needed = 8L * old.capacity() / (3L * capacity) + 2;
    migratePerWrite = (int) Math.min(old.capacity(), Math.max(MIGRATE_PER_WRITE, needed));
    view = new View(table, old);
  }

  /** Before a write: moves a few old slots across, ending the migration after the last. */
  private void migrateSome() {
    for (int k = 0; k < migratePerWrite && old != null; k++) {
      migrateNext();
    }
  }

  private void finishMigration() {
    while (old != null) {
      migrateNext();
    }
  }

  private void migrateNext() {
    Table from = old;
    int j = migrateNext++;
    Entry e = from.entries[j];
    if (e != null && !isMarker(e)) {
      long hash = from.hashes[j];
      int slot = slotFor(hash, e.key());
      if (slot < 0) { // else the key was written during the migration: the new record wins
        insertAt(-1 - slot, hash, e);
      }
    }
    if (migrateNext == from.capacity()) {
      old = null;
      view = new View(table, null);
    }
  }

  // ------------------------------------------------------------------ iteration

  /**
   * Appends the records (live or marked) whose home in v's table is {@code home}: the new
   * table's own, then the old table's that will land there and that the new table has no record
   * of. Any thread; hashes are recomputed from the keys so a slot reused meanwhile is not
   * misfiled.
   */
  private static void collectHome(View v, int home, List<Entry> out) {
    Table t = v.table();
    int start = out.size();
    collectRun(t, home, home, t.mask, out);
    Table o = v.old();
    if (o == null) {
      return;
    }
    int fromNew = out.size();
    int oldHomes = o.capacity() > t.capacity() ? o.capacity() / t.capacity() : 1;
    for (int k = 0; k < oldHomes; k++) {
      int oldHome = (home & o.mask) + k * t.capacity();
      int before = out.size();
      collectRun(o, oldHome, home, t.mask, out);
      for (int i = out.size() - 1; i >= before; i--) {
        if (recordedIn(out, start, fromNew, out.get(i).key())) {
          out.remove(i);
        }
      }
    }
  }

  /** Replaces {@code out}'s contents with the live entries of home {@code home} (SCAN, entries). */
  private static void collectLiveHome(View v, int home, List<Entry> out) {
    out.clear();
    collectHome(v, home, out);
    out.removeIf(KeyIndex::isMarker);
  }

  /**
   * Appends t's records in the run from {@code runHome} whose hash maps to {@code runHome} in t
   * and to {@code home} under {@code homeMask}. Filters on the stored hashes first, so only the
   * entries it returns are loaded; a returned entry's hash is recomputed from its key, so an entry
   * that replaced a deleted slot's meanwhile (its hash not yet stored) is not misfiled.
   */
  private static void collectRun(Table t, int runHome, int home, int homeMask, List<Entry> out) {
    int i = runHome;
    for (int probes = 0; probes <= t.mask; probes++, i = (i + 1) & t.mask) {
      long stored = t.hashAt(i);
      if (stored == 0) {
        return;
      }
      if (((int) stored & t.mask) != runHome || ((int) stored & homeMask) != home) {
        continue;
      }
      Entry e = t.entryAt(i);
      if (e == null) {
        continue;
      }
      long hash = hash64(e.key());
      if (hash == stored || (((int) hash & t.mask) == runHome && ((int) hash & homeMask) == home)) {
        out.add(e);
      }
    }
  }

  private static boolean recordedIn(List<Entry> list, int from, int to, byte[] key) {
    for (int i = from; i < to; i++) {
      if (Arrays.equals(list.get(i).key(), key)) {
        return true;
      }
    }
    return false;
  }

  /**
   * Iteration over the entries as they are when iteration starts: sees every entry present
   * throughout (possibly an older version of one replaced meanwhile, or one removed meanwhile).
   */
  Iterable<Entry> entries() {
    View v = view;
    return v.old() == null ? () -> new SlotIterator(v.table()) : () -> new HomeIterator(v);
  }

  /**
   * Every live entry of one table in slot order. Entries never move within a table, so one that
   * stays for the whole iteration is met exactly once.
   */
  private static final class SlotIterator implements Iterator<Entry> {
    private final Table t;
    private int slot;
    private Entry next;

    SlotIterator(Table t) {
      this.t = t;
      advance();
    }

    private void advance() {
      next = null;
      while (next == null && slot < t.capacity()) {
        Entry e = t.entryAt(slot++);
        if (e != null && !isMarker(e)) {
          next = e;
        }
      }
    }

    @Override
    public boolean hasNext() {
      return next != null;
    }

    @Override
    public Entry next() {
      if (next == null) {
        throw new NoSuchElementException();
      }
      Entry e = next;
      advance();
      return e;
    }
  }

  /** During a migration: home by home over both tables (see {@link #collectHome}). */
  private static final class HomeIterator implements Iterator<Entry> {
    private final View v;
    private final List<Entry> home = new ArrayList<>();
    private int nextHome;
    private int next;

    HomeIterator(View v) {
      this.v = v;
    }

    private boolean fill() {
      while (next >= home.size()) {
        if (nextHome > v.table().mask) {
          return false;
        }
        next = 0;
        collectLiveHome(v, nextHome++, home);
      }
      return true;
    }

    @Override
    public boolean hasNext() {
      return fill();
    }

    @Override
    public Entry next() {
      if (!fill()) {
        throw new NoSuchElementException();
      }
      return home.get(next++);
    }
  }

  /**
   * One page of keys: whole homes from the cursor's on, in reverse-binary order, until the page
   * holds {@code countHint} keys (clamped to 1..{@value #SCAN_COUNT_MAX}). Empty homes after that
   * are skipped so an iteration whose remaining homes are empty ends on this page; at most
   * {@value #SCAN_EMPTY_BUCKETS_MAX} empty homes are visited per page.
   */
  ScanPage scan(long cursor, int countHint) {
    int count = Math.max(1, Math.min(countHint, SCAN_COUNT_MAX));
    if (size == 0) {
      return new ScanPage(List.of(), 0);
    }
    View v = view;
    long mask = v.table().mask;
    List<byte[]> keys = new ArrayList<>(Math.min(count, 64));
    List<Entry> home = new ArrayList<>();
    int emptyVisits = 0;
    long c = cursor;
    do {
      collectLiveHome(v, (int) (c & mask), home);
      if (home.isEmpty()) {
        emptyVisits++;
      } else if (keys.size() >= count) {
        break; // this home starts the next page
      }
      for (Entry e : home) {
        keys.add(e.key());
      }
      c = nextCursor(c, mask);
    } while (c != 0 && emptyVisits < SCAN_EMPTY_BUCKETS_MAX);
    return new ScanPage(keys, c);
  }

  /** Redis's reverse-binary increment: adds one to the cursor's masked bits from the top. */
  static long nextCursor(long v, long mask) {
    v |= ~mask;
    v = Long.reverse(v);
    v++;
    return Long.reverse(v);
  }
}
