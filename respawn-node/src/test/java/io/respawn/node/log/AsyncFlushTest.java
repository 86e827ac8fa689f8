package io.respawn.node.log;

import static io.respawn.node.log.SegmentedReplicaLogTest.SMALL;
import static io.respawn.node.log.SegmentedReplicaLogTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Entry;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.ForwardingDisk;
import io.respawn.storage.StorageException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SegmentedReplicaLog#flushAsynchronously}: the fsync runs on its own thread and the flushed
 * index moves only when it ended, and only over what the segment held when it started; a suffix
 * truncation waits for a running fsync; a failed fsync fails the log; what was flushed is there on
 * reopening.
 */
@Timeout(60)
class AsyncFlushTest {

  /** A disk whose fsyncs wait for a permit, or fail while {@code failing} is set. */
  static final class GatedDisk extends ForwardingDisk {
    final Semaphore permits = new Semaphore(0);
    volatile boolean gated = true;
    volatile boolean failing;

    GatedDisk(Path dir) throws IOException {
      super(new FileChannelDisk(dir));
    }

    @Override
    public void flush(String name) throws IOException {
      if (gated) {
        try {
          permits.acquire();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IOException("interrupted");
        }
      }
      if (failing) {
        throw new IOException("Input/output error");
      }
      super.flush(name);
    }
  }

  private final BlockingQueue<Optional<StorageException>> ended = new LinkedBlockingQueue<>();
  private final ExecutorService fsyncThread = Executors.newSingleThreadExecutor();

  @AfterEach
  void stopFsyncThread() {
    fsyncThread.shutdownNow();
  }

  private SegmentedReplicaLog openAsync(GatedDisk disk) {
    disk.gated = false; // opening and recovery flush synchronously
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL);
    log.load();
    disk.gated = true;
    log.flushAsynchronously(fsyncThread, e -> ended.add(Optional.ofNullable(e)));
    return log;
  }

  private Optional<StorageException> awaitEnd() throws InterruptedException {
    Optional<StorageException> r = ended.poll(10, TimeUnit.SECONDS);
    assertThat(r).as("the fsync ended and said so").isNotNull();
    return r;
  }

  @Test
  void theFlushedIndexMovesWhenTheFsyncEndsOverWhatItCovered(@TempDir Path dir) throws Exception {
    List<Entry> all = new ArrayList<>();
    GatedDisk disk = new GatedDisk(dir);
    try (SegmentedReplicaLog log = openAsync(disk)) {
      log.append(run(1, 1, 10, 100));
      all.addAll(run(1, 1, 10, 100));
      log.flush(); // returns while the fsync waits
      assertThat(log.lastFlushedIndex()).as("not before the fsync ended").isZero();
      log.append(run(1, 11, 12, 100)); // the driver goes on meanwhile
      all.addAll(run(1, 11, 12, 100));
      log.flush(); // one fsync at a time: nothing new starts
      disk.permits.release();
      assertThat(awaitEnd()).isEmpty();
      assertThat(log.lastFlushedIndex()).as("what the segment held when it started").isEqualTo(10);
      assertThat(ended).as("one fsync ran").isEmpty();
      log.flush();
      disk.permits.release();
      assertThat(awaitEnd()).isEmpty();
      assertThat(log.lastFlushedIndex()).isEqualTo(12);
    }
    disk.gated = false;
    try (SegmentedReplicaLog reopened = SegmentedReplicaLog.open(disk, SMALL)) {
      assertThat(reopened.load().log()).isEqualTo(all);
    }
  }

  @Test
  void aSuffixTruncationWaitsForARunningFsync(@TempDir Path dir) throws Exception {
    GatedDisk disk = new GatedDisk(dir);
    try (SegmentedReplicaLog log = openAsync(disk)) {
      log.append(run(1, 1, 10, 100));
      log.flush();
      CompletableFuture<Void> truncated = CompletableFuture.runAsync(() -> log.truncateSuffix(6));
      Thread.sleep(200);
      assertThat(truncated).as("waits for the fsync over the entries it removes").isNotDone();
      disk.permits.release();
      truncated.get(10, TimeUnit.SECONDS);
      assertThat(awaitEnd()).isEmpty();
      assertThat(log.lastIndex()).isEqualTo(5);
      assertThat(log.lastFlushedIndex()).as("the truncation moved it back after the fsync")
          .isEqualTo(5);
    }
  }

  @Test
  void aWaitRunsAnFsyncTheExecutorHasNotStarted(@TempDir Path dir) throws Exception {
    // An executor that runs its tasks later on the driver's own thread (a simulator's, in
    // virtual time): a call that must wait for the fsync runs it itself instead of deadlocking.
    List<Runnable> deferred = new ArrayList<>();
    GatedDisk disk = new GatedDisk(dir);
    disk.gated = false;
    try (SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL)) {
      log.load();
      log.flushAsynchronously(deferred::add, e -> ended.add(Optional.ofNullable(e)));
      log.append(run(1, 1, 10, 100));
      log.flush();
      assertThat(deferred).hasSize(1);
      assertThat(log.lastFlushedIndex()).as("not before the fsync ran").isZero();
      log.truncateSuffix(6); // waits for the fsync: runs it here
      assertThat(ended.poll()).as("the fsync ended and said so, once").isEqualTo(Optional.empty());
      assertThat(log.lastIndex()).isEqualTo(5);
      assertThat(log.lastFlushedIndex()).isEqualTo(5);
      deferred.get(0).run(); // the executor's own, late run is a no-op
      assertThat(ended).as("no second report").isEmpty();
      log.append(run(1, 6, 8, 100));
      log.flush();
      assertThat(deferred).as("a new fsync starts").hasSize(2);
      deferred.get(1).run();
      assertThat(ended.poll()).isEqualTo(Optional.empty());
      assertThat(log.lastFlushedIndex()).isEqualTo(8);
    }
  }

  @Test
  void aFailedFsyncFailsTheLogAndSaysSo(@TempDir Path dir) throws Exception {
    GatedDisk disk = new GatedDisk(dir);
    try (SegmentedReplicaLog log = openAsync(disk)) {
      log.append(run(1, 1, 3, 100));
      disk.failing = true;
      log.flush();
      disk.permits.release();
      assertThat(awaitEnd()).get().extracting(Throwable::getMessage).asString()
          .contains("Input/output error");
      assertThat(log.lastFlushedIndex()).isZero();
      assertThatThrownBy(() -> log.append(run(1, 4, 4, 100)))
          .isInstanceOf(StorageException.class).hasMessageContaining("reopen");
    }
  }
}
