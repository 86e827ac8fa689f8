package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompactionTest {
  @TempDir Path dir;

  private long directoryBytes() throws Exception {
    try (Stream<Path> files = Files.list(dir)) {
      return files.mapToLong(p -> p.toFile().length()).sum();
    }
  }

  @Test
  void compactionReclaimsStaleSpaceAndKeepsDataAcrossReopen() throws Exception {
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 20; k++) {
          put(store, "k" + k, "round" + round + "-" + "x".repeat(1000));
        }
      }
      store.apply(List.of(Mutation.delete(b("k0"))));
      store.flushAll().get(5, TimeUnit.SECONDS);
      long before = directoryBytes();
      Compactor.Report report = store.compact();
      long after = directoryBytes();
      assertThat(report.segmentsCompacted()).isGreaterThan(1);
      assertThat(after).isLessThan(before / 5);
      assertThat(report.liveRecords()).isEqualTo(19);
      put(store, "after", "compaction").durable().get(5, TimeUnit.SECONDS);
      assertThat(get(store, "k5")).startsWith("round19-");
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(20);
      assertThat(get(store, "k0")).isNull();
      for (int k = 1; k < 20; k++) {
        assertThat(get(store, "k" + k)).startsWith("round19-");
      }
      assertThat(get(store, "after")).isEqualTo("compaction");
      // a second compaction over a compacted segment works too
      for (int k = 1; k < 20; k++) {
        put(store, "k" + k, "again");
      }
      store.compact();
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(20);
      assertThat(get(store, "k7")).isEqualTo("again");
      assertThat(get(store, "after")).isEqualTo("compaction");
    }
  }

  @Test
  void sequenceNumbersAreNotReusedAfterCompactingEverythingAway() throws Exception {
    long last;
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      put(store, "a", "1");
      put(store, "", "empty key survives the marker");
      last = store.apply(List.of(Mutation.delete(b("a")))).sequence();
      store.compact();
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(put(store, "b", "2").sequence()).isGreaterThan(last);
      assertThat(get(store, "")).isEqualTo("empty key survives the marker");
      assertThat(store.keyCount()).isEqualTo(2);
    }
  }

  @Test
  void backgroundCompactionRunsWhenGarbageDominates() throws Exception {
    StorageConfig config = smallConfig().withFlushIntervalMillis(10).withCompaction(20, 0.5, 0);
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), config)) {
      for (int round = 0; round < 30; round++) {
        for (int k = 0; k < 10; k++) {
          put(store, "k" + k, "round" + round + "-" + "x".repeat(1000));
        }
      }
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (directoryBytes() > 100_000 && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(directoryBytes()).isLessThan(100_000);
      assertThat(get(store, "k3")).startsWith("round29-");
    }
    try (LogEngine store = LogEngine.open(new FileChannelDisk(dir), smallConfig())) {
      assertThat(store.keyCount()).isEqualTo(10);
      assertThat(get(store, "k9")).startsWith("round29-");
    }
  }
}
