package io.respawn.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatusCommandTest {

  @Test
  void theSnapshotColumnShowsReceivingProgressElseTheKeptImage() {
    assertThat(StatusCommand.snapshot(Map.of("respawn_snapshot_receiving", "1200",
        "respawn_snapshot_receiving_total_bytes", "4000",
        "respawn_snapshot_receiving_bytes", "1000", "respawn_snapshot_index", "900")))
        .isEqualTo("recv 25% @1200");
    assertThat(StatusCommand.snapshot(Map.of("respawn_snapshot_receiving", "0",
        "respawn_snapshot_receiving_total_bytes", "4000",
        "respawn_snapshot_receiving_bytes", "4000", "respawn_snapshot_index", "1200")))
        .isEqualTo("kept @1200");
    assertThat(StatusCommand.snapshot(Map.of("respawn_snapshots", "off"))).isEqualTo("-");
    assertThat(StatusCommand.snapshot(Map.of())).isEqualTo("-");
  }

  @Test
  void aRowPerMemberWithItsSnapshot() {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StatusCommand.print(List.of(
        new StatusCommand.Row("127.0.0.1:7379", Map.of("respawn_node_id", "1",
            "respawn_role", "primary", "respawn_last_index", "5000",
            "respawn_applied_index", "5000", "respawn_snapshot_index", "4900")),
        new StatusCommand.Row("127.0.0.1:7381", Map.of("respawn_node_id", "4",
            "respawn_role", "backup", "respawn_voting", "0", "respawn_applied_index", "0",
            "respawn_snapshot_receiving", "4900",
            "respawn_snapshot_receiving_total_bytes", "200",
            "respawn_snapshot_receiving_bytes", "50")),
        new StatusCommand.Row("127.0.0.1:7380", null)),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    String[] lines = bytes.toString(StandardCharsets.UTF_8).split("\n");
    assertThat(lines[0]).contains("LAG").contains("SNAPSHOT");
    assertThat(lines[1]).contains("kept @4900");
    assertThat(lines[2]).contains("5000").contains("recv 25% @4900").contains(" no ");
    assertThat(lines[3]).contains("down");
  }
}
