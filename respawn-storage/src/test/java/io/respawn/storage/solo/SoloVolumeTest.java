package io.respawn.storage.solo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.FencedException;
import io.respawn.storage.LogEngine;
import io.respawn.storage.LogFormat;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The solo primitives on a real directory, with real engines on the stores. */
class SoloVolumeTest {
  @TempDir Path dir;

  static StorageConfig config() {
    return StorageConfig.defaults()
        .withSizes(64 << 10, 16 << 10, 256, 8 << 10)
        .withFlushIntervalMillis(0)
        .withCompaction(0, 0.5, 0)
        .withDiskReserveBytes(0);
  }

  private static LogEngine open(SoloVolume volume, String store) throws Exception {
    return LogEngine.open(volume.disk().store(store), config(), volume.fenceFor(store));
  }

  private static WriteTicket put(LogEngine engine, String key, String value) {
    return engine.apply(List.of(Mutation.put(bytes(key), bytes(value))));
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String get(LogEngine engine, String key) {
    StoredValue v = engine.get(bytes(key));
    return v == null ? null : new String(v.value(), StandardCharsets.UTF_8);
  }

  /** Enough writes for several sealed segments and a partly filled active one. */
  private static void fill(LogEngine engine, String prefix, int n) {
    for (int i = 0; i < n; i++) {
      put(engine, prefix + i, "v".repeat(1000) + i).durable().join();
    }
  }

  @Test
  void aNewVolumeServesTheFirstStoreAtEpochZero() throws Exception {
    try (SoloVolume volume = SoloVolume.at(dir)) {
      assertThat(volume.fenceEpoch()).isZero();
      assertThat(volume.currentStore()).isEqualTo(dir.toAbsolutePath().resolve("store"));
      assertThat(Files.isDirectory(dir.resolve("store"))).isTrue();
    }
    try (SoloVolume again = SoloVolume.at(dir)) { // opening again changes nothing
      assertThat(again.state()).isEqualTo(new SoloVolume.State(0, "store"));
    }
  }

  @Test
  void superSharesSealedSegmentsByHardLinkAndCopiesOnlyTheActiveOne() throws Exception {
    try (SoloVolume volume = SoloVolume.at(dir); LogEngine parent = open(volume, "store")) {
      fill(parent, "k", 200);
      ChildView child = volume.superView();
      Path parentDir = volume.currentStore();
      List<String> segments;
      try (var files = Files.list(child.dir())) {
        segments = files.map(p -> p.getFileName().toString()).sorted().toList();
      }
      assertThat(segments.size()).isGreaterThan(2);
      String tail = segments.get(segments.size() - 1);
      for (String name : segments) {
        Object parentInode = Files.getAttribute(parentDir.resolve(name), "unix:ino");
        Object childInode = Files.getAttribute(child.dir().resolve(name), "unix:ino");
        if (name.equals(tail)) {
          assertThat(childInode).as("active segment is copied").isNotEqualTo(parentInode);
        } else {
          assertThat(childInode).as("sealed segment %s is linked", name).isEqualTo(parentInode);
        }
      }
      assertThat(child.collapse()).isEqualTo(ChildView.Collapse.CLEAN);
      // A parent write after super lands in the parent only (no copy-on-write, no sharing).
      put(parent, "after", "super").durable().join();
      assertThat(child.collapse()).isEqualTo(ChildView.Collapse.DIRTY);
      try (LogEngine standby = open(volume, child.name())) {
        assertThat(get(standby, "k199")).isEqualTo("v".repeat(1000) + 199);
        assertThat(get(standby, "after")).isNull();
        assertThat(standby.keyCount()).isEqualTo(200);
      }
      child.abort();
      assertThat(Files.exists(child.dir())).isFalse();
      assertThatThrownBy(child::collapse).isInstanceOf(IllegalStateException.class);
      assertThat(get(parent, "k0")).isNotNull(); // the parent's linked segments are intact
    }
  }

  @Test
  void aWriteInsideTheZerosWrittenAheadSetsTheDirtyBit() throws Exception {
    try (SoloVolume volume = SoloVolume.at(dir); LogEngine parent = open(volume, "store")) {
      fill(parent, "k", 3); // the active segment has zeros written ahead of its end
      Path active = null;
      try (var files = Files.list(volume.currentStore())) {
        for (Path p : files.toList()) {
          if (LogFormat.parseSegmentName(p.getFileName().toString()) != null) {
            active = active == null || p.compareTo(active) > 0 ? p : active;
          }
        }
      }
      ChildView child = volume.superView();
      long before = Files.size(active);
      put(parent, "small", "x").durable().join();
      assertThat(Files.size(active)).as("the write fits the preallocated zeros").isEqualTo(before);
      assertThat(child.collapse()).isEqualTo(ChildView.Collapse.DIRTY);
      child.abort();
    }
  }

  @Test
  void promoteFencesTheParentAndTheChildServes() throws Exception {
    try (SoloVolume volume = SoloVolume.at(dir); LogEngine parent = open(volume, "store")) {
      fill(parent, "k", 100);
      ChildView child = volume.superView();
      try (LogEngine standby = LogEngine.open(volume.disk().store(child.name()), config(),
          volume.fenceFor(child.name()))) {
        assertThatThrownBy(() -> put(standby, "early", "x").ordered().join())
            .hasCauseInstanceOf(FencedException.class)
            .hasMessageContaining("not the volume's current store");
      }
      try (LogEngine standby = open(volume, child.name())) {
        assertThat(child.promote()).isEqualTo(ChildView.Promotion.PROMOTED);
        assertThat(volume.state()).isEqualTo(new SoloVolume.State(2, child.name()));
        assertThat(volume.currentStore()).isEqualTo(child.dir());
        assertThatThrownBy(() -> put(parent, "late", "x").ordered().join())
            .hasCauseInstanceOf(FencedException.class)
            .hasMessageContaining("fenced");
        assertThatThrownBy(() -> put(parent, "later", "x"))
            .isInstanceOf(FencedException.class);
        assertThat(child.collapse()).as("the fenced parent wrote nothing").isEqualTo(
            ChildView.Collapse.CLEAN);
        put(standby, "new", "primary").durable().join();
        assertThat(get(standby, "k42")).isEqualTo("v".repeat(1000) + 42);
        assertThatThrownBy(child::abort).isInstanceOf(IllegalStateException.class);
      }
      // The next super drops the old parent store and the records of the last one.
      ChildView next = volume.superView();
      assertThat(volume.disk().stores()).containsExactlyInAnyOrder(child.name(), next.name());
      next.abort();
    }
  }

  @Test
  void aTakeoverFencesALiveParentAndServesEverythingItAcknowledged() throws Exception {
    try (SoloVolume volume = SoloVolume.at(dir); LogEngine parent = open(volume, "store")) {
      fill(parent, "k", 100);
      Path store = volume.takeOver();
      assertThat(volume.currentStore()).isEqualTo(store);
      assertThat(volume.fenceEpoch()).isEqualTo(3); // fence, then the super's own fence and promotion
      assertThatThrownBy(() -> put(parent, "late", "x").ordered().join())
          .hasCauseInstanceOf(FencedException.class);
      try (LogEngine standby = open(volume, volume.state().store())) {
        assertThat(standby.keyCount()).isEqualTo(100);
        put(standby, "new", "primary").durable().join();
      }
    }
  }

  @Test
  void promoteOfADirtyChildFencesNothing() throws Exception {
    try (SoloVolume volume = SoloVolume.at(dir); LogEngine parent = open(volume, "store")) {
      fill(parent, "k", 10);
      ChildView child = volume.superView();
      put(parent, "alive", "yes").durable().join();
      assertThat(child.promote()).isEqualTo(ChildView.Promotion.ABORTED_PARENT_WROTE);
      assertThat(volume.state()).isEqualTo(new SoloVolume.State(0, "store"));
      put(parent, "still", "serving").durable().join();
    }
  }

  @Test
  void compactionOfTheParentSetsTheDirtyBit() throws Exception {
    try (SoloVolume volume = SoloVolume.at(dir); LogEngine parent = open(volume, "store")) {
      fill(parent, "k", 100);
      fill(parent, "k", 100); // every first version is now garbage
      ChildView child = volume.superView();
      parent.compact();
      assertThat(child.collapse()).isEqualTo(ChildView.Collapse.DIRTY);
      child.abort();
    }
  }

  @Test
  void epochRecordsRoundTripAndRefuseDamage() {
    byte[] bytes = VolumeFormat.encodeEpoch(new VolumeFormat.EpochRecord(7, "store-ab"));
    String file = VolumeFormat.epochFile(7);
    assertThat(VolumeFormat.decodeEpoch(file, bytes, bytes.length))
        .isEqualTo(new VolumeFormat.EpochRecord(7, "store-ab"));
    bytes[bytes.length - 6] ^= 1;
    assertThatThrownBy(() -> VolumeFormat.decodeEpoch(file, bytes, bytes.length))
        .hasMessageContaining("corrupt epoch record");
    var record = new VolumeFormat.SuperRecord(3, "store", "store-cd", 42, List.of(
        new VolumeFormat.FileState("a.log", 10, false), new VolumeFormat.FileState("b.log", 5, true)));
    byte[] encoded = VolumeFormat.encodeSuper(record);
    assertThat(VolumeFormat.decodeSuper("super-store-cd", encoded, encoded.length)).isEqualTo(record);
    new Random(1).nextBytes(encoded);
    assertThatThrownBy(() -> VolumeFormat.decodeSuper("x", encoded, encoded.length))
        .hasMessageContaining("corrupt super record");
  }
}
