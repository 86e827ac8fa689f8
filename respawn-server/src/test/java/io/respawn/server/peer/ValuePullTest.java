package io.respawn.server.peer;

import io.respawn.node.recovery.ValuePull;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.NodeId;
import io.respawn.node.recovery.ValuePull.PopularityReport;
import io.respawn.storage.backup.BatchPullCursor;
import io.respawn.storage.backup.LogKind;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The popularity report frame: round trip, its bound, and bad bytes refused with a reason. */
class ValuePullTest {
  @Test
  void aPopularityReportRoundTrips() {
    long[] hashes = {1L, -1L, 0x0123_4567_89AB_CDEFL};
    ByteBuffer frame = ValuePull.encode(new PopularityReport(NodeId.of(1), NodeId.of(2), 7, 9,
        hashes));
    assertThat(ValuePull.isPullType(Byte.toUnsignedInt(frame.get(1)))).isTrue();
    PopularityReport r = (PopularityReport) ValuePull.decode(frame);
    assertThat(r.from()).isEqualTo(NodeId.of(1));
    assertThat(r.to()).isEqualTo(NodeId.of(2));
    assertThat(r.reportSeq()).isEqualTo(7);
    assertThat(r.requestsSampled()).isEqualTo(9);
    assertThat(r.keyHashes()).containsExactly(hashes);
  }

  @Test
  void aReportOverTheBoundIsRefusedOnBothSides() {
    assertThatThrownBy(() -> new PopularityReport(NodeId.of(1), NodeId.of(2), 1, 1,
        new long[ValuePull.REPORT_HASHES_MAX + 1])).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("REPORT_HASHES_MAX");
    // A frame that claims more hashes than its bytes hold.
    ByteBuffer frame = ValuePull.encode(new PopularityReport(NodeId.of(1), NodeId.of(2), 1, 1,
        new long[] {5L, 6L}));
    ByteBuffer bad = ByteBuffer.allocate(frame.remaining()).put(frame.duplicate()).flip();
    int countAt = 6 + 4 + 4 + 8 + 8;
    bad.putInt(countAt, 3);
    // Re-seal the checksum so that the count check, not the CRC, must catch it.
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bad.array(), 0, bad.limit() - 4);
    bad.putInt(bad.limit() - 4, (int) crc.getValue());
    assertThatThrownBy(() -> ValuePull.decode(bad)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("popularity report");
  }

  @Test
  void batchPullFramesAndPriorityPullsRoundTrip() {
    BatchPullCursor cursor = new BatchPullCursor(LogKind.COLD, 12, 4096);
    ValuePull.BatchPull p = (ValuePull.BatchPull) ValuePull.decode(ValuePull.encode(
        new ValuePull.BatchPull(NodeId.of(3), NodeId.of(2), 41, 7, cursor, 4, 256 << 10)));
    assertThat(p).isEqualTo(new ValuePull.BatchPull(NodeId.of(3), NodeId.of(2), 41, 7, cursor, 4,
        256 << 10));
    ValuePull.BatchPullReply r = (ValuePull.BatchPullReply) ValuePull.decode(ValuePull.encode(
        new ValuePull.BatchPullReply(NodeId.of(2), NodeId.of(3), 41, 900, BatchPullCursor.DONE,
            true, 877, java.util.List.of(new ValuePull.PulledValue("k".getBytes(), true, 5,
                "v".getBytes()), new ValuePull.PulledValue("gone".getBytes(), false, 0, null)))));
    assertThat(r.requestId()).isEqualTo(41);
    assertThat(r.appliedIndex()).isEqualTo(900);
    assertThat(r.clearIndex()).as("the backup's newest CLEAR").isEqualTo(877);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> new ValuePull.BatchPullReply(
        NodeId.of(2), NodeId.of(3), 41, 900, BatchPullCursor.DONE, true, 901, java.util.List.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clearIndex");
    assertThat(r.next().isDone()).isTrue();
    assertThat(r.last()).isTrue();
    assertThat(r.values()).hasSize(2);
    assertThat(new String(r.values().get(0).value())).isEqualTo("v");
    assertThat(r.values().get(0).expiresAtMillis()).isEqualTo(5);
    assertThat(r.values().get(1).found()).isFalse();
    ValuePull.PullKeys k = (ValuePull.PullKeys) ValuePull.decode(ValuePull.encode(
        new ValuePull.PullKeys(NodeId.of(3), NodeId.of(2), 8, 77,
            java.util.List.of("a".getBytes()), true)));
    assertThat(k.priority()).isTrue();
    assertThat(k.minAppliedIndex()).isEqualTo(77);
    assertThat(((ValuePull.PullKeys) ValuePull.decode(ValuePull.encode(new ValuePull.PullKeys(
        NodeId.of(3), NodeId.of(2), 9, 1, java.util.List.of("a".getBytes()))))).priority())
        .isFalse();
  }

  /**
   * A frame encoded into a direct buffer (a backup's BatchPull replies) has the very bytes of the
   * heap one, checksum included, for every kind of message; the buffer is the caller's to release.
   */
  @Test
  void aFrameEncodedIntoADirectBufferIsTheHeapFrameByteForByte() {
    java.util.List<ValuePull.PulledValue> values = new java.util.ArrayList<>();
    java.util.Random random = new java.util.Random(3);
    for (int i = 0; i < 300; i++) {
      byte[] v = new byte[random.nextInt(600)];
      random.nextBytes(v);
      values.add(new ValuePull.PulledValue(("key" + i).getBytes(), i % 7 != 0, i, i % 7 == 0
          ? null : v));
    }
    java.util.List<ValuePull.PullMessage> messages = java.util.List.of(
        new ValuePull.BatchPullReply(NodeId.of(2), NodeId.of(3), 41, 900,
            new BatchPullCursor(LogKind.HOT, 3, 8192), false, 877, values),
        new ValuePull.BatchPullReply(NodeId.of(2), NodeId.of(3), 42, 900, BatchPullCursor.DONE,
            true, java.util.List.of()),
        new ValuePull.PullKeysReply(NodeId.of(2), NodeId.of(3), 8, 77, values.subList(0, 5)),
        new ValuePull.PullKeys(NodeId.of(3), NodeId.of(2), 9, 1,
            java.util.List.of("a".getBytes()), true),
        new PopularityReport(NodeId.of(1), NodeId.of(2), 7, 9, new long[] {1, 2, 3}));
    for (ValuePull.PullMessage m : messages) {
      ByteBuffer heap = ValuePull.encode(m);
      io.netty.buffer.ByteBuf direct = PullFrames.encodeDirect(m,
          io.netty.buffer.PooledByteBufAllocator.DEFAULT);
      try {
        assertThat(direct.isDirect()).isTrue();
        byte[] bytes = new byte[direct.readableBytes()];
        direct.getBytes(direct.readerIndex(), bytes);
        byte[] expected = new byte[heap.remaining()];
        heap.duplicate().get(expected);
        assertThat(bytes).as("%s", m.getClass().getSimpleName()).isEqualTo(expected);
        ValuePull.decode(ByteBuffer.wrap(bytes)); // and it decodes (checksum and all)
      } finally {
        assertThat(direct.release()).isTrue();
      }
    }
  }

  @Test
  void aBatchPullOutsideItsLimitsIsRefusedOnBothSides() {
    assertThatThrownBy(() -> new ValuePull.BatchPull(NodeId.of(3), NodeId.of(2), 1, 1,
        BatchPullCursor.START, ValuePull.BATCH_CHUNKS_MAX + 1, 4096))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("chunksMax");
    assertThatThrownBy(() -> new ValuePull.BatchPull(NodeId.of(3), NodeId.of(2), 1, 1,
        BatchPullCursor.START, 1, ValuePull.BATCH_CHUNK_BYTES_MAX + 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("chunkBytesMax");
    // A frame whose chunk count was changed past the limit (checksum re-sealed).
    ByteBuffer frame = ValuePull.encode(new ValuePull.BatchPull(NodeId.of(3), NodeId.of(2), 1, 1,
        BatchPullCursor.START, 1, 4096));
    ByteBuffer bad = ByteBuffer.allocate(frame.remaining()).put(frame.duplicate()).flip();
    int chunksAt = 6 + 4 + 4 + 8 + 8 + BatchPullCursor.ENCODED_BYTES;
    bad.putInt(chunksAt, 1000);
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bad.array(), 0, bad.limit() - 4);
    bad.putInt(bad.limit() - 4, (int) crc.getValue());
    assertThatThrownBy(() -> ValuePull.decode(bad)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("chunksMax");
    // A truncated BatchPull reply.
    ByteBuffer reply = ValuePull.encode(new ValuePull.BatchPullReply(NodeId.of(2), NodeId.of(3),
        1, 1, BatchPullCursor.START, false, java.util.List.of()));
    ByteBuffer cut = ByteBuffer.allocate(6 + 4 + 4 + 8 + 8 + 3 + 4);
    cut.put(reply.duplicate().limit(6 + 4 + 4 + 8 + 8 + 3)).putInt(0).flip();
    cut.putInt(2, cut.limit() - 10);
    crc = new java.util.zip.CRC32C();
    crc.update(cut.array(), 0, cut.limit() - 4);
    cut.putInt(cut.limit() - 4, (int) crc.getValue());
    assertThatThrownBy(() -> ValuePull.decode(cut)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("truncated");
  }
}
