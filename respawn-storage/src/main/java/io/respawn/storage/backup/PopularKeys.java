package io.respawn.storage.backup;

import java.util.Arrays;
import org.apache.datasketches.frequencies.ErrorType;
import org.apache.datasketches.frequencies.LongsSketch;

/**
 * The backup's bounded most-popular set (DESIGN.md §3): popularity reports from the primary
 * (hashes of sampled keys, see {@link PopularitySampler}) feed a frequent-items sketch, and the
 * {@code hotKeysMax} keys with the largest estimated counts form the hot set that writeback and
 * GC consult to choose the hot or the cold log.
 *
 * <p>The sketch is Apache DataSketches' {@link LongsSketch} (Misra-Gries with reverse purging):
 * fixed memory (a map of {@code 4 × hotKeysMax} rounded up to a power of two, about 18 bytes a
 * slot: 9.4 MB per sketch at the default 100,000 keys), a bounded error
 * per count, and a merge. Keys enter as their 64-bit {@link KeyHash}, so nothing per key is kept
 * on the heap beyond the sketch's two arrays; a hash collision can only make a key look popular,
 * which costs placement, never correctness. Counts age by epochs: the set is computed from the
 * current and the previous epoch, and an epoch ends after {@code popularityReportsPerEpoch}
 * reports, so a key that stops being read leaves the set within two epochs. (The seed's backup
 * keeps an LRU list of sampled keys; counts age more smoothly and resist one-off scans.)
 *
 * <p>Thread-safety: {@link #report} is synchronized (reports come every few seconds); {@link
 * #isHot} reads an immutable set published through a volatile field, from any thread.
 */
final class PopularKeys {
  /**
   * Sketch slots per key of the set. The sketch holds up to 3/4 of its slots, then purges by
   * subtracting its median count; with 4 slots per key the set's keys are at most a third of
   * those held, so the median is a tail key's count and the set survives a purge. With 2, a
   * full set of equally popular keys was more than half of them, and each purge dropped half
   * of the set.
   */
  static final int SLOTS_PER_HOT_KEY = 4;
  private final int hotKeysMax;
  private final int reportsPerEpoch;
  private final int mapSize;
  private LongsSketch current;
  private LongsSketch previous;
  private int reportsInEpoch;
  private volatile LongHashSet hot = LongHashSet.EMPTY;
  /** The hot set's hashes, most popular first (the order of the sketch's estimates). */
  private volatile Ranked ranked = new Ranked(new long[0], 0);

  /**
   * The hot set's key hashes, most popular first, and how many of the first are {@code
   * repeated}: sampled at least {@link #REPEATED_SAMPLES_MIN} times (the sketch's lower bound).
   */
  record Ranked(long[] hashes, int repeated) {}

  /**
   * A key sampled once says little about its popularity: when most accesses spread over many
   * keys (YCSB's scrambled zipfian), most keys of the set were sampled once, by chance.
   */
  static final long REPEATED_SAMPLES_MIN = 2;
  private volatile long version;
  private long reports;
  private long sampledKeys;

  PopularKeys(int hotKeysMax, int reportsPerEpoch) {
    this.hotKeysMax = hotKeysMax;
    this.reportsPerEpoch = reportsPerEpoch;
    this.mapSize = Integer.highestOneBit(Math.max(8, hotKeysMax * SLOTS_PER_HOT_KEY - 1)) << 1;
    this.current = new LongsSketch(mapSize);
    this.previous = new LongsSketch(mapSize);
  }

  /** Adds one report of sampled key hashes and recomputes the hot set. */
  synchronized void report(long[] keyHashes) {
    for (long h : keyHashes) {
      if (h != 0) {
        current.update(h);
      }
    }
    reports++;
    sampledKeys += keyHashes.length;
    if (++reportsInEpoch >= reportsPerEpoch) {
      previous = current;
      current = new LongsSketch(mapSize);
      reportsInEpoch = 0;
    }
    recompute();
  }

  private void recompute() {
    if (hotKeysMax == 0) {
      return;
    }
    LongsSketch both = new LongsSketch(mapSize);
    both.merge(previous);
    both.merge(current);
    LongsSketch.Row[] rows = both.getFrequentItems(ErrorType.NO_FALSE_NEGATIVES);
    // Rows come sorted by estimate, largest first.
    int n = Math.min(rows.length, hotKeysMax);
    long[] keys = new long[n];
    int repeated = 0;
    for (int i = 0; i < n; i++) {
      keys[i] = rows[i].getItem();
      if (repeated == i && rows[i].getLowerBound() >= REPEATED_SAMPLES_MIN) {
        repeated++;
      }
    }
    hot = LongHashSet.of(keys, n);
    ranked = new Ranked(keys, repeated);
    version++;
  }

  boolean isHot(long keyHash) {
    return hot.contains(keyHash);
  }

  boolean isHot(byte[] key) {
    return isHot(KeyHash.of(key));
  }

  /**
   * The hot set's key hashes, most popular first (a shared array: do not change it). BatchPull
   * streams the records of the repeated ones before the logs ({@link BackupPulls}), wherever
   * they live.
   */
  Ranked ranked() {
    return ranked;
  }

  int hotKeys() {
    return hot.size();
  }

  /** Changes whenever the hot set is recomputed. */
  long version() {
    return version;
  }

  synchronized long reports() {
    return reports;
  }

  synchronized long sampledKeys() {
    return sampledKeys;
  }

  @Override
  public String toString() {
    return "PopularKeys" + Arrays.asList(hotKeys(), version);
  }
}
