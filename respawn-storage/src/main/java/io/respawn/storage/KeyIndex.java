package io.respawn.storage;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentNavigableMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The in-memory index: every live key with its value, expiry and where its record lives.
 *
 * <p>Keys are ordered by a 64-bit hash of their bytes, then by the bytes, so that a SCAN cursor
 * can be the (unsigned) hash to resume from: a key present for the whole iteration keeps its
 * place in that order, so it is returned at least once however the map changes around it.
 *
 * <p>Readers may call {@link #get} and {@link #scan} from any thread; mutations come from one
 * writer at a time (the engine's append lock). Invariant: {@link #size()} equals the number of
 * entries.
 */
final class KeyIndex {
  static final int SCAN_COUNT_MAX = 10_000;

  /** An immutable index entry; {@code segmentId} is the segment holding its record. */
  record Entry(
      byte[] key, byte[] value, long expiresAtMillis, long sequence, long segmentId, int recordBytes) {
    Entry inSegment(long newSegmentId) {
      return new Entry(key, value, expiresAtMillis, sequence, newSegmentId, recordBytes);
    }
  }

  /** The ordering key: hash first, then bytes (unsigned). */
  record Key(long hash, byte[] bytes) implements Comparable<Key> {
    @Override
    public int compareTo(Key o) {
      int c = Long.compareUnsigned(hash, o.hash);
      return c != 0 ? c : Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Key k && k.hash == hash && Arrays.equals(k.bytes, bytes);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(hash);
    }
  }

  private static final byte[] NO_BYTES = new byte[0];
  private final ConcurrentSkipListMap<Key, Entry> map = new ConcurrentSkipListMap<>();
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

  static Key keyOf(byte[] key) {
    return new Key(hash64(key), key);
  }

  Entry get(byte[] key) {
    return map.get(keyOf(key));
  }

  /** Inserts or replaces; returns the previous entry. Writer only. */
  Entry put(Entry entry) {
    Entry previous = map.put(keyOf(entry.key()), entry);
    if (previous == null) {
      size++;
    }
    return previous;
  }

  /** Replaces the entry only if it is still {@code expected}. Writer only. */
  boolean replace(Entry expected, Entry replacement) {
    return map.replace(keyOf(expected.key()), expected, replacement);
  }

  /** Removes; returns the previous entry. Writer only. */
  Entry remove(byte[] key) {
    Entry previous = map.remove(keyOf(key));
    if (previous != null) {
      size--;
    }
    return previous;
  }

  /** Removes everything. Writer only. */
  void clear() {
    map.clear();
    size = 0;
  }

  long size() {
    return size;
  }

  /** Weakly consistent iteration over the entries (sees every entry present throughout). */
  Iterable<Entry> entries() {
    return map.values();
  }

  /**
   * One page of keys starting at the cursor's hash. The page never ends inside a run of keys with
   * the same hash, so resuming at the next key's hash skips nothing and always makes progress.
   */
  ScanPage scan(long cursor, int countHint) {
    int count = Math.max(1, Math.min(countHint, SCAN_COUNT_MAX));
    ConcurrentNavigableMap<Key, Entry> tail =
        cursor == 0 ? map : map.tailMap(new Key(cursor, NO_BYTES), true);
    List<byte[]> keys = new ArrayList<>(Math.min(count, 64));
    Iterator<Map.Entry<Key, Entry>> it = tail.entrySet().iterator();
    long lastHash = 0;
    while (it.hasNext()) {
      Map.Entry<Key, Entry> e = it.next();
      long hash = e.getKey().hash();
      if (keys.size() >= count && hash != lastHash) {
        return new ScanPage(keys, hash);
      }
      keys.add(e.getValue().key());
      lastHash = hash;
    }
    return new ScanPage(keys, 0);
  }
}
