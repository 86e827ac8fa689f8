package io.respawn.storage.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.StorageException;
import io.respawn.storage.crash.RecordingDisk;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PersistentBufferTest {
  static final int BUFFER_BYTES = 16 << 10;
  static final String NAME = "buffer";
  /** DiskRegion keeps the ring (all but the first page) in its own file. */
  static final String RING = NAME + DiskRegion.RING_SUFFIX;

  static PersistentBuffer open(RecordingDisk disk) throws Exception {
    return PersistentBuffer.open(
        DiskRegion.open(disk, NAME, BUFFER_BYTES, PersistentBuffer::format), true);
  }

  /** Replays the buffer and returns the seqs of the records found. */
  static List<Long> replay(PersistentBuffer buffer) throws Exception {
    List<Long> seqs = new ArrayList<>();
    buffer.recover((position, record, length) -> seqs.add(BackupFormat.seq(record, 0)));
    return seqs;
  }

  static byte[] value(int n, int fill) {
    byte[] v = new byte[n];
    java.util.Arrays.fill(v, (byte) fill);
    return v;
  }

  @Test
  void recordsWrapAroundTheRingAndReplayInOrder() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    PersistentBuffer buffer = open(disk);
    replay(buffer);
    long ring = buffer.ringBytes();
    List<Long> positions = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      if (i == 2) { // the first two are written back: release them
        buffer.markWrittenBack(buffer.tailPosition(), buffer.tailSeq());
        BackupFormat.Checkpoint c = new BackupFormat.Checkpoint(1, ring, buffer.tailPosition(),
            buffer.tailSeq(), 1, 2, 0, 0, 0, 0, 0, 0);
        buffer.writeCheckpoint(c);
        buffer.forceCheckpoint();
        buffer.checkpointDurable(c);
      }
      assertThat(buffer.hasRoomFor(2950)).as("record %d", i).isTrue();
      positions.add(buffer.append(BackupFormat.TYPE_PUT, true, 1, i + 1, 0, new byte[] {(byte) i}, value(2900, i)));
    }
    // The fifth record did not fit before the end of the lap: a WRAP, then the next lap.
    assertThat(positions.get(4) % ring).isZero();
    assertThat(replay(open(RecordingDisk.of(disk.currentImage())))).containsExactly(3L, 4L, 5L);
    assertThat(buffer.usedBytes()).isEqualTo(2 * 2952 + (ring - 4 * 2952) + 2952); // 3, 4, wrap, 5
  }

  @Test
  void aTornRecordEndsTheReplayAndItsStaleSuccessorNeverComesBack() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    PersistentBuffer buffer = open(disk);
    replay(buffer);
    long a = buffer.append(BackupFormat.TYPE_PUT, true, 1, 1, 0, new byte[] {'a'}, value(100, 1));
    long b = buffer.append(BackupFormat.TYPE_PUT, true, 1, 2, 0, new byte[] {'b'}, value(100, 2));
    assertThat(b).isGreaterThan(a);
    // A crash tears record a (one byte of its value lost) but keeps b whole.
    Map<String, byte[]> image = disk.currentImage();
    image.get(RING)[(int) a + BackupFormat.RECORD_HEADER_BYTES + 10] ^= 0x5a;
    RecordingDisk afterCrash = RecordingDisk.of(image);
    PersistentBuffer recovered = open(afterCrash);
    assertThat(replay(recovered)).isEmpty();
    // A new record of the same length takes a's place; b (seq 2) sits right after it.
    long c = recovered.append(BackupFormat.TYPE_PUT, true, 1, 3, 0, new byte[] {'c'}, value(100, 3));
    assertThat(c).isEqualTo(a);
    // A second recovery must stop after c: b was never part of the recovered history.
    assertThat(replay(open(RecordingDisk.of(afterCrash.currentImage())))).containsExactly(1L);
  }

  @Test
  void anEntryCutShortIsDroppedWhole() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    PersistentBuffer buffer = open(disk);
    replay(buffer);
    buffer.append(BackupFormat.TYPE_PUT, true, 1, 1, 0, new byte[] {'a'}, value(10, 1));
    long first = buffer.append(BackupFormat.TYPE_PUT, false, 1, 2, 0, new byte[] {'b'}, value(10, 2));
    buffer.append(BackupFormat.TYPE_PUT, false, 1, 2, 0, new byte[] {'c'}, value(10, 3));
    assertThat(replay(open(RecordingDisk.of(disk.currentImage())))).containsExactly(1L);
    long last = buffer.append(BackupFormat.TYPE_TOMBSTONE, true, 1, 2, 0, new byte[] {'d'}, null);
    assertThat(replay(open(RecordingDisk.of(disk.currentImage())))).containsExactly(1L, 2L, 3L, 4L);
    // Entry 2's last record is torn: its first two records, though intact, go too.
    Map<String, byte[]> image = disk.currentImage();
    image.get(RING)[(int) last + 20] ^= 1;
    PersistentBuffer torn = open(RecordingDisk.of(image));
    assertThat(replay(torn)).containsExactly(1L);
    assertThat(torn.tailPosition()).isEqualTo(first);
    assertThat(torn.tailSeq()).isEqualTo(2);
  }

  @Test
  void theNewestValidCheckpointWinsAndNoValidOneIsRefused() throws Exception {
    RecordingDisk disk = new RecordingDisk();
    PersistentBuffer buffer = open(disk);
    replay(buffer);
    buffer.append(BackupFormat.TYPE_PUT, true, 1, 1, 0, new byte[] {'a'}, value(10, 1));
    buffer.markWrittenBack(buffer.tailPosition(), buffer.tailSeq());
    BackupFormat.Checkpoint c1 = new BackupFormat.Checkpoint(1, buffer.ringBytes(),
        buffer.tailPosition(), buffer.tailSeq(), 1, 1, 0, 0, 0, 0, 0, 0);
    buffer.writeCheckpoint(c1);
    buffer.forceCheckpoint();
    buffer.checkpointDurable(c1);
    assertThat(open(RecordingDisk.of(disk.currentImage())).durableCheckpoint()).isEqualTo(c1);

    Map<String, byte[]> torn = disk.currentImage();
    torn.get(NAME)[c1.slotOffset() + 20] ^= 1; // the newer slot is damaged: the older one counts
    assertThat(open(RecordingDisk.of(torn)).durableCheckpoint().counter()).isZero();

    torn.get(NAME)[BackupFormat.CHECKPOINT_SLOT_A + 20] ^= 1;
    assertThatThrownBy(() -> open(RecordingDisk.of(torn)))
        .isInstanceOf(StorageException.class)
        .hasMessageContaining("neither checkpoint slot is valid");
  }

  /** Records every pretouch and every write-back started; the rest goes to the region it wraps. */
  static final class TouchRecordingRegion implements PersistentRegion {
    final PersistentRegion inner;
    final List<long[]> touches = new ArrayList<>();
    final List<long[]> writeBacks = new ArrayList<>();

    TouchRecordingRegion(PersistentRegion inner) {
      this.inner = inner;
    }

    @Override public long sizeBytes() { return inner.sizeBytes(); }
    @Override public void write(long offset, byte[] src, int from, int length) { inner.write(offset, src, from, length); }
    @Override public void read(long offset, byte[] dst, int from, int length) { inner.read(offset, dst, from, length); }
    @Override public void force(long offset, long length) throws java.io.IOException { inner.force(offset, length); }
    @Override public void close() throws java.io.IOException { inner.close(); }

    @Override
    public void pretouch(long offset, long length) {
      touches.add(new long[] {offset, length});
      inner.pretouch(offset, length);
    }

    @Override
    public void startWriteBack(long offset, long length) {
      writeBacks.add(new long[] {offset, length});
      inner.startWriteBack(offset, length);
    }

    List<long[]> drain() {
      List<long[]> out = new ArrayList<>(touches);
      touches.clear();
      return out;
    }
  }

  /** A fresh region whose pretouches and write-backs are recorded. */
  static TouchRecordingRegion recordingRegion() throws Exception {
    return new TouchRecordingRegion(
        DiskRegion.open(new RecordingDisk(), NAME, BUFFER_BYTES, PersistentBuffer::format));
  }

  /** The buffer on {@code region}, recovered (empty). */
  static PersistentBuffer replayed(PersistentRegion region) throws Exception {
    PersistentBuffer buffer = PersistentBuffer.open(region, true);
    replay(buffer);
    return buffer;
  }

  @Test
  void prefaultAheadTouchesEachPagePastTheTailOnceAndWrapsWithTheRing() throws Exception {
    TouchRecordingRegion region = recordingRegion();
    PersistentBuffer buffer = replayed(region);
    long ring = buffer.ringBytes();
    long start = BackupFormat.RING_START;
    region.drain(); // recovery's own touches of the ring

    buffer.prefaultAhead(8192);
    assertThat(region.drain()).containsExactly(new long[] {start, 8192});
    buffer.prefaultAhead(8192); // the tail has not moved: nothing new to touch
    assertThat(region.drain()).isEmpty();

    buffer.append(BackupFormat.TYPE_PUT, true, 1, 1, 0, new byte[] {'a'}, value(2900, 1));
    buffer.prefaultAhead(8192); // only the part past what was touched: [8192, 2952 + 8192)
    assertThat(region.drain()).containsExactly(new long[] {start + 8192, 2952});

    buffer.append(BackupFormat.TYPE_PUT, true, 1, 2, 0, new byte[] {'b'}, value(2900, 2));
    buffer.append(BackupFormat.TYPE_PUT, true, 1, 3, 0, new byte[] {'c'}, value(2900, 3));
    long tail = buffer.tailPosition(); // 3 * 2952
    buffer.prefaultAhead(8192); // [11144, tail + 8192) runs past the end of the lap
    long to = tail + 8192;
    assertThat(region.drain()).containsExactly(
        new long[] {start + 11144, ring - 11144}, new long[] {start, to - ring});

    buffer.prefaultAhead(10 * ring); // never more than one lap past the tail: [to, tail + ring)
    assertThat(region.drain()).containsExactly(new long[] {start + to % ring, tail + ring - to});
    buffer.prefaultAhead(10 * ring);
    assertThat(region.drain()).isEmpty();
  }

  @Test
  void releasedRingSpaceIsStartedWritingInStepsOnceAndWrapsWithTheRing() throws Exception {
    TouchRecordingRegion region = recordingRegion();
    PersistentBuffer buffer = replayed(region);
    long ring = buffer.ringBytes();
    long step = buffer.writeOutStepBytes();
    long start = BackupFormat.RING_START;
    assertThat(step).isEqualTo(ring / 4); // a ring this small: a quarter of it

    buffer.startWritingReleased(step - 1); // less than a step waits
    assertThat(region.writeBacks).isEmpty();
    buffer.startWritingReleased(step + 100);
    assertThat(region.writeBacks).containsExactly(new long[] {start, step + 100});
    region.writeBacks.clear();
    buffer.startWritingReleased(step + 200); // 100 more bytes: not yet
    assertThat(region.writeBacks).isEmpty();
    buffer.startWritingReleased(ring + 50); // the rest of the lap and the next one's start
    assertThat(region.writeBacks).containsExactly(
        new long[] {start + step + 100, ring - step - 100}, new long[] {start, 50});
    region.writeBacks.clear();
    buffer.startWritingReleased(5 * ring + 10); // more than a lap since: the ring once
    assertThat(region.writeBacks).containsExactly(
        new long[] {start + 10, ring - 10}, new long[] {start, 10});
  }

  @Test
  void prefaultAheadOnAMappedRingChangesNoRecord(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
      throws Exception {
    java.nio.file.Path file = dir.resolve("buffer");
    PersistentBuffer buffer;
    try (MappedRegion region = MappedRegion.open(file, BUFFER_BYTES, PersistentBuffer::format)) {
      buffer = PersistentBuffer.open(region, true);
      replay(buffer);
      for (int i = 1; i <= 3; i++) {
        buffer.append(BackupFormat.TYPE_PUT, true, 1, i, 0, new byte[] {(byte) i}, value(2900, i));
        buffer.prefaultAhead(buffer.ringBytes()); // the whole ring, records included
      }
      region.force(0, BUFFER_BYTES);
    }
    try (MappedRegion region = MappedRegion.open(file, BUFFER_BYTES, PersistentBuffer::format)) {
      assertThat(replay(PersistentBuffer.open(region, true))).containsExactly(1L, 2L, 3L);
    }
  }
}
