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
 * time; in a second campaign, cuts between the members; in a third, all of them on a 1+2+2
 * shard. The clients' history (with every
 * outcome as the client learned it, and a final read of every key) must be linearizable, which
 * includes every acknowledged write being present afterwards with its value or a later one,
 * and no client may get an unexpected error reply.
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
    runCampaign("kill-primary,kill-any,pause", 7);
  }

  /**
   * Partitions between the members ({@link PeerPartition}: a member's peer traffic dropped both
   * ways, the primary's included, or one member's messages to another), while every client
   * still reaches every member: a primary cut off keeps receiving commands, and must neither
   * answer a read from a lease it lost nor acknowledge a write the others do not hold. Needs
   * root and iptables (bin/test installs iptables; skipped with the reason otherwise).
   */
  @Test
  void cutsBetweenMembersLoseNoAcknowledgedWriteAndStayLinearizable() throws Exception {
    String missing = PeerPartition.missing();
    org.junit.jupiter.api.Assumptions.assumeTrue(missing == null, missing);
    FaultCampaign.Result r = runCampaign("isolate-primary,isolate-any,one-way", 11);
    assertThat(r.cutOffPrimaryMillis()).as("the seed cuts the primary off").isNotEmpty();
  }

  /**
   * Five members (1+2+2: every write waits for both backups, elections need three votes, a
   * witness stands in for a silent backup): kills, stalls and, where iptables is available,
   * cuts, as above.
   */
  @Test
  void aShardOfFiveLosesNoAcknowledgedWriteAndStaysLinearizable() throws Exception {
    String faults = PeerPartition.missing() == null
        ? "kill-primary,kill-any,pause,isolate-primary,isolate-any,one-way"
        : "kill-primary,kill-any,pause";
    runCampaign("1+2+2", faults, 13);
  }

  /**
   * The partition campaign's teeth: members that serve reads whether or not their lease holds
   * (the broken variant {@code read-after-lease}, in the core and in the server's read gate)
   * answer the readers behind a cut with values the new primary has since overwritten, and the
   * checker must see it. Cuts of the primary only, 0.2-3 s: those past the takeover (~1.6-2 s
   * here) leave a window in which both primaries answer.
   */
  @Test
  void aCutOffPrimaryThatReadsWithoutItsLeaseIsCaught() throws Exception {
    String missing = PeerPartition.missing();
    org.junit.jupiter.api.Assumptions.assumeTrue(missing == null, missing);
    assertCaughtOnRealProcesses("read-after-lease", "isolate-primary", 6, 11, "a stale read");
  }

  /**
   * The primary's writes in flight have teeth on real processes too: members whose commands do
   * not see them (the broken variant {@code in-flight-invisible}, in the runtime's
   * InFlightWrites that the server's ReplicatedStore uses) compute an INCR on the applied value
   * alone, so two INCRs of one key in consecutive passes return the same count, and the checker
   * must see it. No fault is needed for that; two pauses keep the campaign short.
   */
  @Test
  void aPrimaryWhoseCommandsMissItsWritesInFlightIsCaught() throws Exception {
    assertCaughtOnRealProcesses("in-flight-invisible", "pause", 2, 12, "a lost increment");
  }

  /** A campaign whose members run {@code variant} must end not linearizable (exit code 1). */
  private void assertCaughtOnRealProcesses(String variant, String faults, int events, long seed,
      String what) throws IOException {
    FaultCampaign campaign = new FaultCampaign();
    int exit = new CommandLine(campaign).execute("--events", Integer.toString(events),
        "--faults", faults, "--broken-variant", variant, "--clients", "8", "--gap-ms", "1500",
        "--data", tmp.resolve(variant).toString(), "--port", Integer.toString(
            LoopbackPorts.freeRange(3, ShardLayout.PEER_PORT_OFFSET)),
        "--seed", Long.toString(seed));
    FaultCampaign.Result r = campaign.result();
    assertThat(r).as("the campaign ran to the end").isNotNull();
    assertThat(r.check().linearizable()).as(what + " is found").isFalse();
    assertThat(exit).isEqualTo(1);
  }

  private FaultCampaign.Result runCampaign(String faults, long seed) throws Exception {
    return runCampaign("1+1+1", faults, seed);
  }

  private FaultCampaign.Result runCampaign(String shape, String faults, long seed)
      throws Exception {
    int events = Integer.getInteger("respawn.faults.events", 6);
    int members = java.util.Arrays.stream(shape.split("\\+")).mapToInt(Integer::parseInt).sum();
    FaultCampaign campaign = new FaultCampaign();
    int exit = new CommandLine(campaign).execute("--shape", shape,
        "--events", Integer.toString(events),
        "--faults", faults, "--clients", "8", "--gap-ms", "1500",
        "--data", tmp.resolve("data").toString(), "--port", Integer.toString(
            LoopbackPorts.freeRange(members, ShardLayout.PEER_PORT_OFFSET)),
        "--seed", Long.toString(seed));
    FaultCampaign.Result r = campaign.result();
    if (r == null || !r.check().linearizable()) {
      printMemberLogs(tmp.resolve("data"));
    }
    assertThat(r).as("the campaign ran to the end").isNotNull();
    assertThat(r.check().linearizable()).as(r.check().description()).isTrue();
    assertThat(r.unexpectedErrors()).isZero();
    assertThat(r.acknowledgedWrites()).as("clients made progress").isGreaterThan(100);
    assertThat(exit).isZero();
    return r;
  }
}
