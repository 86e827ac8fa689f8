package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/** The background copy's rate follows the priority-pull latency, within its bounds. */
class CopyPaceTest {
  private static final long MS = 1_000_000L;
  private static final double MIB = 1 << 20;

  private static CopyPace started() {
    CopyPace pace = new CopyPace();
    pace.control(0, 0); // the first period starts
    return pace;
  }

  @Test
  void slowPriorityPullsSlowTheCopyInProportion() {
    CopyPace pace = started();
    pace.onPriorityLatency(3 * MS);
    pace.onPriorityLatency(5 * MS); // mean 4 ms, twice the target
    pace.control(CopyPace.PERIOD_NANOS, 0);
    assertThat(pace.bytesPerSecond()).isCloseTo(32 * MIB, within(1.0));
    pace.onPriorityLatency(1_600_000L); // 1.6 ms: 2 / 1.6 = 1.25
    pace.control(2 * CopyPace.PERIOD_NANOS, 0);
    assertThat(pace.bytesPerSecond()).isCloseTo(40 * MIB, within(1.0));
  }

  @Test
  void nothingHappensWithinAPeriod() {
    CopyPace pace = started();
    pace.onPriorityLatency(50 * MS);
    pace.control(CopyPace.PERIOD_NANOS - 1, 0);
    assertThat(pace.bytesPerSecond()).isEqualTo(CopyPace.RATE_START_BYTES_PER_SECOND);
  }

  @Test
  void aPullStuckBehindTheCopyCountsBeforeItIsAnswered() {
    CopyPace pace = started();
    pace.onPriorityLatency(MS / 2); // fast ones answered, one still waiting for 8 ms
    pace.control(CopyPace.PERIOD_NANOS, 8 * MS);
    assertThat(pace.bytesPerSecond()).isCloseTo(32 * MIB, within(1.0));
  }

  @Test
  void withNobodyWaitingTheCopyGrowsToItsCeilingAndNeverFallsBelowItsFloor() {
    CopyPace pace = started();
    for (int i = 1; i <= 100; i++) {
      pace.control(i * CopyPace.PERIOD_NANOS, 0);
    }
    assertThat(pace.bytesPerSecond()).isEqualTo(CopyPace.RATE_MAX_BYTES_PER_SECOND);
    for (int i = 101; i <= 200; i++) {
      pace.onPriorityLatency(1_000 * MS);
      pace.control(i * CopyPace.PERIOD_NANOS, 0);
    }
    assertThat(pace.bytesPerSecond()).isEqualTo(CopyPace.RATE_MIN_BYTES_PER_SECOND);
    // one chunk of 256 KiB at the floor of 8 MiB/s: the next request 31.25 ms later
    assertThat(pace.gapNanos(256 << 10)).isEqualTo(31_250_000L);
  }
}
