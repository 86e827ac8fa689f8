package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.sim.nemesis.NemesisConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The replica log's asynchronous fsync, as the shard member runs it ({@link FsyncMode#ASYNC}: the
 * production {@code SegmentedReplicaLog.flushAsynchronously} on the node's virtual-time
 * executor), is what the sweep runs; and a disk whose fsync ends before the bytes are durable
 * ({@link FsyncMode#ENDS_EARLY}) is caught.
 */
class AsyncFsyncTest {

  @Test
  void theSweepRunsTheLogsOwnAsynchronousFsync() {
    SimConfig config = SimConfig.standard();
    assertThat(config.effectiveFsyncMode()).isEqualTo(FsyncMode.ASYNC);
    Sweep.Summary s = Sweep.run(1, 20, config, r -> { });
    assertThat(s.failedSeeds()).isEmpty();
    System.out.println("async fsync, 20 seeds: " + s.stats());
    assertThat(s.stats().asyncFsyncs()).isGreaterThan(1_000);
    assertThat(s.stats().asyncFsyncWaits())
        .as("calls that waited for a running fsync (suffix truncations, resets, seals)")
        .isGreaterThan(0);
    assertThat(s.stats().crashesLosingWrites()).as("crashes lost unflushed tails")
        .isGreaterThan(0);
  }

  @Test
  void theInMemoryModelAndDurableReplicaAcksKeepTheDeferredFlush() {
    assertThat(SimConfig.standard().withEngineStorage(false).effectiveFsyncMode())
        .isEqualTo(FsyncMode.DEFERRED);
    SimConfig durable = SimConfig.standard()
        .withReplicaAck(io.respawn.storage.Durability.DURABLE);
    assertThat(durable.effectiveFsyncMode()).isEqualTo(FsyncMode.DEFERRED);
    RunResult r = Simulation.run(1, durable);
    assertThat(r.violations()).isEmpty();
    assertThat(r.stats().asyncFsyncs()).isZero();
  }

  /** Power loss of primary and backup together while their fsyncs take 60 ms. */
  @Test
  void anFsyncThatEndsBeforeTheDataIsDurableIsCaught() {
    List<RunResult> runs = DurabilityScenarioTest.runAll(
        DurabilityScenarioTest.steady().withFsyncMode(FsyncMode.ENDS_EARLY),
        sim -> DurabilityScenarioTest.rackPowerLoss(sim, true));
    long caught = runs.stream().filter(r -> !r.clean()).count();
    runs.stream().filter(r -> !r.clean()).findFirst().ifPresent(r -> System.out.println(
        "fsync ends early: caught at seed " + r.seed() + " by " + r.violations().get(0)));
    System.out.println("fsync ends early, rack power loss: caught in " + caught + " of "
        + runs.size() + " seeds");
    assertThat(caught).isGreaterThan(0);
    // the same scenario with the real asynchronous fsync is clean
    for (RunResult r : DurabilityScenarioTest.runAll(DurabilityScenarioTest.steady(),
        sim -> DurabilityScenarioTest.rackPowerLoss(sim, true))) {
      assertThat(r.violations()).as("seed %d: %s", r.seed(), r.description()).isEmpty();
    }
  }

  /** Under random faults, as TeethTest does for the core's variants. */
  @Test
  void anFsyncThatEndsEarlyIsCaughtByTheRandomSweep() {
    SimConfig config = SimConfig.standard().withNemesis(NemesisConfig.aggressive())
        .withFsyncMode(FsyncMode.ENDS_EARLY);
    RunResult caught = null;
    for (long seed = 1; seed <= TeethTest.SEEDS_MAX && caught == null; seed++) {
      RunResult r = Simulation.run(seed, config);
      if (!r.clean()) {
        caught = r;
      }
    }
    assertThat(caught).as("ENDS_EARLY escaped " + TeethTest.SEEDS_MAX + " seeds").isNotNull();
    System.out.println("teeth: fsync ends-early caught at seed " + caught.seed() + " by "
        + caught.violations().get(0));
    assertThat(Simulation.run(caught.seed(), config).violations())
        .isEqualTo(caught.violations());
  }
}
