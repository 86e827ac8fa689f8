package io.respawn.core.codec;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The entries of an AppendEntries are written in place (each one's length patched after it);
 * the bytes on the wire must stay exactly what they were when each entry was encoded on its own
 * and then copied in behind its length.
 */
class EntriesLayoutTest {
  @Test
  void appendEntriesBodiesAreByteForByteTheLengthPrefixedEntries() {
    Random r = new Random(7);
    for (int round = 0; round < 200; round++) {
      List<Entry> entries = new ArrayList<>();
      long index = 1 + r.nextInt(1000);
      for (int i = 0, n = r.nextInt(6); i < n; i++, index++) {
        if (r.nextInt(5) == 0) {
          entries.add(Entry.noop(3, index));
          continue;
        }
        List<byte[]> keys = new ArrayList<>();
        for (int k = 0, nk = r.nextInt(4); k < nk; k++) {
          byte[] key = new byte[1 + r.nextInt(40)];
          r.nextBytes(key);
          keys.add(key);
        }
        byte[] data = new byte[r.nextInt(3000)];
        r.nextBytes(data);
        Entry e = Entry.normal(3, index, Command.of(data, keys));
        entries.add(r.nextBoolean() ? e : e.elide());
      }
      Message.AppendEntries m = new Message.AppendEntries(NodeId.of(1), NodeId.of(2), 3,
          index - entries.size() - 1, 2, entries, 5, 9, 4, 7, 6);
      ByteBuffer frame = MessageCodec.encode(m);

      BodyWriter expected = new BodyWriter();
      expected.i32(1).i32(2).i64(3).i64(m.prevLogIndex()).i64(2).i64(5).i64(9).i64(4).i64(7)
          .i64(6);
      expected.i32(entries.size());
      for (Entry e : entries) {
        BodyWriter one = new BodyWriter();
        EntryCodec.write(one, e);
        ByteBuffer b = one.done();
        // The replica log's body of the entry: sized exactly up front, the same bytes.
        assertThat(ByteBuffer.wrap(EntryCodec.encodeBody(e))).isEqualTo(b);
        assertThat(EntryCodec.bodyBytes(e)).isEqualTo(b.remaining());
        expected.i32(b.remaining()).bytes(b);
      }
      ByteBuffer want = expected.done();
      ByteBuffer body = frame.duplicate().position(Frames.HEADER_BYTES)
          .limit(frame.limit() - Frames.TRAILER_BYTES);
      assertThat(body).as("round %d", round).isEqualTo(want);
      assertThat(MessageCodec.decode(frame.duplicate())).isEqualTo(m);
    }
  }
}
