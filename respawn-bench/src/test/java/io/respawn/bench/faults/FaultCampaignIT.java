package io.respawn.bench.faults;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.shard.LoopbackPorts;
import io.respawn.server.shard.ShardLayout;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A fault campaign on real member processes: a 1+1+1 shard started by the supervisor that
 * {@code respawn up} uses, eight clients writing and reading through the Redis protocol, and
 * kill -9 of the primary, kill -9 of any member, and SIGSTOP/SIGCONT of any member, one at a
 * time. The clients' history (with every outcome as the client learned it, and a final read of
 * every key) must be linearizable, which includes every acknowledged write being present
 * afterwards with its value or a later one, and no client may get an unexpected error reply.
 *
 * <p>{@code -Drespawn.faults.events=N} runs a longer campaign (default 6 events).
 */
class FaultCampaignIT {
  @TempDir Path tmp;

  private static void printMemberLogs(Path data) throws IOException {
    try (java.util.stream.Stream<Path> logs = java.nio.file.Files.find(data, 2,
        (p, a) -> p.getFileName().toString().equals("respawn.log"))) {
      for (Path log : logs.sorted().toList()) {
        java.util.List<String> lines = java.nio.file.Files.readAllLines(log);
        System.out.println("---- " + data.relativize(log) + " (last 40 lines)");
        lines.subList(Math.max(0, lines.size() - 40), lines.size()).forEach(System.out::println);
      }
    }
  }

  @Test
  void killsAndStallsOfEveryRoleLoseNoAcknowledgedWriteAndStayLinearizable() throws Exception {
    int events = Integer.getInteger("respawn.faults.events", 6);
    FaultCampaign campaign = new FaultCampaign();
    int exit = new CommandLine(campaign).execute("--events", Integer.toString(events),
        "--faults", "kill-primary,kill-any,pause", "--clients", "8", "--gap-ms", "1500",
        "--data", tmp.resolve("data").toString(), "--port", Integer.toString(
            LoopbackPorts.freeRange(3, ShardLayout.PEER_PORT_OFFSET)),
        "--seed", "7");
    FaultCampaign.Result r = campaign.result();
    if (r == null || !r.check().linearizable()) {
      printMemberLogs(tmp.resolve("data"));
    }
    assertThat(r).as("the campaign ran to the end").isNotNull();
    assertThat(r.check().linearizable()).as(r.check().description()).isTrue();
    assertThat(r.unexpectedErrors()).isZero();
    assertThat(r.acknowledgedWrites()).as("clients made progress").isGreaterThan(100);
    assertThat(exit).isZero();
  }
}
