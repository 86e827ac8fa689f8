package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Variant;
import io.respawn.sim.nemesis.NemesisConfig;
import io.respawn.sim.net.NetworkConfig;
import io.respawn.sim.node.SimNode;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The takeover modes under the faults they are about, in a 1+1+1 shard with steady clients, no
 * random faults and no message loss (so only the scripted fault can cause an election):
 *
 * <ul>
 *   <li>a stall (SIGSTOP) of the primary shorter than its lease causes no failover under
 *       speculative takeover, although the witness suspects it and warms up;
 *   <li>a stall longer than the lease fails over in both modes, and the checkers stay clean
 *       (the old primary, resumed, serves no read under a lease it lost);
 *   <li>with a silence bound of 800 ms, a stall of 300 ms (past the lease and any warm-up) causes
 *       no failover under speculative takeover; teeth: a witness that ignores the bound
 *       (SPECULATIVE_IGNORES_SILENCE) fails the primary over;
 *   <li>a primary that leads again after a failover (leadership handed back) and at once
 *       stalls for 600 ms is failed over again in every seed; teeth: a detector that keeps the
 *       primary's old window across its leaderships (DETECTOR_KEEPS_OLD_WINDOW) misses them;
 *   <li>teeth: the witness alone loses the primary while the backup still hears it; a backup that
 *       votes anyway (SPECULATIVE_VOTE_IN_LEASE) elects a second primary while the first still
 *       reads under its lease, which the lease-read invariant catches.
 * </ul>
 * Simulated timing: heartbeat 25 ms, lease 120 ms (follower promise ~123 ms), ticks every 10 ms,
 * messages 0.1-8 ms.
 */
class TakeoverScenarioTest {
  static final long SEEDS = 12;

  static SimConfig config(SimTakeover takeover, Variant variant) {
    SimConfig c = SimConfig.standard().withProposalLimits(SimProposalLimits.RUNTIME_DEFAULTS)
        .withShape(Shape.P1_B1_W1).withMembershipChanges(false)
        .withVariant(variant).withTakeover(takeover)
        .withNemesis(new NemesisConfig(1_000, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0));
    NetworkConfig n = c.network();
    return c.withNetwork(new NetworkConfig(n.delayMinMicros(), n.delayMaxMicros(), 0, 0));
  }

  /** One run with the primary stalled for {@code stallMillis} at 1.5 s; term then, and result. */
  record Stalled(long termAtStall, RunResult result, long warmUps) {
    boolean failedOver() {
      return result.stats().highestTerm() > termAtStall;
    }
  }

  static Stalled stallPrimary(long seed, SimTakeover takeover, long stallMillis) {
    return stallPrimary(new Simulation(seed, config(takeover, Variant.CORRECT)), stallMillis);
  }

  static Stalled stallPrimary(Simulation sim, long stallMillis) {
    long[] term = {-1};
    sim.script(1_500, f -> {
      for (SimNode n : sim.nodes()) {
        if (n.isLeader()) {
          term[0] = n.replica().term();
          f.pause(n.id(), stallMillis * 1_000_000);
        }
      }
    });
    RunResult r = sim.run();
    long warmUps = sim.nodes().stream().mapToLong(SimNode::warmUpsDone).sum();
    return new Stalled(term[0], r, warmUps);
  }

  @Test
  void aStallShorterThanTheLeaseCausesNoFailoverUnderSpeculative() {
    long warmUps = 0;
    for (long seed = 1; seed <= SEEDS; seed++) {
      // 60 ms stall + up to a heartbeat interval and a tick before it + delivery < 123 ms.
      Stalled s = stallPrimary(seed, SimTakeover.SPECULATIVE, 60);
      assertThat(s.termAtStall()).as("seed %d: a primary to stall", seed).isPositive();
      assertThat(s.result().violations()).as("seed %d: %s", seed, s.result().description())
          .isEmpty();
      assertThat(s.failedOver()).as("seed %d: failover after a 60 ms stall: %s", seed,
          s.result().description()).isFalse();
      warmUps += s.warmUps();
    }
    // The witness did suspect and warm up in some seeds (soft φ as low as 1), and aborted.
    assertThat(warmUps).as("warm-ups that the primary's return aborted").isPositive();
  }

  /** Speculative, silence bound 800 ms, the primary stalled for 300 ms: failovers in 12 seeds. */
  static int failoversAfterAStallWithinTheSilenceBound(Variant variant) {
    int failovers = 0;
    for (long seed = 1; seed <= SEEDS; seed++) {
      Simulation sim = new Simulation(seed, config(SimTakeover.SPECULATIVE, variant))
          .withSpeculativeSilenceMillis(800);
      // 300 ms + a heartbeat interval, a tick and a delivery before it: well under 800 ms
      Stalled s = stallPrimary(sim, 300);
      assertThat(s.termAtStall()).as("seed %d: a primary to stall", seed).isPositive();
      assertThat(s.result().violations()).as("%s seed %d: %s", variant, seed,
          s.result().description()).isEmpty();
      failovers += s.failedOver() ? 1 : 0;
    }
    return failovers;
  }

  @Test
  void aStallShorterThanTheSilenceBoundCausesNoFailoverThoughItOutlastsTheLease() {
    assertThat(failoversAfterAStallWithinTheSilenceBound(Variant.CORRECT))
        .as("failovers after a 300 ms stall under an 800 ms silence bound").isZero();
    int broken = failoversAfterAStallWithinTheSilenceBound(Variant.SPECULATIVE_IGNORES_SILENCE);
    assertThat(broken).as("SPECULATIVE_IGNORES_SILENCE: failovers after the same stalls")
        .isPositive();
    System.out.println("teeth: SPECULATIVE_IGNORES_SILENCE failed over in " + broken + " of "
        + SEEDS + " seeds");
  }

  /**
   * Hard-timeout: the primary stalls for 4 s at 1.5 s (the witness takes over), leadership is
   * handed back to it from 6.5 s, and as soon as it leads again it stalls for 600 ms. Returns the
   * seeds whose second stall failed over. It stalls at once because every AppendEntries counts
   * as a heartbeat: under the clients' writes a window of 200 arrivals is refilled within a
   * second, which would wash the stale interval out of it.
   */
  static int failoversOfAPrimaryStalledAgainAfterLeadingAgain(Variant variant) {
    int failovers = 0;
    for (long seed = 1; seed <= SEEDS; seed++) {
      Simulation sim = new Simulation(seed, config(SimTakeover.HARD_TIMEOUT, variant)
          .withEventsMax(60_000));
      int[] primary = {-1};
      long[] firstTerm = {-1};
      sim.script(1_500, f -> {
        primary[0] = f.primary();
        firstTerm[0] = sim.nodes().get(primary[0]).replica().term();
        f.pause(primary[0], 4_000 * 1_000_000L);
      });
      long[] term = {-1};
      for (long at = 6_500; at < 9_000; at += 10) {
        boolean askHandBack = at % 100 == 0;
        sim.script(at, f -> {
          int leader = f.primary();
          if (term[0] >= 0 || leader < 0) {
            return;
          }
          long leaderTerm = sim.nodes().get(leader).replica().term();
          if (leader == primary[0] && leaderTerm > firstTerm[0]) {
            term[0] = leaderTerm; // it leads again: stall it now
            f.pause(primary[0], 600 * 1_000_000L);
          } else if (leader != primary[0] && askHandBack) {
            sim.nodes().get(leader).transferLeadership(primary[0]);
          }
        });
      }
      RunResult r = sim.run();
      assertThat(r.violations()).as("%s seed %d: %s", variant, seed, r.description()).isEmpty();
      assertThat(term[0]).as("seed %d: the primary leads again before its second stall: %s",
          seed, r.description()).isPositive();
      failovers += r.stats().highestTerm() > term[0] ? 1 : 0;
    }
    return failovers;
  }

  @Test
  void aPrimaryLeadingAgainAfterAFailoverIsSuspectedAsSoonAsTheFirstTime() {
    assertThat(failoversOfAPrimaryStalledAgainAfterLeadingAgain(Variant.CORRECT))
        .as("failovers after the second 1 s stall").isEqualTo((int) SEEDS);
    int broken = failoversOfAPrimaryStalledAgainAfterLeadingAgain(
        Variant.DETECTOR_KEEPS_OLD_WINDOW);
    assertThat(broken).as("DETECTOR_KEEPS_OLD_WINDOW: failovers after the same stalls")
        .isLessThan((int) SEEDS);
    System.out.println("teeth: DETECTOR_KEEPS_OLD_WINDOW failed over in " + broken + " of "
        + SEEDS + " seeds");
  }

  @Test
  void aStallLongerThanTheLeaseFailsOverInBothModesAndStaysSafe() {
    for (SimTakeover mode : new SimTakeover[] {SimTakeover.SPECULATIVE, SimTakeover.HARD_TIMEOUT}) {
      int failovers = 0;
      for (long seed = 1; seed <= SEEDS; seed++) {
        Stalled s = stallPrimary(seed, mode, 1_000);
        assertThat(s.result().violations()).as("%s seed %d: %s", mode, seed,
            s.result().description()).isEmpty();
        failovers += s.failedOver() ? 1 : 0;
      }
      assertThat(failovers).as("%s: failovers after a 1 s stall", mode).isEqualTo((int) SEEDS);
    }
  }

  /**
   * The witness and the primary cannot reach each other from 1.5 s to 3.5 s; the backup can.
   * Mostly reads: a candidate must be as up to date as the backup, which a steady stream of
   * writes through the primary would prevent (the broken vote then has nothing to grant).
   */
  static List<RunResult> cutWitnessFromPrimary(Variant variant) {
    List<RunResult> out = new ArrayList<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      Simulation sim = new Simulation(seed, config(SimTakeover.SPECULATIVE, variant)
          .withWorkload(new io.respawn.sim.workload.WorkloadConfig(8, 4, 96, 2, 0, 2, 0, 20_000,
              30)));
      sim.script(1_500, f -> {
        for (SimNode n : sim.nodes()) {
          if (n.isLeader()) {
            for (int r : f.replicas()) {
              if (r != n.id() && sim.nodes().get(r).role() == io.respawn.core.Role.WITNESS) {
                f.cutOneWay(n.id(), r);
                f.cutOneWay(r, n.id());
              }
            }
          }
        }
      });
      sim.script(3_500, f -> f.heal());
      out.add(sim.run());
    }
    return out;
  }

  @Test
  void aBackupThatStillHearsThePrimaryRefusesTheWitness() {
    for (RunResult r : cutWitnessFromPrimary(Variant.CORRECT)) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
    }
  }

  @Test
  void aBackupThatVotesWhileThePrimaryHeartbeatsItIsCaught() {
    List<RunResult> runs = cutWitnessFromPrimary(Variant.SPECULATIVE_VOTE_IN_LEASE);
    RunResult caught = runs.stream().filter(r -> !r.clean()).findFirst().orElse(null);
    assertThat(caught).as("SPECULATIVE_VOTE_IN_LEASE escaped " + SEEDS + " seeds").isNotNull();
    System.out.println("teeth: SPECULATIVE_VOTE_IN_LEASE caught at seed " + caught.seed()
        + " by " + caught.violations().get(0));
  }
}
