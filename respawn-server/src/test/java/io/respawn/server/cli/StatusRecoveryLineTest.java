package io.respawn.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * `respawn status` adds a line for a member that is recovering values, and one for a primary
 * that lets a witness stand in for a backup.
 */
class StatusRecoveryLineTest {
  @Test
  void aRecoveringPrimaryGetsALineAndTheOthersNone() {
    Map<String, String> leading = Map.ofEntries(Map.entry("respawn_node_id", "3"),
        Map.entry("respawn_role", "primary"), Map.entry("respawn_last_index", "10"),
        Map.entry("respawn_applied_index", "10"), Map.entry("respawn_recovery_phase", "online"),
        Map.entry("respawn_recovery_keys_left", "1200"), Map.entry("respawn_keys_pulled", "800"),
        Map.entry("respawn_recovery_bytes_pulled", "409600"),
        Map.entry("respawn_recovery_priority_pulls", "42"),
        Map.entry("respawn_recovery_priority_latency_avg_us", "900"),
        Map.entry("respawn_recovery_priority_latency_max_us", "4000"));
    Map<String, String> backup = Map.of("respawn_node_id", "2", "respawn_role", "backup",
        "respawn_applied_index", "10", "respawn_recovery_phase", "none");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StatusCommand.print(List.of(new StatusCommand.Row("127.0.0.1:7380", backup),
        new StatusCommand.Row("127.0.0.1:7381", leading)), new PrintStream(bytes, true,
        StandardCharsets.UTF_8));
    String out = bytes.toString(StandardCharsets.UTF_8);
    assertThat(out).contains("recovery on 3 (127.0.0.1:7381): online, 1200 keys left, 800 keys "
        + "(409600 bytes) pulled, 42 priority pulls (latency avg 900 us, max 4000 us)");
    assertThat(out).doesNotContain("recovery on 2");
  }

  @Test
  void aPrimaryWithAWitnessStandingInForItsBackupGetsALine() {
    Map<String, String> primary = Map.of("respawn_node_id", "1", "respawn_role", "primary",
        "respawn_last_index", "10", "respawn_applied_index", "10",
        "respawn_stand_ins", "2>3");
    Map<String, String> settled = Map.of("respawn_node_id", "1", "respawn_role", "primary",
        "respawn_last_index", "10", "respawn_applied_index", "10", "respawn_stand_ins", "none");
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    StatusCommand.print(List.of(new StatusCommand.Row("127.0.0.1:7379", primary)),
        new PrintStream(bytes, true, StandardCharsets.UTF_8));
    assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("stand-in on primary 1 "
        + "(127.0.0.1:7379): witness 3 stands in for backup 2 (writes commit without that "
        + "backup until it is back and caught up)");
    assertThat(StatusCommand.standInLine(settled)).isNull();
    Map<String, String> handingBack = Map.of("respawn_node_id", "1", "respawn_role", "primary",
        "respawn_stand_ins", "2>3 (handing back)");
    assertThat(StatusCommand.standInLine(handingBack)).isEqualTo("witness 3 stands in for "
        + "backup 2, which is back and caught up (handing back: writes need it again; ends once "
        + "it has flushed)");
  }
}
