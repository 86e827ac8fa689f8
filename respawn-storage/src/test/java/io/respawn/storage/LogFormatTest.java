package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.storage.crash.RecordingDisk;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LogFormatTest {
  private static final StorageConfig CONFIG = TestSupport.smallConfig();

  private static Map<String, byte[]> segmentWith(byte[]... batches) {
    int total = LogFormat.SEGMENT_HEADER_BYTES;
    for (byte[] batch : batches) {
      total += batch.length;
    }
    ByteBuffer file = ByteBuffer.allocate(total).put(LogFormat.segmentHeader());
    for (byte[] batch : batches) {
      file.put(batch);
    }
    return Map.of(LogFormat.segmentName(0, 0), file.array());
  }

  private static SegmentScanner scanner(Map<String, byte[]> image) throws Exception {
    RecordingDisk disk = RecordingDisk.of(image);
    String name = LogFormat.segmentName(0, 0);
    SegmentScanner scanner = new SegmentScanner(disk, name, CONFIG, disk.size(name));
    assertThat(scanner.readHeader()).isNull();
    return scanner;
  }

  @Test
  void batchRoundTrips() throws Exception {
    List<Mutation> batch = List.of(
        Mutation.put(b("key"), b("value"), 42), Mutation.delete(b("gone")), Mutation.clear(),
        Mutation.put(b(""), new byte[0]));
    byte[] encoded = LogFormat.encodeBatch(batch, 7, 16);
    assertThat(encoded.length).isEqualTo(LogFormat.batchBytes(batch));
    SegmentScanner scanner = scanner(segmentWith(encoded));
    SegmentScanner.Batch decoded = scanner.next();
    assertThat(decoded).isNotNull();
    assertThat(decoded.offset()).isEqualTo(16);
    assertThat(decoded.bytes()).isEqualTo(encoded.length);
    assertThat(decoded.maxSequence()).isEqualTo(7);
    assertThat(decoded.durableOffset()).isEqualTo(16);
    List<SegmentScanner.Record> records = decoded.records();
    assertThat(records).hasSize(4);
    assertThat(records.get(0).type()).isEqualTo(LogFormat.TYPE_PUT);
    assertThat(records.get(0).key()).isEqualTo(b("key"));
    assertThat(records.get(0).value()).isEqualTo(b("value"));
    assertThat(records.get(0).expiresAtMillis()).isEqualTo(42);
    assertThat(records.get(1).type()).isEqualTo(LogFormat.TYPE_DELETE);
    assertThat(records.get(2).type()).isEqualTo(LogFormat.TYPE_CLEAR);
    assertThat(records.get(3).value()).isEmpty();
    assertThat(scanner.next()).isNull();
    assertThat(scanner.problem()).isNull();
  }

  @Test
  void headerLayoutIsAsDrawn() {
    byte[] encoded = LogFormat.encodeBatch(List.of(Mutation.put(b("k"), b("vv"), 5)), 9, 16);
    ByteBuffer in = ByteBuffer.wrap(encoded);
    assertThat(in.getInt(0)).isEqualTo(33 + 1 + 2);
    assertThat(in.get(8)).isEqualTo(LogFormat.TYPE_PUT);
    assertThat(in.getLong(9)).isEqualTo(9);
    assertThat(in.getLong(17)).isEqualTo(5);
    assertThat(in.getInt(25)).isEqualTo(1);
    assertThat(in.getInt(29)).isEqualTo(2);
    int commit = 36;
    assertThat(in.getInt(commit)).isEqualTo(LogFormat.COMMIT_BYTES);
    assertThat(in.get(commit + 8)).isEqualTo(LogFormat.TYPE_COMMIT);
    assertThat(in.getInt(commit + 33)).isEqualTo(1); // records
    assertThat(in.getInt(commit + 37)).isEqualTo(36); // data bytes
    assertThat(in.getInt(commit + 41)).isEqualTo(LogFormat.crc32c(encoded, 0, 36));
    assertThat(in.getLong(commit + 45)).isEqualTo(16);
  }

  @Test
  void everySingleByteCorruptionIsDetected() throws Exception {
    byte[] first = LogFormat.encodeBatch(List.of(Mutation.put(b("a"), b("1"))), 1, 16);
    byte[] second = LogFormat.encodeBatch(
        List.of(Mutation.put(b("key"), b("value")), Mutation.delete(b("x"))), 2, 16);
    Random random = new Random(5);
    for (int i = 0; i < second.length; i++) {
      byte[] bad = second.clone();
      bad[i] ^= (byte) (1 + random.nextInt(255));
      SegmentScanner scanner = scanner(segmentWith(first, bad));
      assertThat(scanner.next()).isNotNull();
      assertThat(scanner.next()).as("corruption at byte %d", i).isNull();
      assertThat(scanner.problem()).as("corruption at byte %d", i).isNotNull();
      assertThat(scanner.validEnd()).isEqualTo(16 + first.length);
    }
  }

  @Test
  void everyTruncationIsDetected() throws Exception {
    byte[] batch = LogFormat.encodeBatch(List.of(Mutation.put(b("key"), b("value"))), 1, 16);
    for (int cut = 1; cut < batch.length; cut++) {
      byte[] shorter = java.util.Arrays.copyOf(batch, cut);
      SegmentScanner scanner = scanner(segmentWith(shorter));
      assertThat(scanner.next()).isNull();
      assertThat(scanner.problem()).as("cut at %d", cut).isNotNull();
      assertThat(scanner.validEnd()).isEqualTo(16);
    }
  }

  @Test
  void segmentNamesParseAndSort() {
    assertThat(LogFormat.segmentName(7, 2)).isEqualTo("00000000000000000007-2.log");
    assertThat(LogFormat.parseSegmentName("00000000000000000007-2.log"))
        .isEqualTo(new LogFormat.SegmentId(7, 2));
    assertThat(LogFormat.parseSegmentName("7-2.log")).isNull();
    assertThat(LogFormat.parseSegmentName("00000000000000000007-2.log.tmp")).isNull();
    assertThat(LogFormat.parseSegmentName("notes.txt")).isNull();
    assertThat(new LogFormat.SegmentId(3, 1)).isLessThan(new LogFormat.SegmentId(4, 0));
  }

  @Test
  void badSegmentHeaderIsNamed() {
    byte[] header = LogFormat.segmentHeader();
    assertThat(LogFormat.checkSegmentHeader(header, header.length)).isNull();
    assertThat(LogFormat.checkSegmentHeader(header, 3)).startsWith("short segment header");
    header[0] ^= 1;
    assertThat(LogFormat.checkSegmentHeader(header, header.length)).contains("checksum");
    assertThatThrownBy(() -> LogFormat.encodeBatch(List.of(), 1, 16))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void aSingleRecordBatchEncodedWithoutCopyingIsTheSameBytes() {
    byte[] value = new byte[5000];
    new Random(9).nextBytes(value);
    byte[] whole = LogFormat.encodeBatch(List.of(Mutation.put(b("key"), value, 77)), 12, 345);
    ByteBuffer joined = ByteBuffer.allocate(whole.length);
    for (ByteBuffer part : LogFormat.encodeSingleRecordBatch(
        LogFormat.TYPE_PUT, 12, 77, b("key"), value, 345)) {
      joined.put(part);
    }
    assertThat(joined.hasRemaining()).isFalse();
    assertThat(joined.array()).isEqualTo(whole);
  }
}
