package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.sim.nemesis.NemesisConfig;
import io.respawn.sim.node.NodeTiming;
import io.respawn.sim.workload.WorkloadConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The two durability statements under the exact failure combinations they are about (random
 * faults rarely produce them: followers flush at once, and a leader that lost its unflushed
 * suffix gets it back by catching up before it campaigns). A 1+1+1 shard under steady writes,
 * fsyncs of 60 ms so every member always has an unflushed suffix, no random faults.
 */
class DurabilityScenarioTest {

  static final long SEEDS = 12;

  static SimConfig steady() {
    return SimConfig.standard().withProposalLimits(SimProposalLimits.RUNTIME_DEFAULTS)
        .withShape(Shape.P1_B1_W1).withMembershipChanges(false)
        .withNemesis(new NemesisConfig(1_000, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0))
        .withTiming(new NodeTiming(10_000, 100, 60_000, 60_000))
        .withFlushIntervalMillis(100);
  }

  static List<RunResult> runAll(SimConfig config, Scenario scenario) {
    List<RunResult> out = new ArrayList<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      Simulation sim = new Simulation(seed, config);
      scenario.apply(sim);
      out.add(sim.run());
    }
    return out;
  }

  interface Scenario {
    void apply(Simulation sim);
  }

  /**
   * Primary and backup lose power together, and come back. The moment moves with the seed (1.5 s
   * plus 0..110 ms) so the seeds hit the members' 60 ms fsyncs at different phases, whichever
   * way the replica log completes them.
   */
  static void rackPowerLoss(Simulation sim, boolean machine) {
    long atMillis = 1_500 + 10 * (sim.seed() % SEEDS);
    sim.script(atMillis, f -> {
      f.crash(0, machine);
      f.crash(1, machine);
    });
    sim.script(atMillis + 200, f -> {
      f.restart(0);
      f.restart(1);
    });
  }

  @Test
  void aPowerLossOfTheWholeWriteQuorumMayLoseOrderedWritesButNoDurableOne() {
    List<RunResult> runs = runAll(steady(), sim -> rackPowerLoss(sim, true));
    long losses = 0;
    for (RunResult r : runs) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
      assertThat(r.stats().durableAcks()).isGreaterThan(0);
      losses += r.stats().orderedLosses();
    }
    System.out.println("rack power loss: " + losses + " committed entries lost as allowed over "
        + SEEDS + " seeds");
    assertThat(losses).as("the scenario exercises the allowed loss").isGreaterThan(0);
  }

  /**
   * Every member loses power at once (primary, backup and witness: one rack), each disk in its
   * worst crash state, and comes back. Each keeps only what it had flushed, so ORDERED writes
   * may be lost, but no DURABLE one: it was acknowledged only once a write quorum, the leader
   * among them, had flushed it. Every write asks for DURABLE, and only the end checks run: the
   * control for the broken node below, which loses writes in this very scenario.
   */
  @Test
  void aPowerLossOfEveryMemberLosesNoDurableWrite() {
    for (RunResult r : runAll(everyWriteDurableEndChecksOnly(steady()),
        DurabilityScenarioTest::wholeRackPowerLoss)) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
      assertThat(r.stats().durableAcks()).isGreaterThan(0);
    }
  }

  /** The workload of {@link #aNodeThatAcknowledgesDurableWritesEarlyIsCaught}'s second half. */
  static SimConfig everyWriteDurableEndChecksOnly(SimConfig config) {
    return config.withWorkload(new WorkloadConfig(8, 4, 40, 25, 8, 17, 10, 20_000, 100))
        .withPerEventInvariants(false);
  }

  /**
   * Primary, backup and witness lose power together (moment as in {@link #rackPowerLoss}), each
   * disk left as of its last flush (the worst crash state; the nemesis draws one at random,
   * which may keep some unflushed writes), and come back 200 ms later: every copy of whatever no
   * member had flushed is gone.
   */
  static void wholeRackPowerLoss(Simulation sim) {
    long atMillis = 1_500 + 10 * (sim.seed() % SEEDS);
    sim.script(atMillis, f -> {
      f.powerLossKeepingNothingUnflushed(0);
      f.powerLossKeepingNothingUnflushed(1);
      f.powerLossKeepingNothingUnflushed(2);
    });
    sim.script(atMillis + 200, f -> {
      f.restart(0);
      f.restart(1);
      f.restart(2);
    });
  }

  @Test
  void killingBothProcessesLosesNothing() {
    for (RunResult r : runAll(steady(), sim -> rackPowerLoss(sim, false))) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
      assertThat(r.stats().orderedLosses()).isZero();
      assertThat(r.stats().crashesLosingWrites()).isZero();
    }
  }

  /**
   * Only the backup loses power while the primary is stalled: the witness catches up from the
   * backup and wins with its vote, so writes the primary still holds are lost. The protocol
   * allows this (a write-quorum member lost them in a machine crash); it is why the statement is
   * not "only if every write-quorum member crashed".
   */
  @Test
  void aBackupPowerLossDuringAPrimaryStallMayLoseOrderedWritesThePrimaryStillHolds() {
    List<RunResult> runs = runAll(steady(), DurabilityScenarioTest::backupPowerLossDuringPrimaryStall);
    long withSurvivor = 0;
    for (RunResult r : runs) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
      withSurvivor += r.stats().lossesWithSurvivor();
    }
    System.out.println("backup power loss during a primary stall: " + withSurvivor
        + " losses while the primary held the entry, over " + SEEDS + " seeds");
  }

  /** The backup loses power while the primary is stalled for 2 s; the backup comes back. */
  static void backupPowerLossDuringPrimaryStall(Simulation sim) {
    sim.script(1_500, f -> {
      f.crash(1, true);
      f.pause(0, 2_000_000_000L);
    });
    sim.script(1_550, f -> f.restart(1));
  }

  /**
   * A node that acknowledges DURABLE writes once they commit (written on a write quorum), before
   * a write quorum flushed them, is caught twice: by the per-event check at the moment of the
   * acknowledgement (primary and backup losing power is the usual scenario), and by the end
   * checks alone, as a user would notice: an acknowledged write missing.
   *
   * <p>Why the end-checks half must catch it: with every write DURABLE and fsyncs of 60 ms, at
   * any moment of the steady load the broken leader has acknowledged writes whose flush is still
   * in flight on every member (one flush at a time, each covering what was written before it
   * began). When every member loses power at once and its disk keeps nothing unflushed (the
   * worst crash state, which the disk contract allows), every unflushed copy is gone, so a write
   * acknowledged in that window exists nowhere after the restart; the correct node
   * acknowledges only what the leader and a write quorum flushed, which no crash takes back
   * ({@link #aPowerLossOfEveryMemberLosesNoDurableWrite}, same scenario and workload). The power
   * loss of primary and backup only (the scenario's first version) leaves the witness's copy: a
   * witness compacts no further than the value keepers' images (respawn-sim/FINDINGS.md F7), so
   * it still holds the entry, the restarted primary's catch-up adopts it, and whether the write
   * is lost depends on timing and on the crash states drawn (1 of 12 seeds before that rule, 0
   * of 12 with it); so does it with every member down if the disks may keep some unflushed
   * writes (1 of 12 with the rule).
   */
  @Test
  void aNodeThatAcknowledgesDurableWritesEarlyIsCaught() {
    List<RunResult> runs = runAll(steady().withDurableAckEarly(true),
        sim -> rackPowerLoss(sim, true));
    assertThat(runs).anySatisfy(r -> assertThat(r.violations())
        .anySatisfy(v -> assertThat(v.invariant()).isEqualTo("durable-ack-flushed")));
    // every write asks for DURABLE: then every write the power loss takes was acknowledged early
    List<RunResult> endOnly = runAll(everyWriteDurableEndChecksOnly(
        steady().withDurableAckEarly(true)), DurabilityScenarioTest::wholeRackPowerLoss);
    long lost = endOnly.stream().filter(r -> r.violations().stream()
        .anyMatch(v -> v.invariant().equals("durable-ack-lost"))).count();
    System.out.println("early DURABLE acks, end checks only: " + lost + " of " + SEEDS
        + " seeds lost a DURABLE-acknowledged write");
    assertThat(lost).isGreaterThan(0);
  }
}
