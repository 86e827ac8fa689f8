package io.respawn.core.codec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.core.Membership;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class CodecTest {

  static LongStream seeds() {
    return LongStream.rangeClosed(1, 25);
  }

  static byte[] bytes(Random rnd, int max) {
    byte[] b = new byte[rnd.nextInt(max + 1)];
    rnd.nextBytes(b);
    return b;
  }

  static Membership membership(Random rnd) {
    List<Membership.Member> in = new ArrayList<>();
    int n = 1 + rnd.nextInt(5);
    for (int i = 0; i < n; i++) {
      String address = rnd.nextBoolean() ? "" : "10.0.0." + i + ":7379 10.0.0." + i + ":17379";
      in.add(new Membership.Member(NodeId.of(i), Role.values()[rnd.nextInt(3)],
          i == 0 || rnd.nextBoolean(), address));
    }
    Membership simple = Membership.of(in);
    if (rnd.nextBoolean()) {
      return simple;
    }
    List<Membership.Member> to = new ArrayList<>(in);
    to.add(Membership.Member.voter(n + 7, Role.WITNESS));
    return Membership.joint(simple, to);
  }

  static Entry entry(Random rnd, long index) {
    long term = 1 + rnd.nextInt(5);
    return switch (rnd.nextInt(4)) {
      case 0 -> Entry.noop(term, index);
      case 1 -> Entry.config(term, index, membership(rnd));
      case 2 -> Entry.normal(term, index, Command.elided(List.of(bytes(rnd, 12), bytes(rnd, 3))));
      default -> Entry.normal(term, index, Command.of(bytes(rnd, 40), bytes(rnd, 10)));
    };
  }

  static List<Entry> entries(Random rnd) {
    List<Entry> out = new ArrayList<>();
    long start = 1 + rnd.nextInt(100);
    for (int i = 0; i < rnd.nextInt(5); i++) {
      out.add(entry(rnd, start + i));
    }
    return out;
  }

  static Message appendResponse(NodeId a, NodeId b, long t, Random rnd) {
    long match = rnd.nextInt(99);
    return new Message.AppendEntriesResponse(a, b, t, rnd.nextBoolean(), match, rnd.nextInt(99),
        rnd.nextLong(), match == 0 ? 0 : rnd.nextLong(match + 1), rnd.nextInt(99));
  }

  @Test
  void aFlushedIndexBeyondTheMatchIsRefused() {
    NodeId a = NodeId.of(1);
    assertThatThrownBy(() -> new Message.AppendEntriesResponse(a, a, 1, true, 3, 3, 1, 4))
        .isInstanceOf(IllegalArgumentException.class);
    ByteBuffer ok = MessageCodec.encode(new Message.AppendEntriesResponse(a, a, 1, true, 3, 3, 1, 3));
    byte[] bytes = toArray(ok);
    // flushedIndex is the body's field before the last (imageIndex): make it 4 and fix the
    // frame checksum
    int bodyEnd = bytes.length - 4;
    java.nio.ByteBuffer.wrap(bytes).putLong(bodyEnd - 16, 4);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes, 0, bodyEnd);
    java.nio.ByteBuffer.wrap(bytes).putInt(bodyEnd, (int) crc.getValue());
    assertThatThrownBy(() -> MessageCodec.decode(ByteBuffer.wrap(bytes)))
        .isInstanceOf(CodecException.class).hasMessageContaining("flushedIndex 4 exceeds");
  }

  static List<Message> messages(Random rnd) {
    NodeId a = NodeId.of(rnd.nextInt(9));
    NodeId b = NodeId.of(rnd.nextInt(9));
    long t = rnd.nextInt(1000);
    return List.of(
        new Message.AppendEntries(a, b, t, rnd.nextInt(99), rnd.nextInt(9), entries(rnd),
            rnd.nextInt(99), rnd.nextLong()),
        new Message.AppendEntries(a, b, t, rnd.nextInt(99), rnd.nextInt(9), entries(rnd),
            99 + rnd.nextInt(99), rnd.nextLong(), rnd.nextInt(99), rnd.nextInt(999)),
        appendResponse(a, b, t, rnd),
        new Message.RequestVote(a, b, t, rnd.nextInt(99), rnd.nextInt(9), rnd.nextBoolean()),
        new Message.RequestVoteResponse(a, b, t, rnd.nextBoolean(), rnd.nextBoolean(),
            rnd.nextInt(99), rnd.nextInt(9)),
        new Message.RequestLog(a, b, t, rnd.nextLong(), 1 + rnd.nextInt(99), rnd.nextInt(9),
            rnd.nextInt(64)),
        requestLogResponse(a, b, t, rnd));
  }

  private static Message.RequestLogResponse requestLogResponse(NodeId a, NodeId b, long t,
      Random rnd) {
    int last = rnd.nextInt(99);
    return new Message.RequestLogResponse(a, b, t, rnd.nextLong(), 1 + rnd.nextInt(99),
        rnd.nextBoolean(), entries(rnd), last, rnd.nextInt(9), rnd.nextInt(last + 1));
  }

  private static byte[] toArray(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.duplicate().get(out);
    return out;
  }

  @ParameterizedTest(name = "seed={0}")
  @MethodSource("seeds")
  void messagesRoundTrip(long seed) {
    for (Message m : messages(new Random(seed))) {
      ByteBuffer buf = MessageCodec.encode(m);
      Message back = MessageCodec.decode(buf);
      assertThat(back).as("seed %d", seed).isEqualTo(m);
      assertThat(buf.hasRemaining()).isFalse();
    }
  }

  @ParameterizedTest(name = "seed={0}")
  @MethodSource("seeds")
  void entriesRoundTrip(long seed) {
    Random rnd = new Random(seed);
    for (int i = 1; i <= 20; i++) {
      Entry e = entry(rnd, i);
      assertThat(EntryCodec.decode(EntryCodec.encode(e))).isEqualTo(e);
    }
  }

  @ParameterizedTest(name = "seed={0}")
  @MethodSource("seeds")
  void everyTruncationIsAClearError(long seed) {
    for (Message m : messages(new Random(seed))) {
      byte[] whole = toArray(MessageCodec.encode(m));
      for (int len = 0; len < whole.length; len++) {
        ByteBuffer cut = ByteBuffer.wrap(whole, 0, len);
        assertThatThrownBy(() -> MessageCodec.decode(cut))
            .isInstanceOf(CodecException.class)
            .hasMessageContaining("truncated");
        assertThat(cut.position()).as("nothing consumed").isZero();
      }
    }
  }

  @ParameterizedTest(name = "seed={0}")
  @MethodSource("seeds")
  void everyBitFlipIsDetected(long seed) {
    for (Message m : messages(new Random(seed))) {
      byte[] whole = toArray(MessageCodec.encode(m));
      for (int bit = 0; bit < whole.length * 8; bit++) {
        byte[] bad = whole.clone();
        bad[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThatThrownBy(() -> MessageCodec.decode(ByteBuffer.wrap(bad)))
            .as("bit %d of %s", bit, m.type())
            .isInstanceOf(CodecException.class);
      }
    }
  }

  @Test
  void entryBodiesRoundTripWithoutAFrame() {
    Membership joint = new Membership(
        List.of(Membership.Member.voter(0, Role.PRIMARY), Membership.Member.learner(3, Role.BACKUP)),
        List.of(Membership.Member.voter(0, Role.PRIMARY)));
    for (Entry e : List.of(Entry.normal(3, 9, Command.of("v".getBytes(), "k".getBytes(), "j".getBytes())),
        Entry.normal(3, 10, Command.of("v".getBytes(), "k".getBytes())).elide(),
        Entry.noop(4, 11), Entry.config(4, 12, joint))) {
      byte[] body = EntryCodec.encodeBody(e);
      assertThat(EntryCodec.decodeBody(body)).isEqualTo(e);
      assertThat(body.length).isEqualTo(EntryCodec.encode(e).remaining() - 10); // frame overhead
      byte[] longer = java.util.Arrays.copyOf(body, body.length + 1);
      assertThatThrownBy(() -> EntryCodec.decodeBody(longer)).isInstanceOf(CodecException.class);
    }
  }

  @Test
  void aConfigWrittenBeforeMemberAddressesStillDecodes() {
    // term, index, kind CONFIG, flags 0, then one half of one member written with a voting
    // byte (1) and no address, and an empty outgoing half: the layout logs hold from before
    // members carried addresses.
    ByteBuffer body = ByteBuffer.allocate(8 + 8 + 1 + 1 + 2 + 6 + 2);
    body.putLong(4).putLong(12).put((byte) EntryKind.CONFIG.code).put((byte) 0);
    body.putShort((short) 1).putInt(5).put((byte) 1).put((byte) 1).putShort((short) 0);
    Entry decoded = EntryCodec.decodeBody(body.array());
    assertThat(decoded).isEqualTo(Entry.config(4, 12,
        Membership.of(Membership.Member.voter(5, Role.BACKUP))));
    // an unknown member flag is refused by name
    byte[] bad = body.array().clone();
    bad[8 + 8 + 1 + 1 + 2 + 4 + 1] = 4;
    assertThatThrownBy(() -> EntryCodec.decodeBody(bad)).hasMessageContaining("member flags");
  }

  @Test
  void entryRecordBitFlipsAndTruncationsAreDetected() {
    Entry e = Entry.normal(3, 9, Command.of("value".getBytes(), "key".getBytes()));
    byte[] whole = toArray(EntryCodec.encode(e));
    for (int len = 0; len < whole.length; len++) {
      ByteBuffer cut = ByteBuffer.wrap(whole, 0, len);
      assertThatThrownBy(() -> EntryCodec.decode(cut)).isInstanceOf(CodecException.class);
    }
    for (int bit = 0; bit < whole.length * 8; bit++) {
      byte[] bad = whole.clone();
      bad[bit / 8] ^= (byte) (1 << (bit % 8));
      assertThatThrownBy(() -> EntryCodec.decode(ByteBuffer.wrap(bad)))
          .isInstanceOf(CodecException.class);
    }
  }

  @Test
  void wrongVersionTypeAndTrailingBytesAreRefusedByName() {
    Message m = new Message.RequestVote(NodeId.of(1), NodeId.of(2), 3, 4, 5, false);
    byte[] ok = toArray(MessageCodec.encode(m));
    byte[] v2 = ok.clone();
    v2[0] = 2;
    assertThatThrownBy(() -> MessageCodec.decode(ByteBuffer.wrap(v2)))
        .hasMessageContaining("unsupported frame version 2");
    // a well-checksummed frame with an unknown type, and one with a body too long for its type
    ByteBuffer unknown = Frames.frame(99, ByteBuffer.allocate(16));
    assertThatThrownBy(() -> MessageCodec.decode(unknown)).hasMessageContaining("unknown message type 99");
    ByteBuffer body = ByteBuffer.wrap(ok, Frames.HEADER_BYTES, ok.length - Frames.HEADER_BYTES
        - Frames.TRAILER_BYTES + 0);
    ByteBuffer longer = ByteBuffer.allocate(body.remaining() + 3).put(body).put(new byte[3]).flip();
    ByteBuffer framed = Frames.frame(m.type().code, longer);
    assertThatThrownBy(() -> MessageCodec.decode(framed)).hasMessageContaining("trailing bytes");
    // an absurd length is refused before anything is allocated
    byte[] huge = ok.clone();
    huge[2] = (byte) 0x7F;
    assertThatThrownBy(() -> MessageCodec.decode(ByteBuffer.wrap(huge), 1 << 20))
        .hasMessageContaining("exceeds bodyBytesMax");
  }

  @Test
  void aStreamFedOneByteAtATimeYieldsEveryMessage() {
    List<Message> sent = messages(new Random(5));
    ByteBuffer all = ByteBuffer.allocate(1 << 16);
    for (Message m : sent) {
      all.put(MessageCodec.encode(m));
    }
    all.flip();
    ByteBuffer acc = ByteBuffer.allocate(1 << 16);
    List<Message> got = new ArrayList<>();
    while (all.hasRemaining()) {
      acc.put(all.get());
      acc.flip();
      int len = Frames.peekFrameLength(acc, Frames.BODY_BYTES_MAX_DEFAULT);
      if (len != -1 && acc.remaining() >= len) {
        got.add(MessageCodec.decode(acc));
      }
      acc.compact();
    }
    assertThat(got).isEqualTo(sent);
    assertThat(acc.position()).isZero();
  }
}
