package io.respawn.server.solo.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.server.solo.monitor.FailureDetector.Verdict;
import org.junit.jupiter.api.Test;

class FailureDetectorTest {
  private static final long MS = 1_000_000;
  private final FailureDetector d = new FailureDetector(300, 5_000);

  @Test
  void answeredRecentlyIsUp() {
    assertThat(d.assess(1_000 * MS, 900 * MS, -1)).isEqualTo(Verdict.UP);
    assertThat(d.assess(1_000 * MS, 701 * MS, -1)).isEqualTo(Verdict.UP);
  }

  @Test
  void silenceOfSuspectMillisIsSuspicion() {
    assertThat(d.assess(1_000 * MS, 700 * MS, -1)).isEqualTo(Verdict.SUSPECT);
    assertThat(d.assess(5_699 * MS, 700 * MS, -1)).isEqualTo(Verdict.SUSPECT);
  }

  @Test
  void aLostConnectionIsSuspicionAtOnce() {
    assertThat(d.assess(1_000 * MS, 999 * MS, 999 * MS)).isEqualTo(Verdict.SUSPECT);
  }

  @Test
  void silenceOfTimeoutMillisIsDownWhateverTheConnection() {
    assertThat(d.assess(5_700 * MS, 700 * MS, -1)).isEqualTo(Verdict.DOWN);
    assertThat(d.assess(5_700 * MS, 700 * MS, 800 * MS)).isEqualTo(Verdict.DOWN);
  }

  @Test
  void refusesThresholdsOutOfOrder() {
    assertThatThrownBy(() -> new FailureDetector(0, 10))
        .hasMessageContaining("suspectMillis must be >= 1");
    assertThatThrownBy(() -> new FailureDetector(500, 100))
        .hasMessageContaining("timeoutMillis 100 must be >= suspectMillis 500");
  }
}
