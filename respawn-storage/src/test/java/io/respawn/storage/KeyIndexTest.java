package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;

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
 * The index while its table grows incrementally: every key stays visible to lookups, SCAN and
 * {@link KeyIndex#entries()} at every step of a migration, replacements and removals during a
 * migration land in the new table, a removal during a migration stays removed, and a concurrent
 * reader never misses a key present throughout nor sees a value older than one already written.
 */
class KeyIndexTest {
  private static byte[] key(int i) {
    return ("k" + i).getBytes(StandardCharsets.UTF_8);
  }

  private static KeyIndex.Entry entry(int i, int version) {
    return new KeyIndex.Entry(key(i), new byte[] {(byte) version}, 0, version, 1, 10);
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

  @Test
  void everyKeyIsVisibleThroughoutGrowthMigrationsAndRemovals() {
    KeyIndex index = new KeyIndex();
    int n = 5000;
    for (int i = 0; i < n; i++) {
      assertThat(index.put(entry(i, 1))).isNull();
      if (i % 97 == 0) {
        assertThat(scanAll(index)).hasSize(i + 1);
        int count = 0;
        for (KeyIndex.Entry e : index.entries()) {
          count++;
        }
        assertThat(count).isEqualTo(i + 1);
      }
      assertThat(index.get(key(i / 2))).isNotNull();
    }
    for (int i = 0; i < n; i++) {
      assertThat(index.get(key(i)).sequence()).isEqualTo(1);
    }
    // Replace and remove while a later migration may be pending.
    for (int i = 0; i < n; i += 2) {
      assertThat(index.put(entry(i, 2)).sequence()).isEqualTo(1);
    }
    for (int i = 1; i < n; i += 4) {
      KeyIndex.Entry e = index.get(key(i));
      assertThat(index.replace(e, entry(i, 3))).isTrue();
    }
    for (int i = 0; i < n; i++) {
      long expected = i % 2 == 0 ? 2 : (i % 4 == 1 ? 3 : 1);
      assertThat(index.get(key(i)).sequence()).as("key %d", i).isEqualTo(expected);
    }
    assertThat(scanAll(index)).hasSize(n);
    for (int i = 0; i < n; i++) {
      if (i % 10 != 0) {
        assertThat(index.remove(key(i))).isNotNull();
      }
    }
    assertThat(index.size()).isEqualTo(n / 10);
    assertThat(scanAll(index)).hasSize(n / 10);
    for (int i = 0; i < n; i += 10) {
      assertThat(index.get(key(i))).isNotNull();
    }
  }

  @Test
  void aConcurrentReaderNeverMissesAKeyPresentThroughout() throws Exception {
    KeyIndex index = new KeyIndex();
    int stable = 2000;
    for (int i = 0; i < stable; i++) {
      index.put(entry(i, 1));
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
      index.put(entry(i, 1));
      if (i % 3 == 0) {
        index.put(entry(i % stable, 2));
      }
    }
    for (int i = stable; i < 200_000; i++) {
      index.remove(key(i));
    }
    stop.set(true);
    reader.join();
    assertThat(failure.get()).isNull();
    assertThat(index.size()).isEqualTo(stable);
  }

  /** Random puts, replaces and removals against a HashMap; lookups, SCAN and entries agree. */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L})
  void agreesWithAMapThroughGrowthShrinkAndMigrations(long seed) {
    Random random = new Random(seed);
    KeyIndex index = new KeyIndex();
    Map<Integer, KeyIndex.Entry> model = new HashMap<>();
    int migrations = 0;
    boolean wasMigrating = false;
    for (int step = 0; step < 60_000; step++) {
      // Phases of growth (keys up to 6000) and of mass deletes (down to a few).
      boolean growing = (step / 15_000) % 2 == 0;
      int k = random.nextInt(growing ? 6000 : 200 + 6000 * (15_000 - step % 15_000) / 15_000);
      int op = random.nextInt(10);
      if (op < (growing ? 6 : 2)) {
        long expiresAt = step % 3 == 0 ? 1_000_000L + step : 0; // a third carry an expiry
        KeyIndex.Entry e = new KeyIndex.Entry(key(k), new byte[] {1}, expiresAt, step, 1, 10);
        KeyIndex.Entry previous = index.put(e);
        assertThat(previous).isSameAs(model.put(k, e));
      } else if (op < 9) {
        assertThat(index.remove(key(k))).isSameAs(model.remove(k));
      } else {
        KeyIndex.Entry current = model.get(k);
        KeyIndex.Entry stale = entry(k, -1);
        assertThat(index.replace(stale, entry(k, -2))).isFalse();
        if (current != null) {
          KeyIndex.Entry moved = current.inSegment(9);
          assertThat(index.replace(current, moved)).isTrue();
          model.put(k, moved);
        }
      }
      assertThat(index.get(key(k))).isSameAs(model.get(k));
      assertThat(index.size()).isEqualTo(model.size());
      if (step % 97 == 0) {
        assertThat(index.expiringSize())
            .isEqualTo(model.values().stream().filter(e -> e.expiresAtMillis() != 0).count());
      }
      if (index.migrating() && !wasMigrating) {
        migrations++;
      }
      wasMigrating = index.migrating();
      if (step % 1999 == 0) {
        Set<String> expected = new HashSet<>();
        model.keySet().forEach(i -> expected.add("k" + i));
        assertThat(scanAll(index)).isEqualTo(expected);
        Map<String, KeyIndex.Entry> listed = new HashMap<>();
        for (KeyIndex.Entry e : index.entries()) {
          String name = new String(e.key(), StandardCharsets.UTF_8);
          assertThat(listed.put(name, e)).as("listed twice: %s", name).isNull();
        }
        assertThat(listed.keySet()).isEqualTo(expected);
        for (Map.Entry<String, KeyIndex.Entry> e : listed.entrySet()) {
          assertThat(e.getValue()).isSameAs(model.get(Integer.parseInt(e.getKey().substring(1))));
        }
      }
    }
    assertThat(migrations).as("growth and shrink migrations").isGreaterThanOrEqualTo(5);
  }

  /** A key removed while its only record is in the old table stays removed. */
  @Test
  void removalsDuringAMigrationHideTheOldTablesCopy() {
    KeyIndex index = new KeyIndex();
    int i = 0;
    while (i < 10_000 || !index.migrating()) { // a migration long enough to write through
      index.put(entry(i++, 1));
    }
    int before = i; // keys 0..before-1 mostly still sit in the old table
    int removedBelow = 0;
    for (int j = 0; j + 1 < before && index.migrating(); j += 2) {
      assertThat(index.remove(key(j))).as("k%d", j).isNotNull();
      assertThat(index.get(key(j))).isNull();
      assertThat(index.put(entry(j + 1, 2)).sequence()).isEqualTo(1);
      removedBelow = j + 2;
    }
    assertThat(removedBelow).isGreaterThan(4);
    for (int j = 0; j < before; j++) {
      KeyIndex.Entry e = index.get(key(j));
      if (j % 2 == 0 && j < removedBelow) {
        assertThat(e).as("k%d", j).isNull();
      } else {
        assertThat(e).as("k%d", j).isNotNull();
      }
    }
  }

  private static boolean removalStep(long step, int keys) {
    return (step / keys) % 3 == 2;
  }

  /** Shrinking from a large table to the smallest one never overfills the new table. */
  @Test
  void aSteepShrinkFinishesBeforeTheSmallTableFills() {
    KeyIndex index = new KeyIndex();
    for (int i = 0; i < 100_000; i++) {
      index.put(entry(i, 1));
    }
    for (int i = 0; i < 100_000; i++) {
      index.remove(key(i));
    }
    assertThat(index.size()).isZero();
    // Inserts right after the shrink began land in a small table while the big one drains.
    for (int i = 0; i < 1000; i++) {
      index.put(entry(i, 2));
    }
    assertThat(index.size()).isEqualTo(1000);
    assertThat(scanAll(index)).hasSize(1000);
  }

  /**
   * A reader on another thread, after the writer announced a write, sees that write or a later
   * one: never a removed key, never an older version, across every migration.
   */
  @Test
  void aConcurrentReaderNeverSeesAnOlderStateThanAnnounced() throws Exception {
    KeyIndex index = new KeyIndex();
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
        KeyIndex.Entry e = index.get(key(k));
        long after = announced.get(); // steps s..after on k may have happened before the read
        boolean allowed = false;
        for (long t = s; t <= after + 1 && !allowed; t += keys) { // after + 1: in progress
          allowed = removalStep(t, keys) ? e == null : e != null && e.sequence() == t;
        }
        if (!allowed) {
          failure.set("k" + k + " at step " + s + " (writer at " + after + ") read "
              + (e == null ? "nothing" : "version " + e.sequence()));
        }
      }
    });
    reader.start();
    for (long s = 0; s < 400_000 && failure.get() == null; s++) {
      int k = (int) (s % keys);
      if (removalStep(s, keys)) {
        index.remove(key(k));
      } else {
        index.put(entry(k, (int) s));
      }
      if (s % 50_000 == 0) { // grow and shrink the table under the reader
        for (int j = 0; j < 20_000; j++) {
          index.put(entry(keys + j, 0));
        }
        for (int j = 0; j < 20_000; j++) {
          index.remove(key(keys + j));
        }
      }
      announced.set(s);
    }
    stop.set(true);
    reader.join();
    assertThat(failure.get()).isNull();
  }
}
