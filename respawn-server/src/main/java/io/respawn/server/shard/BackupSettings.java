package io.respawn.server.shard;

import io.respawn.storage.backup.BackupConfig;

/**
 * A shard member's settings for the backup role's storage and the popularity that places its
 * records (config file keys in parentheses; see docs/operations.md):
 *
 * @param sampleProbability chance that the primary samples one request's key for popularity,
 *     in (0, 1] ({@code popularity-sample-probability}, default 0.001: the seed's figure; a few
 *     hundred samples a second at a primary's full load); the least it is: below {@link
 *     #SAMPLES_PER_REPORT_MIN} samples a report it rises
 * @param reportIntervalMillis how often the primary sends what it sampled to the backups
 *     ({@code popularity-report-ms}, default 1000)
 * @param hotKeysMax size of a backup's most-popular set: keys whose records go to the hot log
 *     ({@code backup-hot-keys}, default {@link BackupConfig#defaults()}'s 100,000)
 * @param segmentBytesMax a backup's hot and cold log segments are sealed at this size, and only
 *     sealed segments are collected ({@code backup-segment-bytes}, default 64 MiB)
 */
public record BackupSettings(double sampleProbability, long reportIntervalMillis, int hotKeysMax,
    long segmentBytesMax) {

  public static final double SAMPLE_PROBABILITY_DEFAULT = 0.001;
  public static final long REPORT_INTERVAL_MILLIS_DEFAULT = 1000;
  /**
   * Samples a popularity report holds at least when the primary serves enough requests: below
   * {@code SAMPLES_PER_REPORT_MIN / sampleProbability} requests per report (a million a second
   * at the defaults) the sampling probability rises to keep this many ({@code
   * PopularitySampler}), so a primary at 2,000 requests a second reports ~1,000 samples a second
   * instead of 2 and the backup's hot set (the warm-up's hot log) holds the keys clients use, not
   * a handful. 8 KiB of hashes a report; the backup's sketch has a fixed size.
   */
  public static final int SAMPLES_PER_REPORT_MIN = 1_000;

  public BackupSettings {
    if (!(sampleProbability > 0 && sampleProbability <= 1)) {
      throw new IllegalArgumentException("popularity-sample-probability: " + sampleProbability
          + " is not in (0, 1]");
    }
    if (reportIntervalMillis < 10 || reportIntervalMillis > 3_600_000) {
      throw new IllegalArgumentException("popularity-report-ms: " + reportIntervalMillis
          + " is not in [10, 3600000]");
    }
    // The rest is checked by BackupConfig, with the key named here.
    try {
      config(hotKeysMax, segmentBytesMax); // the fields are assigned after this body
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("backup-hot-keys / backup-segment-bytes: "
          + e.getMessage());
    }
  }

  public static BackupSettings defaults() {
    BackupConfig d = BackupConfig.defaults();
    return new BackupSettings(SAMPLE_PROBABILITY_DEFAULT, REPORT_INTERVAL_MILLIS_DEFAULT,
        d.hotKeysMax(), d.segmentBytesMax());
  }

  /** The backup store's configuration on a shard member. */
  public BackupConfig toConfig() {
    return config(hotKeysMax, segmentBytesMax);
  }

  private static BackupConfig config(int hotKeysMax, long segmentBytesMax) {
    return BackupConfig.defaults().toBuilder().hotKeysMax(hotKeysMax)
        .segmentBytesMax(segmentBytesMax).build();
  }
}
