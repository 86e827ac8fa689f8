package io.respawn.sim;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Seeds that once failed, kept as plain tests so the fix stays fixed.
 *
 * <ul>
 *   <li>146: a witness paused mid-election became leader of term 1 after term 2 had committed
 *       index 1; the leader-completeness check wrongly required a stale leader to hold entries
 *       committed in newer terms (a checker bug, fixed in {@code CommittedEntries}).
 * </ul>
 */
class KnownSeedsTest {

  @ParameterizedTest
  @ValueSource(longs = {146})
  void onceFailingSeedIsClean(long seed) {
    RunResult r = Simulation.run(seed, SimConfig.standard());
    assertThat(r.violations()).as(r.description()).isEmpty();
  }
}
