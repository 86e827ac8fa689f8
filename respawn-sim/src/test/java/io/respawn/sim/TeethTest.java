package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Variant;
import io.respawn.sim.nemesis.NemesisConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Does the simulator have teeth? Each deliberately broken core or runtime variant must be caught
 * within a
 * bounded number of seeds, and the failing seed must replay to the same violation.
 *
 * <p>The aggressive nemesis (frequent, short faults) makes elections frequent, which these bugs
 * need in order to show. The lease variants (READ_AFTER_LEASE, TRANSFER_KEEPS_LEASE) need one
 * narrow window that random faults open in only 1 seed in 30 to 50; LeaseScenarioTest opens it
 * on purpose and catches them there. INSTALL_STALE_SNAPSHOT needs snapshot transfers, which the
 * standard config's small snapshot threshold makes frequent.
 */
class TeethTest {

  static final long SEEDS_MAX = 60;

  /**
   * The aggressive sweep, with the nemesis's membership changes in every seed (the spare policy,
   * which takes their place in a quarter of the seeds, has teeth of its own below).
   */
  static SimConfig configFor(Variant variant) {
    return SimConfig.standard().withVariant(variant).withNemesis(NemesisConfig.aggressive())
        .withReplaceAfterMillis(0);
  }

  @ParameterizedTest
  @EnumSource(value = Variant.class,
      names = {"COMMIT_WITHOUT_BACKUP", "VOTE_STALE_LOG", "INSTALL_STALE_SNAPSHOT",
          "JOINT_NEW_ONLY", "TICK_DUE_IGNORES_SILENCE"})
  void brokenVariantIsCaught(Variant variant) {
    SimConfig config = configFor(variant);
    RunResult caught = null;
    for (long seed = 1; seed <= SEEDS_MAX && caught == null; seed++) {
      RunResult r = Simulation.run(seed, config);
      if (!r.clean()) {
        caught = r;
      }
    }
    assertThat(caught).as(variant + " escaped " + SEEDS_MAX + " seeds").isNotNull();
    System.out.println("teeth: " + variant + " caught at seed " + caught.seed() + " by "
        + caught.violations().get(0));

    RunResult replay = Simulation.run(caught.seed(), config);
    assertThat(replay.violations()).as("replay of seed " + caught.seed())
        .isEqualTo(caught.violations());
  }

  /**
   * stand-in-ended-covered has teeth for hand-backs too: a leader that goes on committing on the
   * witness's answers alone while it hands a stand-in back, and ends it once the backup flushed
   * what was committed when the hand-back began, is caught. The correct core runs the catching
   * seed clean. It needs a commit on the witness alone in the few milliseconds between the
   * hand-back and the backup's next flush report, rare under random faults: 5 of seeds 1..400
   * since the leader's flow control (first 135; 55 before it changed the catch-ups' timing).
   */
  @Test
  void aHandBackThatStillCommitsOnTheWitnessAloneIsCaught() {
    assertCaughtByStandInEndedCovered(Variant.HAND_BACK_UNCAPPED, HAND_BACK_SEEDS_MAX);
  }

  static final long HAND_BACK_SEEDS_MAX = 200;

  /**
   * appends-in-flight has teeth: a leader without flow control, which sends a follower that
   * stopped answering every write it takes, is caught; so is one whose every heartbeat round
   * restarts the pipeline to a follower that has not answered since the last (a budget of the
   * same entries again per round). The correct core runs the catching seed clean.
   */
  @ParameterizedTest
  @EnumSource(value = Variant.class, names = {"UNBOUNDED_PIPELINE", "PROBE_SILENT_FOLLOWERS"})
  void aLeaderThatSendsASilentFollowerPastTheFlowControlIsCaught(Variant variant) {
    assertCaughtBy(configFor(variant), "appends-in-flight", SEEDS_MAX);
  }

  /**
   * stand-in-ended-covered has teeth: a leader that ends its own stand-in at the backup's first
   * answer, before the backup holds what was committed under the stand-in, is caught. The
   * correct core runs the catching seed clean.
   */
  /**
   * A spare policy that takes a member silent for one heartbeat interval as gone replaces and
   * removes members that were answering all along: replaced-while-heard catches it, with spares
   * (16 heartbeats' bound) in a 1+1+1 shard.
   */
  @Test
  void aPrimaryThatReplacesMembersItStillHearsIsCaught() {
    assertCaughtBy(SimConfig.standard().withShape(Shape.P1_B1_W1).withReplaceAfterMillis(400)
        .withVariant(Variant.REPLACE_AFTER_ONE_HEARTBEAT), "replaced-while-heard", SEEDS_MAX);
  }

  /**
   * A spare policy that uses a spare primary as a spare witness puts it beside a primary that
   * answers (in a silent witness's place, or promoted with nothing left to replace):
   * two-primaries catches the configuration it proposes, with spares in a 1+1+1 shard whose
   * spare that may lead is a primary.
   */
  @Test
  void aSparePrimaryPutBesideThePrimaryIsCaught() {
    assertCaughtBy(SimConfig.standard().withShape(Shape.P1_B1_W1).withReplaceAfterMillis(400)
        .withLeadingSpareRole(io.respawn.core.Role.PRIMARY)
        .withVariant(Variant.PRIMARY_SPARE_BESIDE_PRIMARY), "two-primaries", SEEDS_MAX);
  }

  @Test
  void aStandInEndedBeforeTheBackupCaughtUpIsCaught() {
    assertCaughtByStandInEndedCovered(Variant.STAND_IN_ENDS_BEHIND, SEEDS_MAX);
  }

  /**
   * Runs seeds from 1 with {@code variant}, every seed's leaders standing in by themselves after
   * 3 heartbeats of silence, until one is caught: see {@link #assertCaughtBy}.
   */
  private static void assertCaughtByStandInEndedCovered(Variant variant, long seedsMax) {
    // The nemesis's membership changes in every seed, as when these bounds were set (the spare
    // policy, which replaces them in a quarter of the seeds, has teeth of its own below).
    assertCaughtBy(SimConfig.standard().withStandInAfterMillis(75).withReplaceAfterMillis(0)
        .withVariant(variant), "stand-in-ended-covered", seedsMax);
  }

  /**
   * The primary's writes in flight (the runtime's InFlightWrites, which the server's primaries
   * use) have teeth in the CI sweep's own configuration: commands that do not see them (an INCR
   * computed on the applied state alone), and reads of them answered before they commit, are
   * caught by the linearizability checker; the correct rules run the catching seed clean.
   */
  @ParameterizedTest
  @EnumSource(value = Variant.class, names = {"IN_FLIGHT_INVISIBLE", "OVERLAY_READ_UNGATED"})
  void thePrimarysWritesInFlightHaveTeeth(Variant variant) {
    assertCaughtBy(SimConfig.standard().withVariant(variant), "linearizability", SEEDS_MAX);
  }

  /**
   * Value recovery (the runtime's ValueRecovery, which the server's new primaries run) has teeth
   * in the CI sweep's own configuration: a recovery that forgets a source may be behind (answers
   * read below the index the new primary needs, installed as if current) serves a value older
   * than a write the new primary knows of, and the linearizability checker catches the read; the
   * correct recovery runs the catching seed clean.
   */
  @Test
  void valueRecoveryHasTeeth() {
    assertCaughtBy(SimConfig.standard().withVariant(Variant.PULL_IGNORES_APPLIED_INDEX),
        "linearizability", SEEDS_MAX);
  }

  /**
   * The give-back (the runtime's LeadershipHandOver, which the server's members run) has teeth
   * in the CI sweep's own configuration: a leader that never gives leadership back to the
   * configured primary is caught by primary-not-given-back after the final reads; the correct
   * rule runs the catching seed clean.
   */
  @Test
  void theGiveBackHasTeeth() {
    assertCaughtBy(SimConfig.standard().withVariant(Variant.NEVER_GIVE_BACK),
        "primary-not-given-back", SEEDS_MAX);
  }

  /**
   * Runs seeds from 1 under {@code config} (a broken variant) until one is caught, within
   * {@code seedsMax}: by {@code invariant}, the same way when run again, and clean with the
   * correct core.
   */
  private static void assertCaughtBy(SimConfig config, String invariant, long seedsMax) {
    RunResult caught = null;
    for (long seed = 1; seed <= seedsMax && caught == null; seed++) {
      RunResult r = Simulation.run(seed, config);
      if (!r.clean()) {
        caught = r;
      }
    }
    assertThat(caught).as(config.variant() + " escaped " + seedsMax + " seeds").isNotNull();
    System.out.println("teeth: " + config.variant() + " caught at seed " + caught.seed() + " by "
        + caught.violations().get(0));
    assertThat(caught.violations().get(0).invariant()).isEqualTo(invariant);
    assertThat(Simulation.run(caught.seed(), config).violations())
        .isEqualTo(caught.violations());
    assertThat(Simulation.run(caught.seed(), config.withVariant(Variant.CORRECT)).violations())
        .isEmpty();
  }

  /**
   * The liveness check has teeth: a core that withholds flush reports (a follower reports its
   * flush only in the answer to an AppendEntries with entries) is safe, so no safety check can
   * catch it, but in the quiet phase after the faults its DURABLE writes wait for a report that
   * never comes. durable-ack-late must catch it, in the standard configuration; the correct core
   * runs the same seeds clean (SimulationSweepTest).
   */
  @Test
  void aWithheldFlushReportIsCaughtByTheLivenessCheck() {
    SimConfig config = SimConfig.standard().withVariant(Variant.WITHHOLD_FLUSH_REPORT);
    RunResult caught = null;
    for (long seed = 1; seed <= 10 && caught == null; seed++) {
      RunResult r = Simulation.run(seed, config);
      if (!r.clean() && r.violations().get(0).invariant().equals("durable-ack-late")) {
        caught = r;
      }
    }
    assertThat(caught).as("withhold-flush-report escaped durable-ack-late in 10 seeds")
        .isNotNull();
    System.out.println("teeth: WITHHOLD_FLUSH_REPORT caught at seed " + caught.seed() + " by "
        + caught.violations().get(0));
    assertThat(Simulation.run(caught.seed(), config).violations())
        .isEqualTo(caught.violations());
    assertThat(Simulation.run(caught.seed(), SimConfig.standard()).violations()).isEmpty();
  }

  /**
   * The flush check has teeth: a follower that ignores its leader's {@code flushWanted} flushes
   * only when the runtime's flush interval is up, so every DURABLE acknowledgement comes up to an
   * interval late; durable-ack-late (clock from the flush) cannot see it, durable-flush-late
   * (clock from the write on a write quorum) must, in the standard configuration.
   */
  @Test
  void anIgnoredFlushRequestIsCaughtByTheFlushCheck() {
    SimConfig config = SimConfig.standard().withVariant(Variant.IGNORE_FLUSH_WANTED);
    RunResult caught = null;
    for (long seed = 1; seed <= 10 && caught == null; seed++) {
      RunResult r = Simulation.run(seed, config);
      if (!r.clean() && r.violations().get(0).invariant().equals("durable-flush-late")) {
        caught = r;
      }
    }
    assertThat(caught).as("ignore-flush-wanted escaped durable-flush-late in 10 seeds")
        .isNotNull();
    System.out.println("teeth: IGNORE_FLUSH_WANTED caught at seed " + caught.seed() + " by "
        + caught.violations().get(0));
    assertThat(Simulation.run(caught.seed(), config).violations())
        .isEqualTo(caught.violations());
    assertThat(Simulation.run(caught.seed(), SimConfig.standard()).violations()).isEmpty();
  }

  /**
   * The write-bound checks have teeth. A runtime that counts applied writes waiting only for
   * their durable notice against the in-flight bound (as it did before they got a bound of their
   * own) refuses ORDERED writes QUEUE_FULL while a flush lags, with room left; one that ignores
   * its bounds accepts writes past them. Both are safe (every write is still committed or
   * refused as the protocol says), so only queue-full-unjustified and write-bound-exceeded can
   * see them; with the tight bounds the sweep draws for half its seeds they must, and the
   * correct runtime runs the same seeds clean while it still refuses writes when it is full.
   */
  @ParameterizedTest
  @CsvSource({"COUNT_DURABLE_NOTICES_IN_FLIGHT, queue-full-unjustified",
      "IGNORE_PROPOSAL_BOUNDS, write-bound-exceeded"})
  void brokenWriteBoundsAreCaught(Variant variant, String invariant) {
    SimConfig correct = SimConfig.standard().withProposalLimits(SimProposalLimits.TIGHT);
    SimConfig config = correct.withVariant(variant);
    RunResult caught = null;
    for (long seed = 1; seed <= 10 && caught == null; seed++) {
      RunResult r = Simulation.run(seed, config);
      if (!r.clean() && r.violations().get(0).invariant().equals(invariant)) {
        caught = r;
      }
    }
    assertThat(caught).as(variant + " escaped " + invariant + " in 10 seeds").isNotNull();
    System.out.println("teeth: " + variant + " caught at seed " + caught.seed() + " by "
        + caught.violations().get(0));
    assertThat(Simulation.run(caught.seed(), config).violations())
        .isEqualTo(caught.violations());
    long refusals = 0;
    for (long seed = 1; seed <= 10; seed++) {
      RunResult r = Simulation.run(seed, correct);
      assertThat(r.violations()).as(r.description()).isEmpty();
      refusals += r.stats().queueFullRefusals();
    }
    assertThat(refusals).as("QUEUE_FULL refusals of the correct runtime in seeds 1..10, each"
        + " judged justified").isPositive();
  }
}
