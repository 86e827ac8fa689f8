package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.crash.RecordingDisk;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ScanTest {

  /** Keys present for the whole iteration are returned even while others come and go. */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L, 3L})
  void everyKeyPresentThroughoutIsReturned(long seed) throws Exception {
    Random random = new Random(seed);
    try (LogEngine store = LogEngine.open(new RecordingDisk(), TestSupport.smallConfig())) {
      Set<String> stable = new HashSet<>();
      for (int i = 0; i < 500; i++) {
        store.apply(List.of(Mutation.put(b("stable" + i), b("v"))));
        stable.add("stable" + i);
      }
      Set<String> seen = new HashSet<>();
      long cursor = 0;
      int pages = 0;
      int churn = 0;
      do {
        ScanPage page = store.scan(cursor, 1 + random.nextInt(30));
        page.keys().forEach(k -> seen.add(new String(k, StandardCharsets.UTF_8)));
        cursor = page.nextCursor();
        for (int i = 0; i < 20; i++) { // keys appear and disappear between pages
          String key = "churn" + random.nextInt(300);
          if (random.nextBoolean()) {
            store.apply(List.of(Mutation.put(b(key), b("x"))));
          } else {
            store.apply(List.of(Mutation.delete(b(key))));
          }
          churn++;
        }
        assertThat(++pages).isLessThan(5_000);
      } while (cursor != 0);
      assertThat(seen).containsAll(stable);
      assertThat(churn).isPositive();
    }
  }

  @ParameterizedTest(name = "count {0}")
  @ValueSource(ints = {0, 1, 10, 1_000_000})
  void countHintIsClampedAndEmptyStoreEndsAtOnce(int count) throws Exception {
    try (LogEngine store = LogEngine.open(new RecordingDisk(), TestSupport.smallConfig())) {
      assertThat(store.scan(0, count)).isEqualTo(new ScanPage(List.of(), 0));
      store.apply(List.of(Mutation.put(b("a"), b("1"))));
      ScanPage page = store.scan(0, count);
      assertThat(page.keys()).hasSize(1);
      assertThat(page.nextCursor()).isZero();
    }
  }

  /** The index doubles and then halves between pages: keys present throughout are still seen. */
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1L, 2L})
  void everyKeyIsReturnedWhileTheIndexGrowsAndShrinks(long seed) throws Exception {
    Random random = new Random(seed);
    try (LogEngine store = LogEngine.open(new RecordingDisk(), TestSupport.smallConfig())) {
      Set<String> stable = new HashSet<>();
      for (int i = 0; i < 300; i++) {
        store.apply(List.of(Mutation.put(b("stable" + i), b("v"))));
        stable.add("stable" + i);
      }
      Set<String> seen = new HashSet<>();
      long cursor = 0;
      int pages = 0;
      do {
        ScanPage page = store.scan(cursor, 1 + random.nextInt(20));
        page.keys().forEach(k -> seen.add(new String(k, StandardCharsets.UTF_8)));
        cursor = page.nextCursor();
        pages++;
        if (pages == 3) { // grow the table several times over
          for (int i = 0; i < 5_000; i++) {
            store.apply(List.of(Mutation.put(b("grow" + i), b("x"))));
          }
        } else if (pages == 40) { // and shrink it back
          for (int i = 0; i < 5_000; i++) {
            store.apply(List.of(Mutation.delete(b("grow" + i))));
          }
        }
        assertThat(pages).isLessThan(10_000);
      } while (cursor != 0);
      assertThat(seen).containsAll(stable);
      assertThat(pages).isGreaterThan(40);
    }
  }
}
