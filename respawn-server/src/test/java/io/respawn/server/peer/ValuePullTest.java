package io.respawn.server.peer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.NodeId;
import io.respawn.server.peer.ValuePull.PopularityReport;
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
}
