package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Membership;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import io.respawn.sim.nemesis.NemesisConfig;
import io.respawn.sim.node.SimNode;
import org.junit.jupiter.api.Test;

/**
 * The primary's spare policy on the production runtime: a 1+1+1 shard (n0 primary, n1 backup,
 * n2 witness) with spares n3 (backup) and n4 (witness) and a 400 ms replacement bound. The
 * primary is killed at 1 s and never comes back; the witness takes over, adds spare n4, promotes
 * it once caught up and removes n0. At 3.5 s that leader is killed for good too: n4, the former
 * spare, leads by 4.5 s and writes commit under it between 4.5 and 6 s (clients find it through
 * the backup's leader hints after their timeouts). Before a candidate asked silent voters again,
 * two lost pre-vote messages kept seed 7 without a leader until 4.83 s. Nothing else goes wrong (a witness that won the
 * first election hands leadership to the primary at 0.4 s); the seed draws timing, clients and
 * workload, and every run passes every checker. Each seed runs twice: with n4 a spare witness, and
 * with n4 a spare primary, which takes n0's place as a voter of role primary (a value keeper: it
 * is sent the backup's image and full entries). The leading witness gives leadership back to a
 * spare primary once it is caught up (the give-back, {@code LeadershipHandOver}), so that spare
 * leads before 3.5 s and is the leader killed then; the witness leads again and writes commit
 * under it.
 */
class SpareScenarioTest {
  static final long SEEDS = 8;

  static SimConfig config() {
    return SimConfig.standard().withProposalLimits(SimProposalLimits.RUNTIME_DEFAULTS)
        .withShape(Shape.P1_B1_W1).withTakeover(SimTakeover.TIMEOUT).withReplaceAfterMillis(400)
        .withEventsMax(30_000) // clients write until about 9 s
        .withNemesis(new NemesisConfig(1_000, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0));
  }

  @Test
  void aShardThatLosesItsPrimaryForGoodTakesASpareAndSurvivesTheNextLossToo() {
    for (long run = 0; run < 2 * SEEDS; run++) {
      long seed = 1 + run / 2;
      Role spareRole = run % 2 == 0 ? Role.WITNESS : Role.PRIMARY;
      Simulation sim = new Simulation(seed, config().withLeadingSpareRole(spareRole));
      Membership[] afterFirst = {null};
      int[] firstLeader = {-1};
      int[] secondLeader = {-1};
      long[] commit = {-1, -1};
      sim.script(400, f -> {
        SimNode leader = leader(sim);
        if (leader != null && leader.id() != 0) {
          leader.transferLeadership(0);
        }
      });
      sim.script(1_000, f -> f.crash(0, false));
      sim.script(3_500, f -> {
        SimNode leader = leader(sim);
        afterFirst[0] = leader == null ? null : leader.replica().membership();
        firstLeader[0] = leader == null ? -1 : leader.id();
        if (leader != null) {
          f.crash(leader.id(), false);
        }
      });
      sim.script(4_500, f -> {
        SimNode leader = leader(sim);
        secondLeader[0] = leader == null ? -1 : leader.id();
        commit[0] = leader == null ? -1 : leader.replica().commitIndex();
      });
      sim.script(6_000, f -> {
        SimNode leader = leader(sim);
        commit[1] = leader == null ? -1 : leader.replica().commitIndex();
      });
      RunResult r = sim.run();
      assertThat(r.violations()).as("seed %d: %s", seed, r.description()).isEmpty();
      assertThat(afterFirst[0]).as("seed %d: a leader at 3.5 s", seed).isNotNull();
      assertThat(afterFirst[0].contains(NodeId.of(0))).as("seed %d: n0 removed: %s", seed,
          afterFirst[0]).isFalse();
      assertThat(afterFirst[0].isVoter(NodeId.of(4))).as("seed %d: spare n4 votes: %s", seed,
          afterFirst[0]).isTrue();
      assertThat(afterFirst[0].isJoint()).isFalse();
      assertThat(afterFirst[0].role(NodeId.of(4))).as("seed %d", seed).isEqualTo(spareRole);
      assertThat(r.stats().membersReplaced()).as("seed %d", seed).isEqualTo(1);
      if (spareRole == Role.PRIMARY) {
        assertThat(firstLeader[0]).as("seed %d: the spare primary was given leadership back",
            seed).isEqualTo(4);
        assertThat(secondLeader[0]).as("seed %d: a leader after the spare primary's loss", seed)
            .isNotIn(-1, 4);
      } else {
        assertThat(secondLeader[0]).as("seed %d: the former spare leads after the second loss",
            seed).isEqualTo(4);
      }
      assertThat(commit[1]).as("seed %d: writes commit under it", seed)
          .isGreaterThan(commit[0]);
    }
  }

  private static SimNode leader(Simulation sim) {
    return sim.nodes().stream().filter(n -> n.isUp() && n.isLeader()).findFirst().orElse(null);
  }
}
