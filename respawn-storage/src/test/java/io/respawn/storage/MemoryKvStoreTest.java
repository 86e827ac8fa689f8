package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The memory store against a {@code HashMap} model (seeded random batches of puts with and
 * without expiry, deletes and clears), its limits (a refused batch changes nothing), and its
 * honest durability: ordered at once, never durable.
 */
class MemoryKvStoreTest {

  private static StorageConfig limits() {
    return StorageConfig.defaults().withSizes(128L << 20, 64 << 10, 64, 4096);
  }

  @ParameterizedTest
  @ValueSource(longs = {1, 2, 3, 42, 1234})
  void behavesAsAMapUnderRandomBatches(long seed) {
    Random rnd = new Random(seed);
    Map<String, StoredValue> model = new HashMap<>();
    try (MemoryKvStore store = new MemoryKvStore(limits())) {
      for (int round = 0; round < 2_000; round++) {
        List<Mutation> batch = new ArrayList<>();
        int n = 1 + rnd.nextInt(20);
        for (int i = 0; i < n; i++) {
          String key = "k" + rnd.nextInt(300);
          int op = rnd.nextInt(100);
          if (op < 65) {
            byte[] value = new byte[rnd.nextInt(200)];
            rnd.nextBytes(value);
            long expires = rnd.nextInt(4) == 0 ? 1_000 + rnd.nextInt(1_000) : 0;
            batch.add(Mutation.put(b(key), value, expires));
          } else if (op < 99) {
            batch.add(Mutation.delete(b(key)));
          } else {
            batch.add(Mutation.clear());
          }
        }
        WriteTicket t = store.apply(batch);
        assertThat(t.ordered()).isCompleted();
        for (Mutation m : batch) {
          switch (m.kind()) {
            case PUT -> model.put(new String(m.key()),
                new StoredValue(m.value(), m.expiresAtMillis()));
            case DELETE -> model.remove(new String(m.key()));
            case CLEAR -> model.clear();
          }
        }
        String probe = "k" + rnd.nextInt(300);
        StoredValue want = model.get(probe);
        StoredValue got = store.get(b(probe));
        if (want == null) {
          assertThat(got).as("seed %d round %d key %s", seed, round, probe).isNull();
          assertThat(store.expiresAtMillis(b(probe))).isEqualTo(-1);
        } else {
          assertThat(got).isNotNull();
          assertThat(Arrays.equals(got.value(), want.value())).isTrue();
          assertThat(got.expiresAtMillis()).isEqualTo(want.expiresAtMillis());
          assertThat(store.expiresAtMillis(b(probe))).isEqualTo(want.expiresAtMillis());
        }
        assertThat(store.keyCount()).isEqualTo(model.size());
      }
      assertThat(store.expiringKeyCount())
          .isEqualTo(model.values().stream().filter(v -> v.expiresAtMillis() != 0).count());
      Set<String> scanned = new HashSet<>();
      long cursor = 0;
      do {
        ScanPage page = store.scan(cursor, 50);
        page.keys().forEach(k -> scanned.add(new String(k)));
        cursor = page.nextCursor();
      } while (cursor != 0);
      assertThat(scanned).isEqualTo(model.keySet());
      assertThat(store.memoryUsedBytes()).isPositive();
    }
  }

  /**
   * A batch of several prefetch groups (64 keys each), with a CLEAR inside one and keys written
   * twice across groups, leaves what applying its writes one at a time leaves.
   */
  @Test
  void aLongBatchWithAClearInsideAppliesInOrder() {
    Random random = new Random(9);
    List<Mutation> batch = new ArrayList<>();
    Map<String, String> model = new HashMap<>();
    for (int i = 0; i < 400; i++) {
      if (i == 150) {
        batch.add(Mutation.clear());
        model.clear();
        continue;
      }
      String key = "k" + random.nextInt(250);
      if (random.nextInt(8) == 0) {
        batch.add(Mutation.delete(b(key)));
        model.remove(key);
      } else {
        batch.add(Mutation.put(b(key), b("v" + i)));
        model.put(key, "v" + i);
      }
    }
    try (MemoryKvStore store = new MemoryKvStore(limits())) {
      store.apply(List.of(Mutation.put(b("before"), b("x"))));
      store.apply(batch);
      assertThat(store.keyCount()).isEqualTo(model.size());
      for (int k = 0; k < 250; k++) {
        StoredValue v = store.get(b("k" + k));
        assertThat(v == null ? null : new String(v.value(), java.nio.charset.StandardCharsets.UTF_8))
            .as("k%d", k).isEqualTo(model.get("k" + k));
      }
      assertThat(store.get(b("before"))).isNull();
    }
  }

  @Test
  void aBatchOverALimitIsRefusedWholeAndChangesNothing() {
    try (MemoryKvStore store = new MemoryKvStore(limits())) {
      store.apply(List.of(Mutation.put(b("a"), b("1"))));
      assertThatThrownBy(() -> store.apply(List.of(Mutation.delete(b("a")),
          Mutation.put(b("b"), new byte[4097]))))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage("value of 4097 bytes exceeds valueBytesMax 4096");
      assertThatThrownBy(() -> store.apply(List.of(Mutation.delete(b("a")),
          Mutation.put(new byte[65], b("x")))))
          .hasMessage("key of 65 bytes exceeds keyBytesMax 64");
      List<Mutation> big = new ArrayList<>();
      big.add(Mutation.delete(b("a")));
      for (int i = 0; i < 20; i++) {
        big.add(Mutation.put(b("big" + i), new byte[4000]));
      }
      assertThatThrownBy(() -> store.apply(big)).hasMessageContaining("exceeds batchBytesMax");
      assertThatThrownBy(() -> store.apply(List.of())).hasMessage("empty batch");
      assertThat(new String(store.get(b("a")).value())).isEqualTo("1");
      assertThat(store.keyCount()).isEqualTo(1);
    }
  }

  @Test
  void readValueHandsTheLiveValueWhereItLiesAndNothingForAnAbsentKey() throws Exception {
    try (MemoryKvStore store = new MemoryKvStore(limits())) {
      byte[] value = new byte[3000];
      new Random(7).nextBytes(value);
      store.apply(List.of(Mutation.put(b("a"), value, 1_700_000_000_000L),
          Mutation.put(b("b"), new byte[0])));
      List<Object> seen = new ArrayList<>();
      assertThat(store.readValue(b("a"), (v, expiresAt) -> {
        assertThat(v.isNative()).isTrue(); // the slab itself, not a heap copy
        assertThat(v.isReadOnly()).isTrue();
        seen.add(v.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
        seen.add(expiresAt);
      })).isTrue();
      assertThat((byte[]) seen.get(0)).isEqualTo(value);
      assertThat(seen.get(1)).isEqualTo(1_700_000_000_000L);
      seen.clear();
      assertThat(store.readValue(b("b"), (v, expiresAt) -> seen.add(v.byteSize()))).isTrue();
      assertThat(seen).containsExactly(0L);
      assertThat(store.readValue(b("absent"), (v, expiresAt) -> seen.add("called"))).isFalse();
      store.apply(List.of(Mutation.delete(b("a"))));
      assertThat(store.readValue(b("a"), (v, expiresAt) -> seen.add("called"))).isFalse();
      assertThat(seen).containsExactly(0L);
    }
  }

  @Test
  void neverClaimsDurabilityAndRefusesWritesOnceClosed() {
    MemoryKvStore store = new MemoryKvStore(limits());
    WriteTicket t = store.apply(List.of(Mutation.put(b("a"), b("1"))));
    assertThat(t.ordered()).isCompleted();
    assertThatThrownBy(() -> t.durable().get()).isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(StorageException.class)
        .hasMessageContaining("keeps nothing across a restart");
    assertThat(store.flushAll()).isCompleted();
    assertThat(store.putRefusal()).isNull();
    store.close();
    assertThatThrownBy(() -> store.apply(List.of(Mutation.put(b("a"), b("2")))))
        .isInstanceOf(StorageException.class).hasMessage("store is closed");
    assertThatThrownBy(() -> store.get(b("a"))).isInstanceOf(StorageException.class);
    store.close(); // twice is harmless
  }
}
