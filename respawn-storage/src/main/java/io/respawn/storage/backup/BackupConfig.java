package io.respawn.storage.backup;

/**
 * Limits and switches of a {@link BackupStore}, validated when built: a bad value throws {@link
 * IllegalArgumentException} naming the field, the value and the bound.
 *
 * @param bufferBytes size of the persistent buffer file: a 4 KiB checkpoint page, then the ring.
 *     A multiple of 4 KiB. Default 64 MiB (about half a second of the fastest single-writer load
 *     at 512-byte records; writeback drains it in milliseconds).
 * @param segmentBytesMax a log segment is sealed before it would exceed this. Default 64 MiB.
 * @param writebackBlockBytes writeback writes each log in blocks of this size (the last block of
 *     a pass may be shorter). Chosen from the block-size curve measured on the development disk
 *     ({@code respawn bench storage blocks}, docs/storage.md): the smallest request size whose
 *     O_DIRECT throughput reached 80 % of the best, i.e. where the device is saturated.
 *     Default 2 MiB.
 * @param writebackIntervalMillis a replicated write waits at most about this long before
 *     writeback copies it to the logs and checkpoints it (its durable notice), even if less than
 *     a block is waiting. 0 = no writeback thread: tests call the agent themselves.
 *     Default 5 ms.
 * @param keyBytesMax the largest key. Default 64 KiB.
 * @param valueBytesMax the largest value. A record must fit in a quarter of the ring. Default
 *     8 MiB.
 * @param gcIntervalMillis how often the GC agent considers the tails of the logs. 0 = no GC
 *     thread. Default 100 ms.
 * @param gcGarbageRatioMin GC collects a log's oldest sealed segment once at least this fraction
 *     of its record bytes is stale. Default 0.3.
 * @param gcDriftBytesPerSecond besides garbage, GC rewrites oldest segments at up to this rate
 *     so that keys whose popularity changed move to the right log without being written; 0 = only
 *     for garbage. Default 4 MiB/s.
 * @param gcBufferShareMax GC appends rewrites to the buffer only while it is less full than this
 *     share, so replicated writes always find room. Default 0.5.
 * @param hotKeysMax size of the most-popular set (keys whose records go to the hot log).
 *     Default 100,000.
 * @param popularityReportsPerEpoch popularity counts age: after this many reports the oldest
 *     epoch's counts are dropped. Default 8.
 * @param expectedKeys presizes the index (no rebuild pause while it fills up to this). Default 0.
 * @param applyWaitMillis how long a replicated write waits for buffer space before it fails.
 *     Default 10 s.
 * @param checksums EXPERIMENT ONLY, always true in production: false makes recovery skip every
 *     record checksum, to show that the crash campaign can find inconsistent states.
 * @param directPullReads the reads this backup makes to answer other members' pulls (BatchPull
 *     chunks, PriorityPull pages) bypass the page cache ({@code O_DIRECT}, {@link DirectReads})
 *     when the store is a directory whose file system allows it; false reads them through the
 *     page cache. Default true: a recovery reads its values from the device and does not fill
 *     the machine's cache with a whole copy of the data.
 */
public record BackupConfig(
    long bufferBytes,
    long segmentBytesMax,
    int writebackBlockBytes,
    long writebackIntervalMillis,
    int keyBytesMax,
    int valueBytesMax,
    long gcIntervalMillis,
    double gcGarbageRatioMin,
    long gcDriftBytesPerSecond,
    double gcBufferShareMax,
    int hotKeysMax,
    int popularityReportsPerEpoch,
    long expectedKeys,
    long applyWaitMillis,
    boolean checksums,
    boolean directPullReads) {

  /** A log offset is 32 bits in the index; keep segments well under that. */
  public static final long SEGMENT_BYTES_LIMIT = 1L << 30;
  public static final long BUFFER_BYTES_LIMIT = 1L << 40;

  public BackupConfig {
    requireRange("bufferBytes", bufferBytes, 4 * BackupFormat.PAGE_BYTES, BUFFER_BYTES_LIMIT);
    if (bufferBytes % BackupFormat.PAGE_BYTES != 0) {
      throw new IllegalArgumentException(
          "bufferBytes " + bufferBytes + " must be a multiple of " + BackupFormat.PAGE_BYTES);
    }
    requireRange("keyBytesMax", keyBytesMax, 1, 1 << 16);
    requireRange("valueBytesMax", valueBytesMax, 0, 1 << 30);
    long recordMax = BackupFormat.recordBytes(keyBytesMax, valueBytesMax);
    long ringBytes = bufferBytes - BackupFormat.RING_START;
    if (BackupFormat.align(recordMax, BackupFormat.BUFFER_ALIGN_BYTES) > ringBytes / 4) {
      throw new IllegalArgumentException("a record with the largest key (keyBytesMax " + keyBytesMax
          + ") and value (valueBytesMax " + valueBytesMax + ") takes " + recordMax
          + " bytes, more than a quarter of the ring (bufferBytes " + bufferBytes
          + "): raise bufferBytes or lower the limits");
    }
    requireRange("segmentBytesMax", segmentBytesMax,
        BackupFormat.SEGMENT_HEADER_BYTES + BackupFormat.PAGE_BYTES + recordMax, SEGMENT_BYTES_LIMIT);
    requireRange("writebackBlockBytes", writebackBlockBytes, BackupFormat.PAGE_BYTES, 64 << 20);
    if (writebackBlockBytes % BackupFormat.PAGE_BYTES != 0) {
      throw new IllegalArgumentException("writebackBlockBytes " + writebackBlockBytes
          + " must be a multiple of " + BackupFormat.PAGE_BYTES);
    }
    requireRange("writebackIntervalMillis", writebackIntervalMillis, 0, 60_000);
    requireRange("gcIntervalMillis", gcIntervalMillis, 0, 3_600_000);
    if (!(gcGarbageRatioMin > 0.0 && gcGarbageRatioMin <= 1.0)) {
      throw new IllegalArgumentException(
          "gcGarbageRatioMin " + gcGarbageRatioMin + " must be > 0 and <= 1");
    }
    requireRange("gcDriftBytesPerSecond", gcDriftBytesPerSecond, 0, 1L << 40);
    if (!(gcBufferShareMax > 0.0 && gcBufferShareMax < 1.0)) {
      throw new IllegalArgumentException(
          "gcBufferShareMax " + gcBufferShareMax + " must be > 0 and < 1");
    }
    requireRange("hotKeysMax", hotKeysMax, 0, 1 << 24);
    requireRange("popularityReportsPerEpoch", popularityReportsPerEpoch, 1, 1 << 20);
    requireRange("expectedKeys", expectedKeys, 0, BackupIndex.KEYS_MAX);
    requireRange("applyWaitMillis", applyWaitMillis, 0, 3_600_000);
  }

  /** Production defaults. */
  public static BackupConfig defaults() {
    return new BackupConfig(64L << 20, 64L << 20, 2 << 20, 5, 64 << 10, 8 << 20, 100, 0.3,
        4L << 20, 0.5, 100_000, 8, 0, 10_000, true, true);
  }

  /** Bytes of the ring (the buffer file minus its checkpoint page). */
  public long ringBytes() {
    return bufferBytes - BackupFormat.RING_START;
  }

  public Builder toBuilder() {
    return new Builder(this);
  }

  /** Changes some fields of a config; {@link #build} validates the result. */
  public static final class Builder {
    private long bufferBytes;
    private long segmentBytesMax;
    private int writebackBlockBytes;
    private long writebackIntervalMillis;
    private int keyBytesMax;
    private int valueBytesMax;
    private long gcIntervalMillis;
    private double gcGarbageRatioMin;
    private long gcDriftBytesPerSecond;
    private double gcBufferShareMax;
    private int hotKeysMax;
    private int popularityReportsPerEpoch;
    private long expectedKeys;
    private long applyWaitMillis;
    private boolean checksums;
    private boolean directPullReads;

    private Builder(BackupConfig c) {
      bufferBytes = c.bufferBytes;
      segmentBytesMax = c.segmentBytesMax;
      writebackBlockBytes = c.writebackBlockBytes;
      writebackIntervalMillis = c.writebackIntervalMillis;
      keyBytesMax = c.keyBytesMax;
      valueBytesMax = c.valueBytesMax;
      gcIntervalMillis = c.gcIntervalMillis;
      gcGarbageRatioMin = c.gcGarbageRatioMin;
      gcDriftBytesPerSecond = c.gcDriftBytesPerSecond;
      gcBufferShareMax = c.gcBufferShareMax;
      hotKeysMax = c.hotKeysMax;
      popularityReportsPerEpoch = c.popularityReportsPerEpoch;
      expectedKeys = c.expectedKeys;
      applyWaitMillis = c.applyWaitMillis;
      checksums = c.checksums;
      directPullReads = c.directPullReads;
    }

    public Builder bufferBytes(long v) {
      bufferBytes = v;
      return this;
    }

    public Builder segmentBytesMax(long v) {
      segmentBytesMax = v;
      return this;
    }

    public Builder writebackBlockBytes(int v) {
      writebackBlockBytes = v;
      return this;
    }

    public Builder writebackIntervalMillis(long v) {
      writebackIntervalMillis = v;
      return this;
    }

    public Builder keyBytesMax(int v) {
      keyBytesMax = v;
      return this;
    }

    public Builder valueBytesMax(int v) {
      valueBytesMax = v;
      return this;
    }

    public Builder gcIntervalMillis(long v) {
      gcIntervalMillis = v;
      return this;
    }

    public Builder gcGarbageRatioMin(double v) {
      gcGarbageRatioMin = v;
      return this;
    }

    public Builder gcDriftBytesPerSecond(long v) {
      gcDriftBytesPerSecond = v;
      return this;
    }

    public Builder gcBufferShareMax(double v) {
      gcBufferShareMax = v;
      return this;
    }

    public Builder hotKeysMax(int v) {
      hotKeysMax = v;
      return this;
    }

    public Builder popularityReportsPerEpoch(int v) {
      popularityReportsPerEpoch = v;
      return this;
    }

    public Builder expectedKeys(long v) {
      expectedKeys = v;
      return this;
    }

    public Builder applyWaitMillis(long v) {
      applyWaitMillis = v;
      return this;
    }

    /** EXPERIMENT ONLY: see {@link BackupConfig#checksums()}. */
    public Builder checksums(boolean v) {
      checksums = v;
      return this;
    }

    /** See {@link BackupConfig#directPullReads()}. */
    public Builder directPullReads(boolean v) {
      directPullReads = v;
      return this;
    }

    public BackupConfig build() {
      return new BackupConfig(bufferBytes, segmentBytesMax, writebackBlockBytes,
          writebackIntervalMillis, keyBytesMax, valueBytesMax, gcIntervalMillis,
          gcGarbageRatioMin, gcDriftBytesPerSecond, gcBufferShareMax, hotKeysMax,
          popularityReportsPerEpoch, expectedKeys, applyWaitMillis, checksums, directPullReads);
    }
  }

  private static void requireRange(String field, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          field + " " + value + " is out of range: must be >= " + min + " and <= " + max);
    }
  }
}
