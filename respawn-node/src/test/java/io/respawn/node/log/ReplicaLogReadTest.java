package io.respawn.node.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Entry;
import io.respawn.core.codec.EntryCodec;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.StorageException;
import io.respawn.storage.crash.RecordingDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link SegmentedReplicaLog#read} (the core's way back to entries it no longer keeps) against a
 * list model, over random appends, suffix truncations, prefix truncations, flushes and reopens,
 * with small segments and batches so that reads cross batches and segments.
 */
class ReplicaLogReadTest {
  private static final ReplicaLogConfig SMALL = SegmentedReplicaLogTest.SMALL;

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6})
  void readsBackWhatTheModelHolds(long seed) {
    Random rnd = new Random(seed);
    RecordingDisk disk = new RecordingDisk();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(disk, SMALL);
    log.load();
    List<Entry> model = new ArrayList<>(); // entries from `first` on
    long first = 1;
    long term = 1;
    for (int step = 0; step < 1_500; step++) {
      long last = first - 1 + model.size();
      int op = rnd.nextInt(20);
      if (op < 10) { // append a few
        if (rnd.nextInt(10) == 0) {
          term++;
        }
        List<Entry> batch = SegmentedReplicaLogTest.run(term, last + 1,
            last + 1 + rnd.nextInt(6), 1 + rnd.nextInt(700));
        log.append(batch);
        model.addAll(batch);
      } else if (op < 12 && !model.isEmpty()) { // a new leader overwrites a suffix
        long from = Math.max(first, last - rnd.nextInt(8));
        term++;
        log.truncateSuffix(from);
        model.subList((int) (from - first), model.size()).clear();
      } else if (op < 14) {
        log.flush();
      } else if (op == 14 && log.lastFlushedIndex() >= first) { // compaction
        long through = first + rnd.nextInt((int) (log.lastFlushedIndex() - first + 1));
        log.truncatePrefix(through);
        model.subList(0, (int) (through + 1 - first)).clear();
        first = through + 1;
      } else if (op == 15) { // restart (the page cache survives)
        log.close();
        disk = RecordingDisk.of(disk.currentImage());
        log = SegmentedReplicaLog.open(disk, SMALL);
        log.load(first == 1 ? io.respawn.core.SnapshotMeta.NONE
            : new io.respawn.core.SnapshotMeta(first - 1, 1, null));
      }
      last = first - 1 + model.size();
      assertThat(log.firstIndex()).isEqualTo(first);
      assertThat(log.lastIndex()).isEqualTo(last);
      for (int probe = 0; probe < 3 && !model.isEmpty(); probe++) {
        long from = first + rnd.nextInt(model.size());
        long to = from + rnd.nextInt(12);
        long bytesMax = rnd.nextInt(4) == 0 ? 1 : 1 + rnd.nextInt(4_000);
        List<Entry> read = log.read(from, to, bytesMax);
        List<Entry> want = expected(model, first, from, to, bytesMax);
        assertThat(read).as("seed %d step %d read %d..%d max %d", seed, step, from, to, bytesMax)
            .isEqualTo(want);
      }
    }
    long last = log.lastIndex();
    SegmentedReplicaLog l = log;
    assertThatThrownBy(() -> l.read(last + 1, last + 5, 1 << 20))
        .isInstanceOf(StorageException.class);
    if (log.firstIndex() > 1) {
      assertThatThrownBy(() -> l.read(l.firstIndex() - 1, last, 1 << 20))
          .isInstanceOf(StorageException.class);
    }
  }

  /** The model's answer: from `from` up to `to`, stopping once more than bytesMax were taken. */
  private static List<Entry> expected(List<Entry> model, long first, long from, long to,
      long bytesMax) {
    List<Entry> out = new ArrayList<>();
    long bytes = 0;
    long last = first - 1 + model.size();
    for (long i = from; i <= Math.min(to, last) && (out.isEmpty() || bytes <= bytesMax); i++) {
      Entry e = model.get((int) (i - first));
      out.add(e);
      bytes += EntryCodec.encodeBody(e).length;
    }
    return out;
  }

  @Test
  void aBatchWhoseBytesChangedOnDiskIsNotReadBack(@TempDir Path dir) throws IOException {
    try (SegmentedReplicaLog log = SegmentedReplicaLog.open(new FileChannelDisk(dir), SMALL)) {
      log.load();
      log.append(SegmentedReplicaLogTest.run(1, 1, 3, 100));
      log.append(SegmentedReplicaLogTest.run(1, 4, 6, 100));
      log.flush();
      String segment = log.segmentNames().get(0);
      // flip a byte inside the second batch's values
      FileChannelDisk raw = new FileChannelDisk(dir);
      long size = log.activeSegmentBytes(); // the file goes on with zeros written ahead
      ByteBuffer b = ByteBuffer.allocate(1);
      raw.read(segment, size - 80, b);
      b.flip();
      byte flipped = (byte) (b.get(0) ^ 0x5A);
      raw.write(segment, size - 80, ByteBuffer.wrap(new byte[] {flipped}));
      raw.close();

      assertThat(log.read(1, 3, 1 << 20)).isEqualTo(SegmentedReplicaLogTest.run(1, 1, 3, 100));
      assertThatThrownBy(() -> log.read(4, 6, 1 << 20)).isInstanceOf(StorageException.class)
          .hasMessageContaining("does not read back whole");
      // the log stays usable: a failed read changes nothing
      log.append(SegmentedReplicaLogTest.run(1, 7, 7, 100));
      assertThat(log.read(7, 7, 1)).hasSize(1);
    }
  }
}
