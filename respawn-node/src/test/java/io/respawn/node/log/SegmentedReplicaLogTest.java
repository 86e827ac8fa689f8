package io.respawn.node.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.NodeId;
import io.respawn.core.PersistentState;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.StorageException;
import io.respawn.storage.crash.RecordingDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SegmentedReplicaLogTest {

  static final ReplicaLogConfig SMALL = new ReplicaLogConfig(8 << 10, 2048, true);

  static Entry e(long term, long index, int bytes) {
    byte[] data = new byte[bytes];
    java.util.Arrays.fill(data, (byte) index);
    return Entry.normal(term, index, Command.of(data, ("k" + index).getBytes(StandardCharsets.US_ASCII)));
  }

  static List<Entry> run(long term, long from, long to, int bytes) {
    List<Entry> out = new ArrayList<>();
    for (long i = from; i <= to; i++) {
      out.add(e(term, i, bytes));
    }
    return out;
  }

  @Test
  void appendTruncateFlushAndReopenOnRealFiles(@TempDir Path dir) throws IOException {
    List<Entry> expected = new ArrayList<>();
    try (SegmentedReplicaLog log = SegmentedReplicaLog.open(new FileChannelDisk(dir), SMALL)) {
      assertThat(log.load()).isEqualTo(PersistentState.EMPTY);
      log.append(run(1, 1, 10, 100));
      assertThat(log.lastIndex()).isEqualTo(10);
      assertThat(log.lastFlushedIndex()).isZero();
      log.flush();
      assertThat(log.lastFlushedIndex()).isEqualTo(10);
      log.truncateSuffix(6); // a new leader overwrites 6..10
      assertThat(log.lastIndex()).isEqualTo(5);
      assertThat(log.lastFlushedIndex()).isEqualTo(5);
      log.append(run(2, 6, 7, 100));
      log.saveHardState(new HardState(2, NodeId.of(3), 6));
      log.flush();
      expected.addAll(run(1, 1, 5, 100));
      expected.addAll(run(2, 6, 7, 100));
      assertThat(log.termAt(5)).isEqualTo(1);
      assertThat(log.termAt(6)).isEqualTo(2);
      assertThat(log.termAt(8)).isZero();
      assertThat(log.termAt(0)).isZero();
    }
    try (SegmentedReplicaLog log = SegmentedReplicaLog.open(new FileChannelDisk(dir), SMALL)) {
      PersistentState s = log.load();
      assertThat(s.hardState()).isEqualTo(new HardState(2, NodeId.of(3), 6));
      assertThat(s.log()).isEqualTo(expected);
      assertThat(log.lastFlushedIndex()).isEqualTo(7);
      assertThatThrownBy(log::load).isInstanceOf(IllegalStateException.class);
    }
  }

  /**
   * The active segment's file runs ahead of its batches with zeros, so an fsync of appended
   * batches commits no new file size; a restart (as after kill -9, nothing closed) reads the zeros
   * as the end of the log, and a sealed segment holds no zeros (the strict check of sealed
   * segments would refuse the next open).
   */
  @Test
  void theActiveSegmentRunsAheadWithZerosThatRecoveryTrimsAndNoSealedSegmentHolds(@TempDir Path dir)
      throws IOException {
    ReplicaLogConfig config = new ReplicaLogConfig(4 << 20, 64 << 10, true);
    FileChannelDisk disk = new FileChannelDisk(dir);
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, config);
    log.load();
    log.append(run(1, 1, 3, 100));
    log.flush();
    String first = ReplicaLogFormat.segmentName(1);
    long fileBytes = disk.size(first);
    assertThat(fileBytes).isEqualTo(log.activeSegmentBytes()
        + SegmentedReplicaLog.PREALLOCATE_BYTES_MAX);
    log.append(run(1, 4, 100, 100));
    log.flush();
    assertThat(disk.size(first)).as("appends and fsyncs inside the zeros grow no file")
        .isEqualTo(fileBytes);

    SegmentedReplicaLog restarted = SegmentedReplicaLog.open(new FileChannelDisk(dir), config);
    assertThat(restarted.recoveredEntries()).isEqualTo(run(1, 1, 100, 100));
    restarted.load();
    restarted.append(run(2, 101, 101, 100));
    restarted.flush();
    // fill the first segment until it is sealed and a second one begins
    long index = 102;
    while (restarted.segmentNames().size() < 2) {
      restarted.append(run(2, index, index + 99, 4000));
      index += 100;
    }
    restarted.flush();
    SegmentedReplicaLog again = SegmentedReplicaLog.open(new FileChannelDisk(dir), config);
    assertThat(again.lastIndex()).isEqualTo(index - 1);
    assertThat(again.termAt(101)).isEqualTo(2);
    again.close();
    restarted.close();
    log.close();
  }

  @Test
  void segmentsRotateAndPrefixTruncationDeletesWholeSealedSegments() {
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL);
    for (long i = 1; i <= 200; i += 10) {
      log.append(run(1, i, i + 9, 300));
    }
    assertThat(log.segmentNames().size()).isGreaterThan(5);
    log.append(run(1, 201, 201, 10));
    assertThat(log.lastFlushedIndex()).isLessThan(201);
    assertThatThrownBy(() -> log.truncatePrefix(201)).hasMessageContaining("flushed");
    log.flush();
    int before = log.segmentNames().size();
    log.truncatePrefix(150);
    assertThat(log.firstIndex()).isEqualTo(151);
    assertThat(log.termAt(150)).isZero();
    assertThat(log.termAt(151)).isEqualTo(1);
    assertThat(log.segmentNames().size()).isLessThan(before);
    log.append(run(1, 202, 205, 300));
    log.flush();
    SegmentedReplicaLog reopened = SegmentedReplicaLog.open(RecordingDisk.of(disk.currentImage()), SMALL);
    assertThat(reopened.firstIndex()).isEqualTo(151);
    assertThat(reopened.lastIndex()).isEqualTo(205);
    List<Entry> expected = new ArrayList<>(run(1, 151, 200, 300));
    expected.add(e(1, 201, 10));
    expected.addAll(run(1, 202, 205, 300));
    assertThat(reopened.recoveredEntries()).isEqualTo(expected);
    assertThatThrownBy(reopened::load).hasMessageContaining("the entries between are gone");
  }

  @Test
  void theLogRestartsAfterASnapshotBaseAndResetsBehindAnInstalledOneThroughCrashes() {
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL);
    log.load();
    log.append(run(1, 1, 100, 300));
    log.flush();
    log.truncatePrefix(60);
    // the store kept an image at 70: the core gets 71..100 after it
    SegmentedReplicaLog a = SegmentedReplicaLog.open(RecordingDisk.of(disk.currentImage()), SMALL);
    PersistentState st = a.load(new io.respawn.core.SnapshotMeta(70, 1, null));
    assertThat(st.snapshot().index()).isEqualTo(70);
    assertThat(st.log()).isEqualTo(run(1, 71, 100, 300));
    // compacted beyond the image: the entries between are gone, which must not pass silently
    SegmentedReplicaLog b = SegmentedReplicaLog.open(RecordingDisk.of(disk.currentImage()), SMALL);
    assertThatThrownBy(() -> b.load(new io.respawn.core.SnapshotMeta(40, 1, null)))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("gone");
    // a snapshot at 500 installed: reset after it, then the leader's entries follow
    RecordingDisk d2 = RecordingDisk.of(disk.currentImage());
    SegmentedReplicaLog c = SegmentedReplicaLog.open(d2, SMALL);
    c.load(new io.respawn.core.SnapshotMeta(70, 1, null));
    c.resetAfter(500);
    assertThat(c.firstIndex()).isEqualTo(501);
    assertThat(c.lastIndex()).isEqualTo(500);
    assertThat(c.lastFlushedIndex()).isEqualTo(500);
    assertThat(c.segmentNames()).hasSize(1);
    c.append(run(3, 501, 520, 300));
    io.respawn.core.SnapshotMeta installed = new io.respawn.core.SnapshotMeta(500, 3, null);
    // every crash state after the reset: the log continues the snapshot, with a prefix of 501..520
    java.util.Random rnd = new java.util.Random(11);
    for (int i = 0; i < 40; i++) {
      SegmentedReplicaLog r = SegmentedReplicaLog.open(RecordingDisk.of(d2.crashImage(rnd)), SMALL);
      PersistentState rs = r.load(installed);
      assertThat(rs.log()).isEqualTo(run(3, 501, 500 + rs.log().size(), 300));
      assertThat(r.firstIndex()).isEqualTo(501);
    }
    c.flush();
    // a store ahead of its log (a crash between installing an image and the reset): reset here
    SegmentedReplicaLog e = SegmentedReplicaLog.open(RecordingDisk.of(d2.currentImage()), SMALL);
    PersistentState es = e.load(new io.respawn.core.SnapshotMeta(800, 4, null));
    assertThat(es.log()).isEmpty();
    assertThat(e.firstIndex()).isEqualTo(801);
    e.append(run(4, 801, 802, 10));
    e.flush();
    // and another term at the base index: the log does not continue it either
    SegmentedReplicaLog f = SegmentedReplicaLog.open(RecordingDisk.of(d2.currentImage()), SMALL);
    assertThat(f.load(new io.respawn.core.SnapshotMeta(510, 5, null)).log()).isEmpty();
    assertThat(f.firstIndex()).isEqualTo(511);
  }

  @Test
  void oneAppendLargerThanABatchIsSplitAndAnEntryLargerThanABatchIsRefused() {
    SegmentedReplicaLog log = SegmentedReplicaLog.open(new RecordingDisk(), SMALL);
    log.append(run(1, 1, 20, 500)); // ~11 KiB: several batches, one segment rotation
    assertThat(log.lastIndex()).isEqualTo(20);
    assertThatThrownBy(() -> log.append(List.of(e(1, 21, 4000))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("entryBytesMax");
    assertThat(log.lastIndex()).isEqualTo(20);
    assertThatThrownBy(() -> log.append(List.of(e(1, 23, 10))))
        .hasMessageContaining("after 1/20");
    assertThatThrownBy(() -> log.truncateSuffix(22)).hasMessageContaining("outside");
  }

  @Test
  void aTornTailIsCutAndLaterAppendsContinueAfterIt() {
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL);
    log.append(run(1, 1, 3, 100));
    log.flush();
    log.append(run(1, 4, 4, 100));
    Map<String, byte[]> image = disk.currentImage();
    String seg = ReplicaLogFormat.segmentName(1);
    byte[] bytes = image.get(seg);
    bytes[(int) log.activeSegmentBytes() - 5] ^= 0x40; // the unflushed last batch is torn
    RecordingDisk crashed = RecordingDisk.of(image);
    SegmentedReplicaLog recovered = SegmentedReplicaLog.open(crashed, SMALL);
    assertThat(recovered.recoveredEntries()).isEqualTo(run(1, 1, 3, 100));
    assertThat(recovered.lastFlushedIndex()).isEqualTo(3);
    recovered.append(run(2, 4, 5, 100));
    recovered.flush();
    SegmentedReplicaLog again = SegmentedReplicaLog.open(RecordingDisk.of(crashed.currentImage()), SMALL);
    List<Entry> expected = new ArrayList<>(run(1, 1, 3, 100));
    expected.addAll(run(2, 4, 5, 100));
    assertThat(again.load().log()).isEqualTo(expected);
  }

  @Test
  void corruptionOfFlushedBytesIsRefusedNamingSegmentAndOffset() {
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL);
    for (long i = 1; i <= 60; i += 5) {
      log.append(run(1, i, i + 4, 200));
    }
    log.flush();
    assertThat(log.segmentNames().size()).isGreaterThan(1);
    Map<String, byte[]> image = disk.currentImage();
    byte[] first = image.get(ReplicaLogFormat.segmentName(1));
    first[200] ^= 0x01; // a bit flip in a sealed segment
    assertThatThrownBy(() -> SegmentedReplicaLog.open(RecordingDisk.of(image), SMALL))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining(ReplicaLogFormat.segmentName(1))
        .hasMessageContaining("sealed");
    // a flip in flushed bytes of the last segment, followed by a batch that says they were flushed
    RecordingDisk disk2 = new RecordingDisk();
    SegmentedReplicaLog log2 = SegmentedReplicaLog.open(disk2, SMALL);
    log2.append(run(1, 1, 2, 100));
    log2.flush();
    log2.append(run(1, 3, 3, 100)); // carries the flushed offset in its commit record
    Map<String, byte[]> image2 = disk2.currentImage();
    image2.get(ReplicaLogFormat.segmentName(1))[40] ^= 0x01;
    assertThatThrownBy(() -> SegmentedReplicaLog.open(RecordingDisk.of(image2), SMALL))
        .isInstanceOf(StorageException.class).hasMessageContaining("flush had covered")
        .hasMessageContaining("offset 16");
  }

  @Test
  void hardStateSlotsAlternateAndATornSaveFallsBackToThePreviousOne() throws IOException {
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL);
    HardState a = new HardState(3, NodeId.of(1), 0);
    HardState b = new HardState(4, null, 2);
    log.saveHardState(a);
    log.saveHardState(b);
    assertThat(SegmentedReplicaLog.open(RecordingDisk.of(disk.currentImage()), SMALL).hardState())
        .isEqualTo(b);
    // tear the slot holding b: recovery falls back to a
    Map<String, byte[]> image = disk.currentImage();
    byte[] hs = image.get(ReplicaLogFormat.HARD_STATE_FILE);
    hs[10] ^= 0x7f; // b (generation 2) lives in slot 0
    assertThat(SegmentedReplicaLog.open(RecordingDisk.of(image), SMALL).hardState()).isEqualTo(a);
    // a disk failure makes the log refuse further writes until reopened
    disk.failFlushes(new IOException("Input/output error"));
    assertThatThrownBy(() -> log.saveHardState(a)).isInstanceOf(StorageException.class);
    disk.failFlushes(null);
    assertThatThrownBy(() -> log.append(run(1, 1, 1, 10))).hasMessageContaining("reopen");
  }

  @Test
  void segmentNamesRoundTripAndStrangersAreIgnored() {
    assertThat(ReplicaLogFormat.parseSegmentName(ReplicaLogFormat.segmentName(42))).isEqualTo(42);
    assertThat(ReplicaLogFormat.parseSegmentName("rlog-12.seg")).isEqualTo(-1);
    assertThat(ReplicaLogFormat.parseSegmentName("00000000000000000001-0.log")).isEqualTo(-1);
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog.open(disk, SMALL).append(run(1, 1, 2, 10));
    Map<String, byte[]> image = disk.currentImage();
    image.put("notes.txt", "hello".getBytes(StandardCharsets.US_ASCII));
    SegmentedReplicaLog reopened = SegmentedReplicaLog.open(RecordingDisk.of(image), SMALL);
    assertThat(reopened.lastIndex()).isEqualTo(2);
    assertThat(ByteBuffer.wrap(image.get("notes.txt")).remaining()).isEqualTo(5);
  }
}
