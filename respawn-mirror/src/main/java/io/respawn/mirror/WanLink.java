package io.respawn.mirror;

import java.util.Random;

/**
 * The WAN emulator's decisions for one direction of an emulated link, as a pure function of a
 * seed and the datagrams offered to it: for each datagram (its size and arrival time) whether it
 * is lost and when it comes out. The relay ({@code respawn wan}) does the sockets and timers.
 *
 * <p>Model, in the order applied to each datagram:
 * <ol>
 *   <li><b>Cut</b>: while cut, every datagram offered is dropped. Datagrams already inside the
 *       link (in the delay line) still come out: they left the sending site before the cut.
 *   <li><b>Loss</b>: dropped with probability {@code lossRate}, independently; and by the
 *       Gilbert–Elliott chain: in the good state nothing more is lost, in the bad state with
 *       probability {@code burstLossRate}; before each datagram the chain moves good→bad with
 *       probability {@code goodToBad} and bad→good with {@code badToGood} (mean burst length
 *       {@code 1 / badToGood} datagrams).
 *   <li><b>Bandwidth</b>: the link serialises datagrams at {@code bytesPerSecond} (0 =
 *       unlimited); a datagram that would wait behind more than {@code queueBytesMax} bytes is
 *       dropped (a full router queue).
 *   <li><b>Delay</b>: it comes out {@code delayNanos} after it finished serialising (plus a
 *       uniform jitter up to {@code jitterNanos}, which can reorder).
 * </ol>
 * Every random choice is drawn from one seeded generator in a fixed order per datagram, so the
 * same seed and the same offers give the same decisions, settings changes included.
 */
public final class WanLink {

  /**
   * The link's settings; each may be changed at run time.
   *
   * @param delayNanos one-way delay
   * @param jitterNanos extra delay, uniform in [0, jitterNanos)
   * @param lossRate independent loss probability, 0..1
   * @param goodToBad Gilbert–Elliott: probability of entering the bad state, per datagram
   * @param badToGood Gilbert–Elliott: probability of leaving it, per datagram
   * @param burstLossRate loss probability in the bad state
   * @param bytesPerSecond bandwidth cap, 0 = none
   * @param queueBytesMax bytes waiting to be serialised beyond which datagrams are dropped
   * @param cut the link drops everything offered
   */
  public record Settings(
      long delayNanos,
      long jitterNanos,
      double lossRate,
      double goodToBad,
      double badToGood,
      double burstLossRate,
      long bytesPerSecond,
      long queueBytesMax,
      boolean cut) {

    public Settings {
      check(delayNanos >= 0, "delay must be >= 0");
      check(jitterNanos >= 0, "jitter must be >= 0");
      check(probability(lossRate), "loss must be between 0 and 1");
      check(probability(goodToBad), "goodToBad must be between 0 and 1");
      check(probability(badToGood) && (goodToBad == 0 || badToGood > 0),
          "badToGood must be between 0 and 1, and above 0 when bursts can start");
      check(probability(burstLossRate), "burstLoss must be between 0 and 1");
      check(bytesPerSecond >= 0, "bandwidth must be >= 0 (0 = unlimited)");
      check(queueBytesMax >= 1, "queueBytesMax must be >= 1");
    }

    /** A perfect link with the given one-way delay. */
    public static Settings delay(long delayNanos) {
      return new Settings(delayNanos, 0, 0, 0, 1, 0, 0, 16L << 20, false);
    }

    public Settings withLoss(double newLossRate) {
      return new Settings(delayNanos, jitterNanos, newLossRate, goodToBad, badToGood,
          burstLossRate, bytesPerSecond, queueBytesMax, cut);
    }

    public Settings withBursts(double newGoodToBad, double newBadToGood, double newBurstLossRate) {
      return new Settings(delayNanos, jitterNanos, lossRate, newGoodToBad, newBadToGood,
          newBurstLossRate, bytesPerSecond, queueBytesMax, cut);
    }

    public Settings withBandwidth(long newBytesPerSecond, long newQueueBytesMax) {
      return new Settings(delayNanos, jitterNanos, lossRate, goodToBad, badToGood,
          burstLossRate, newBytesPerSecond, newQueueBytesMax, cut);
    }

    public Settings withDelay(long newDelayNanos, long newJitterNanos) {
      return new Settings(newDelayNanos, newJitterNanos, lossRate, goodToBad, badToGood,
          burstLossRate, bytesPerSecond, queueBytesMax, cut);
    }

    public Settings withCut(boolean newCut) {
      return new Settings(delayNanos, jitterNanos, lossRate, goodToBad, badToGood,
          burstLossRate, bytesPerSecond, queueBytesMax, newCut);
    }

    private static boolean probability(double p) {
      return p >= 0 && p <= 1;
    }

    private static void check(boolean ok, String message) {
      if (!ok) {
        throw new IllegalArgumentException(message);
      }
    }
  }

  /** What happened to one offered datagram. */
  public enum Fate {
    PASSED,
    CUT,
    LOST_RANDOM,
    LOST_BURST,
    QUEUE_FULL
  }

  /** The decision for one datagram: its fate and, if it passed, when it comes out. */
  public record Decision(Fate fate, long deliverAtNanos) {
    public boolean passed() {
      return fate == Fate.PASSED;
    }
  }

  private final Random random;
  private Settings settings;
  private boolean bad;
  private long linkFreeAtNanos = Long.MIN_VALUE / 2;
  private final long[] fates = new long[Fate.values().length];

  public WanLink(Settings settings, long seed) {
    this.settings = settings;
    this.random = new Random(seed);
  }

  public Settings settings() {
    return settings;
  }

  /** Changes the settings from now on (the random stream and the queue carry over). */
  public void update(Settings newSettings) {
    this.settings = newSettings;
  }

  /** Decides the fate of a datagram of {@code bytes} offered at {@code nowNanos}. */
  public Decision offer(int bytes, long nowNanos) {
    Settings s = settings;
    // Draw the same three numbers for every datagram, whatever the outcome: decisions stay
    // aligned with the offers, so a seed replays exactly.
    double chain = random.nextDouble();
    double burst = random.nextDouble();
    double independent = random.nextDouble();
    long jitter = s.jitterNanos() == 0 ? 0 : (long) (random.nextDouble() * s.jitterNanos());
    bad = bad ? chain >= s.badToGood() : chain < s.goodToBad();
    Fate fate;
    long deliverAt = -1;
    if (s.cut()) {
      fate = Fate.CUT;
    } else if (independent < s.lossRate()) {
      fate = Fate.LOST_RANDOM;
    } else if (bad && burst < s.burstLossRate()) {
      fate = Fate.LOST_BURST;
    } else {
      long start = Math.max(nowNanos, linkFreeAtNanos);
      long serialise = s.bytesPerSecond() == 0 ? 0 : bytes * 1_000_000_000L / s.bytesPerSecond();
      long waitingBytes = s.bytesPerSecond() == 0 ? 0
          : (start - nowNanos) * s.bytesPerSecond() / 1_000_000_000L;
      if (waitingBytes + bytes > s.queueBytesMax()) {
        fate = Fate.QUEUE_FULL;
      } else {
        fate = Fate.PASSED;
        linkFreeAtNanos = start + serialise;
        deliverAt = linkFreeAtNanos + s.delayNanos() + jitter;
      }
    }
    fates[fate.ordinal()]++;
    return new Decision(fate, deliverAt);
  }

  /** How many datagrams met each fate so far. */
  public long count(Fate fate) {
    return fates[fate.ordinal()];
  }
}
