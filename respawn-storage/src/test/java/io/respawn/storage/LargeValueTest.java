package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.crash.RecordingDisk;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Values larger than a segment, than compaction's buffer, or than a later, lower limit. */
class LargeValueTest {

  private static byte[] randomBytes(int n, long seed) {
    byte[] bytes = new byte[n];
    new Random(seed).nextBytes(bytes);
    return bytes;
  }

  @Test
  void aValueLargerThanASegmentGetsASegmentOfItsOwnAndSurvivesReopenAndCompaction()
      throws Exception {
    StorageConfig config = smallConfig().withSizes(64 << 10, 1 << 20, 256, 512 << 10);
    byte[] big = randomBytes(300 << 10, 1);
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, config)) {
      put(store, "before", "1");
      store.apply(List.of(Mutation.put(b("big"), big)));
      put(store, "after", "2");
      assertThat(store.get(b("big")).value()).isEqualTo(big);
    }
    Map<String, byte[]> image = disk.currentImage();
    // segment 0: "before"; segment 1: the big batch alone, past segmentBytesMax; segment 2: "after"
    long oversize = image.entrySet().stream()
        .filter(e -> LogFormat.parseSegmentName(e.getKey()) != null)
        .filter(e -> e.getValue().length > (64 << 10)).count();
    assertThat(oversize).isEqualTo(1);
    try (LogEngine store = LogEngine.open(disk, config)) {
      assertThat(store.get(b("big")).value()).isEqualTo(big);
      assertThat(get(store, "before")).isEqualTo("1");
      assertThat(get(store, "after")).isEqualTo("2");
      put(store, "before", "overwritten");
      Compactor.Report report = store.compact();
      assertThat(report.liveRecords()).isEqualTo(3);
    }
    try (LogEngine store = LogEngine.open(disk, config)) {
      assertThat(store.get(b("big")).value()).isEqualTo(big);
      assertThat(get(store, "before")).isEqualTo("overwritten");
      assertThat(store.keyCount()).isEqualTo(3);
    }
  }

  @Test
  void compactionRewritesAValueLargerThanItsOutputBuffer() throws Exception {
    StorageConfig config = smallConfig().withSizes(8 << 20, 6 << 20, 256, 4 << 20);
    byte[] big = randomBytes(3 << 20, 2); // compaction writes through a 1 MiB buffer
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, config)) {
      store.apply(List.of(Mutation.put(b("big"), big, 1_900_000_000_000L)));
      for (int i = 0; i < 100; i++) {
        put(store, "small" + (i % 10), "v" + i);
      }
      Compactor.Report report = store.compact();
      assertThat(report.liveRecords()).isEqualTo(11);
    }
    try (LogEngine store = LogEngine.open(disk, config)) {
      StoredValue v = store.get(b("big"));
      assertThat(v.value()).isEqualTo(big);
      assertThat(v.expiresAtMillis()).isEqualTo(1_900_000_000_000L);
      assertThat(get(store, "small9")).isEqualTo("v99");
    }
  }

  @Test
  void loweringTheValueLimitNeverHidesAValueAlreadyStored() throws Exception {
    byte[] value = randomBytes(6000, 3);
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      store.apply(List.of(Mutation.put(b("k"), value))).durable().join();
    }
    StorageConfig lower = smallConfig().withSizes(64 << 10, 16 << 10, 256, 1024);
    try (LogEngine store = LogEngine.open(disk, lower)) {
      assertThat(store.get(b("k")).value()).isEqualTo(value);
    }
  }
}
