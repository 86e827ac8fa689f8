package io.respawn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class PhiAccrualDetectorTest {
  private static final long MS = 1_000_000;
  private static final NodeId P = NodeId.of(1);

  /** Heartbeats every {@code intervalMs} from time 0, {@code count} of them; returns the last time. */
  private static long steady(PhiAccrualDetector d, long intervalMs, int count) {
    long t = 0;
    for (int i = 0; i < count; i++) {
      t = i * intervalMs * MS;
      d.heartbeat(P, t);
    }
    return t;
  }

  @Test
  void phiRisesWithSilenceAndCrossesSoftThenHard() {
    PhiAccrualDetector d = new PhiAccrualDetector(PhiAccrualDetector.Settings.defaults(50));
    long last = steady(d, 50, 100);
    assertThat(d.suspicion(P, last + 50 * MS)).isEqualTo(FailureDetector.Suspicion.NONE);
    double prev = -1;
    FailureDetector.Suspicion seen = FailureDetector.Suspicion.NONE;
    long softAt = -1;
    long hardAt = -1;
    for (long ms = 0; ms <= 2_000; ms++) {
      double phi = d.phi(P, last + ms * MS);
      assertThat(phi).as("monotone at %d ms", ms).isGreaterThanOrEqualTo(prev);
      prev = phi;
      FailureDetector.Suspicion s = d.suspicion(P, last + ms * MS);
      assertThat(s.ordinal()).isGreaterThanOrEqualTo(seen.ordinal());
      if (s != seen && s == FailureDetector.Suspicion.SOFT) {
        softAt = ms;
      }
      if (s != seen && s == FailureDetector.Suspicion.HARD) {
        hardAt = ms;
      }
      seen = s;
    }
    // The worked example of docs/protocol.md §5: heartbeat 50 ms, σ floor 25 ms, pause 50 ms.
    assertThat(softAt).isBetween(175L, 178L);   // 50 + 50 + 25 * 3.06 = 176.5
    assertThat(hardAt).isBetween(229L, 232L);   // 50 + 50 + 25 * 5.22 = 230.5
    assertThat(PhiAccrualDetector.Settings.defaults(50).steadySilenceMillisFor(3))
        .isCloseTo(softAt, within(1.5));
    assertThat(PhiAccrualDetector.Settings.defaults(50).steadySilenceMillisFor(8))
        .isCloseTo(hardAt, within(1.5));
  }

  /**
   * The due time a driver sleeps until is where the soft threshold is crossed, to the
   * microsecond: NONE just before it, SOFT a few microseconds after, for steady and jittery
   * windows and after the window has moved on.
   */
  @Test
  void suspicionIsDueWhereSoftIsCrossed() {
    PhiAccrualDetector d = new PhiAccrualDetector(PhiAccrualDetector.Settings.defaults(50));
    assertThat(d.suspicionDueNanos(P)).as("never heard: never suspected").isEqualTo(Long.MAX_VALUE);
    java.util.SplittableRandom random = new java.util.SplittableRandom(7);
    long t = 0;
    for (int i = 0; i < 300; i++) {
      t += (30 + random.nextLong(60)) * MS + random.nextLong(MS); // 30-90 ms apart, jittery
      d.heartbeat(P, t);
      long due = d.suspicionDueNanos(P);
      assertThat(due).isGreaterThan(t);
      assertThat(d.suspicion(P, due - 1)).as("before the due time (%d)", i)
          .isEqualTo(FailureDetector.Suspicion.NONE);
      assertThat(d.suspicion(P, due + 5_000)).as("5 us after it (%d)", i)
          .isNotEqualTo(FailureDetector.Suspicion.NONE);
    }
  }

  @Test
  void silenceForAThresholdIsWherePhiReachesIt() {
    for (double phi : new double[] {0.5, 1, 3, 8, 10, 16, 40}) {
      double y = PhiAccrualDetector.standardScoreFor(phi);
      assertThat(PhiAccrualDetector.phi(y, 0, 1)).isCloseTo(phi, within(1e-6));
      double ms = PhiAccrualDetector.silenceMillisFor(phi, 80, 30, 10, 20);
      assertThat(PhiAccrualDetector.phi(ms, 100, 30)).isCloseTo(phi, within(1e-6));
    }
    assertThat(PhiAccrualDetector.standardScoreFor(3)).isCloseTo(3.06, within(0.01));
    assertThat(PhiAccrualDetector.standardScoreFor(8)).isCloseTo(5.22, within(0.01));
  }

  @Test
  void phiKeepsGrowingFarIntoTheTailInsteadOfSaturating() {
    double a = PhiAccrualDetector.phi(1_000, 0, 1);
    double b = PhiAccrualDetector.phi(2_000, 0, 1);
    assertThat(a).isFinite().isGreaterThan(1_000);
    assertThat(b).isFinite().isGreaterThan(a);
  }

  @Test
  void jitteryHeartbeatsWidenTheWindowAndDelaySuspicion() {
    PhiAccrualDetector regular = new PhiAccrualDetector(PhiAccrualDetector.Settings.defaults(50));
    PhiAccrualDetector jittery = new PhiAccrualDetector(PhiAccrualDetector.Settings.defaults(50));
    long t = 0;
    for (int i = 0; i < 200; i++) {
      t += (i % 2 == 0 ? 10 : 190) * MS; // mean 100 ms, sigma 90 ms
      jittery.heartbeat(P, t);
    }
    long last = steady(regular, 50, 300);
    assertThat(jittery.meanMillis(P)).isCloseTo(100, within(1.0));
    assertThat(jittery.stdDeviationMillis(P)).isCloseTo(90, within(1.0));
    assertThat(regular.stdDeviationMillis(P)).isCloseTo(0, within(1e-6));
    // 300 ms of silence: the regular sender is surely gone, the jittery one only maybe.
    assertThat(regular.suspicion(P, last + 300 * MS))
        .isEqualTo(FailureDetector.Suspicion.HARD);
    assertThat(jittery.suspicion(P, t + 300 * MS)).isEqualTo(FailureDetector.Suspicion.NONE);
  }

  @Test
  void theWindowSlidesSoTheEstimateFollowsANewRate() {
    PhiAccrualDetector d = new PhiAccrualDetector(
        PhiAccrualDetector.Settings.defaults(50).withWindowSize(10));
    long t = steady(d, 50, 50);
    for (int i = 0; i < 10; i++) {
      t += 200 * MS;
      d.heartbeat(P, t);
    }
    assertThat(d.meanMillis(P)).isCloseTo(200, within(1e-6));
  }

  @Test
  void aPeerNeverHeardIsNotSuspectedAndOneHeardOnceHasAnEstimate() {
    PhiAccrualDetector d = new PhiAccrualDetector(PhiAccrualDetector.Settings.defaults(100));
    assertThat(d.suspicion(P, 10_000 * MS)).isEqualTo(FailureDetector.Suspicion.NONE);
    d.heartbeat(P, 0);
    assertThat(d.meanMillis(P)).isCloseTo(100, within(1e-9));
    assertThat(d.suspicion(P, 100 * MS)).isEqualTo(FailureDetector.Suspicion.NONE);
    assertThat(d.suspicion(P, 5_000 * MS)).isEqualTo(FailureDetector.Suspicion.HARD);
  }

  @Test
  void theAcceptablePauseShiftsBothThresholdsByItsLength() {
    PhiAccrualDetector.Settings s = PhiAccrualDetector.Settings.defaults(50);
    double base = s.steadySilenceMillisFor(8);
    assertThat(s.withAcceptablePauseMillis(550).steadySilenceMillisFor(8))
        .isCloseTo(base + 500, within(1e-6));
  }

  @Test
  void badSettingsAreRefusedNamingTheLimit() {
    assertThatThrownBy(() -> PhiAccrualDetector.Settings.defaults(50).withThresholds(8, 3))
        .hasMessageContaining("phi-hard 3.0 must be above phi-soft 8.0");
    assertThatThrownBy(() -> PhiAccrualDetector.Settings.defaults(50).withThresholds(0, 3))
        .hasMessageContaining("phi-soft 0.0 must be in (0, 300.0]");
    assertThatThrownBy(() -> PhiAccrualDetector.Settings.defaults(50).withWindowSize(1))
        .hasMessageContaining("windowSize 1 must be in [2, 10000]");
    assertThatThrownBy(() -> PhiAccrualDetector.Settings.defaults(0))
        .hasMessageContaining("heartbeatIntervalMillis 0 must be >= 1");
    PhiAccrualDetector d = new PhiAccrualDetector(PhiAccrualDetector.Settings.defaults(50));
    d.heartbeat(P, 10 * MS);
    assertThatThrownBy(() -> d.heartbeat(P, 5 * MS)).hasMessageContaining("went backwards");
  }
}
