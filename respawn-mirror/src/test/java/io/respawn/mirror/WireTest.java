package io.respawn.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WireTest {
  static final int LINK = 0x1234_5678;

  static List<ByteBuffer> samples() {
    byte[] frame = new byte[100];
    new Random(1).nextBytes(frame);
    return List.of(
        Wire.data(LINK, 42, FecDecoder.crc32c(frame), frame, frame.length),
        Wire.repair(LINK, new RepairSymbol(2, 64, 7, 8, 99, 0xCAFE, frame)),
        Wire.ack(LINK, 1000, 77),
        Wire.nack(LINK, List.of(new long[] {5, 2}, new long[] {9, 1})));
  }

  @Test
  void everyTypeRoundTrips() {
    byte[] frame = new byte[100];
    new Random(1).nextBytes(frame);
    List<ByteBuffer> s = samples();
    Wire.Data data = (Wire.Data) decode(s.get(0)).packet();
    assertThat(data.seq()).isEqualTo(42);
    assertThat(data.frame()).isEqualTo(frame);
    RepairSymbol r = ((Wire.Repair) decode(s.get(1)).packet()).symbol();
    assertThat(r.layer()).isEqualTo(2);
    assertThat(r.stride()).isEqualTo(64);
    assertThat(r.firstSeq()).isEqualTo(7);
    assertThat(r.count()).isEqualTo(8);
    assertThat(r.lengthXor()).isEqualTo(99);
    assertThat(r.crcXor()).isEqualTo(0xCAFE);
    assertThat(r.xor()).isEqualTo(frame);
    assertThat(decode(s.get(2)).packet()).isEqualTo(new Wire.Ack(1000, 77));
    Wire.Nack nack = (Wire.Nack) decode(s.get(3)).packet();
    assertThat(nack.firsts()).containsExactly(5, 9);
    assertThat(nack.counts()).containsExactly(2, 1);
  }

  @Test
  void headerIsBigEndianWithMagicFirst() {
    ByteBuffer ack = Wire.ack(LINK, 1, 2);
    assertThat(ack.remaining()).isEqualTo(Wire.HEADER_BYTES + Wire.ACK_BODY_BYTES);
    assertThat(ack.get(0)).isEqualTo((byte) 'R');
    assertThat(ack.get(3)).isEqualTo((byte) 'M');
    assertThat(ack.get(5)).isEqualTo(Wire.TYPE_ACK);
    assertThat(ack.getShort(6)).isEqualTo((short) Wire.ACK_BODY_BYTES);
    assertThat(ack.getInt(8)).isEqualTo(LINK);
    assertThat(ack.getLong(16)).isEqualTo(1);
  }

  @Test
  void everyTruncationIsDropped() {
    for (ByteBuffer datagram : samples()) {
      for (int length = 0; length < datagram.remaining(); length++) {
        ByteBuffer cut = datagram.duplicate().limit(length);
        Wire.Decoded d = decode(cut);
        assertThat(d.packet()).as("cut to %d", length).isNull();
        assertThat(d.drop()).as("cut to %d", length).isEqualTo(Wire.Drop.TRUNCATED);
      }
    }
  }

  @Test
  void everySingleBitFlipIsDropped() {
    for (ByteBuffer datagram : samples()) {
      for (int bit = 0; bit < datagram.remaining() * 8; bit++) {
        ByteBuffer bad = RecordingDatagrams.copy(datagram);
        bad.put(bit / 8, (byte) (bad.get(bit / 8) ^ (1 << (bit % 8))));
        assertThat(decode(bad).packet()).as("bit %d flipped", bit).isNull();
      }
    }
  }

  @Test
  void anotherLinksDatagramIsForeign() {
    for (ByteBuffer datagram : samples()) {
      assertThat(Wire.decode(datagram, LINK + 1, 1200).drop()).isEqualTo(Wire.Drop.FOREIGN_LINK);
    }
  }

  @Test
  void randomBytesAreNeverAPacket() {
    Random rnd = new Random(3);
    for (int i = 0; i < 20_000; i++) {
      byte[] junk = new byte[rnd.nextInt(200)];
      rnd.nextBytes(junk);
      if (junk.length >= 6 && rnd.nextBoolean()) {
        ByteBuffer.wrap(junk).putInt(Wire.MAGIC).put((byte) Wire.VERSION); // plausible header
      }
      assertThat(decode(ByteBuffer.wrap(junk)).packet()).isNull();
    }
  }

  @Test
  void aLongerDatagramThanItsBodyIsMalformed() {
    ByteBuffer ack = Wire.ack(LINK, 1, 2);
    ByteBuffer longer = ByteBuffer.allocate(ack.remaining() + 1).put(ack.duplicate());
    longer.rewind();
    assertThat(decode(longer).drop()).isEqualTo(Wire.Drop.MALFORMED);
  }

  @Test
  void framesRoundTripAndRefuseGarbage() {
    ByteBuffer frame = ByteBuffer.allocate(64);
    byte[] group = {1, 2, 3, 4, 5};
    Frames.put(frame, Frames.FLAG_FIRST | Frames.FLAG_LAST, 7, group, 0, 5);
    Frames.put(frame, Frames.FLAG_FIRST, 8, group, 0, 2);
    byte[] bytes = java.util.Arrays.copyOf(frame.array(), frame.position());
    List<Frames.Entry> entries = Frames.parse(bytes);
    assertThat(entries).hasSize(2);
    assertThat(entries.get(0).position()).isEqualTo(7);
    assertThat(entries.get(0).first() && entries.get(0).last()).isTrue();
    assertThat(entries.get(1).bytes()).containsExactly(1, 2);
    assertThat(entries.get(1).last()).isFalse();
    for (int cut = 1; cut < bytes.length; cut++) {
      if (cut != Frames.ENTRY_HEADER_BYTES + 5) {
        assertThat(Frames.parse(java.util.Arrays.copyOf(bytes, cut))).as("cut %d", cut).isNull();
      }
    }
    assertThat(Frames.parse(new byte[0])).isNull();
  }

  private static Wire.Decoded decode(ByteBuffer b) {
    return Wire.decode(b, LINK, 1200);
  }
}
