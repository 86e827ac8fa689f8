package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** One seed, one run: the whole point of the simulator. */
class DeterminismTest {

  @Test
  void sameSeedSameRun() {
    SimConfig config = SimConfig.standard().withEventsMax(3_000);
    for (long seed : new long[] {3, 77, 1234}) {
      RunResult a = Simulation.run(seed, config);
      RunResult b = Simulation.run(seed, config);
      assertThat(b.events()).isEqualTo(a.events());
      assertThat(b.virtualMillis()).isEqualTo(a.virtualMillis());
      assertThat(b.operations()).isEqualTo(a.operations());
      assertThat(b.acknowledgedWrites()).isEqualTo(a.acknowledgedWrites());
      assertThat(b.description()).isEqualTo(a.description());
      assertThat(b.violations()).isEqualTo(a.violations());
    }
  }

  @Test
  void differentSeedsDifferentRuns() {
    SimConfig config = SimConfig.standard().withEventsMax(2_000);
    assertThat(Simulation.run(5, config).description())
        .isNotEqualTo(Simulation.run(6, config).description());
  }

  @Test
  void runsDoWork() {
    RunResult r = Simulation.run(2, SimConfig.standard());
    assertThat(r.clean()).isTrue();
    assertThat(r.events()).isGreaterThanOrEqualTo(5_000);
    assertThat(r.acknowledgedWrites()).isGreaterThan(20);
    assertThat(r.operations()).isGreaterThan(100);
  }
}
