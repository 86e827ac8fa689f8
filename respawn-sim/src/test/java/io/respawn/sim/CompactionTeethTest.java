package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Variant;
import io.respawn.sim.workload.WorkloadConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Teeth for log compaction: a node that keeps a snapshot image (and drops its log behind it)
 * before the image's index is durable on the shard ({@link Variant#COMPACT_BEYOND_DURABLE}) is
 * caught once a machine crash of the write quorum takes back entries it holds. Random faults
 * make such losses rare (they need machine crashes of write-quorum members within a flush
 * interval), so the scenarios of {@link DurabilityScenarioTest} open them on purpose; the
 * correct core passes the same scenarios there. Each scenario runs twice: with the standard
 * workload, and with every write DURABLE (the primary then flushes each write at once, so at the
 * power loss it has often flushed, and kept images of, entries the backup has not; since the
 * backup came back on its own after a power loss (F6) the standard workload alone rarely lands
 * there).
 */
class CompactionTeethTest {

  static final long SEEDS = 40;

  /** Every member snapshots after each applied entry, so that an image reaches the newest ones. */
  static SimConfig steady(Variant variant) {
    return DurabilityScenarioTest.steady().withSnapshotEntriesMin(1).withVariant(variant);
  }

  /** The same with every write DURABLE (keys, mix and think time of DurabilityScenarioTest's). */
  static SimConfig allDurable(SimConfig config) {
    return config.withWorkload(new WorkloadConfig(8, 4, 40, 25, 8, 17, 10, 20_000, 100));
  }

  /**
   * Seeds 1..40 of the rack power loss and of the backup power loss during a primary stall,
   * with the standard workload and with every write DURABLE.
   */
  static List<RunResult> bothScenarios(SimConfig config) {
    List<RunResult> out = new ArrayList<>(scenarios(config));
    out.addAll(scenarios(allDurable(config)));
    return out;
  }

  private static List<RunResult> scenarios(SimConfig config) {
    List<RunResult> out = new ArrayList<>();
    for (long seed = 1; seed <= SEEDS; seed++) {
      Simulation rack = new Simulation(seed, config);
      DurabilityScenarioTest.rackPowerLoss(rack, true);
      out.add(rack.run());
      Simulation stall = new Simulation(seed, config);
      DurabilityScenarioTest.backupPowerLossDuringPrimaryStall(stall);
      out.add(stall.run());
    }
    return out;
  }

  /**
   * Runs {@link #bothScenarios} with {@code variant} and returns in how many runs one of {@code
   * invariants} caught it, printing the first catch and the runs that failed otherwise.
   */
  private static long caughtBy(Variant variant, String... invariants) {
    List<String> by = List.of(invariants);
    List<RunResult> runs = bothScenarios(steady(variant));
    java.util.function.Predicate<RunResult> caught = r -> r.violations().stream()
        .anyMatch(v -> by.contains(v.invariant()));
    String name = variant.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    runs.stream().filter(caught).findFirst().ifPresent(r -> System.out.println(
        "teeth: " + name + " caught at seed " + r.seed() + " by " + r.violations().get(0)));
    long n = runs.stream().filter(caught).count();
    System.out.println(name + ": caught in " + n + " of " + runs.size()
        + " scenario runs; other violations: " + runs.stream()
            .filter(r -> !r.clean() && !caught.test(r))
            .map(r -> r.seed() + ":" + r.violations().get(0).invariant()).toList());
    return n;
  }

  @Test
  void anImageKeptBeforeItIsDurableOnTheShardIsCaught() {
    assertThat(caughtBy(Variant.COMPACT_BEYOND_DURABLE, "snapshot-holds-lost-entry",
        "snapshot-content")).isGreaterThan(0);
  }

  /**
   * The same for fuzzy images ({@link Variant#KEEP_FUZZY_AT_INDEX}): the runtime keeps an image
   * once its own index is durable on the shard, although its walk copied in effects of later
   * entries that a machine crash of the write quorum can still take back.
   */
  @Test
  void aFuzzyImageKeptBeforeItsEffectsAreDurableIsCaught() {
    assertThat(caughtBy(Variant.KEEP_FUZZY_AT_INDEX, "snapshot-holds-lost-entry"))
        .isGreaterThan(0);
  }

  /**
   * Teeth for image holds ({@link Variant#SENDER_HOLDS_NO_IMAGE}): a sender that takes no hold
   * on the image it sends reads it after the member kept a newer one and freed the old (a
   * member closes the replaced image's file once nobody holds it). The simulator's images count
   * holds like a member's image files and report such a read; every member here keeps an image
   * after each entry, so the kept image changes under most transfers.
   */
  @Test
  void aTransferThatHoldsNoImageIsCaughtReadingAFreedOne() {
    assertThat(caughtBy(Variant.SENDER_HOLDS_NO_IMAGE, "snapshot-read-released"))
        .isGreaterThan(0);
  }

  @Test
  void theCorrectCoreKeepsNoImageAWriteQuorumCrashCanTakeBack() {
    long losses = 0;
    for (RunResult r : scenarios(steady(Variant.CORRECT))) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
      losses += r.stats().orderedLosses();
    }
    for (RunResult r : scenarios(allDurable(steady(Variant.CORRECT)))) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
      losses += r.stats().orderedLosses();
    }
    assertThat(losses).as("the scenarios lose committed entries as allowed").isGreaterThan(0);
  }
}
