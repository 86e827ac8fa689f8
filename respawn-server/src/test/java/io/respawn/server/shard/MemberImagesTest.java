package io.respawn.server.shard;

import static io.respawn.server.shard.ShardEntries.b;
import static io.respawn.server.shard.ShardEntries.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Entry;
import io.respawn.core.SnapshotMeta;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.node.snapshot.SnapshotReceiver;
import io.respawn.node.snapshot.SnapshotSink;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A member's snapshot images on real files: a state machine captures its state, keeps it, and a
 * new one restores exactly that state from the directory (values, expiries, keys known only by
 * timestamp); the keys-only view turns values into timestamps; a staged image interrupted half
 * way is taken up by a new run with the bytes it held, completed and installed.
 */
class MemberImagesTest {
  @TempDir Path tmp;

  private static String value(EngineStateMachine m, String key) {
    EngineStateMachine.Read r = m.read(b(key));
    return r.unknown() ? "?" : r.value() == null ? null
        : new String(r.value().value(), StandardCharsets.UTF_8);
  }

  private static byte[] envelopeBody(SnapshotImage image) {
    byte[] body = new byte[(int) image.bodyBytes()];
    image.read(0, body, 0, body.length);
    return body;
  }

  @Test
  void aKeptImageRestoresTheSameStateInANewStateMachine() throws Exception {
    Path dir = tmp.resolve("snapshot");
    MemberImages images = MemberImages.open(dir);
    try (EngineStateMachine m = new EngineStateMachine(new MapKvStore()).withImages(images,
        false)) {
      for (int i = 1; i <= 300; i++) {
        m.apply(write(1, i, Mutation.put(b("k" + (i % 100)), b("v" + i), i == 300 ? 99L : 0)));
      }
      SnapshotMeta meta = new SnapshotMeta(300, 1, null);
      SnapshotImage captured = m.captureSnapshot(meta);
      assertThat(captured.meta()).isEqualTo(meta);
      while (!m.snapshotReady(captured)) {
        Thread.sleep(5);
      }
      m.keepSnapshot(captured);
      assertThat(m.keptSnapshot().meta()).isEqualTo(meta);
      m.apply(write(1, 301, Mutation.put(b("k1"), b("after"))));
    }
    try (Stream<Path> files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString()).toList())
          .containsExactly("image-300.snap");
    }
    MemberImages reopened = MemberImages.open(dir);
    MapKvStore store = new MapKvStore();
    try (EngineStateMachine m = new EngineStateMachine(store).withImages(reopened, false)) {
      m.restoreFrom(reopened.kept());
      assertThat(m.appliedIndex()).isEqualTo(300);
      assertThat(store.keyCount()).isEqualTo(100);
      assertThat(value(m, "k1")).as("the image's value, not the later one").isEqualTo("v201");
      assertThat(value(m, "k0")).isEqualTo("v300");
      assertThat(store.get(b("k0")).expiresAtMillis()).isEqualTo(99L);

      // the keys-only view a witness receives: every key known by the image's timestamp only
      SnapshotImage keys = reopened.kept().keysOnlyView();
      assertThat(keys.keysOnly()).isTrue();
      MemberImages witnessImages = MemberImages.open(tmp.resolve("witness"));
      try (EngineStateMachine w = new EngineStateMachine(new MapKvStore())
          .withImages(witnessImages, true)) {
        SnapshotSink sink = w.stageSnapshot(keys.meta(), true, keys.bodyBytes());
        byte[] body = envelopeBody(keys);
        sink.write(body, 0, body.length);
        w.installSnapshot(keys.meta(), sink);
        assertThat(w.appliedIndex()).isEqualTo(300);
        assertThat(w.unknownKeyCount()).isEqualTo(100);
        assertThat(value(w, "k7")).isEqualTo("?");
        assertThat(value(w, "never")).isNull();
      }
    }
  }

  @Test
  void aStagingCutShortIsTakenUpByTheNextRunAndInstalled() throws Exception {
    MemberImages source = MemberImages.open(tmp.resolve("leader"));
    SnapshotImage image;
    try (EngineStateMachine leader = new EngineStateMachine(new MapKvStore())
        .withImages(source, false)) {
      for (int i = 1; i <= 500; i++) {
        leader.apply(write(2, i, Mutation.put(b("key-" + i), b("value-" + i))));
      }
      image = leader.captureSnapshot(new SnapshotMeta(500, 2, null));
      while (!leader.snapshotReady(image)) {
        Thread.sleep(5);
      }
      leader.keepSnapshot(image);
      image = leader.keptSnapshot();
    }
    byte[] body = envelopeBody(image);
    long total = io.respawn.node.snapshot.SnapshotFormat.header(image.meta(), false,
        image.bodyBytes()).length + image.bodyBytes() + 4;
    Path followerDir = tmp.resolve("follower");
    MemberImages first = MemberImages.open(followerDir);
    SnapshotSink sink = first.stage(image.meta(), false, image.bodyBytes());
    int half = body.length / 2;
    sink.write(body, 0, half); // then the process dies: nothing closes the staging

    MemberImages second = MemberImages.open(followerDir);
    assertThat(second.resume(image.meta().index(), image.meta().term() + 1, total))
        .as("another snapshot's staging is not taken up").isNull();
    SnapshotReceiver.Resumed r = second.resume(image.meta().index(), image.meta().term(), total);
    assertThat(r).isNotNull();
    assertThat(r.sink().bytes()).isEqualTo(half);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(body, 0, half);
    assertThat(r.bodyCrc().getValue()).isEqualTo(crc.getValue());
    r.sink().write(body, half, body.length - half);
    MapKvStore store = new MapKvStore();
    try (EngineStateMachine m = new EngineStateMachine(store).withImages(second, false)) {
      m.installSnapshot(image.meta(), r.sink());
      assertThat(m.appliedIndex()).isEqualTo(500);
      assertThat(store.keyCount()).isEqualTo(500);
      assertThat(value(m, "key-250")).isEqualTo("value-250");
      assertThat(m.keptSnapshot().bodyCrc32c()).isEqualTo(image.bodyCrc32c());
    }
  }

  /** An image of {@code keys} keys ("key-i" = "value-i" padded to 100 bytes) at index 1000. */
  private static Path writeImage(Path dir, int keys) throws Exception {
    Files.createDirectories(dir);
    Path file = dir.resolve("image-1000.snap");
    ImageFile.writeRecords(file, new SnapshotMeta(1000, 3, null), false, out -> {
      for (int i = 0; i < keys; i++) {
        out.value(b("key-" + i), b(String.format("value-%094d", i)), i % 7 == 0 ? 5_000L : 0);
      }
    });
    return file;
  }

  private static io.respawn.storage.MemoryKvStore memoryStore() {
    return new io.respawn.storage.MemoryKvStore(io.respawn.storage.StorageConfig.defaults());
  }

  @Test
  void anImageLoadedIntoAMemoryStoreHoldsEveryRecord() throws Exception {
    Path dir = tmp.resolve("snapshot");
    writeImage(dir, 20_000); // about 2.4 MB: three load batches
    MemberImages images = MemberImages.open(dir);
    try (io.respawn.storage.MemoryKvStore store = memoryStore();
        EngineStateMachine m = new EngineStateMachine(store).withImages(images, false)) {
      store.apply(List.of(Mutation.put(b("stale"), b("from before the load"))));
      m.restoreFrom(images.kept());
      assertThat(m.appliedIndex()).isEqualTo(1000);
      assertThat(m.restoredRecords()).isEqualTo(20_000);
      assertThat(store.keyCount()).isEqualTo(20_000);
      assertThat(value(m, "stale")).as("the image replaces the whole state").isNull();
      for (int i = 0; i < 20_000; i++) {
        assertThat(value(m, "key-" + i)).isEqualTo(String.format("value-%094d", i));
        assertThat(store.expiresAtMillis(b("key-" + i))).isEqualTo(i % 7 == 0 ? 5_000L : 0);
      }
    }
  }

  /**
   * A body damaged on disk (one byte flipped half way: the header still opens, the records still
   * parse, only the trailer's checksum tells) is found at the end of the load: by then every
   * record went into the store, and the state machine empties it and refuses, rather than serve
   * half an image or a wrong value.
   */
  @Test
  void aLoadThatFailsPartWayEmptiesTheStateAndRefuses() throws Exception {
    Path dir = tmp.resolve("snapshot");
    Path file = writeImage(dir, 20_000);
    try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
        java.nio.file.StandardOpenOption.READ, java.nio.file.StandardOpenOption.WRITE)) {
      long at = ch.size() / 2;
      java.nio.ByteBuffer one = java.nio.ByteBuffer.allocate(1);
      ch.read(one, at);
      one.put(0, (byte) (one.get(0) ^ 0x01)).rewind();
      ch.write(one, at);
    }
    MemberImages images = MemberImages.open(dir);
    assertThat(images.kept()).as("the header and length still check out").isNotNull();
    try (io.respawn.storage.MemoryKvStore store = memoryStore();
        EngineStateMachine m = new EngineStateMachine(store).withImages(images, false)) {
      store.apply(List.of(Mutation.put(b("stale"), b("from before the load"))));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.restoreFrom(images.kept()))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("failed part way")
          .hasMessageContaining("checksum mismatch")
          .hasMessageContaining("emptied and must not be served");
      assertThat(store.keyCount()).as("nothing half-loaded, nothing stale").isZero();
      assertThat(m.unknownKeyCount()).isZero();
      assertThat(m.appliedIndex()).isZero();
    }
  }

  /** Stands for the process's death (not an exception any code path catches). */
  private static final class Killed extends Error {}

  /**
   * The process dies in the middle of a load (here: the store stops taking batches after the
   * first, as a kill would stop it): a load writes nothing to disk, so the next start finds the
   * image as it was and loads it whole.
   */
  @Test
  void aCrashInTheMiddleOfALoadLeavesTheImageToLoadWholeOnTheNextStart() throws Exception {
    Path dir = tmp.resolve("snapshot");
    Path file = writeImage(dir, 20_000);
    byte[] before = Files.readAllBytes(file);
    MemberImages images = MemberImages.open(dir);
    io.respawn.storage.MemoryKvStore first = memoryStore();
    int[] batches = {0};
    io.respawn.storage.KvStore dying = new io.respawn.storage.KvStore() {
      @Override
      public io.respawn.storage.StoredValue get(byte[] key) {
        return first.get(key);
      }

      @Override
      public io.respawn.storage.WriteTicket apply(List<Mutation> batch) {
        if (++batches[0] > 2) { // the CLEAR, one batch of records, then the kill
          throw new Killed();
        }
        return first.apply(batch);
      }

      @Override
      public long keyCount() {
        return first.keyCount();
      }

      @Override
      public long expiringKeyCount() {
        return first.expiringKeyCount();
      }

      @Override
      public io.respawn.storage.ScanPage scan(long cursor, int countHint) {
        return first.scan(cursor, countHint);
      }

      @Override
      public java.util.concurrent.CompletableFuture<Void> flushAll() {
        return first.flushAll();
      }

      @Override
      public void close() {
        first.close();
      }
    };
    EngineStateMachine m = new EngineStateMachine(dying).withImages(images, false);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> m.restoreFrom(images.kept()))
        .isInstanceOf(Killed.class);
    assertThat(first.keyCount()).as("killed part way").isPositive().isLessThan(20_000);
    dying.close(); // the process is gone: its memory with it

    assertThat(Files.readAllBytes(file)).as("the load wrote nothing to disk").isEqualTo(before);
    MemberImages next = MemberImages.open(dir);
    try (io.respawn.storage.MemoryKvStore store = memoryStore();
        EngineStateMachine again = new EngineStateMachine(store).withImages(next, false)) {
      again.restoreFrom(next.kept());
      assertThat(again.appliedIndex()).isEqualTo(1000);
      assertThat(store.keyCount()).isEqualTo(20_000);
      assertThat(value(again, "key-19999")).isEqualTo(String.format("value-%094d", 19_999));
    }
  }

  /** Captures the state at {@code index} (applied already), waits for the file, keeps it. */
  private static SnapshotImage keepAt(EngineStateMachine m, long index) throws Exception {
    SnapshotImage c = m.captureSnapshot(new SnapshotMeta(index, 1, null));
    while (!m.snapshotReady(c)) {
      Thread.sleep(5);
    }
    m.keepSnapshot(c);
    return m.keptSnapshot();
  }

  /** Descriptors of this process open on {@code file} (also once it is unlinked). */
  private static long openDescriptors(Path file) throws java.io.IOException {
    String name = file.toAbsolutePath().toString();
    long n = 0;
    try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
      for (Path fd : fds.toList()) {
        try {
          String target = Files.readSymbolicLink(fd).toString();
          if (target.equals(name) || target.equals(name + " (deleted)")) {
            n++;
          }
        } catch (java.io.IOException gone) {
          // closed meanwhile
        }
      }
    }
    return n;
  }

  private static void awaitClosed(Path file) throws Exception {
    awaitDescriptors(file, 0);
  }

  /** Waits up to 5 s for {@code n} descriptors on {@code file} (closing is in the background). */
  private static void awaitDescriptors(Path file, long n) throws Exception {
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (openDescriptors(file) != n && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertThat(openDescriptors(file)).as("descriptors open on %s", file).isEqualTo(n);
  }

  /**
   * A replaced image's file stays open, unlinked, while a transfer still reads it, and is closed
   * (its disk space freed) when that transfer ends; with no transfer, at once; a capture that a
   * newer one overtook unkept is closed by the newer one. Before images were held, their
   * channels closed only when the collector found them unreachable: a shard primary kept every
   * image replaced during a 2 GiB load open and unlinked, ~1.8 GB of disk no listing showed, for
   * as long as it ran.
   */
  @Test
  void aReplacedImageIsClosedWhenItsLastTransferEnds() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/fd")),
        "no /proc/self/fd to count descriptors with");
    Path dir = tmp.resolve("snapshot");
    MemberImages images = MemberImages.open(dir);
    try (EngineStateMachine m = new EngineStateMachine(new MapKvStore()).withImages(images,
        false)) {
      m.apply(write(1, 1, Mutation.put(b("a"), b("1"))));
      SnapshotImage first = keepAt(m, 1);
      Path firstFile = ((ImageFile) first).path();
      assertThat(first.retain()).isTrue(); // a transfer of it starts
      m.apply(write(1, 2, Mutation.put(b("b"), b("2"))));
      SnapshotImage second = keepAt(m, 2); // replaces it
      Path secondFile = ((ImageFile) second).path();
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (Files.exists(firstFile) && System.nanoTime() < deadline) {
        Thread.sleep(10); // the sync thread deletes replaced images
      }
      assertThat(firstFile).doesNotExist();
      assertThat(openDescriptors(firstFile)).isPositive(); // the transfer still reads it
      assertThat(envelopeBody(first)).hasSize((int) first.bodyBytes());
      first.release(); // the transfer ends
      awaitClosed(firstFile);
      assertThat(first.retain()).as("a freed image takes no new hold").isFalse();

      m.apply(write(1, 3, Mutation.put(b("c"), b("3"))));
      keepAt(m, 3); // nothing reads the second: closed at once
      awaitClosed(secondFile);

      m.apply(write(1, 4, Mutation.put(b("d"), b("4"))));
      SnapshotImage overtaken = m.captureSnapshot(new SnapshotMeta(4, 1, null));
      while (!m.snapshotReady(overtaken)) {
        Thread.sleep(5);
      }
      Path overtakenFile = dir.resolve("capture-4.tmp");
      assertThat(openDescriptors(overtakenFile)).isPositive();
      m.apply(write(1, 5, Mutation.put(b("e"), b("5"))));
      SnapshotImage newer = m.captureSnapshot(new SnapshotMeta(5, 1, null));
      while (!m.snapshotReady(newer)) {
        Thread.sleep(5);
      }
      m.keepSnapshot(newer);
      awaitClosed(overtakenFile);
      // the kept one only: the capture's own channel on it (renamed) is closed in the background
      awaitDescriptors(dir.resolve("image-5.snap"), 1);
    }
  }
}
