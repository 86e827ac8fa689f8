package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Variant;
import io.respawn.sim.nemesis.FaultTarget;
import io.respawn.sim.nemesis.NemesisConfig;
import io.respawn.sim.node.SimNode;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The lease rules under the one failure they are about: a primary that stops hearing from every
 * other member while clients still reach it. Random faults produce this window
 * rarely (the read-after-lease variant shows in 1 seed in 30 to 50 under the aggressive nemesis),
 * so each rule gets a scenario that produces it every time, and a broken variant it must catch.
 *
 * <ul>
 *   <li><b>Cut-off primary</b> (partitioned from the other members, not from clients): its lease
 *       runs out after the last ack; the others elect a new primary only once their lease
 *       promise has run out. A primary that reads past its lease (READ_AFTER_LEASE) serves
 *       stale reads.
 *   <li><b>Transfer, then deaf</b>: voters break their lease promise for a transfer candidate (it
 *       must win at once, DESIGN §5.5), so the old primary's lease is void from the moment it
 *       starts the transfer. Without the one-way cuts it hears the candidate's vote request a
 *       moment after the others and steps down; with them, a primary that kept its lease
 *       (TRANSFER_KEEPS_LEASE) serves stale reads.
 *   <li><b>Cut off, with a wrong hint</b>: the others are told the primary's process is gone
 *       while it still serves clients. The hint may speed up the election but must not release
 *       a voter's lease promise; one that does (HINT_VOIDS_PROMISE) elects a new primary while
 *       the old one still reads under its lease.
 * </ul>
 * A 1+1+1 shard, steady clients, no random faults.
 */
class LeaseScenarioTest {

  static final long SEEDS = 12;
  /**
   * Seeds of the transfer scenario. Since the simulated witnesses give leadership back to the
   * primary (LeadershipHandOver), the primary leads at 1.5 s in nearly every seed and hands over
   * to the witness, which is slower to win (it catches its log up first) than the primary was
   * from the witness: TRANSFER_KEEPS_LEASE is caught in 7 of seeds 1..60, first at seed 23.
   */
  static final long TRANSFER_SEEDS = 40;

  /**
   * The randomized election timeout (no failure detector), the setting these scenarios were
   * built for; the takeover modes have theirs in TakeoverScenarioTest.
   */
  static SimConfig config(Variant variant) {
    return SimConfig.standard().withProposalLimits(SimProposalLimits.RUNTIME_DEFAULTS)
        .withShape(Shape.P1_B1_W1).withMembershipChanges(false)
        .withVariant(variant).withTakeover(SimTakeover.TIMEOUT)
        .withNemesis(new NemesisConfig(1_000, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0));
  }

  /** How the primary is cut off at 1.5 s. */
  enum Cut { PARTITION, TRANSFER, PARTITION_WITH_WRONG_HINT }

  /**
   * At 1.5 s the primary is cut off from the others, or (transfer) hands over and stops hearing
   * from them, or is cut off while the others are told (wrongly: it is alive and serving
   * clients) that its process is gone; the network heals at 3.5 s.
   */
  static boolean[] deafenPrimary(Simulation sim, long seed, Cut cut) {
    boolean transfer = cut == Cut.TRANSFER;
    boolean[] acted = new boolean[1];
    sim.script(1_500, f -> {
      SimNode leader = sim.nodes().stream().filter(SimNode::isLeader).findFirst().orElse(null);
      if (leader == null) {
        return;
      }
      int[] others = java.util.Arrays.stream(f.replicas()).filter(r -> r != leader.id()).toArray();
      if (transfer) {
        for (int r : others) {
          f.cutOneWay(r, leader.id()); // the TimeoutNow still gets out
        }
        acted[0] = f.transferLeadership(new SplittableRandom(seed)) != null;
      } else {
        f.partition(new int[] {leader.id()}, others);
        if (cut == Cut.PARTITION_WITH_WRONG_HINT) {
          // A hint reaching a node that is busy (a simulated fsync) is dropped: give it a few
          // times over the next 20 ms, as a transport's redials would.
          for (long at = 1_500; at <= 1_520; at += 5) {
            sim.script(at + 1, g -> {
              for (int r : others) {
                sim.nodes().get(r).peerReachability(leader.id(), false);
              }
            });
          }
        }
        acted[0] = true;
      }
    });
    sim.script(3_500, FaultTarget::heal);
    return acted;
  }

  static List<RunResult> runAll(Variant variant, Cut cut) {
    long seeds = cut == Cut.TRANSFER ? TRANSFER_SEEDS : SEEDS;
    List<RunResult> out = new ArrayList<>();
    int acted = 0;
    for (long seed = 1; seed <= seeds; seed++) {
      Simulation sim = new Simulation(seed, config(variant));
      boolean[] a = deafenPrimary(sim, seed, cut);
      out.add(sim.run());
      acted += a[0] ? 1 : 0;
    }
    assertThat(acted).as("the scenario struck in most seeds").isGreaterThan((int) seeds / 2);
    return out;
  }

  static void assertClean(List<RunResult> runs) {
    long leaseReads = 0;
    for (RunResult r : runs) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
      leaseReads += r.stats().leaseReads();
    }
    assertThat(leaseReads).isGreaterThan(0);
  }

  static void assertCaught(Variant variant, List<RunResult> runs) {
    RunResult caught = runs.stream().filter(r -> !r.clean()).findFirst().orElse(null);
    assertThat(caught).as(variant + " escaped " + runs.size() + " seeds").isNotNull();
    System.out.println("teeth: " + variant + " caught at seed " + caught.seed() + " by "
        + caught.violations().get(0));
  }

  @Test
  void aDeafPrimaryServesNoReadOnceItsLeaseRunsOut() {
    assertClean(runAll(Variant.CORRECT, Cut.PARTITION));
  }

  @Test
  void aPrimaryThatReadsPastItsLeaseIsCaught() {
    assertCaught(Variant.READ_AFTER_LEASE, runAll(Variant.READ_AFTER_LEASE, Cut.PARTITION));
  }

  @Test
  void aPrimaryThatHandsOverServesNoReadUnderItsOldLease() {
    assertClean(runAll(Variant.CORRECT, Cut.TRANSFER));
  }

  @Test
  void aPrimaryThatKeepsItsLeaseAcrossATransferIsCaught() {
    assertCaught(Variant.TRANSFER_KEEPS_LEASE, runAll(Variant.TRANSFER_KEEPS_LEASE, Cut.TRANSFER));
  }

  /** A wrong reachability hint (the primary is alive and serves) must not break its lease. */
  @Test
  void aWrongHintThatThePrimaryIsGoneBreaksNoLease() {
    assertClean(runAll(Variant.CORRECT, Cut.PARTITION_WITH_WRONG_HINT));
  }

  @Test
  void aHintThatVoidsTheLeasePromiseIsCaught() {
    assertCaught(Variant.HINT_VOIDS_PROMISE,
        runAll(Variant.HINT_VOIDS_PROMISE, Cut.PARTITION_WITH_WRONG_HINT));
  }
}
