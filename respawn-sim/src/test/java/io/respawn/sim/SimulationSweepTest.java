package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.sim.cli.SeedRange;
import org.junit.jupiter.api.Test;

/**
 * The CI sweep: many seeds of the standard configuration (random shape, membership changes,
 * every fault, the real storage engine) must produce no violation.
 *
 * <p>Defaults fit a CI budget (300 seeds x 5,000 events). The long sweep is the same test with
 * more seeds: {@code -Drespawn.sim.seeds=1..20000} (and optionally {@code
 * -Drespawn.sim.events=N}).
 */
class SimulationSweepTest {

  @Test
  void sweepFindsNoViolation() {
    long[] seeds = SeedRange.parse(System.getProperty("respawn.sim.seeds", "1..300"));
    long events = Long.getLong("respawn.sim.events", 5_000);
    SimConfig config = SimConfig.standard().withEventsMax(events);
    long started = System.nanoTime();
    Sweep.Summary s = Sweep.run(seeds[0], seeds[1], config, r -> {
      if (!r.clean()) {
        System.out.println("VIOLATION seed=" + r.seed() + " " + r.violations() + "\n  "
            + r.description());
      }
    });
    System.out.printf("sweep: seeds=%d events=%d ops=%d lin-unknown=%d violations=%d"
        + " tight-proposal-seeds=%d queue-full-refusals=%d in %.1fs%n",
        s.seeds(), s.events(), s.operations(), s.linUnknown(), s.violations(),
        s.stats().tightProposalSeeds(), s.stats().queueFullRefusals(),
        (System.nanoTime() - started) / 1e9);
    assertThat(s.seeds()).isGreaterThanOrEqualTo(seeds[1] - seeds[0] + 1);
    assertThat(s.failedSeeds()).as("seeds with violations (replay each with bin/respawn "
        + "simulate --seeds S..S --events " + events + ")").isEmpty();
  }

  @Test
  void memoryStorageSweepFindsNoViolation() {
    SimConfig config = SimConfig.standard().withEngineStorage(false);
    Sweep.Summary s = Sweep.run(1, 40, config, r -> { });
    assertThat(s.failedSeeds()).isEmpty();
  }
}
