package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.crash.RecordingDisk;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random operation sequences against a HashMap reference model, with reopen, compaction and
 * SCAN checks in between. Each seed is a test; a failing seed appears in the test name.
 */
class ModelPropertyTest {
  @TempDir Path dir;

  /** Reference value: bytes + expiry. */
  private record Ref(byte[] value, long expires) {}

  @ParameterizedTest(name = "seed {0} on files")
  @ValueSource(longs = {11L, 12L, 13L})
  void matchesModelOnRealFiles(long seed) throws Exception {
    run(seed, () -> new FileChannelDisk(dir));
  }

  @ParameterizedTest(name = "seed {0} in memory")
  @ValueSource(longs = {21L, 22L, 23L, 24L, 25L})
  void matchesModelInMemory(long seed) throws Exception {
    RecordingDisk disk = new RecordingDisk();
    run(seed, () -> disk);
  }

  interface DiskSource {
    Disk get() throws Exception;
  }

  private void run(long seed, DiskSource disks) throws Exception {
    Random random = new Random(seed);
    Map<String, Ref> model = new HashMap<>();
    StorageConfig config = TestSupport.smallConfig();
    LogEngine store = LogEngine.open(disks.get(), config);
    try {
      for (int step = 0; step < 1500; step++) {
        int dice = random.nextInt(1000);
        String context = "seed " + seed + " step " + step;
        if (dice < 10) {
          store.close();
          store = LogEngine.open(disks.get(), config);
          checkAll(store, model, context + " after reopen");
        } else if (dice < 15) {
          store.compact();
          checkAll(store, model, context + " after compaction");
        } else if (dice < 17) {
          store.apply(List.of(Mutation.clear()));
          model.clear();
        } else if (dice < 40) {
          checkScan(store, model, random, context);
        } else {
          List<Mutation> batch = new ArrayList<>();
          int size = 1 + random.nextInt(3);
          for (int i = 0; i < size; i++) {
            String key = "key" + random.nextInt(200);
            if (random.nextInt(5) == 0) {
              batch.add(Mutation.delete(key.getBytes(StandardCharsets.UTF_8)));
              model.remove(key);
            } else {
              byte[] value = new byte[random.nextInt(3000)];
              random.nextBytes(value);
              long expires = random.nextBoolean() ? 0 : 1 + random.nextInt(1_000_000);
              batch.add(Mutation.put(key.getBytes(StandardCharsets.UTF_8), value, expires));
              model.put(key, new Ref(value, expires));
            }
          }
          WriteTicket ticket = store.apply(batch);
          if (random.nextInt(10) == 0) {
            ticket.durable().join();
          }
          String probe = "key" + random.nextInt(200);
          checkKey(store, model, probe, context);
        }
      }
      checkAll(store, model, "seed " + seed + " at end");
    } finally {
      store.close();
    }
  }

  private static void checkKey(KvStore store, Map<String, Ref> model, String key, String context) {
    StoredValue got = store.get(key.getBytes(StandardCharsets.UTF_8));
    Ref want = model.get(key);
    if (want == null) {
      assertThat(got).as("%s: %s", context, key).isNull();
    } else {
      assertThat(got).as("%s: %s", context, key).isNotNull();
      assertThat(Arrays.equals(got.value(), want.value())).as("%s: value of %s", context, key).isTrue();
      assertThat(got.expiresAtMillis()).as("%s: expiry of %s", context, key).isEqualTo(want.expires());
    }
  }

  private static void checkAll(KvStore store, Map<String, Ref> model, String context) {
    assertThat(store.keyCount()).as(context).isEqualTo(model.size());
    for (String key : model.keySet()) {
      checkKey(store, model, key, context);
    }
  }

  /** A full SCAN with small pages returns every key exactly once when nothing changes. */
  private static void checkScan(KvStore store, Map<String, Ref> model, Random random, String context) {
    Set<String> seen = new HashSet<>();
    long cursor = 0;
    int pages = 0;
    do {
      ScanPage page = store.scan(cursor, 1 + random.nextInt(20));
      for (byte[] k : page.keys()) {
        assertThat(seen.add(new String(k, StandardCharsets.UTF_8))).as("%s: duplicate", context).isTrue();
      }
      cursor = page.nextCursor();
      assertThat(++pages).as(context).isLessThan(10_000);
    } while (cursor != 0);
    assertThat(seen).as(context).isEqualTo(model.keySet());
  }
}
