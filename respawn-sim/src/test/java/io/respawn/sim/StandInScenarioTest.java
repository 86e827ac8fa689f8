package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.NodeId;
import io.respawn.core.Variant;
import io.respawn.sim.nemesis.NemesisConfig;
import io.respawn.sim.net.NetworkConfig;
import io.respawn.sim.node.SimNode;
import org.junit.jupiter.api.Test;

/**
 * A stand-in whose witness falls silent too. In a 1+2+2 shard (n0 primary, n1 and n3 backups,
 * n2 and n4 witnesses) backup n1 is paused for 3 s at 1 s; the primary lets a witness stand in
 * for it after 75 ms of silence; 300 ms later that witness is paused too, for 2.5 s. Writes need
 * n1's stand-in: with the stand-in moved to the other witness they go on, with it left where it
 * was (STAND_IN_STAYS_WITH_SILENT_WITNESS) they wait until one of the two comes back. No other
 * fault (a witness that won the first election hands leadership to the primary at 0.4 s: only a
 * primary stands in by itself); the seed only draws timing, clients and workload. Every run must also pass every
 * checker, the stand-in coverage of the moved stand-in included.
 */
class StandInScenarioTest {
  static final long SEEDS = 8;

  static SimConfig config(Variant variant) {
    SimConfig c = SimConfig.standard().withProposalLimits(SimProposalLimits.RUNTIME_DEFAULTS)
        .withShape(Shape.P1_B2_W2).withMembershipChanges(false).withVariant(variant)
        .withTakeover(SimTakeover.TIMEOUT).withStandInAfterMillis(75)
        .withNemesis(new NemesisConfig(1_000, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0));
    NetworkConfig n = c.network();
    return c.withNetwork(new NetworkConfig(n.delayMinMicros(), n.delayMaxMicros(), 0, 0));
  }

  /** How far the leader's commit index moved from 1.6 s to 3.0 s, both silences under way. */
  static long committedWhileBackupAndStandInAreSilent(long seed, Variant variant) {
    Simulation sim = new Simulation(seed, config(variant));
    long[] commit = {-1, -1};
    int[] standIn = {-1};
    sim.script(400, f -> { // only a primary stands in by itself: make sure n0 leads
      SimNode leader = leader(sim);
      if (leader != null && leader.id() != 0) {
        leader.transferLeadership(0);
      }
    });
    sim.script(1_000, f -> f.pause(1, 3_000_000_000L));
    sim.script(1_300, f -> {
      SimNode leader = leader(sim);
      NodeId witness = leader == null ? null : leader.replica().standIns().get(NodeId.of(1));
      if (witness != null) {
        standIn[0] = witness.value();
        f.pause(standIn[0], 2_500_000_000L);
      }
    });
    sim.script(1_600, f -> commit[0] = leaderCommit(sim));
    sim.script(3_000, f -> commit[1] = leaderCommit(sim));
    RunResult r = sim.run();
    assertThat(r.violations()).as("%s seed %d: %s", variant, seed, r.description()).isEmpty();
    assertThat(standIn[0]).as("seed %d: a witness stood in for the paused backup", seed)
        .isIn(2, 4);
    assertThat(commit).as("seed %d: a leader at 1.6 s and 3.0 s", seed).doesNotContain(-1L);
    return commit[1] - commit[0];
  }

  private static SimNode leader(Simulation sim) {
    return sim.nodes().stream().filter(SimNode::isLeader).findFirst().orElse(null);
  }

  private static long leaderCommit(Simulation sim) {
    SimNode leader = leader(sim);
    return leader == null ? -1 : leader.replica().commitIndex();
  }

  @Test
  void aStandInMovesToAnotherWitnessWhenItsWitnessFallsSilentToo() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      assertThat(committedWhileBackupAndStandInAreSilent(seed, Variant.CORRECT))
          .as("seed %d: entries committed while the backup and its first stand-in were silent",
              seed)
          .isPositive();
    }
  }

  @Test
  void aStandInLeftWithASilentWitnessHoldsEveryWrite() {
    for (long seed = 1; seed <= SEEDS; seed++) {
      assertThat(committedWhileBackupAndStandInAreSilent(seed,
          Variant.STAND_IN_STAYS_WITH_SILENT_WITNESS))
          .as("seed %d: entries committed while the backup and its stand-in were silent", seed)
          .isZero();
    }
  }
}
