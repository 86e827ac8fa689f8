package io.respawn.sim;

import io.respawn.core.PhiAccrualDetector;
import io.respawn.core.TakeoverMode;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Failure detection and takeover of a run's replicas. The detector settings and the warm-up
 * length are drawn per seed (see {@link Drawn}), from a generator of their own, so a TIMEOUT
 * run draws exactly what it drew before detectors existed.
 */
public enum SimTakeover {
  /** No failure detector: randomized election timeout (hard-timeout without phi). */
  TIMEOUT,
  /** Phi-accrual detector; campaign at HARD suspicion. */
  HARD_TIMEOUT,
  /** Phi-accrual detector; campaign once warmed up and the lease promise ran out. */
  SPECULATIVE,
  /** One of the three above per seed, each with probability 1/3. */
  MIXED;

  /** Salt of the per-seed generator of the takeover settings. */
  private static final long SALT = 0x7A4E0F3C9B1D2E65L;

  /**
   * What one seed runs with.
   *
   * @param kind TIMEOUT, HARD_TIMEOUT or SPECULATIVE
   * @param phi detector settings, null for TIMEOUT
   * @param warmUpMillisMax each warm-up of a speculative witness lasts uniformly [0, this] of
   *     virtual time (-1 when no warm-up is simulated)
   * @param speculativeSilenceMillis speculative: the silence after which a warmed-up witness
   *     takes over a leader not known to be gone (0: at once; {@code ReplicaConfig})
   */
  public record Drawn(SimTakeover kind, PhiAccrualDetector.Settings phi, long warmUpMillisMax,
      long speculativeSilenceMillis) {
    public TakeoverMode mode() {
      return kind == SPECULATIVE ? TakeoverMode.SPECULATIVE : TakeoverMode.HARD_TIMEOUT;
    }

    @Override
    public String toString() {
      if (phi == null) {
        return kind.spelling();
      }
      return String.format(Locale.ROOT, "%s(phi %.1f/%.1f pause %dms warm-up<=%dms%s)",
          kind.spelling(), phi.phiSoft(), phi.phiHard(), phi.acceptablePauseMillis(),
          warmUpMillisMax, speculativeSilenceMillis == 0 ? ""
              : " silence>=" + speculativeSilenceMillis + "ms");
    }
  }

  /**
   * Draws the settings for {@code seed}: soft φ in [1, 4], hard φ 2 to 9 above it, an acceptable
   * pause of 0 to 2 heartbeat intervals, σ floor half an interval, and (speculative) warm-ups up
   * to 0 to 2 leases long and, for half the seeds, a silence bound of 0 to 4 leases (drawn last,
   * so the other settings are those drawn before it existed).
   */
  public Drawn draw(long seed, long heartbeatIntervalMillis, long leaseMillis) {
    SplittableRandom r = new SplittableRandom(seed ^ SALT);
    SimTakeover kind = this;
    if (kind == MIXED) {
      kind = values()[r.nextInt(3)];
    }
    if (kind == TIMEOUT) {
      return new Drawn(kind, null, -1, 0);
    }
    double soft = 1 + r.nextInt(4);
    double hard = soft + 2 + r.nextInt(8);
    PhiAccrualDetector.Settings phi = PhiAccrualDetector.Settings.defaults(heartbeatIntervalMillis)
        .withAcceptablePauseMillis(r.nextLong(2 * heartbeatIntervalMillis + 1))
        .withThresholds(soft, hard);
    long warmUp = kind == SPECULATIVE ? r.nextLong(2 * leaseMillis + 1) : -1;
    long silence = kind == SPECULATIVE && r.nextBoolean() ? r.nextLong(4 * leaseMillis + 1) : 0;
    return new Drawn(kind, phi, warmUp, silence);
  }

  /** timeout, hard-timeout, speculative or mixed. */
  public static SimTakeover parse(String text) {
    return switch (text.trim().toLowerCase(Locale.ROOT)) {
      case "timeout" -> TIMEOUT;
      case "hard-timeout" -> HARD_TIMEOUT;
      case "speculative" -> SPECULATIVE;
      case "mixed" -> MIXED;
      default -> throw new IllegalArgumentException("--takeover '" + text
          + "': expected timeout, hard-timeout, speculative or mixed");
    };
  }

  public String spelling() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
