package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.crash.RecordingDisk;
import io.respawn.storage.crash.SpaceLimitedDisk;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A disk that fills up ({@link SpaceLimitedDisk}, the error a full Linux filesystem gives):
 * writes that store values are refused with a disk-full error while reads and deletes go on,
 * writes resume by themselves once the disk has room, FLUSHALL and compaction give space back,
 * and every acknowledged write survives a restart.
 */
class DiskFullTest {
  static final long CAPACITY_BYTES = 400 << 10; // smallConfig: 64 KiB segments, 64 KiB reserve

  private final RecordingDisk recording = new RecordingDisk();
  private final Map<String, String> acked = new HashMap<>();

  private SpaceLimitedDisk disk() throws Exception {
    return new SpaceLimitedDisk(recording, CAPACITY_BYTES);
  }

  private static String value(int i) {
    return "v" + i + "-" + "x".repeat(2000);
  }

  /** Puts keys until the disk is full; returns how many were acknowledged. */
  private int fill(LogEngine store) {
    for (int i = 0; ; i++) {
      WriteTicket t = put(store, "k" + i, value(i));
      t.ordered().handle((v, e) -> null).orTimeout(5, TimeUnit.SECONDS).join(); // settled
      if (t.ordered().isCompletedExceptionally()) {
        assertThatThrownBy(() -> t.ordered().join())
            .hasCauseInstanceOf(DiskFullException.class)
            .hasMessageContaining("disk full: No space left on device");
        assertThat(get(store, "k" + i)).as("a failed write is not visible").isNull();
        return i;
      }
      assertThat(t.ordered()).isCompleted();
      acked.put("k" + i, value(i));
      assertThat(i).as("the disk never filled").isLessThan(10_000);
    }
  }

  private void assertHoldsExactlyTheAcknowledgedWrites(KvStore store) {
    assertThat(store.keyCount()).isEqualTo(acked.size());
    acked.forEach((k, v) -> assertThat(get(store, k)).as(k).isEqualTo(v));
  }

  private void reopenAndCheck() throws Exception {
    try (LogEngine reopened =
        LogEngine.open(RecordingDisk.of(recording.currentImage()), smallConfig())) {
      assertHoldsExactlyTheAcknowledgedWrites(reopened);
    }
  }

  @Test
  void aFullDiskRefusesValuesServesReadsTakesDeletesAndResumesOnceThereIsRoom() throws Exception {
    SpaceLimitedDisk disk = disk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      int written = fill(store);
      assertThat(written).isGreaterThan(50);
      assertThat(store.putRefusal()).isInstanceOf(DiskFullException.class);
      assertThat(store.failure()).as("not a failure that needs a restart").isNull();
      assertThatThrownBy(() -> put(store, "more", "1"))
          .isInstanceOf(DiskFullException.class)
          .hasMessageStartingWith("disk full: No space left on device; writes that store values "
              + "are refused until the disk has room");
      assertHoldsExactlyTheAcknowledgedWrites(store); // reads are served

      for (int i = 0; i < 10; i++) { // deletes go into the released reserve
        store.apply(List.of(Mutation.delete(b("k" + i)))).durable().get(5, TimeUnit.SECONDS);
        acked.remove("k" + i);
      }
      assertHoldsExactlyTheAcknowledgedWrites(store);
      assertThat(store.putRefusal()).as("deletes in a log free nothing yet").isNotNull();

      disk.capacity(CAPACITY_BYTES + (2 << 20)); // another process frees space
      assertThat(store.putRefusal()).as("the next attempt finds room").isNull();
      for (int i = 0; i < 20; i++) {
        put(store, "after" + i, value(i)).durable().get(5, TimeUnit.SECONDS);
        acked.put("after" + i, value(i));
      }
      assertHoldsExactlyTheAcknowledgedWrites(store);
    }
    reopenAndCheck();
  }

  @Test
  void flushAllOnAFullDiskDeletesTheOldSegmentsAndWritesResume() throws Exception {
    SpaceLimitedDisk disk = disk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      fill(store);
      long usedWhenFull = disk.usedBytes();
      store.apply(List.of(Mutation.clear())).durable().get(5, TimeUnit.SECONDS);
      acked.clear();
      assertThat(store.keyCount()).isZero();
      assertThat(recording.list().stream().filter(n -> LogFormat.parseSegmentName(n) != null))
          .as("only the segment the clear opened is left").hasSize(1);
      assertThat(disk.usedBytes()).isLessThan(usedWhenFull / 4);
      assertThat(store.putRefusal()).as("the space came back").isNull();
      put(store, "new", "1").durable().get(5, TimeUnit.SECONDS);
      acked.put("new", "1");
    }
    reopenAndCheck();
  }

  @Test
  void compactionReclaimsTheSpaceOfMassDeletesOnAFullDisk() throws Exception {
    SpaceLimitedDisk disk = disk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      int written = fill(store);
      for (int i = 0; i < written; i++) {
        if (i % 10 != 0) {
          store.apply(List.of(Mutation.delete(b("k" + i))));
          acked.remove("k" + i);
        }
      }
      store.flushAll().get(5, TimeUnit.SECONDS);
      long before = disk.usedBytes();
      Compactor.Report report = store.compact();
      assertThat(report.liveRecords()).isEqualTo(acked.size());
      assertThat(disk.usedBytes()).isLessThan(before / 2);
      assertThat(store.putRefusal()).isNull();
      put(store, "new", "1").durable().get(5, TimeUnit.SECONDS);
      acked.put("new", "1");
      assertHoldsExactlyTheAcknowledgedWrites(store);
    }
    reopenAndCheck();
  }

  @Test
  void withTheFlusherThreadWritesResumeWithinAboutASecond() throws Exception {
    SpaceLimitedDisk disk = disk();
    try (LogEngine store = LogEngine.open(disk, smallConfig().withFlushIntervalMillis(5))) {
      fill(store);
      assertThat(store.putRefusal()).isNotNull();
      disk.capacity(CAPACITY_BYTES + (2 << 20));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (store.putRefusal() != null && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      assertThat(store.putRefusal()).as("the flusher's probe found room").isNull();
      put(store, "new", "1").durable().get(5, TimeUnit.SECONDS);
      acked.put("new", "1");
    }
    reopenAndCheck();
  }

  @Test
  void aStoreOpenedOnAFullDiskStartsInDeletesOnlyMode() throws Exception {
    try (LogEngine store = LogEngine.open(disk(), smallConfig())) {
      fill(store);
    }
    // restart with less room than the reserve needs: the reserve cannot be filled back
    SpaceLimitedDisk full = new SpaceLimitedDisk(recording, 0);
    full.capacity(full.usedBytes() + 1000);
    try (LogEngine store = LogEngine.open(full, smallConfig())) {
      assertHoldsExactlyTheAcknowledgedWrites(store);
      assertThat(store.putRefusal()).isInstanceOf(DiskFullException.class);
      store.apply(List.of(Mutation.delete(b("k0")))).durable().get(5, TimeUnit.SECONDS);
      acked.remove("k0");
    }
    reopenAndCheck();
  }
}
