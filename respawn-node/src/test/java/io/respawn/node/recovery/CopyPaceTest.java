package io.respawn.node.recovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

/**
 * The background copy's rate follows the priority-pull latency against a target derived from
 * what a pull costs with the copy out of the way, within a floor derived from the copy's own
 * unpaced rate.
 */
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
    pace.onPriorityLatency(3 * MS, false);
    pace.onPriorityLatency(5 * MS, false); // mean 4 ms, twice the target
    pace.control(CopyPace.PERIOD_NANOS, 0);
    assertThat(pace.bytesPerSecond()).isCloseTo(32 * MIB, within(1.0));
    pace.onPriorityLatency(1_600_000L, false); // 1.6 ms: 2 / 1.6 = 1.25
    pace.control(2 * CopyPace.PERIOD_NANOS, 0);
    assertThat(pace.bytesPerSecond()).isCloseTo(40 * MIB, within(1.0));
  }

  @Test
  void nothingHappensWithinAPeriod() {
    CopyPace pace = started();
    pace.onPriorityLatency(50 * MS, false);
    pace.control(CopyPace.PERIOD_NANOS - 1, 0);
    assertThat(pace.bytesPerSecond()).isEqualTo(CopyPace.RATE_START_BYTES_PER_SECOND);
  }

  @Test
  void aPullStuckBehindTheCopyCountsBeforeItIsAnswered() {
    CopyPace pace = started();
    pace.onPriorityLatency(MS / 2, false); // fast ones answered, one still waiting for 8 ms
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
      pace.onPriorityLatency(1_000 * MS, false);
      pace.control(i * CopyPace.PERIOD_NANOS, 0);
    }
    assertThat(pace.bytesPerSecond()).isEqualTo(CopyPace.RATE_MIN_BYTES_PER_SECOND);
    // one chunk of 256 KiB at the floor of 8 MiB/s: the next request 31.25 ms later
    assertThat(pace.gapNanos(256 << 10)).isEqualTo(31_250_000L);
  }

  @Test
  void theTargetIsTwiceWhatAPullCostsWithTheCopyOutOfTheWay() {
    CopyPace pace = started();
    assertThat(pace.targetNanos()).as("nothing measured yet")
        .isEqualTo(CopyPace.TARGET_DEFAULT_NANOS);
    pace.onPriorityLatency(3 * MS, true); // sent while no BatchPull request was on its way
    assertThat(pace.targetNanos()).isEqualTo(6 * MS);
    pace.onPriorityLatency(40 * MS, false); // behind a chunk: the period's latency, not the cost
    assertThat(pace.targetNanos()).isEqualTo(6 * MS);
    pace.control(CopyPace.PERIOD_NANOS, 0); // (3 + 40) / 2 = 21.5 ms against 6 ms: halved
    assertThat(pace.bytesPerSecond()).isCloseTo(32 * MIB, within(1.0));
    pace.onPriorityLatency(6 * MS, false); // at the target: unchanged
    pace.control(2 * CopyPace.PERIOD_NANOS, 0);
    assertThat(pace.bytesPerSecond()).isCloseTo(32 * MIB, within(1.0));
    // The idle cost is a moving average (a quarter to each new sample), within its bounds.
    pace.onPriorityLatency(7 * MS, true);
    assertThat(pace.targetNanos()).as("3 + (7 - 3) / 4 = 4 ms, doubled").isEqualTo(8 * MS);
    for (int i = 0; i < 50; i++) {
      pace.onPriorityLatency(100 * MS, true);
    }
    assertThat(pace.targetNanos()).isEqualTo(CopyPace.TARGET_MAX_NANOS);
    for (int i = 0; i < 100; i++) {
      pace.onPriorityLatency(10_000L, true);
    }
    assertThat(pace.targetNanos()).isEqualTo(CopyPace.TARGET_MIN_NANOS);
  }

  /**
   * However slow priority pulls are, the copy goes at least a third as fast as it would unpaced,
   * so it takes at most three times as long as an offline copy.
   */
  @Test
  void theFloorIsAThirdOfTheCopysUnpacedRate() {
    CopyPace pace = started();
    pace.onCopyService(256 << 10, 3_906_250L); // a chunk in 3.9 ms: 64 MiB/s unpaced
    assertThat(pace.floorBytesPerSecond()).isCloseTo(64 * MIB / 3, within(1.0));
    for (int i = 1; i <= 20; i++) {
      pace.onPriorityLatency(1_000 * MS, false);
      pace.control(i * CopyPace.PERIOD_NANOS, 0);
    }
    assertThat(pace.bytesPerSecond()).isCloseTo(64 * MIB / 3, within(1.0));
    // A backup slower than three times the minimum: the minimum holds.
    CopyPace slow = started();
    slow.onCopyService(256 << 10, 100 * MS); // 2.5 MiB/s
    assertThat(slow.floorBytesPerSecond()).isEqualTo(CopyPace.RATE_MIN_BYTES_PER_SECOND);
    // A new recovery measures anew.
    pace.reset();
    assertThat(pace.floorBytesPerSecond()).isEqualTo(CopyPace.RATE_MIN_BYTES_PER_SECOND);
    assertThat(pace.targetNanos()).isEqualTo(CopyPace.TARGET_DEFAULT_NANOS);
  }

  /**
   * Installs on the event loop bound the rate from above (half the loop's time at most), but
   * never below the floor: a chunk of 256 KiB installed in 4 ms allows 31.25 MiB/s.
   */
  @Test
  void slowInstallsCapTheRateAtHalfTheLoopButNotBelowTheFloor() {
    CopyPace pace = started();
    assertThat(pace.loopCapBytesPerSecond()).isInfinite();
    pace.onChunkInstall(4 * MS);
    assertThat(pace.chunkInstallNanos()).isEqualTo(4 * MS);
    assertThat(pace.loopCapBytesPerSecond()).isCloseTo(31.25 * MIB, within(1.0));
    for (int i = 1; i <= 50; i++) {
      pace.control(i * CopyPace.PERIOD_NANOS, 0); // nobody waits: it would grow to 1 GiB/s
    }
    assertThat(pace.bytesPerSecond()).isCloseTo(31.25 * MIB, within(1.0));
    // A copy that goes at 300 MiB/s unpaced has a floor of 100 MiB/s: the cap gives way.
    for (int i = 0; i < 40; i++) {
      pace.onCopyService(300L << 20, 1_000 * MS);
    }
    pace.control(51 * CopyPace.PERIOD_NANOS, 0);
    assertThat(pace.bytesPerSecond()).isCloseTo(pace.floorBytesPerSecond(), within(1.0))
        .isGreaterThan(99 * MIB);
    pace.reset();
    assertThat(pace.chunkInstallNanos()).isZero();
  }
}
