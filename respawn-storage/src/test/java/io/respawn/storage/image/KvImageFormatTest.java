package io.respawn.storage.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class KvImageFormatTest {

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static byte[] image() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    KvImageFormat.Writer w = new KvImageFormat.Writer(out);
    w.value(b("a"), b("1"), 0);
    w.value(b("b"), new byte[0], 1_700_000_000_000L);
    w.unknown(b("c"), 3, 42);
    w.end();
    return out.toByteArray();
  }

  private static List<KvImageFormat.Record> read(byte[] body) throws IOException {
    KvImageFormat.Reader r = new KvImageFormat.Reader(new ByteArrayInputStream(body));
    List<KvImageFormat.Record> out = new ArrayList<>();
    for (KvImageFormat.Record rec = r.next(); rec != null; rec = r.next()) {
      out.add(rec);
    }
    return out;
  }

  @Test
  void recordsComeBackAsWritten() throws IOException {
    byte[] body = image();
    assertThat(body.length).isEqualTo(KvImageFormat.valueRecordBytes(1, 1)
        + KvImageFormat.valueRecordBytes(1, 0) + KvImageFormat.unknownRecordBytes(1)
        + KvImageFormat.END_BYTES);
    List<KvImageFormat.Record> recs = read(body);
    assertThat(recs).hasSize(3);
    assertThat(recs.get(0).isValue()).isTrue();
    assertThat(recs.get(0).value()).isEqualTo(b("1"));
    assertThat(recs.get(1).expiresAtMillis()).isEqualTo(1_700_000_000_000L);
    assertThat(recs.get(1).value()).isEmpty();
    assertThat(recs.get(2).isValue()).isFalse();
    assertThat(recs.get(2).term()).isEqualTo(3);
    assertThat(recs.get(2).index()).isEqualTo(42);
    assertThat(read(emptyImage())).isEmpty();
  }

  @Test
  void aValueWrittenFromASegmentIsTheSameRecordAsFromAnArray() throws IOException {
    byte[] big = new byte[KvImageFormat.Writer.COPY_BUFFER_BYTES * 2 + 17]; // several copies
    new java.util.Random(3).nextBytes(big);
    ByteArrayOutputStream fromArrays = new ByteArrayOutputStream();
    KvImageFormat.Writer a = new KvImageFormat.Writer(fromArrays);
    a.value(b("k"), big, 5);
    a.value(b("e"), new byte[0], 0);
    a.end();
    ByteArrayOutputStream fromSegments = new ByteArrayOutputStream();
    KvImageFormat.Writer s = new KvImageFormat.Writer(fromSegments);
    try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
      java.lang.foreign.MemorySegment off = arena.allocate(big.length);
      off.copyFrom(java.lang.foreign.MemorySegment.ofArray(big));
      s.value(b("k"), off, 5);
      s.value(b("e"), java.lang.foreign.MemorySegment.ofArray(new byte[0]), 0);
    }
    s.end();
    assertThat(fromSegments.toByteArray()).isEqualTo(fromArrays.toByteArray());
    assertThat(read(fromSegments.toByteArray()).get(0).value()).isEqualTo(big);
  }

  private static byte[] emptyImage() throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    new KvImageFormat.Writer(out).end();
    return out.toByteArray();
  }

  @Test
  void aDamagedOrCutBodyIsRefusedWithWhereItWentWrong() throws IOException {
    byte[] body = image();
    // cut anywhere: no end record
    for (int cut = 0; cut < body.length; cut++) {
      byte[] part = Arrays.copyOf(body, cut);
      assertThatThrownBy(() -> read(part)).isInstanceOf(KvImageFormat.ImageFormatException.class);
    }
    // bytes after the end record
    byte[] longer = Arrays.copyOf(body, body.length + 1);
    assertThatThrownBy(() -> read(longer)).hasMessageContaining("after the end record");
    // a count that differs
    byte[] miscounted = body.clone();
    ByteBuffer.wrap(miscounted).putLong(miscounted.length - 8, 2);
    assertThatThrownBy(() -> read(miscounted)).hasMessageContaining("counts 2 records, 3");
    // an unknown kind
    byte[] kind = body.clone();
    kind[0] = 7;
    assertThatThrownBy(() -> read(kind)).hasMessageContaining("record kind 7 at body offset 0");
    // a key length past the limit
    byte[] key = body.clone();
    ByteBuffer.wrap(key).putInt(1, KvImageFormat.KEY_BYTES_MAX + 1);
    assertThatThrownBy(() -> read(key)).hasMessageContaining("key length");
  }

  @Test
  void aWriterRefusesRecordsAfterTheEnd() throws IOException {
    KvImageFormat.Writer w = new KvImageFormat.Writer(new ByteArrayOutputStream());
    w.end();
    assertThatThrownBy(() -> w.value(b("a"), b("1"), 0)).isInstanceOf(IllegalStateException.class);
  }
}
