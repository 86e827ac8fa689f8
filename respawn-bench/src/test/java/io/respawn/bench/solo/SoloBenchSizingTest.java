package io.respawn.bench.solo;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SoloBenchSizingTest {
  @Test
  void aLinearRecoveryScalesTheKeysLinearly() {
    assertThat(SoloBench.keysFor(8_000, 1_000_000, 1_000, 2_000_000, 2_000))
        .isEqualTo(8_000_000);
  }

  @Test
  void aSuperlinearRecoveryIsFittedThroughBothPoints() {
    // the E3 machine: 1 M keys in 719 ms, 11.1 M keys in 26.7 s: b = 1.50
    long keys = SoloBench.keysFor(8_000, 1_000_000, 719, 11_126_565, 26_667);
    double b = Math.log(26_667.0 / 719) / Math.log(11.126565);
    double predicted = 26_667 * Math.pow((double) keys / 11_126_565, b);
    assertThat(predicted).isBetween(7_990.0, 8_010.0);
    assertThat(keys).isBetween(4_800_000L, 5_200_000L);
  }

  @Test
  void theExponentIsClampedAndTheKeysBounded() {
    // a faster recovery for more keys (noise) would give b < 1: treated as linear
    assertThat(SoloBench.keysFor(2_000, 1_000_000, 1_000, 2_000_000, 900))
        .isEqualTo(Math.round(2_000_000 * (2_000 / 900.0)));
    assertThat(SoloBench.keysFor(1e12, 1, 1, 2, 2)).isEqualTo(SoloBench.VOLUME_KEYS_MAX);
  }
}
