package io.respawn.server.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.DiskFullException;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.crash.SpaceLimitedDisk;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a mirroring primary's store answers without shipping anything: the engine's refusal of
 * value writes while its disk is full (so the command layer refuses them before they join a batch
 * and are shipped) and the engine's expiry lookup.
 */
class MirroredStoreTest {
  static final long RESERVE_BYTES = 256 << 10;

  @TempDir Path tmp;

  @Test
  void refusesValueWritesWhileTheEnginesDiskIsFullAndAcceptsThemOnceItHasRoom() throws Exception {
    StorageConfig config = StorageConfig.defaults()
        .withFlushIntervalMillis(0) // no flusher: each putRefusal() probes the disk for room
        .withDiskReserveBytes(RESERVE_BYTES);
    SpaceLimitedDisk disk = new SpaceLimitedDisk(
        new FileChannelDisk(Files.createDirectories(tmp.resolve("store"))), 64 << 10);
    try (LogEngine engine = LogEngine.open(disk, config)) {
      MirroredStore store = new MirroredStore(engine, null); // the site ships in apply() only
      assertThat(store.putRefusal()).as("no room for the reserve at start-up")
          .isInstanceOf(DiskFullException.class);

      disk.capacity(64L << 20);
      assertThat(store.putRefusal()).as("the disk has room again").isNull();
      byte[] key = "k".getBytes(StandardCharsets.US_ASCII);
      long expiresAtMillis = System.currentTimeMillis() + 3_600_000;
      engine.apply(List.of(Mutation.put(key, new byte[] {1}, expiresAtMillis)))
          .ordered().get(5, TimeUnit.SECONDS);
      assertThat(store.expiresAtMillis(key)).isEqualTo(expiresAtMillis);
      assertThat(store.expiresAtMillis("none".getBytes(StandardCharsets.US_ASCII))).isEqualTo(-1);
    }
  }
}
