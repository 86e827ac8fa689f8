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
 */
final class KeyIndex {
  static final int SCAN_COUNT_MAX = 10_000;
  /** Empty buckets one SCAN page may step over before it returns (possibly with no keys). */
  static final int SCAN_EMPTY_BUCKETS_MAX = 100_000;
  static final int CAPACITY_MIN = 16;
  static final int CAPACITY_MAX = 1 << 30;

  /** An immutable index entry; {@code segmentId} is the segment holding its record. */
  record Entry(
      byte[] key, byte[] value, long expiresAtMillis, long sequence, long segmentId, int recordBytes) {
    Entry inSegment(long newSegmentId) {
      return new Entry(key, value, expiresAtMillis, sequence, newSegmentId, recordBytes);
    }
  }

  /** One link of a bucket's chain; immutable so readers never see a half-made change. */
  private static final class Node {
    final long hash;
    final Entry entry;
    final Node next;

    Node(long hash, Entry entry, Node next) {
      this.hash = hash;
      this.entry = entry;
      this.next = next;
    }
  }

  private static final VarHandle BUCKET = MethodHandles.arrayElementVarHandle(Node[].class);

  private volatile Node[] table = new Node[CAPACITY_MIN];
  private volatile long size;

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
    for (Node n = head(t, bucketOf(hash, t)); n != null; n = n.next) {
      if (n.hash == hash && Arrays.equals(n.entry.key(), key)) {
        return n.entry;
      }
    }
    return null;
  }

  /** Inserts or replaces; returns the previous entry. Writer only. */
  Entry put(Entry entry) {
    long hash = hash64(entry.key());
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
      resize(t.length * 2);
    }
    return null;
  }

  /** Replaces the entry only if it is still {@code expected} (same instance). Writer only. */
  boolean replace(Entry expected, Entry replacement) {
    long hash = hash64(expected.key());
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

  /** Rebuilds the table at {@code capacity} from new nodes, then publishes it. Writer only. */
  private void resize(int capacity) {
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
      private Node next = advance(null);

      private Node advance(Node from) {
        Node n = from == null ? null : from.next;
        while (n == null && ++bucket < t.length) {
          n = head(t, bucket);
        }
        return n;
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
      Node n = head(t, (int) (v & mask));
      if (n == null) {
        emptyVisits++;
      } else if (keys.size() >= count) {
        break; // this bucket starts the next page
      }
      for (; n != null; n = n.next) {
        keys.add(n.entry.key());
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
