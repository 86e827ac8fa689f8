package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The off-heap index while its table grows incrementally: every key stays visible to lookups,
 * SCAN and record walks at every step of a migration, replacements and removals during a migration
 * land in the new table, a removal during a migration stays removed, and a concurrent reader never
 * misses a key present throughout, never sees a value older than one already written, and never
 * reads a value whose memory was reused under it.
 */
class KeyIndexTest {
  /** A 16-byte key, as redis-benchmark's {@code key:000000000042}. */
  private static byte[] key16(int i) {
    return String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII);
  }

  private static byte[] key(int i) {
    return ("k" + i).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * A value that says which version it is in every 8 bytes, of a length that varies with the
   * version (so records of a key move between size classes and reuse each other's memory).
   */
  private static byte[] value(long version) {
    int words = 1 + (int) Math.floorMod(version * 7, 40);
    ByteBuffer b = ByteBuffer.allocate(words * 8);
    for (int i = 0; i < words; i++) {
      b.putLong(version);
    }
    return b.array();
  }

  /** The version a value says, or fails if its words disagree (a torn or reused read). */
  private static long versionOf(byte[] value) {
    ByteBuffer b = ByteBuffer.wrap(value);
    long v = b.getLong();
    if (value.length != value(v).length) {
      throw new AssertionError("version " + v + " has " + value.length + " bytes");
    }
    while (b.hasRemaining()) {
      long w = b.getLong();
      if (w != v) {
        throw new AssertionError("version " + v + " has a word " + w);
      }
    }
    return v;
  }

  private static long put(KeyIndex index, int i, long version) {
    return index.put(key(i), value(version), 0, version, 1);
  }

  private static Set<String> scanAll(KeyIndex index) {
    Set<String> seen = new HashSet<>();
    long cursor = 0;
    do {
      ScanPage page = index.scan(cursor, 7);
      for (byte[] k : page.keys()) {
        seen.add(new String(k, StandardCharsets.UTF_8));
      }
      cursor = page.nextCursor();
    } while (cursor != 0);
    return seen;
  }

  /** Every record a walk over the index meets, by key (fails on a key met twice). */
  private static Map<String, long[]> walk(KeyIndex index) {
    Map<String, long[]> seen = new HashMap<>();
    long cursor = 0;
    do {
      cursor = index.scanRecords(cursor, 13, (chunk, record, ref) -> {
        byte[] k = new byte[index.keyLength(chunk, record)];
        java.lang.foreign.MemorySegment.copy(chunk, java.lang.foreign.ValueLayout.JAVA_BYTE,
            index.keyOffset(chunk, record), k, 0, k.length);
        long[] fields = {index.sequence(chunk, record), index.segmentId(chunk, record),
            index.expiresAtMillis(chunk, record)};
        assertThat(seen.put(new String(k, StandardCharsets.UTF_8), fields)).isNull();
        return true;
      });
    } while (cursor != 0);
    return seen;
  }

  @Test
  void everyKeyIsVisibleThroughoutGrowthMigrationsAndRemovals() {
    try (KeyIndex index = new KeyIndex()) {
      int n = 5000;
      for (int i = 0; i < n; i++) {
        assertThat(put(index, i, 1)).isEqualTo(KeyIndex.NONE);
        if (i % 97 == 0) {
          assertThat(scanAll(index)).hasSize(i + 1);
          assertThat(walk(index)).hasSize(i + 1);
        }
        assertThat(index.get(key(i / 2))).isNotNull();
        index.reclaim();
      }
      for (int i = 0; i < n; i++) {
        assertThat(versionOf(index.get(key(i)).value())).isEqualTo(1);
      }
      // Replace while a later migration may be pending: the previous record is reported.
      for (int i = 0; i < n; i += 2) {
        long previous = put(index, i, 2);
        assertThat(KeyIndex.segmentOf(previous)).isEqualTo(1);
        assertThat(KeyIndex.recordBytesOf(previous))
            .isEqualTo(LogFormat.recordBytes(key(i).length, value(1).length));
        index.reclaim();
      }
      for (int i = 0; i < n; i++) {
        assertThat(versionOf(index.get(key(i)).value())).as("key %d", i).isEqualTo(i % 2 == 0 ? 2 : 1);
        assertThat(index.sequenceOf(key(i))).isEqualTo(i % 2 == 0 ? 2 : 1);
      }
      assertThat(scanAll(index)).hasSize(n);
      for (int i = 0; i < n; i++) {
        if (i % 10 != 0) {
          assertThat(index.remove(key(i))).isNotEqualTo(KeyIndex.NONE);
        }
        index.reclaim();
      }
      assertThat(index.size()).isEqualTo(n / 10);
      assertThat(scanAll(index)).hasSize(n / 10);
      for (int i = 0; i < n; i += 10) {
        assertThat(index.get(key(i))).isNotNull();
      }
    }
  }

  @Test
  void aConcurrentReaderNeverMissesAKeyPresentThroughout() throws Exception {
    try (KeyIndex index = new KeyIndex()) {
      int stable = 2000;
      for (int i = 0; i < stable; i++) {
        put(index, i, 1);
      }
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<String> failure = new AtomicReference<>();
      Thread reader = new Thread(() -> {
        Random r = new Random(1);
        while (!stop.get() && failure.get() == null) {
          int i = r.nextInt(stable);
          if (index.get(key(i)) == null) {
            failure.set("lookup missed k" + i);
          }
          Set<String> seen = scanAll(index);
          for (int j = 0; j < stable; j += 37) {
            if (!seen.contains("k" + j)) {
              failure.set("scan missed k" + j);
            }
          }
        }
      });
      reader.start();
      for (int i = stable; i < 200_000; i++) {
        put(index, i, 1);
        if (i % 3 == 0) {
          put(index, i % stable, 2);
        }
        index.reclaim();
      }
      for (int i = stable; i < 200_000; i++) {
        index.remove(key(i));
        index.reclaim();
      }
      stop.set(true);
      reader.join();
      assertThat(failure.get()).isNull();
      assertThat(index.size()).isEqualTo(stable);
    }
  }

  /**
   * Random puts, removals and compaction remaps against a HashMap; lookups, the previous record
   * each write reports, SCAN and record walks agree.
   */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L})
  void agreesWithAMapThroughGrowthShrinkAndMigrations(long seed) {
    Random random = new Random(seed);
    Map<Integer, Model> model = new HashMap<>();
    int migrations = 0;
    boolean wasMigrating = false;
    try (KeyIndex index = new KeyIndex()) {
      for (int step = 0; step < 60_000; step++) {
        // Phases of growth (keys up to 6000) and of mass deletes (down to a few).
        boolean growing = (step / 15_000) % 2 == 0;
        int k = random.nextInt(growing ? 6000 : 200 + 6000 * (15_000 - step % 15_000) / 15_000);
        int op = random.nextInt(1000);
        if (op < (growing ? 600 : 200)) {
          long expiresAt = step % 3 == 0 ? 1_000_000L + step : 0; // a third carry an expiry
          long segment = 2 + step / 1000;
          long previous = index.put(key(k), value(step), expiresAt, step, segment);
          Model was = model.put(k, new Model(step, expiresAt, segment));
          assertSummary(previous, was, k);
        } else if (op < 998) {
          assertSummary(index.remove(key(k)), model.remove(k), k);
        } else { // a compaction's remap: every record up to segment `last` moves to `last`
          long last = 2 + step / 2000;
          long cursor = 0;
          long[] moved = new long[1];
          do {
            cursor = index.remapSegments(cursor, 50, last, moved);
          } while (cursor != 0);
          long expectedMoved = 0;
          for (Map.Entry<Integer, Model> e : model.entrySet()) {
            Model m = e.getValue();
            if (m.segmentId() <= last) {
              expectedMoved += LogFormat.recordBytes(key(e.getKey()).length, value(m.version()).length);
              e.setValue(new Model(m.version(), m.expiresAt(), last));
            }
          }
          assertThat(moved[0]).isEqualTo(expectedMoved);
        }
        index.reclaim();
        StoredValue v = index.get(key(k));
        Model m = model.get(k);
        if (m == null) {
          assertThat(v).isNull();
        } else {
          assertThat(versionOf(v.value())).isEqualTo(m.version());
          assertThat(v.expiresAtMillis()).isEqualTo(m.expiresAt());
        }
        assertThat(index.size()).isEqualTo(model.size());
        if (step % 97 == 0) {
          assertThat(index.expiringSize())
              .isEqualTo(model.values().stream().filter(e -> e.expiresAt() != 0).count());
        }
        if (index.migrating() && !wasMigrating) {
          migrations++;
        }
        wasMigrating = index.migrating();
        if (step % 1999 == 0) {
          Set<String> expected = new HashSet<>();
          model.keySet().forEach(i -> expected.add("k" + i));
          assertThat(scanAll(index)).isEqualTo(expected);
          Map<String, long[]> listed = walk(index);
          assertThat(listed.keySet()).isEqualTo(expected);
          for (Map.Entry<String, long[]> e : listed.entrySet()) {
            Model want = model.get(Integer.parseInt(e.getKey().substring(1)));
            assertThat(e.getValue()).containsExactly(want.version(), want.segmentId(), want.expiresAt());
          }
        }
      }
      assertThat(migrations).as("growth and shrink migrations").isGreaterThanOrEqualTo(5);
    }
  }

  private record Model(long version, long expiresAt, long segmentId) {}

  private static void assertSummary(long summary, Model was, int k) {
    if (was == null) {
      assertThat(summary).as("k%d had no record", k).isEqualTo(KeyIndex.NONE);
      return;
    }
    assertThat(summary).as("k%d had a record", k).isNotEqualTo(KeyIndex.NONE);
    assertThat(KeyIndex.segmentOf(summary)).isEqualTo(was.segmentId());
    assertThat(KeyIndex.recordBytesOf(summary))
        .isEqualTo(LogFormat.recordBytes(key(k).length, value(was.version()).length));
  }

  /** A key removed while its only record is in the old table stays removed. */
  @Test
  void removalsDuringAMigrationHideTheOldTablesCopy() {
    try (KeyIndex index = new KeyIndex()) {
      int i = 0;
      while (i < 10_000 || !index.migrating()) { // a migration long enough to write through
        put(index, i++, 1);
      }
      int before = i; // keys 0..before-1 mostly still sit in the old table
      int removedBelow = 0;
      for (int j = 0; j + 1 < before && index.migrating(); j += 2) {
        assertThat(index.remove(key(j))).as("k%d", j).isNotEqualTo(KeyIndex.NONE);
        assertThat(index.get(key(j))).isNull();
        assertThat(KeyIndex.segmentOf(put(index, j + 1, 2))).isEqualTo(1);
        index.reclaim();
        removedBelow = j + 2;
      }
      assertThat(removedBelow).isGreaterThan(4);
      for (int j = 0; j < before; j++) {
        StoredValue v = index.get(key(j));
        if (j % 2 == 0 && j < removedBelow) {
          assertThat(v).as("k%d", j).isNull();
        } else {
          assertThat(v).as("k%d", j).isNotNull();
          assertThat(versionOf(v.value())).isEqualTo(j % 2 == 1 && j < removedBelow ? 2 : 1);
        }
      }
    }
  }

  /** Shrinking from a large table to the smallest one never overfills the new table. */
  @Test
  void aSteepShrinkFinishesBeforeTheSmallTableFills() {
    try (KeyIndex index = new KeyIndex()) {
      for (int i = 0; i < 100_000; i++) {
        put(index, i, 1);
      }
      for (int i = 0; i < 100_000; i++) {
        index.remove(key(i));
        index.reclaim();
      }
      assertThat(index.size()).isZero();
      // Inserts right after the shrink began land in a small table while the big one drains.
      for (int i = 0; i < 1000; i++) {
        put(index, i, 2);
      }
      assertThat(index.size()).isEqualTo(1000);
      assertThat(scanAll(index)).hasSize(1000);
    }
  }

  /**
   * Memory follows the data: replacing every value with one of the same size reuses the freed
   * blocks (nothing grows), removing everything returns the records' bytes, CLEAR returns the
   * slabs to the operating system, and a closed index refuses reads.
   */
  @Test
  void memoryIsReusedAfterReplacementsAndFreedByClear() {
    KeyIndex index = new KeyIndex();
    for (int i = 0; i < 20_000; i++) {
      index.put(key16(i), new byte[100], 0, 1, 1);
    }
    index.reclaim();
    KeyIndex.MemoryStats loaded = index.memoryStats();
    assertThat(loaded.recordBytes()).isEqualTo(20_000L * 136); // 8 + 12 + 16 + 100 = class 136
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < 20_000; i++) {
        index.put(key16(i), new byte[100], 0, 2 + round, 1);
        index.reclaim();
      }
    }
    KeyIndex.MemoryStats replaced = index.memoryStats();
    assertThat(replaced.recordBytes()).isEqualTo(loaded.recordBytes());
    assertThat(replaced.reservedBytes()).as("freed blocks were reused").isEqualTo(loaded.reservedBytes());
    for (int i = 0; i < 20_000; i++) {
      index.remove(key16(i));
      index.reclaim();
    }
    // A shrink may still be moving the table: records the old table points at (and markers) wait
    // for its end, which takes a few more writes.
    for (int spare = 0; index.migrating(); spare++) {
      assertThat(spare).isLessThan(100);
      index.put(key16(-1), new byte[1], 0, 8, 1);
      index.remove(key16(-1));
      index.reclaim();
    }
    assertThat(index.memoryStats().recordBytes()).as("%s", index.memoryStats()).isZero();
    for (int i = 0; i < 20_000; i++) {
      index.put(key16(i), new byte[100], 0, 9, 1);
    }
    index.clear();
    index.reclaim();
    index.reclaim();
    assertThat(index.size()).isZero();
    assertThat(index.memoryStats().reservedBytes()).isLessThan(64 << 10);
    index.close();
    assertThatThrownBy(() -> index.get(key(1))).isInstanceOf(StorageException.class)
        .hasMessage("store is closed");
  }

  private static boolean removalStep(long step, int keys) {
    return (step / keys) % 3 == 2;
  }

  /**
   * A reader on another thread, after the writer announced a write, sees that write or a later
   * one: never a removed key, never an older version, never a torn or reused value (every value
   * repeats its version; versions change the value's size class), across every migration.
   */
  @Test
  void aConcurrentReaderNeverSeesAnOlderStateThanAnnounced() throws Exception {
    try (KeyIndex index = new KeyIndex()) {
      int keys = 3000;
      AtomicLong announced = new AtomicLong(-1); // the writer's last finished step
      AtomicBoolean stop = new AtomicBoolean();
      AtomicReference<String> failure = new AtomicReference<>();
      // Step s writes key s % keys: a removal in every third round over the keys, else version s.
      Thread reader = new Thread(() -> {
        Random r = new Random(2);
        while (!stop.get() && failure.get() == null) {
          long done = announced.get();
          if (done < keys) {
            continue;
          }
          long s = done - r.nextInt(keys); // the last step the writer finished on key s % keys
          int k = (int) (s % keys);
          StoredValue v = index.get(key(k));
          long after = announced.get(); // steps s..after on k may have happened before the read
          long version;
          try {
            version = v == null ? -1 : versionOf(v.value());
          } catch (AssertionError e) {
            failure.set("k" + k + ": " + e.getMessage());
            return;
          }
          boolean allowed = false;
          for (long t = s; t <= after + 1 && !allowed; t += keys) { // after + 1: in progress
            allowed = removalStep(t, keys) ? v == null : v != null && version == t;
          }
          if (!allowed) {
            failure.set("k" + k + " at step " + s + " (writer at " + after + ") read "
                + (v == null ? "nothing" : "version " + version));
          }
        }
      });
      reader.start();
      for (long s = 0; s < 400_000 && failure.get() == null; s++) {
        int k = (int) (s % keys);
        if (removalStep(s, keys)) {
          index.remove(key(k));
        } else {
          put(index, k, s);
        }
        if (s % 50_000 == 0) { // grow and shrink the table under the reader
          for (int j = 0; j < 20_000; j++) {
            put(index, keys + j, 0);
          }
          for (int j = 0; j < 20_000; j++) {
            index.remove(key(keys + j));
          }
        }
        index.reclaim();
        announced.set(s);
      }
      stop.set(true);
      reader.join();
      assertThat(failure.get()).isNull();
    }
  }
}
