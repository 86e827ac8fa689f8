package io.respawn.storage.backup;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The off-heap index against a HashMap, through growth, deletions and arena compaction. */
class BackupIndexTest {

  record Fields(long location, long term, long index, int length) {}

  @org.junit.jupiter.api.Test
  void deletedKeysArenaSpaceIsCompactedAway() {
    try (BackupIndex index = new BackupIndex(0)) {
      int n = 200_000;
      for (int i = 0; i < n; i++) {
        byte[] key = ("key-" + i + "-" + "p".repeat(50)).getBytes(StandardCharsets.UTF_8);
        index.insert(key, KeyHash.of(key), Location.inBuffer(i, false), 1, i, 100);
      }
      long before = index.offHeapBytes();
      for (int i = 0; i < n; i++) {
        if (i % 20 != 0) {
          byte[] key = ("key-" + i + "-" + "p".repeat(50)).getBytes(StandardCharsets.UTF_8);
          index.remove(index.find(key, KeyHash.of(key)));
        }
      }
      assertThat(index.compactions()).isPositive();
      assertThat(index.offHeapBytes()).isLessThan(before);
      for (int i = 0; i < n; i++) {
        byte[] key = ("key-" + i + "-" + "p".repeat(50)).getBytes(StandardCharsets.UTF_8);
        int slot = index.find(key, KeyHash.of(key));
        if (i % 20 == 0) {
          assertThat(slot).isNotNegative();
          assertThat(index.index(slot)).isEqualTo(i);
          assertThat(index.key(slot)).isEqualTo(key);
        } else {
          assertThat(slot).isNegative();
        }
      }
      assertThat(index.size()).isEqualTo(n / 20);
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L})
  void behavesLikeAMap(long seed) {
    Random random = new Random(seed);
    Map<String, Fields> model = new HashMap<>();
    try (BackupIndex index = new BackupIndex(0)) {
      for (int op = 0; op < 60_000; op++) {
        String k = "k" + random.nextInt(op < 30_000 ? 20_000 : 2_000) + "x".repeat(random.nextInt(40));
        byte[] key = k.getBytes(StandardCharsets.UTF_8);
        long hash = KeyHash.of(key);
        byte[] record = new byte[key.length + 7]; // a key read in place from a record's bytes
        System.arraycopy(key, 0, record, 3, key.length);
        assertThat(KeyHash.of(record, 3, key.length)).isEqualTo(hash);
        int slot = index.find(key, hash);
        Fields want = model.get(k);
        if (want == null) {
          assertThat(slot).isNegative();
          assertThat(index.slotPointingAt(hash, Location.place(random.nextLong()))).isNegative();
        } else {
          assertThat(slot).isNotNegative();
          assertThat(new Fields(index.location(slot), index.term(slot), index.index(slot),
              index.length(slot))).isEqualTo(want);
          assertThat(index.key(slot)).isEqualTo(key);
          // the key's newest record is found by its place alone, an older place is not
          assertThat(index.slotPointingAt(hash, Location.place(want.location()))).isEqualTo(slot);
          assertThat(index.slotPointingAt(hash, Location.place(want.location()) + 8)).isNegative();
        }
        Fields next = new Fields(random.nextBoolean()
            ? Location.inBuffer(random.nextInt(1 << 30), random.nextInt(8) == 0)
            : Location.inLog(random.nextBoolean() ? LogKind.COLD : LogKind.HOT,
                1 + random.nextInt(1000), random.nextInt(1 << 30), random.nextInt(8) == 0),
            random.nextInt(Integer.MAX_VALUE) * 2L, random.nextLong() & Long.MAX_VALUE,
            49 + random.nextInt(5000));
        int dice = random.nextInt(10);
        if (slot >= 0 && dice < 3) {
          index.remove(slot);
          model.remove(k);
        } else if (slot >= 0 && dice < 5 && Location.isTombstone(next.location())
            == Location.isTombstone(want.location())) {
          index.relocate(slot, next.location(), next.length());
          model.put(k, new Fields(next.location(), want.term(), want.index(), next.length()));
        } else if (slot >= 0) {
          index.update(slot, next.location(), next.term(), next.index(), next.length());
          model.put(k, next);
        } else {
          index.insert(key, hash, next.location(), next.term(), next.index(), next.length());
          model.put(k, next);
        }
        assertThat(index.size()).isEqualTo(model.size());
      }
      long tombstones = model.values().stream().filter(f -> Location.isTombstone(f.location())).count();
      assertThat(index.tombstones()).isEqualTo(tombstones);
      assertThat(index.valuesByPlace()).containsExactly(valuesByPlace(model));
      index.removeIf((term, idx) -> term % 3 == 0, (location, length) -> { });
      model.values().removeIf(f -> f.term() % 3 == 0);
      assertThat(index.valuesByPlace()).containsExactly(valuesByPlace(model));
      assertThat(index.tombstones()).isEqualTo(
          model.values().stream().filter(f -> Location.isTombstone(f.location())).count());
      int[] visited = {0};
      index.forEach(slot -> visited[0]++);
      assertThat(visited[0]).isEqualTo(model.size());
      assertThat(index.rebuilds()).isPositive();
    }
  }

  /** What a walk of the model finds: live values by [buffer, hot log, cold log]. */
  private static long[] valuesByPlace(Map<String, Fields> model) {
    long[] byPlace = new long[3];
    for (Fields f : model.values()) {
      if (!Location.isTombstone(f.location())) {
        byPlace[Location.isBuffer(f.location()) ? 0
            : Location.log(f.location()) == LogKind.HOT ? 1 : 2]++;
      }
    }
    return byPlace;
  }
}
