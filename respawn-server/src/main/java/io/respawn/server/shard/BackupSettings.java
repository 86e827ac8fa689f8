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
 * @param writebackIntervalMillis how long a record waits at most in a backup's persistent buffer
 *     before writeback copies it to the hot or cold log ({@code backup-writeback-interval-ms},
 *     default {@link #WRITEBACK_INTERVAL_MILLIS_DEFAULT}; a full block goes sooner)
 */
public record BackupSettings(double sampleProbability, long reportIntervalMillis, int hotKeysMax,
    long segmentBytesMax, long writebackIntervalMillis) {

  public static final double SAMPLE_PROBABILITY_DEFAULT = 0.001;
  public static final long REPORT_INTERVAL_MILLIS_DEFAULT = 1000;
  /**
   * Samples a popularity report holds at least when the primary serves enough requests: below
   * {@code SAMPLES_PER_REPORT_MIN / sampleProbability} requests per report (a million a second
   * at the defaults) the sampling probability rises to keep this many ({@code
   * PopularitySampler}), so a primary at 2,000 requests a second reports ~1,000 samples a second
   * instead of 2 and the backup's hot set (the popular set a new primary pulls first, and the
   * hot log) holds the keys clients use, not a handful. 8 KiB of hashes a report; the backup's
   * sketch has a fixed size. Sampling every request (4,096 a report) doubles the keys sampled
   * twice but also the sampled set, which GC drift moves into the hot log (a longer warm-up;
   * docs/recovery.md).
   */
  public static final int SAMPLES_PER_REPORT_MIN = 1_000;
  /**
   * A shard member's backup writes its buffer back every 50 ms, not every 5 ms as the store's
   * own default: a member's acknowledgements (ORDERED, DURABLE, WAIT) rest on its replica log,
   * never on the store's durable notice, so the interval only bounds how much of the buffer's
   * ring waits (~1 MB at E1's write-only load, against 64 MiB) while each pass costs two
   * fdatasyncs and an msync: at 5 ms that was ~600 syncs a second on the disk the replica logs'
   * DURABLE fsyncs share, and 17 % of the backup's CPU under E1's write-only load.
   */
  public static final long WRITEBACK_INTERVAL_MILLIS_DEFAULT = 50;

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
      config(hotKeysMax, segmentBytesMax, writebackIntervalMillis); // fields: after this body
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("backup-hot-keys / backup-segment-bytes / "
          + "backup-writeback-interval-ms: " + e.getMessage());
    }
    if (writebackIntervalMillis < 1) {
      throw new IllegalArgumentException("backup-writeback-interval-ms: " + writebackIntervalMillis
          + " is not at least 1");
    }
  }

  public static BackupSettings defaults() {
    BackupConfig d = BackupConfig.defaults();
    return new BackupSettings(SAMPLE_PROBABILITY_DEFAULT, REPORT_INTERVAL_MILLIS_DEFAULT,
        d.hotKeysMax(), d.segmentBytesMax(), WRITEBACK_INTERVAL_MILLIS_DEFAULT);
  }

  /** The backup store's configuration on a shard member. */
  public BackupConfig toConfig() {
    return config(hotKeysMax, segmentBytesMax, writebackIntervalMillis);
  }

  private static BackupConfig config(int hotKeysMax, long segmentBytesMax,
      long writebackIntervalMillis) {
    return BackupConfig.defaults().toBuilder().hotKeysMax(hotKeysMax)
        .segmentBytesMax(segmentBytesMax).writebackIntervalMillis(writebackIntervalMillis).build();
  }
}
