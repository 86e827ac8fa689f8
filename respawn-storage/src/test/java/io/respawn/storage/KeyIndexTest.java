package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * The index while its table grows incrementally: every key stays visible to lookups, SCAN and
 * {@link KeyIndex#entries()} at every step of a migration, replacements and removals during a
 * migration land in the new table, and a concurrent reader never misses a key present throughout.
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
}
