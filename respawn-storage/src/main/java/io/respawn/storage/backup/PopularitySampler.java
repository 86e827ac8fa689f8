package io.respawn.storage.backup;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The primary's side of popularity (DESIGN.md §3): each request's key is sampled with a small
 * probability (≈ 0.001), and {@link #drainReport} hands the sampled key hashes to the runtime,
 * which sends them to the backups every few seconds ({@link BackupStore#reportPopularity}).
 *
 * <p>Cost per request: one atomic decrement. The gap to the next sample is drawn from the
 * geometric distribution with the sampling probability, so the samples are the same as
 * flipping a coin per request. A report holds at most {@code keysPerReportMax} hashes; samples
 * beyond that until the next drain are counted and dropped. Thread-safe; seeded, so a simulation
 * replays it.
 *
 * <p>With {@code samplesPerReportMin} above 0 the probability adapts at each drain: the requests
 * of the period just ended are counted from the gaps (no cost per request), and the next period
 * samples with {@code samplesPerReportMin / requests}, at least the configured probability and at
 * most 1. A primary serving 2,000 requests a second then still reports ~1,000 samples a second
 * instead of 2, so the backup's hot set means something at any load; at 1,000,000 requests a
 * second the configured 0.001 already gives that many. Memory stays bounded: a report by {@code
 * keysPerReportMax}, the backup's sketch by its hot-set size.
 */
public final class PopularitySampler {
  private final double probabilityMin;
  private final int keysPerReportMax;
  private final int samplesPerReportMin;
  private final SplittableRandom random;
  private final AtomicLong countdown = new AtomicLong();
  private double probability;
  /** The gap the countdown was last set to. */
  private long gap;
  /** Requests of the gaps that ended in a sample since the last drain. */
  private long requestsSinceDrain;
  private long[] sampled;
  private int count;
  private long samples;
  private long dropped;

  /**
   * A sampler with a fixed probability.
   *
   * @param probability chance that one request is sampled, in (0, 1]
   * @param keysPerReportMax bound on one report
   */
  public PopularitySampler(double probability, int keysPerReportMax, long seed) {
    this(probability, keysPerReportMax, 0, seed);
  }

  /**
   * @param probability chance that one request is sampled, in (0, 1]; the least it is
   * @param keysPerReportMax bound on one report
   * @param samplesPerReportMin the samples a report should hold at least (the probability
   *     adapts to the request rate, class comment), in [0, keysPerReportMax]; 0: fixed
   */
  public PopularitySampler(double probability, int keysPerReportMax, int samplesPerReportMin,
      long seed) {
    if (!(probability > 0 && probability <= 1)) {
      throw new IllegalArgumentException("probability " + probability + " must be > 0 and <= 1");
    }
    if (keysPerReportMax < 1 || keysPerReportMax > 1 << 24) {
      throw new IllegalArgumentException(
          "keysPerReportMax " + keysPerReportMax + " must be >= 1 and <= " + (1 << 24));
    }
    if (samplesPerReportMin < 0 || samplesPerReportMin > keysPerReportMax) {
      throw new IllegalArgumentException("samplesPerReportMin " + samplesPerReportMin
          + " must be >= 0 and <= keysPerReportMax " + keysPerReportMax);
    }
    this.probabilityMin = probability;
    this.probability = probability;
    this.keysPerReportMax = keysPerReportMax;
    this.samplesPerReportMin = samplesPerReportMin;
    this.random = new SplittableRandom(seed);
    this.sampled = new long[Math.min(keysPerReportMax, 1024)];
    this.gap = nextGap();
    countdown.set(gap);
  }

  /** Called for every request (read or write) the primary serves. */
  public void observe(byte[] key) {
    if (countdown.decrementAndGet() != 0) {
      return; // below zero: another thread is taking the sample right now
    }
    sample(KeyHash.of(key));
  }

  private synchronized void sample(long keyHash) {
    samples++;
    if (count < keysPerReportMax) {
      if (count == sampled.length) {
        sampled = Arrays.copyOf(sampled, Math.min(keysPerReportMax, count * 2));
      }
      sampled[count++] = keyHash;
    } else {
      dropped++;
    }
    requestsSinceDrain += gap;
    gap = nextGap();
    countdown.set(gap);
  }

  /** Requests until the next sample: geometric with parameter probability, at least 1. */
  private long nextGap() {
    if (probability >= 1) {
      return 1;
    }
    double u = 1.0 - random.nextDouble(); // (0, 1]
    return 1 + (long) Math.floor(Math.log(u) / Math.log1p(-probability));
  }

  /** The hashes sampled since the last drain (possibly empty); adapts the probability. */
  public synchronized long[] drainReport() {
    long[] report = Arrays.copyOf(sampled, count);
    count = 0;
    if (samplesPerReportMin > 0) {
      long requests = requestsSinceDrain + Math.max(0, gap - Math.max(0, countdown.get()));
      requestsSinceDrain = 0;
      if (requests > 0) { // an idle period says nothing about the next one's rate
        probability = Math.clamp((double) samplesPerReportMin / requests, probabilityMin, 1.0);
        // The gap under way is redrawn with the new probability (geometric gaps have no memory).
        gap = nextGap();
        countdown.set(gap);
      }
    }
    return report;
  }

  /** The probability the next request is sampled with. */
  public synchronized double probability() {
    return probability;
  }

  public synchronized long samples() {
    return samples;
  }

  public synchronized long dropped() {
    return dropped;
  }
}
