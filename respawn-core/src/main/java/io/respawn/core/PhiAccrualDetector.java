package io.respawn.core;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Phi-accrual failure detector (Hayashibara et al.; the shape Akka and Cassandra use), one
 * sliding window of heartbeat inter-arrival times per peer. Pure and deterministic: it sees
 * only the arrival times the core passes in, and computes with {@link StrictMath}.
 *
 * <p><b>Phi.</b> For a peer last heard {@code Δ} ago, with mean {@code μ} and standard
 * deviation {@code σ} of the window's intervals:
 *
 * <pre>
 *   σ' = max(σ, minStdDeviation)
 *   μ' = μ + acceptablePause
 *   φ(Δ) = −log10(1 − F((Δ − μ') / σ'))     F = the standard normal CDF
 * </pre>
 *
 * F is the logistic approximation {@code 1 / (1 + e^(−y (1.5976 + 0.070566 y²)))} (error below
 * 1.4·10⁻⁴), computed in the tail so φ keeps growing instead of saturating at 1 − F = 0. The
 * window starts with two intervals of one heartbeat interval each, at ±σ = interval / 4, so a
 * peer heard once already has an estimate.
 *
 * <p><b>From thresholds to milliseconds</b> ({@link #silenceMillisFor}): φ crosses a threshold
 * φₜ after a silence of {@code Δₜ = μ + acceptablePause + σ'·y(φₜ)}, where y solves
 * {@code y (1.5976 + 0.070566 y²) = ln((1 − 10^−φₜ) / 10^−φₜ)}: y(3) ≈ 3.06, y(8) ≈ 5.22.
 * docs/protocol.md §5 works an example through.
 *
 * <p>Bounded: at most {@link Settings#windowSize()} intervals per peer, and at most
 * {@link #PEERS_MAX} peers (a shard has a handful).
 */
public final class PhiAccrualDetector implements FailureDetector {
  /** Peers tracked at once; a shard has a handful of members. */
  public static final int PEERS_MAX = 1024;

  /**
   * Detector settings.
   *
   * @param heartbeatIntervalMillis the leader's heartbeat interval: the first estimate of the mean
   * @param windowSize inter-arrival times kept per peer (the oldest drops out)
   * @param minStdDeviationMillis floor on σ, so a very regular sender is not suspected after
   *     a tiny jitter
   * @param acceptablePauseMillis silence added to the mean before φ starts to rise (GC pauses,
   *     scheduling); a stall of the sender up to this long barely moves φ
   * @param phiSoft SOFT suspicion from this φ on ("maybe": start proactive recovery)
   * @param phiHard HARD suspicion from this φ on ("surely": campaigning is allowed)
   */
  public record Settings(long heartbeatIntervalMillis, int windowSize, long minStdDeviationMillis,
      long acceptablePauseMillis, double phiSoft, double phiHard) {
    /** Largest window accepted. */
    public static final int WINDOW_SIZE_MAX = 10_000;
    /** Highest threshold accepted: beyond this φ is a rounding artefact of doubles. */
    public static final double PHI_MAX = 300;

    public Settings {
      require(heartbeatIntervalMillis >= 1, "heartbeatIntervalMillis " + heartbeatIntervalMillis
          + " must be >= 1");
      require(windowSize >= 2 && windowSize <= WINDOW_SIZE_MAX, "phi windowSize " + windowSize
          + " must be in [2, " + WINDOW_SIZE_MAX + "]");
      require(minStdDeviationMillis >= 1, "phi minStdDeviationMillis " + minStdDeviationMillis
          + " must be >= 1");
      require(acceptablePauseMillis >= 0, "phi acceptablePauseMillis " + acceptablePauseMillis
          + " must be >= 0");
      require(phiSoft > 0 && phiSoft <= PHI_MAX, "phi-soft " + phiSoft + " must be in (0, "
          + PHI_MAX + "]");
      require(phiHard > phiSoft && phiHard <= PHI_MAX, "phi-hard " + phiHard
          + " must be above phi-soft " + phiSoft + " and at most " + PHI_MAX);
    }

    /**
     * Defaults for a heartbeat interval: window 200, σ floor = interval / 2, acceptable pause =
     * one interval, soft φ = 3, hard φ = 8 (DESIGN §5.2).
     */
    public static Settings defaults(long heartbeatIntervalMillis) {
      return new Settings(heartbeatIntervalMillis, 200, Math.max(1, heartbeatIntervalMillis / 2),
          heartbeatIntervalMillis, 3, 8);
    }

    public Settings withThresholds(double soft, double hard) {
      return new Settings(heartbeatIntervalMillis, windowSize, minStdDeviationMillis,
          acceptablePauseMillis, soft, hard);
    }

    public Settings withAcceptablePauseMillis(long v) {
      return new Settings(heartbeatIntervalMillis, windowSize, minStdDeviationMillis, v, phiSoft,
          phiHard);
    }

    public Settings withMinStdDeviationMillis(long v) {
      return new Settings(heartbeatIntervalMillis, windowSize, v, acceptablePauseMillis, phiSoft,
          phiHard);
    }

    public Settings withWindowSize(int v) {
      return new Settings(heartbeatIntervalMillis, v, minStdDeviationMillis, acceptablePauseMillis,
          phiSoft, phiHard);
    }

    /**
     * Silence after which a peer that heartbeats exactly every {@code heartbeatIntervalMillis}
     * (σ of the window = 0, so σ' = the floor) is suspected at {@code phi}.
     */
    public double steadySilenceMillisFor(double phi) {
      return silenceMillisFor(phi, heartbeatIntervalMillis, 0, minStdDeviationMillis,
          acceptablePauseMillis);
    }
  }

  private final Settings settings;
  private final Map<NodeId, Window> windows = new HashMap<>();
  /** y(φ soft): the standardized silence at which SOFT is reached (computed once, bisection). */
  private final double softScore;

  public PhiAccrualDetector(Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.softScore = standardScoreFor(settings.phiSoft());
  }

  public Settings settings() {
    return settings;
  }

  @Override
  public void heartbeat(NodeId peer, long nowNanos) {
    Objects.requireNonNull(peer, "peer");
    Window w = windows.get(peer);
    if (w == null) {
      if (windows.size() >= PEERS_MAX) {
        windows.clear(); // forget everyone rather than grow: they are re-learned at once
      }
      windows.put(peer, new Window(settings, nowNanos));
      return;
    }
    w.arrived(nowNanos);
  }

  @Override
  public Suspicion suspicion(NodeId peer, long nowNanos) {
    double phi = phi(peer, nowNanos);
    if (phi >= settings.phiHard()) {
      return Suspicion.HARD;
    }
    return phi >= settings.phiSoft() ? Suspicion.SOFT : Suspicion.NONE;
  }

  /**
   * The last arrival plus the silence at which φ reaches the soft threshold for the window as it
   * is ({@link #silenceMillisFor}); a microsecond early, so float rounding never makes it late.
   */
  @Override
  public long suspicionDueNanos(NodeId peer) {
    Window w = windows.get(peer);
    if (w == null) {
      return Long.MAX_VALUE;
    }
    double silenceMillis = w.meanMillis() + settings.acceptablePauseMillis()
        + Math.max(w.stdDeviationMillis(), settings.minStdDeviationMillis()) * softScore;
    return w.lastArrivalNanos + Math.max(0, (long) (silenceMillis * 1e6) - 1_000);
  }

  /** φ of {@code peer} at {@code nowNanos}; 0 for a peer never heard. */
  public double phi(NodeId peer, long nowNanos) {
    Window w = windows.get(peer);
    if (w == null) {
      return 0;
    }
    double silenceMillis = Math.max(0, nowNanos - w.lastArrivalNanos) / 1e6;
    double std = Math.max(w.stdDeviationMillis(), settings.minStdDeviationMillis());
    return phi(silenceMillis, w.meanMillis() + settings.acceptablePauseMillis(), std);
  }

  /** Mean inter-arrival time of {@code peer}'s window, milliseconds; NaN if never heard. */
  public double meanMillis(NodeId peer) {
    Window w = windows.get(peer);
    return w == null ? Double.NaN : w.meanMillis();
  }

  /** Standard deviation of {@code peer}'s window (before the floor), ms; NaN if never heard. */
  public double stdDeviationMillis(NodeId peer) {
    Window w = windows.get(peer);
    return w == null ? Double.NaN : w.stdDeviationMillis();
  }

  /** Forgets {@code peer}'s window: its next heartbeat starts a fresh one. */
  @Override
  public void forget(NodeId peer) {
    windows.remove(peer);
  }

  /** φ after {@code silenceMillis} for an interval distribution of mean μ' and σ'. */
  static double phi(double silenceMillis, double meanMillis, double stdMillis) {
    double y = (silenceMillis - meanMillis) / stdMillis;
    double z = y * (1.5976 + 0.070566 * y * y);
    if (z > 0) {
      // 1 - F = e / (1 + e) with e = exp(-z): log10 of it without forming a tail that underflows.
      return (z + StrictMath.log1p(StrictMath.exp(-z))) / LN_10;
    }
    double e = StrictMath.exp(-z);
    return -StrictMath.log10(1.0 - 1.0 / (1.0 + e));
  }

  private static final double LN_10 = StrictMath.log(10);

  /**
   * The silence, in milliseconds, after which φ reaches {@code phi} for a window of mean
   * {@code meanMillis} and standard deviation {@code stdMillis}, with the floor and pause of
   * the settings: {@code μ + pause + max(σ, floor) · y(φ)}.
   */
  public static double silenceMillisFor(double phi, double meanMillis, double stdMillis,
      double minStdDeviationMillis, double acceptablePauseMillis) {
    return meanMillis + acceptablePauseMillis
        + Math.max(stdMillis, minStdDeviationMillis) * standardScoreFor(phi);
  }

  /** y(φ): the standardized silence at which φ is reached (solves the logistic tail by bisection). */
  static double standardScoreFor(double phi) {
    if (phi <= 0 || phi > Settings.PHI_MAX) {
      throw new IllegalArgumentException("phi " + phi + " must be in (0, " + Settings.PHI_MAX + "]");
    }
    double lo = -10;
    double hi = 100;
    for (int i = 0; i < 200; i++) {
      double mid = (lo + hi) / 2;
      if (phi(mid, 0, 1) < phi) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return (lo + hi) / 2;
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** A ring of the last windowSize intervals with running sums. */
  private static final class Window {
    private final double[] intervalsMillis;
    private int size;
    private int next;
    private double sum;
    private double sumSquares;
    private long lastArrivalNanos;

    Window(Settings s, long firstArrivalNanos) {
      intervalsMillis = new double[s.windowSize()];
      lastArrivalNanos = firstArrivalNanos;
      // Bootstrap estimate: mean = one interval, σ = interval / 4 (two samples at μ ± σ).
      double mean = s.heartbeatIntervalMillis();
      double std = mean / 4;
      add(mean - std);
      add(mean + std);
    }

    void arrived(long nowNanos) {
      if (nowNanos < lastArrivalNanos) {
        throw new IllegalArgumentException("heartbeat time went backwards: " + nowNanos + " < "
            + lastArrivalNanos);
      }
      add((nowNanos - lastArrivalNanos) / 1e6);
      lastArrivalNanos = nowNanos;
    }

    private void add(double millis) {
      if (size == intervalsMillis.length) {
        double old = intervalsMillis[next];
        sum -= old;
        sumSquares -= old * old;
      } else {
        size++;
      }
      intervalsMillis[next] = millis;
      next = (next + 1) % intervalsMillis.length;
      sum += millis;
      sumSquares += millis * millis;
      if (next == 0) {
        recompute(); // running sums drift; start afresh once per lap
      }
    }

    private void recompute() {
      sum = 0;
      sumSquares = 0;
      for (int i = 0; i < size; i++) {
        sum += intervalsMillis[i];
        sumSquares += intervalsMillis[i] * intervalsMillis[i];
      }
    }

    double meanMillis() {
      return sum / size;
    }

    double stdDeviationMillis() {
      double mean = meanMillis();
      return StrictMath.sqrt(Math.max(0, sumSquares / size - mean * mean));
    }
  }
}
