package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.NodeId;
import io.respawn.node.recovery.ValuePull.PopularityReport;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.storage.backup.PopularitySampler;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A leader reports what it sampled to every voting backup once per interval, except while it is
 * still recovering values (sampling stays paused then, DESIGN §5.3); a follower reports nothing.
 */
class PopularityReportsTest {
  private static final long MS = 1_000_000;

  @Test
  void aRecoveringLeaderDropsItsSamplesAndReportsAgainOnceRecovered() {
    PopularitySampler sampler = new PopularitySampler(1.0, 1_000, 7);
    List<PullMessage> sent = new ArrayList<>();
    PopularityReports reports = new PopularityReports(NodeId.of(1), sampler, 100 * MS, null,
        sent::add);
    Set<NodeId> backups = Set.of(NodeId.of(2), NodeId.of(3));

    observe(sampler, 10);
    reports.tick(true, backups, true, 0);
    assertThat(sent).as("recovering: nothing reported").isEmpty();
    assertThat(reports.reportsSkippedRecovering()).isEqualTo(1);

    observe(sampler, 10);
    reports.tick(true, backups, true, 50 * MS);
    assertThat(sent).as("not due yet").isEmpty();

    observe(sampler, 5);
    reports.tick(true, backups, false, 100 * MS);
    assertThat(sent).as("recovered: one report per voting backup").hasSize(2)
        .allSatisfy(m -> {
          PopularityReport r = (PopularityReport) m;
          assertThat(r.keyHashes()).as("the samples since the drain that dropped the first 10")
              .hasSize(15);
        });
    assertThat(reports.reportsSent()).isEqualTo(2);

    observe(sampler, 3);
    reports.tick(false, backups, false, 200 * MS);
    assertThat(sent).as("a follower reports nothing").hasSize(2);
  }

  private static void observe(PopularitySampler sampler, int keys) {
    for (int i = 0; i < keys; i++) {
      sampler.observe(("k" + i).getBytes(StandardCharsets.UTF_8));
    }
  }
}
