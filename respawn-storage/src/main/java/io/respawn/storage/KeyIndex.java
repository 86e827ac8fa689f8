package io.respawn.storage;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;

/**
 * The in-memory index: every live key with its value, expiry and where its record lives.
 *
 * <p>A chained hash table of power-of-two size, bucket = 64-bit hash of the key's bytes masked
 * to the table size. A lookup is one hash and a short chain walk (the table doubles when it holds
 * more keys than buckets), independent of how many keys there are.
 *
 * <p>SCAN cursors are bucket numbers visited in <b>reverse-binary</b> order (Redis' dictScan):
 * the cursor's bits are incremented from the top. When the table doubles, every bucket already
 * visited maps to two buckets whose cursors are also already visited; when it halves, buckets
 * visited map to buckets that may be visited again. So a key present for the whole iteration is
 * returned at least once (possibly more than once after a shrink) however the table changes
 * between pages, and a cursor is a plain number below the table size.
 *
 * <p>Threads: mutations come from one writer at a time (the engine's append lock, or recovery
 * before the index is published). {@link #get}, {@link #scan} and {@link #entries} may run on any
 * thread at the same time: chains are immutable ({@link Node}'s fields are final; a writer
 * replaces a bucket's head with a release store, copying the part of the chain before the node
 * it changes), and a resize builds a new table from new nodes and then publishes it, so a reader
 * always walks a consistent chain of one table. Invariant: {@link #size()} equals the number of
 * entries in the current table.
 *
 * <p>Growing is incremental so no single write stalls on rebuilding a large table: the doubled
 * table is published with every bucket holding a {@link Forward} marker that points at the old
 * table; each later write first moves the old bucket it touches, then a few more
 * ({@value #MIGRATE_PER_WRITE}), splitting each old chain into the two new buckets it maps to (the
 * old table is never modified once the new one is published). A reader that meets a marker walks
 * the old bucket and keeps the nodes whose hash maps to the bucket it asked for, which is exactly
 * what the new bucket will hold, so lookups, SCAN pages and {@link #entries} see the new table's
 * contents throughout. A migration finishes before the table doubles again (N writes move at
 * least N old buckets) and before it shrinks; shrinking, which only follows mass deletes, still
 * rebuilds at once.
 */
final class KeyIndex {
  static final int SCAN_COUNT_MAX = 10_000;
  /** Empty buckets one SCAN page may step over before it returns (possibly with no keys). */
  static final int SCAN_EMPTY_BUCKETS_MAX = 100_000;
  static final int CAPACITY_MIN = 16;
  static final int CAPACITY_MAX = 1 << 30;
  /** Old buckets moved by each write while a migration is in progress, besides its own. */
  static final int MIGRATE_PER_WRITE = 4;

  /** An immutable index entry; {@code segmentId} is the segment holding its record. */
  record Entry(
      byte[] key, byte[] value, long expiresAtMillis, long sequence, long segmentId, int recordBytes) {
    Entry inSegment(long newSegmentId) {
      return new Entry(key, value, expiresAtMillis, sequence, newSegmentId, recordBytes);
    }
  }

  /** One link of a bucket's chain; immutable so readers never see a half-made change. */
  private static class Node {
    final long hash;
    final Entry entry;
    final Node next;

    Node(long hash, Entry entry, Node next) {
      this.hash = hash;
      this.entry = entry;
      this.next = next;
    }
  }

  /** Fills every bucket of a newly doubled table until its old bucket has been moved. */
  private static final class Forward extends Node {
    final Node[] old;

    Forward(Node[] old) {
      super(0, null, null);
      this.old = old;
    }
  }

  private static final VarHandle BUCKET = MethodHandles.arrayElementVarHandle(Node[].class);

  private volatile Node[] table = new Node[CAPACITY_MIN];
  private volatile long size;
  /** Writer only: the table being moved into {@link #table}, or null; next old bucket to move. */
  private Node[] migrating;
  private int migrateNext;

  static long hash64(byte[] key) {
    long h = 0xcbf29ce484222325L; // FNV-1a, then a murmur3 finalizer to spread the bits
    for (byte b : key) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }

  private static Node head(Node[] t, int i) {
    return (Node) BUCKET.getAcquire(t, i);
  }

  private static void setHead(Node[] t, int i, Node n) {
    BUCKET.setRelease(t, i, n);
  }

  private static int bucketOf(long hash, Node[] t) {
    return (int) hash & (t.length - 1);
  }

  Entry get(byte[] key) {
    long hash = hash64(key);
    Node[] t = table;
    Node n = head(t, bucketOf(hash, t));
    if (n instanceof Forward f) {
      n = head(f.old, bucketOf(hash, f.old)); // the same hash maps to the asked-for new bucket
    }
    for (; n != null; n = n.next) {
      if (n.hash == hash && Arrays.equals(n.entry.key(), key)) {
        return n.entry;
      }
    }
    return null;
  }

  /**
   * Before a write: moves the old bucket {@code hash} lives in (so the write sees and changes the
   * new table only) and a few more. Writer only.
   */
  private void migrateFor(long hash) {
    Node[] old = migrating;
    if (old == null) {
      return;
    }
    migrateBucket(old, bucketOf(hash, old));
    for (int k = 0; k < MIGRATE_PER_WRITE && migrating != null; k++) {
      migrateNext();
    }
  }

  private void migrateNext() {
    Node[] old = migrating;
    migrateBucket(old, migrateNext++);
    if (migrateNext == old.length) {
      migrating = null;
    }
  }

  private void finishMigration() {
    while (migrating != null) {
      migrateNext();
    }
  }

  /**
   * Splits old bucket {@code i} into new buckets {@code i} and {@code i + old.length}, reusing
   * the chain's tail from where all remaining nodes go to the same side. Writer only.
   */
  private void migrateBucket(Node[] old, int i) {
    Node[] t = table;
    if (!(head(t, i) instanceof Forward)) {
      return; // already moved
    }
    Node first = head(old, i);
    int bit = old.length;
    Node lastRun = first;
    int lastSide = first == null ? 0 : (int) first.hash & bit;
    for (Node n = first; n != null; n = n.next) {
      int side = (int) n.hash & bit;
      if (side != lastSide) {
        lastSide = side;
        lastRun = n;
      }
    }
    Node lo = null;
    Node hi = null;
    if (lastRun != null) {
      if (lastSide == 0) {
        lo = lastRun;
      } else {
        hi = lastRun;
      }
    }
    for (Node n = first; n != lastRun; n = n.next) {
      if (((int) n.hash & bit) == 0) {
        lo = new Node(n.hash, n.entry, lo);
      } else {
        hi = new Node(n.hash, n.entry, hi);
      }
    }
    setHead(t, i, lo);
    setHead(t, i + bit, hi);
  }

  /** Inserts or replaces; returns the previous entry. Writer only. */
  Entry put(Entry entry) {
    long hash = hash64(entry.key());
    migrateFor(hash);
    Node[] t = table;
    int i = bucketOf(hash, t);
    Node first = head(t, i);
    for (Node n = first; n != null; n = n.next) {
      if (n.hash == hash && Arrays.equals(n.entry.key(), entry.key())) {
        setHead(t, i, replaced(first, n, new Node(hash, entry, n.next)));
        return n.entry;
      }
    }
    setHead(t, i, new Node(hash, entry, first));
    size++;
    if (size > t.length && t.length < CAPACITY_MAX) {
      grow();
    }
    return null;
  }

  /** Replaces the entry only if it is still {@code expected} (same instance). Writer only. */
  boolean replace(Entry expected, Entry replacement) {
    long hash = hash64(expected.key());
    migrateFor(hash);
    Node[] t = table;
    int i = bucketOf(hash, t);
    Node first = head(t, i);
    for (Node n = first; n != null; n = n.next) {
      if (n.entry == expected) {
        setHead(t, i, replaced(first, n, new Node(hash, replacement, n.next)));
        return true;
      }
    }
    return false;
  }

  /** Removes; returns the previous entry. Writer only. */
  Entry remove(byte[] key) {
    long hash = hash64(key);
    migrateFor(hash);
    Node[] t = table;
    int i = bucketOf(hash, t);
    Node first = head(t, i);
    for (Node n = first; n != null; n = n.next) {
      if (n.hash == hash && Arrays.equals(n.entry.key(), key)) {
        setHead(t, i, replaced(first, n, n.next));
        size--;
        if (t.length > CAPACITY_MIN && size < t.length / 8) {
          resize(Math.max(CAPACITY_MIN, Integer.highestOneBit((int) Math.max(1, size)) * 2));
        }
        return n.entry;
      }
    }
    return null;
  }

  /**
   * The chain from {@code first} with {@code target} swapped for {@code replacement} (which
   * already links to target's successor, or is that successor): copies the nodes before target.
   */
  private static Node replaced(Node first, Node target, Node replacement) {
    if (target == first) {
      return replacement; // the common case: nothing before it to copy
    }
    int before = 0;
    for (Node n = first; n != target; n = n.next) {
      before++;
    }
    Node[] prefix = new Node[before];
    Node n = first;
    for (int i = 0; i < before; i++, n = n.next) {
      prefix[i] = n;
    }
    Node chain = replacement;
    for (int i = before - 1; i >= 0; i--) {
      chain = new Node(prefix[i].hash, prefix[i].entry, chain);
    }
    return chain;
  }

  /** Publishes a doubled table whose buckets all forward to the current one. Writer only. */
  private void grow() {
    finishMigration();
    Node[] old = table;
    Node[] t = new Node[old.length * 2];
    Arrays.fill(t, new Forward(old));
    migrating = old;
    migrateNext = 0;
    table = t; // volatile store publishes the filled array
  }

  /** Rebuilds the table at {@code capacity} from new nodes, then publishes it. Writer only. */
  private void resize(int capacity) {
    finishMigration();
    Node[] old = table;
    Node[] t = new Node[capacity];
    for (int i = 0; i < old.length; i++) {
      for (Node n = head(old, i); n != null; n = n.next) {
        int j = bucketOf(n.hash, t);
        t[j] = new Node(n.hash, n.entry, t[j]);
      }
    }
    table = t; // volatile store publishes the filled array
  }

  /** Removes everything. Writer only. */
  void clear() {
    migrating = null;
    table = new Node[CAPACITY_MIN];
    size = 0;
  }

  long size() {
    return size;
  }

  /**
   * Iteration over the entries of the table as it is when iteration starts: sees every entry
   * present throughout (possibly an older version of one replaced meanwhile).
   */
  Iterable<Entry> entries() {
    return () -> new Iterator<>() {
      private final Node[] t = table;
      private int bucket = -1;
      /** Set while walking an old bucket through a {@link Forward}: keep only this bucket's. */
      private boolean filtering;
      private Node next = advance(null);

      private Node advance(Node from) {
        Node n = from == null ? null : from.next;
        while (true) {
          while (filtering && n != null && bucketOf(n.hash, t) != bucket) {
            n = n.next;
          }
          if (n != null || ++bucket >= t.length) {
            return n;
          }
          n = head(t, bucket);
          filtering = n instanceof Forward;
          if (filtering) {
            Node[] old = ((Forward) n).old;
            n = head(old, bucket & (old.length - 1));
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
        Node n = next;
        next = advance(n);
        return n.entry;
      }
    };
  }

  /**
   * One page of keys: whole buckets from the cursor's bucket on, in reverse-binary order, until
   * the page holds {@code countHint} keys (clamped to 1..{@value #SCAN_COUNT_MAX}). Empty buckets
   * after that are skipped so an iteration whose remaining buckets are empty ends on this page;
   * at most {@value #SCAN_EMPTY_BUCKETS_MAX} empty buckets are visited per page.
   */
  ScanPage scan(long cursor, int countHint) {
    int count = Math.max(1, Math.min(countHint, SCAN_COUNT_MAX));
    if (size == 0) {
      return new ScanPage(List.of(), 0);
    }
    Node[] t = table;
    long mask = t.length - 1;
    List<byte[]> keys = new ArrayList<>(Math.min(count, 64));
    int emptyVisits = 0;
    long v = cursor;
    do {
      int b = (int) (v & mask);
      Node n = head(t, b);
      boolean filtering = n instanceof Forward;
      if (filtering) {
        Node[] old = ((Forward) n).old;
        n = head(old, b & (old.length - 1));
        while (n != null && bucketOf(n.hash, t) != b) {
          n = n.next;
        }
      }
      if (n == null) {
        emptyVisits++;
      } else if (keys.size() >= count) {
        break; // this bucket starts the next page
      }
      for (; n != null; n = n.next) {
        if (!filtering || bucketOf(n.hash, t) == b) {
          keys.add(n.entry.key());
        }
      }
      v = nextCursor(v, mask);
    } while (v != 0 && emptyVisits < SCAN_EMPTY_BUCKETS_MAX);
    return new ScanPage(keys, v);
  }

  /** Redis' reverse-binary increment: adds one to the cursor's masked bits from the top. */
  static long nextCursor(long v, long mask) {
    v |= ~mask;
    v = Long.reverse(v);
    v++;
    return Long.reverse(v);
  }
}
