package io.respawn.storage.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.Mutation;
import io.respawn.storage.StorageException;
import io.respawn.storage.crash.RecordingDisk;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackupStoreTest {

  /** Small sizes so the ring wraps and segments rotate; no threads: the test drives the agents. */
  static BackupConfig small() {
    return BackupConfig.defaults().toBuilder()
        .bufferBytes(64 << 10)
        .segmentBytesMax(32 << 10)
        .writebackBlockBytes(8 << 10)
        .writebackIntervalMillis(0)
        .gcIntervalMillis(0)
        .keyBytesMax(256)
        .valueBytesMax(8 << 10)
        .hotKeysMax(4)
        .popularityReportsPerEpoch(2)
        .build();
  }

  static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  static String s(byte[] bytes) {
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  static String value(BackupStore store, String key) {
    BackupEntry e = store.get(b(key));
    return e == null ? null : s(e.value());
  }

  /** The log holding the key's newest record (null: the buffer). */
  static LogKind locationOf(BackupStore store, String key) {
    store.lock.lock();
    try {
      int slot = store.index.find(b(key), KeyHash.of(b(key)));
      assertThat(slot).as("slot of %s", key).isNotNegative();
      return Location.log(store.index.location(slot));
    } finally {
      store.lock.unlock();
    }
  }

  /**
   * A walk over the keys while writes grow the index through several rebuilds (a snapshot
   * capture during a bulk load): every key present for the whole walk comes exactly once, and
   * so does every key at all, since the table only grew. A cursor that started over at each
   * rebuild returned the first keys again after every one.
   */
  @Test
  void aScanAcrossRebuildsReturnsEveryKeyOnce() throws Exception {
    try (BackupStore store = BackupStore.open(new RecordingDisk(), small())) {
      long index = 0;
      for (int i = 0; i < 500; i++) {
        store.apply(b("old" + i), b("v"), 1, ++index);
      }
      store.flush();
      long rebuilds0 = store.index.rebuilds();
      Map<String, Integer> seen = new HashMap<>();
      long cursor = 0;
      int added = 0;
      do {
        io.respawn.storage.ScanPage page = store.scanKeys(cursor, 50);
        for (byte[] k : page.keys()) {
          seen.merge(s(k), 1, Integer::sum);
        }
        cursor = page.nextCursor();
        for (int i = 0; i < 300; i++, added++) { // the node loop applies on between pages
          store.apply(b("new" + added), b("v"), 1, ++index);
        }
        store.flush();
      } while (cursor != 0);
      assertThat(store.index.rebuilds() - rebuilds0).as("the index was rebuilt meanwhile")
          .isGreaterThanOrEqualTo(3);
      for (int i = 0; i < 500; i++) {
        assertThat(seen.get("old" + i)).as("old%d", i).isEqualTo(1);
      }
      assertThat(seen.values()).allMatch(n -> n == 1);
    }
  }

  @Test
  void appliedWritesAreReadBackFromBufferThenLogs() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (BackupStore store = BackupStore.open(disk, small())) {
      store.apply(b("a"), b("1"), 1, 1);
      store.apply(b("b"), b("2"), 1, 2);
      store.apply(b("a"), b("3"), 1, 3);
      assertThat(value(store, "a")).isEqualTo("3");
      assertThat(value(store, "b")).isEqualTo("2");
      store.flush();
      assertThat(value(store, "a")).isEqualTo("3");
      assertThat(store.get(b("a")).term()).isEqualTo(1);
      assertThat(store.get(b("a")).index()).isEqualTo(3);
      store.apply(b("a"), null, 2, 4);
      assertThat(store.get(b("a"))).isNull();
      assertThat(store.stats().tombstones()).isEqualTo(1);
      assertThat(store.lastApplied()).isEqualTo(new BackupStore.Timestamp(2, 4));
    }
  }

  @Test
  void anEntryAppliesItsMutationsInOrderAndClearDropsOlderKeys() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (BackupStore store = BackupStore.open(disk, small())) {
      store.apply(1, 1, List.of(Mutation.put(b("a"), b("1")), Mutation.put(b("b"), b("2")),
          Mutation.put(b("a"), b("3"))));
      assertThat(value(store, "a")).isEqualTo("3");
      assertThat(value(store, "b")).isEqualTo("2");
      store.flush();
      store.apply(1, 2, List.of(Mutation.put(b("c"), b("4"))));
      store.apply(1, 3, List.of(Mutation.put(b("x"), b("gone")), Mutation.clear(),
          Mutation.put(b("d"), b("5"), 1_000_000L)));
      assertThat(value(store, "a")).isNull();
      assertThat(value(store, "c")).isNull();
      assertThat(value(store, "x")).isNull();
      assertThat(value(store, "d")).isEqualTo("5");
      assertThat(store.get(b("d")).expiresAtMillis()).isEqualTo(1_000_000L);
      assertThat(store.stats().keys()).isEqualTo(1);
      assertThatThrownBy(() -> store.apply(1, 4, List.of()))
          .hasMessage("an entry needs at least one mutation");
    }
    // The CLEAR was released from the ring: its timestamp lives on in the checkpoint.
    try (BackupStore store = BackupStore.open(RecordingDisk.of(disk.currentImage()), small())) {
      assertThat(value(store, "a")).isNull();
      assertThat(value(store, "b")).isNull();
      assertThat(value(store, "d")).isEqualTo("5");
      assertThat(store.lastApplied()).isEqualTo(new BackupStore.Timestamp(1, 3));
    }
  }

  @Test
  void timestampsOnlyMoveForward() throws Exception {
    try (BackupStore store = BackupStore.open(new RecordingDisk(), small())) {
      store.apply(b("k"), b("new"), 3, 10);
      store.apply(b("k"), b("old"), 2, 11); // older term
      store.apply(b("k"), b("old"), 3, 9);  // older index
      store.apply(b("k"), b("dup"), 3, 10); // equal
      assertThat(value(store, "k")).isEqualTo("new");
      assertThat(store.stats().duplicates()).isEqualTo(3);
      store.apply(b("k"), b("newer"), 4, 1); // a newer term wins whatever the index
      assertThat(value(store, "k")).isEqualTo("newer");
    }
  }

  @Test
  void badInputIsRefusedWithTheLimitNamed() throws Exception {
    try (BackupStore store = BackupStore.open(new RecordingDisk(), small())) {
      assertThatThrownBy(() -> store.apply(new byte[257], b("v"), 1, 1))
          .hasMessage("key of 257 bytes exceeds keyBytesMax 256");
      assertThatThrownBy(() -> store.apply(b("k"), new byte[(8 << 10) + 1], 1, 1))
          .hasMessage("value of 8193 bytes exceeds valueBytesMax 8192");
      assertThatThrownBy(() -> store.apply(b("k"), b("v"), 1L << 32, 1))
          .hasMessageContaining("term 4294967296 is out of range");
      assertThatThrownBy(() -> store.apply(b("k"), null, 5, 1, 1))
          .hasMessageContaining("0 for a deletion");
      byte[] big = new byte[8 << 10];
      assertThatThrownBy(() -> store.apply(1, 1, List.of(Mutation.put(b("x"), big),
          Mutation.put(b("y"), big))))
          .hasMessageContaining("exceeds a quarter of the persistent buffer's ring");
      assertThat(store.stats().applied()).isZero();
    }
    assertThatThrownBy(() -> BackupConfig.defaults().toBuilder().bufferBytes(123456).build())
        .hasMessageContaining("bufferBytes 123456 must be a multiple of 4096");
    assertThatThrownBy(() -> BackupConfig.defaults().toBuilder().valueBytesMax(1 << 30).build())
        .hasMessageContaining("more than a quarter of the ring");
  }

  @Test
  void reopenRecoversFromLogsAndBuffer() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    Map<String, String> model = new HashMap<>();
    Random random = new Random(5);
    long index = 0;
    try (BackupStore store = BackupStore.open(disk, small())) {
      for (int i = 0; i < 400; i++) {
        String key = "key" + random.nextInt(50);
        if (random.nextInt(10) == 0) {
          store.apply(b(key), null, 1, ++index);
          model.remove(key);
        } else {
          String v = "v" + i + "x".repeat(random.nextInt(2000));
          store.apply(b(key), b(v), 1, ++index);
          model.put(key, v);
        }
        if (i % 97 == 0) {
          store.flush();
        }
      }
      assertThat(store.stats().coldSegments()).isGreaterThan(1);
    }
    // a crash that loses nothing: every write survives as it is in the page cache
    try (BackupStore store = BackupStore.open(RecordingDisk.of(disk.currentImage()), small())) {
      for (int k = 0; k < 50; k++) {
        assertThat(value(store, "key" + k)).as("key%d", k).isEqualTo(model.get("key" + k));
      }
      assertThat(store.lastApplied().index()).isEqualTo(index);
    }
  }

  @Test
  void durableNoticeCompletesAfterTheBufferIsForced() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (BackupStore store = BackupStore.open(disk, small())) {
      long seq = store.apply(b("a"), b("1"), 1, 1);
      assertThat(store.isDurable(seq)).isFalse();
      long flushes = disk.flushCount();
      store.whenDurable(seq).join();
      assertThat(store.isDurable(seq)).isTrue();
      assertThat(disk.flushCount()).isGreaterThan(flushes);
    }
  }

  @Test
  void popularKeysGoToTheHotLogAndGcMovesKeysThatChangedPopularity() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (BackupStore store = BackupStore.open(disk, small())) {
      store.reportPopularity(new long[] {KeyHash.of(b("hot1")), KeyHash.of(b("hot1")),
          KeyHash.of(b("hot2"))});
      long index = 0;
      for (int i = 0; i < 40; i++) {
        store.apply(b("hot1"), b("h" + i), 1, ++index);
        store.apply(b("cold" + i), b("x".repeat(1500)), 1, ++index);
      }
      store.flush();
      BackupStats stats = store.stats();
      assertThat(stats.hotKeys()).isEqualTo(2);
      assertThat(stats.hotLiveBytes()).isPositive();
      assertThat(stats.coldLiveBytes()).isPositive();
      assertThat(locationOf(store, "hot1")).isEqualTo(LogKind.HOT);
      assertThat(locationOf(store, "cold3")).isEqualTo(LogKind.COLD);

      // cold3 becomes popular without being written: GC's drift moves it to the hot log
      for (int r = 0; r < 4; r++) {
        store.reportPopularity(new long[] {KeyHash.of(b("cold3")), KeyHash.of(b("cold3"))});
      }
      int collected = 0;
      while (store.collectGarbage(true) && collected < 100) {
        collected++;
      }
      store.flush();
      assertThat(collected).isPositive();
      assertThat(locationOf(store, "cold3")).isEqualTo(LogKind.HOT);
      assertThat(value(store, "cold3")).isEqualTo("x".repeat(1500));
      assertThat(value(store, "hot1")).isEqualTo("h39");
      assertThat(store.stats().gcRecordsRewritten()).isPositive();
    }
  }

  @Test
  void gcDropsStaleRecordsAndTombstonesAndKeepsEveryValue() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    Map<String, String> model = new HashMap<>();
    try (BackupStore store = BackupStore.open(disk, small())) {
      long index = 0;
      for (int round = 0; round < 30; round++) {
        for (int k = 0; k < 10; k++) {
          String v = round + "-" + k + "y".repeat(700);
          store.apply(b("k" + k), b(v), 1, ++index);
          model.put("k" + k, v);
        }
        store.apply(b("gone" + round), b("z"), 1, ++index);
        store.apply(b("gone" + round), null, 1, ++index);
      }
      store.flush();
      long segmentsBefore = store.stats().coldSegments();
      while (store.collectGarbage(false)) {
        store.flush();
      }
      BackupStats after = store.stats();
      assertThat(after.gcSegments()).isPositive();
      assertThat((long) after.coldSegments()).isLessThan(segmentsBefore);
      assertThat(after.gcRecordsDropped()).isPositive();
      assertThat(after.gcTombstonesDropped()).isPositive();
      assertThat(after.tombstones()).isLessThan(30);
      for (Map.Entry<String, String> e : model.entrySet()) {
        assertThat(value(store, e.getKey())).isEqualTo(e.getValue());
      }
    }
    try (BackupStore store = BackupStore.open(RecordingDisk.of(disk.currentImage()), small())) {
      for (Map.Entry<String, String> e : model.entrySet()) {
        assertThat(value(store, e.getKey())).isEqualTo(e.getValue());
      }
      for (int round = 0; round < 30; round++) {
        assertThat(store.get(b("gone" + round))).isNull();
      }
    }
  }

  @Test
  void aTombstoneOutlivesEveryOlderRecordOfItsKey() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    byte[] filler = new byte[1000];
    try (BackupStore store = BackupStore.open(disk, small())) {
      long index = 0;
      store.apply(b("k"), b("old"), 1, ++index);
      for (int i = 0; i < 40; i++) {
        store.apply(b("p" + i), filler, 1, ++index); // fills and seals the first segment
      }
      store.flush();
      store.apply(b("k"), null, 1, ++index);
      for (int i = 0; i < 40; i++) {
        store.apply(b("q" + i), filler, 1, ++index); // seals the tombstone's segment
      }
      store.flush();
      Segment tombstones;
      Segment olds;
      store.lock.lock();
      try {
        int slot = store.index.find(b("k"), KeyHash.of(b("k")));
        tombstones = store.segmentsById.get(Location.segmentId(store.index.location(slot)));
        olds = store.logs.get(LogKind.COLD).segments().get(0);
      } finally {
        store.lock.unlock();
      }
      assertThat(tombstones.sealed).isTrue();
      assertThat(tombstones.id).isGreaterThan(olds.id);
      // The tombstone's segment goes first, while the old value's segment is still there:
      // the tombstone must be carried along, not dropped.
      assertThat(store.gc.collect(tombstones)).isTrue();
      assertThat(store.stats().gcTombstonesDropped()).isZero();
      assertThat(store.get(b("k"))).isNull();
      store.flush();
    }
    try (BackupStore store = BackupStore.open(RecordingDisk.of(disk.currentImage()), small())) {
      assertThat(store.get(b("k"))).as("deleted key came back").isNull();
    }
  }

  @Test
  void batchPullReturnsEveryCurrentVersionHotFirstAndResumesFromAPersistedCursor()
      throws Exception {
    try (BackupStore store = BackupStore.open(new RecordingDisk(), small())) {
      store.reportPopularity(new long[] {KeyHash.of(b("k7")), KeyHash.of(b("k8")),
          KeyHash.of(b("k7")), KeyHash.of(b("k8"))}); // sampled twice: popular
      Map<String, String> model = new HashMap<>();
      long index = 0;
      for (int i = 0; i < 300; i++) {
        String key = "k" + (i % 60);
        String v = i + "w".repeat(i % 900);
        store.apply(b(key), b(v), 1, ++index);
        model.put(key, v);
      }
      store.apply(b("k5"), null, 1, ++index);
      model.remove("k5");

      BatchPullCursor cursor = store.startBatchPull();
      assertThat(cursor.phase()).isEqualTo(BatchPullCursor.Phase.POPULAR);
      Map<String, String> pulled = new HashMap<>();
      Map<String, String> popular = new HashMap<>();
      List<String> order = new ArrayList<>();
      List<BackupEntry> kept = new ArrayList<>();
      int chunks = 0;
      while (!cursor.isDone()) {
        boolean inPopularSet = cursor.phase() == BatchPullCursor.Phase.POPULAR;
        BatchPullChunk chunk = store.batchPull(cursor, 4096);
        kept.addAll(chunk.entries());
        for (BackupEntry e : chunk.entries()) {
          order.add(s(e.key()));
          // The popular set's records come first, and again with their log.
          assertThat((inPopularSet ? popular : pulled).put(s(e.key()), s(e.value())))
              .as("pulled twice: %s", s(e.key())).isNull();
        }
        cursor = BatchPullCursor.fromBytes(chunk.next().toBytes()); // persisted and resumed
        chunks++;
      }
      store.endBatchPull();
      assertThat(chunks).isGreaterThan(3);
      assertThat(pulled.remove("k5")).isNull(); // the tombstone came too
      assertThat(pulled).isEqualTo(model);
      assertThat(popular).isEqualTo(Map.of("k7", model.get("k7"), "k8", model.get("k8")));
      assertThat(order.subList(0, 2)).containsExactlyInAnyOrder("k7", "k8");
      // A chunk's records stay whole after later chunks were read (the scan reuses its window).
      for (BackupEntry e : kept) {
        if (!e.isTombstone()) {
          assertThat(s(e.value())).as("record of %s", s(e.key())).isEqualTo(model.get(s(e.key())));
        }
      }
    }
  }

  /**
   * Keys that became popular after they were written (a bulk load, then reads) sit in the cold
   * log; the scan still sends them first, found by hash through the index, most popular first,
   * a bounded number of reads per chunk; a hash with no key is skipped.
   */
  @Test
  void batchPullSendsThePopularSetFirstWhereverItsRecordsLive() throws Exception {
    try (BackupStore store = BackupStore.open(new RecordingDisk(),
        small().toBuilder().hotKeysMax(100).build())) {
      long index = 0;
      for (int i = 0; i < 400; i++) {
        store.apply(b("c" + i), b(i + "v".repeat(300)), 1, ++index);
      }
      store.flush();
      // Read later, never written since: 40 popular keys, c0 the most popular; a key sampled
      // once is chance, not popularity, and is left to the logs.
      List<Long> report = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        for (int n = 0; n < 41 - i; n++) {
          report.add(KeyHash.of(b("c" + (i * 7))));
        }
      }
      report.add(KeyHash.of(b("never written")));
      report.add(KeyHash.of(b("never written")));
      report.add(KeyHash.of(b("c1")));
      store.reportPopularity(report.stream().mapToLong(Long::longValue).toArray());
      assertThat(store.logOf(b("c0"))).isEqualTo(LogKind.COLD);

      BatchPullCursor cursor = store.startBatchPull();
      List<String> popular = new ArrayList<>();
      int popularChunks = 0;
      while (cursor.phase() == BatchPullCursor.Phase.POPULAR) {
        BatchPullChunk chunk = store.batchPull(cursor, 1 << 20);
        assertThat(chunk.entries()).hasSizeLessThanOrEqualTo(
            BackupPulls.POPULAR_READS_PER_CHUNK_MAX);
        for (BackupEntry e : chunk.entries()) {
          popular.add(s(e.key()));
          assertThat(s(e.value())).isEqualTo(value(store, s(e.key())));
        }
        cursor = chunk.next();
        popularChunks++;
      }
      store.endBatchPull();
      assertThat(popularChunks).isEqualTo(3);
      assertThat(popular).hasSize(40).doesNotHaveDuplicates().doesNotContain("c1");
      // Chunks go most popular first (within one, in the order of their place on disk).
      assertThat(popular.subList(0, BackupPulls.POPULAR_READS_PER_CHUNK_MAX)).contains("c0");
      assertThat(popular.subList(32, 40)).contains("c" + (39 * 7));
      assertThat(cursor).isEqualTo(BatchPullCursor.LOGS);
    }
  }

  @Test
  void priorityPullReturnsTheKeysPage() throws Exception {
    try (BackupStore store = BackupStore.open(new RecordingDisk(), small())) {
      long index = 0;
      for (int i = 0; i < 40; i++) {
        store.apply(b("p" + i), b("value" + i), 1, ++index);
      }
      store.apply(b("p3"), b("newest"), 1, ++index);
      store.flush();
      List<BackupEntry> page = store.priorityPull(b("p3"));
      assertThat(s(page.get(0).key())).isEqualTo("p3");
      assertThat(s(page.get(0).value())).isEqualTo("newest");
      assertThat(page.size()).isGreaterThan(10); // small records: a page holds many
      for (BackupEntry e : page) {
        assertThat(s(e.value())).isEqualTo(value(store, s(e.key())));
      }
      assertThat(store.priorityPull(b("absent"))).isEmpty();
      store.apply(b("fresh"), b("in the buffer"), 1, ++index);
      assertThat(store.priorityPull(b("fresh"))).singleElement()
          .satisfies(e -> assertThat(s(e.value())).isEqualTo("in the buffer"));
    }
  }

  @Test
  void theRingWrapsAndAFullBufferIsDrainedByTheWaitingWriter() throws Exception {
    try (BackupStore store = BackupStore.open(new RecordingDisk(), small())) {
      byte[] v = new byte[3000];
      for (int i = 0; i < 200; i++) {
        v[0] = (byte) i;
        store.apply(b("w" + (i % 7)), v.clone(), 1, i + 1);
      }
      assertThat(store.stats().bufferFullWaits()).isPositive();
      int last = 199;
      while (last % 7 != 3) {
        last--;
      }
      assertThat(store.get(b("w3")).value()[0]).isEqualTo((byte) last);
    }
  }

  @Test
  void mappedBufferOnARealDirectorySurvivesReopen(@TempDir Path dir) throws Exception {
    BackupConfig config = small().toBuilder().writebackIntervalMillis(2).gcIntervalMillis(10).build();
    try (BackupStore store = BackupStore.open(dir, config)) {
      for (int i = 0; i < 2000; i++) {
        store.apply(b("m" + (i % 100)), b("v" + i), 1, i + 1);
      }
      store.whenDurable(store.apply(b("last"), b("x"), 1, 5000)).join();
    }
    try (BackupStore store = BackupStore.open(dir, config)) {
      assertThat(value(store, "m42")).isEqualTo("v1942");
      assertThat(value(store, "last")).isEqualTo("x");
      assertThat(store.lastApplied().index()).isEqualTo(5000);
    }
  }

  @Test
  void aFailedDiskStopsWritesAndFailsDurableNotices() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    try (BackupStore store = BackupStore.open(disk, small())) {
      long seq = store.apply(b("a"), b("1"), 1, 1);
      disk.failFlushes(new java.io.IOException("No space left on device"));
      assertThatThrownBy(() -> store.whenDurable(seq).join()).hasRootCauseMessage("No space left on device");
      assertThatThrownBy(() -> store.apply(b("b"), b("2"), 1, 2))
          .isInstanceOf(StorageException.class)
          .hasMessageContaining("not accepting writes: disk full");
      assertThat(value(store, "a")).isEqualTo("1");
      disk.failFlushes(null);
    }
  }

  /**
   * The persistent buffer's ring is a mapped file that is never forced; left to the kernel, its
   * dirty pages reach the device only once 30 s old, all that are due at once (in E2 a GC
   * drift's 64 MiB went out as one ~135 MB burst 30 s later, and priority pulls' page reads
   * waited 36-56 ms behind it). A writeback pass starts writing the ring space it released, so
   * they leave within seconds. Without that, this waits 10 s and finds every page still dirty.
   */
  @Test
  void ringSpaceReleasedByWritebackIsWrittenWithinSecondsNotLeftDirty(@TempDir Path dir)
      throws Exception {
    BackupConfig config = BackupConfig.defaults().toBuilder()
        .bufferBytes(16 << 20)
        .valueBytesMax(64 << 10)
        .writebackIntervalMillis(0) // the test runs the pass
        .gcIntervalMillis(0)
        .build();
    Path buffer = dir.resolve(BackupStore.BUFFER_FILE);
    try (BackupStore store = BackupStore.open(dir, config)) {
      org.junit.jupiter.api.Assumptions.assumeTrue(
          io.respawn.storage.CacheStat.dirtyPages(buffer, 0, 0) >= 0,
          "no cachestat (Linux 6.5+, x86-64) to count dirty pages with");
      byte[] value = new byte[4000];
      for (int i = 0; i < 2000; i++) { // ~8 MB of records from the ring's start
        store.apply(b("key-" + i), value, 1, i + 1);
      }
      long written = store.buffer.tailPosition(); // the ring starts empty: [0, written) is theirs
      long dirtyBefore = releasedDirty(buffer, written);
      org.junit.jupiter.api.Assumptions.assumeTrue(dirtyBefore >= written / 4096 / 2,
          "the kernel wrote the records' pages already (" + dirtyBefore + " dirty): it is "
              + "flushing everything here, so this cannot tell");
      store.flush(); // one writeback pass: the records go to the logs, their ring space is released
      assertThat(store.buffer.releasedPosition()).isEqualTo(written);
      long dirty = dirtyBefore;
      long deadline = System.nanoTime() + 10_000_000_000L;
      while (dirty > 4 && System.nanoTime() < deadline) {
        Thread.sleep(20);
        dirty = releasedDirty(buffer, written);
      }
      assertThat(dirty).as("released ring pages still dirty, of %d", dirtyBefore)
          .isLessThanOrEqualTo(4);
    }
  }

  /** Dirty cached pages of the buffer file's first {@code ringBytes} of ring. */
  private static long releasedDirty(Path buffer, long ringBytes) {
    return io.respawn.storage.CacheStat.dirtyPages(buffer, BackupFormat.RING_START, ringBytes);
  }

  /**
   * A drift collection (keys change logs; no space comes back) on the GC thread reads its victim
   * at most {@link GcAgent#DRIFT_PACE_FACTOR} times the drift rate: unpaced, a 64 MiB segment was
   * read and rewritten in under a second every 16 s, saturating the disk each time (E2). Here
   * records of 60 KiB at 4 x 64 KiB/s come ~234 ms apart (unpaced: milliseconds), and a pause (a
   * BatchPull starting) still stops the collection within a slice, not after the record's wait.
   */
  @Test
  void aDriftCollectionIsPacedAndAPauseStillStopsItAtOnce() throws Exception {
    BackupConfig config = BackupConfig.defaults().toBuilder()
        .bufferBytes(4 << 20)
        .segmentBytesMax(256 << 10)
        .valueBytesMax(64 << 10)
        .writebackIntervalMillis(1)
        .gcIntervalMillis(5)
        .gcGarbageRatioMin(1.0) // nothing goes stale here: only drift collects
        .gcDriftBytesPerSecond(64 << 10)
        .build();
    String value = "x".repeat(60 << 10);
    try (BackupStore store = BackupStore.open(new RecordingDisk(), config)) {
      for (int i = 0; i < 12; i++) { // four records a segment: three sealed segments
        store.apply(b("cold" + i), b(value), 1, i + 1);
      }
      store.flush();
      for (int r = 0; r < 4; r++) { // the popular set changes: every sealed segment drifts
        store.reportPopularity(new long[] {KeyHash.of(b("cold3")), KeyHash.of(b("cold3"))});
      }
      long deadline = System.nanoTime() + 30_000_000_000L; // the budget takes ~4 s to fill
      while (store.stats().gcRecordsRewritten() < 1 && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      long firstAt = System.nanoTime();
      while (store.stats().gcRecordsRewritten() < 2 && System.nanoTime() < deadline) {
        Thread.sleep(1);
      }
      long secondAt = System.nanoTime();
      assertThat(store.stats().gcRecordsRewritten()).isEqualTo(2);
      assertThat(secondAt - firstAt).as("between two 60 KiB records at 256 KiB/s")
          .isGreaterThanOrEqualTo(150_000_000L);

      long pausedAt = System.nanoTime();
      store.pauseGc();
      long pauseNanos = System.nanoTime() - pausedAt;
      assertThat(store.stats().gcSegments()).as("stopped, not finished").isZero();
      assertThat(pauseNanos).as("a pause during the wait for the next record")
          .isLessThan(150_000_000L);
      store.resumeGc();
      for (int i = 0; i < 12; i++) {
        assertThat(value(store, "cold" + i)).isEqualTo(value);
      }
    }
  }
}
