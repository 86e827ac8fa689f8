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
 */
public final class PopularitySampler {
  private final double probability;
  private final int keysPerReportMax;
  private final SplittableRandom random;
  private final AtomicLong countdown = new AtomicLong();
  private long[] sampled;
  private int count;
  private long samples;
  private long dropped;

  /**
   * @param probability chance that one request is sampled, in (0, 1]
   * @param keysPerReportMax bound on one report
   */
  public PopularitySampler(double probability, int keysPerReportMax, long seed) {
    if (!(probability > 0 && probability <= 1)) {
      throw new IllegalArgumentException("probability " + probability + " must be > 0 and <= 1");
    }
    if (keysPerReportMax < 1 || keysPerReportMax > 1 << 24) {
      throw new IllegalArgumentException(
          "keysPerReportMax " + keysPerReportMax + " must be >= 1 and <= " + (1 << 24));
    }
    this.probability = probability;
    this.keysPerReportMax = keysPerReportMax;
    this.random = new SplittableRandom(seed);
    this.sampled = new long[Math.min(keysPerReportMax, 1024)];
    countdown.set(nextGap());
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
    countdown.set(nextGap());
  }

  /** Requests until the next sample: geometric with parameter probability, at least 1. */
  private long nextGap() {
    if (probability >= 1) {
      return 1;
    }
    double u = 1.0 - random.nextDouble(); // (0, 1]
    return 1 + (long) Math.floor(Math.log(u) / Math.log1p(-probability));
  }

  /** The hashes sampled since the last drain (possibly empty). */
  public synchronized long[] drainReport() {
    long[] report = Arrays.copyOf(sampled, count);
    count = 0;
    return report;
  }

  public synchronized long samples() {
    return samples;
  }

  public synchronized long dropped() {
    return dropped;
  }
}
