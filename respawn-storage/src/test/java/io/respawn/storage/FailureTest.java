package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static io.respawn.storage.TestSupport.get;
import static io.respawn.storage.TestSupport.put;
import static io.respawn.storage.TestSupport.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.crash.RecordingDisk;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class FailureTest {

  @Test
  void diskFullOnWriteFailsTicketsRefusesValuesAndKeepsDurableData() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    LogEngine store = LogEngine.open(disk, smallConfig());
    put(store, "kept", "1").durable().get(5, TimeUnit.SECONDS);
    put(store, "ordered", "2").ordered().get(5, TimeUnit.SECONDS);

    disk.failWrites(new IOException("No space left on device"), true);
    WriteTicket failed = put(store, "phantom", "3");
    assertThatThrownBy(() -> failed.ordered().get(5, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .hasCauseInstanceOf(StorageException.class)
        .hasMessageContaining("disk full: No space left on device");
    assertThat(failed.durable()).isCompletedExceptionally();
    // the write that failed is not visible; what was acknowledged still is
    assertThat(get(store, "phantom")).isNull();
    assertThat(get(store, "kept")).isEqualTo("1");
    assertThat(get(store, "ordered")).isEqualTo("2");
    // values are refused until the disk has room (DiskFullTest: deletes go on, writes resume)
    assertThatThrownBy(() -> put(store, "more", "4"))
        .isInstanceOf(DiskFullException.class)
        .hasMessageStartingWith("disk full: No space left on device");
    assertThat(store.putRefusal()).isInstanceOf(DiskFullException.class);
    store.close();

    disk.failWrites(null, false);
    try (LogEngine reopened = LogEngine.open(RecordingDisk.of(disk.currentImage()), smallConfig())) {
      assertThat(get(reopened, "kept")).isEqualTo("1");
      assertThat(get(reopened, "ordered")).isEqualTo("2");
      assertThat(get(reopened, "phantom")).isNull();
    }
  }

  @Test
  void failedFsyncFailsDurableButNotEarlierOrderedAcks() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig())) {
      put(store, "a", "1").durable().get(5, TimeUnit.SECONDS);
      disk.failFlushes(new IOException("Input/output error"));
      WriteTicket t = put(store, "b", "2");
      assertThat(t.ordered()).isCompleted();
      assertThatThrownBy(() -> t.durable().get(5, TimeUnit.SECONDS))
          .hasCauseInstanceOf(StorageException.class)
          .hasMessageContaining("disk error: IOException: Input/output error");
      assertThatThrownBy(() -> put(store, "c", "3")).isInstanceOf(StorageException.class);
      assertThat(store.flushAll()).isCompletedExceptionally();
      assertThat(get(store, "a")).isEqualTo("1");
    }
  }

  @Test
  void backgroundFlusherFailureAlsoStopsWrites() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (LogEngine store = LogEngine.open(disk, smallConfig().withFlushIntervalMillis(10))) {
      put(store, "a", "1").durable().get(5, TimeUnit.SECONDS);
      disk.failWrites(new IOException("No space left on device"), false);
      List<WriteTicket> tickets = new java.util.ArrayList<>();
      try {
        for (int i = 0; i < 10; i++) {
          tickets.add(store.apply(List.of(Mutation.put(b("k" + i), b("v"))), Durability.DURABLE));
        }
      } catch (StorageException expected) {
        // once the failure is seen, apply refuses
      }
      for (WriteTicket t : tickets) {
        assertThatThrownBy(() -> t.durable().get(5, TimeUnit.SECONDS))
            .hasMessageContaining("disk full");
      }
    }
  }
}
