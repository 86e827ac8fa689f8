package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.crash.RecordingDisk;
import io.respawn.storage.crash.SpaceLimitedDisk;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
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
      String key = "k" + i;
      WriteTicket t = put(store, key, value(i));
      // What a reader sees the moment the writer hears of the failure (on the writer's thread):
      // a client told "refused" must not read its write back.
      AtomicReference<String> seenWhenRefused = new AtomicReference<>("not refused");
      t.ordered().handle((v, e) -> {
        if (e != null) {
          seenWhenRefused.set(get(store, key));
        }
        return null;
      }).orTimeout(5, TimeUnit.SECONDS).join(); // settled
      if (t.ordered().isCompletedExceptionally()) {
        assertThat(seenWhenRefused.get()).as("a failed write is gone before it is refused").isNull();
        assertThatThrownBy(() -> t.ordered().join())
            .hasCauseInstanceOf(DiskFullException.class)
            .hasMessageContaining("disk full: No space left on device");
        assertThat(get(store, key)).as("a failed write is not visible").isNull();
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

  /**
   * Concurrent writers: whoever holds the write stage writes the others' batches too, so a
   * refusal reaches a writer on another thread while readers go on. The failed batches must be
   * out of the index before any writer hears of the failure (a server replies "refused" from
   * there, and the client's next command may read the key back at once).
   */
  @Test
  void writesRefusedOnAnotherThreadAreGoneBeforeTheirWritersHear() throws Exception {
    for (int round = 0; round < 20; round++) { // the window is short: fill the disk many times
      RecordingDisk image = new RecordingDisk();
      Map<String, String> written = fillConcurrently(new SpaceLimitedDisk(image, CAPACITY_BYTES));
      try (LogEngine reopened =
          LogEngine.open(RecordingDisk.of(image.currentImage()), smallConfig())) {
        assertThat(reopened.keyCount()).as("round " + round).isEqualTo(written.size());
      }
    }
  }

  /** Four writers put keys until the disk is full; returns what was acknowledged. */
  private static Map<String, String> fillConcurrently(SpaceLimitedDisk disk) throws Exception {
    int threads = 4;
    ConcurrentLinkedQueue<String> seenAfterRefusal = new ConcurrentLinkedQueue<>();
    ConcurrentHashMap<String, String> written = new ConcurrentHashMap<>();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try (LogEngine store = LogEngine.open(disk, smallConfig().withFlushIntervalMillis(1))) {
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < threads; w++) {
        int writer = w;
        writers.add(pool.submit(() -> {
          for (int i = 0; i < 10_000; i++) {
            String key = "w" + writer + "-" + i;
            WriteTicket t;
            try {
              t = put(store, key, value(i));
            } catch (DiskFullException refusedAtOnce) {
              return null;
            }
            CompletableFuture<Void> settled = t.ordered().handle((v, e) -> {
              if (e != null && get(store, key) != null) {
                seenAfterRefusal.add(key + " on " + Thread.currentThread().getName());
              }
              return null;
            });
            settled.get(5, TimeUnit.SECONDS);
            if (t.ordered().isCompletedExceptionally()) {
              return null;
            }
            written.put(key, value(i));
          }
          throw new AssertionError("the disk never filled");
        }));
      }
      for (Future<?> f : writers) {
        f.get(30, TimeUnit.SECONDS);
      }
      assertThat(seenAfterRefusal).as("refused writes readable when their writers heard").isEmpty();
      assertThat(store.keyCount()).isEqualTo(written.size());
      written.forEach((k, v) -> assertThat(get(store, k)).as(k).isEqualTo(v));
    } finally {
      pool.shutdownNow();
    }
    return written;
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
