package io.respawn.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SpinGateTest {
  @Test
  void aLoopWhoseSpinsFindWorkKeepsSpinning() {
    SpinGate g = new SpinGate();
    for (int i = 0; i < 1_000; i++) {
      assertThat(g.spinNow()).isTrue();
      g.spun(i % 2 == 0); // half of the spins find work: over the bound
    }
    assertThat(g.spellsWithoutSpin()).isZero();
    assertThat(g.hitSharePercent()).isBetween(40, 60);
  }

  @Test
  void aLoopWhoseSpinsFindNothingSpinsOnlyToProbe() {
    SpinGate g = new SpinGate();
    int spun = 0;
    int spells = 16_000;
    for (int i = 0; i < spells; i++) {
      if (g.spinNow()) {
        spun++;
        g.spun(i % 10 == 0); // a tenth find work: under the bound
      }
    }
    // after the first few misses shut it, one spell in PROBE_EVERY_PASSES spins
    assertThat(spun).isBetween(spells / SpinGate.PROBE_EVERY_PASSES,
        spells / SpinGate.PROBE_EVERY_PASSES + 2 * SpinGate.MEMORY_SPINS);
    assertThat(g.spellsWithoutSpin()).isEqualTo(spells - spun);
    assertThat(g.hitSharePercent()).isLessThan(SpinGate.HIT_SHARE_MIN_PERCENT);
  }

  @Test
  void theProbesReopenTheGateWhenWorkComesBack() {
    SpinGate g = new SpinGate();
    for (int i = 0; i < 5_000; i++) { // nothing to find for a long while: share near 0
      if (g.spinNow()) {
        g.spun(false);
      }
    }
    assertThat(g.hitSharePercent()).isZero();
    int spells = 0;
    int probes = 0;
    while (g.hitSharePercent() < SpinGate.HIT_SHARE_MIN_PERCENT) {
      spells++;
      if (g.spinNow()) { // from now on every spin finds work
        g.spun(true);
        probes++;
      }
    }
    assertThat(probes).isEqualTo(7); // the bound the class comment states
    assertThat(spells).isLessThanOrEqualTo(7 * SpinGate.PROBE_EVERY_PASSES);
    assertThat(g.spinNow()).isTrue();
  }
}
