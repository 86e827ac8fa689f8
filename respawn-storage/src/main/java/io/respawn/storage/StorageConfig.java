package io.respawn.storage;

import io.respawn.storage.memory.RecordTable;

/**
 * Limits and switches of the storage engine, validated when the record is built: a bad value
 * throws {@link IllegalArgumentException} naming the field, the value and the bound.
 *
 * @param segmentBytesMax a log segment is sealed and a new one started before a batch would take
 *     it past this. A batch larger than {@code segmentBytesMax - 16} (a value bigger than a
 *     segment) gets a segment of its own, which is sealed right after it (see {@link LogFormat}).
 *     Default 128 MiB.
 * @param batchBytesMax the largest encoded batch (one {@link KvStore#apply} call) in bytes; must
 *     hold one record with the largest key and value. Default 1.5 GiB, so a batch can hold a whole
 *     command of up to 1 GiB of arguments (the server's request limit) besides other writes.
 * @param keyBytesMax the largest key. Default 64 KiB (Redis allows 512 MB keys; we do not).
 * @param valueBytesMax the largest value. Default 512 MiB, Redis's {@code proto-max-bulk-len}; at
 *     most 1 GiB. Recovery reads records up to the format's own limits ({@link
 *     LogFormat#VALUE_BYTES_LIMIT}), so lowering this never hides a value already stored.
 * @param flushIntervalMillis the background flusher fsyncs the log at least this often, bounding
 *     how long an ORDERED write stays volatile. 0 disables the background thread: durability is
 *     then only reached when a caller asks for it ({@link WriteTicket#durable()}, {@link
 *     KvStore#flushAll()}), which runs the fsync in the caller's thread — meant for deterministic
 *     simulation. Default 100 ms.
 * @param compactionIntervalMillis how often the background compactor checks whether compaction
 *     is worth it; 0 disables background compaction ({@link LogEngine#compact()} still works).
 *     Default 10 s.
 * @param compactionGarbageRatioMin compact when at least this fraction of the sealed segments'
 *     bytes is stale. Default 0.5.
 * @param compactionBytesMin do not compact sealed segments holding fewer bytes than this in
 *     total. Default 64 MiB.
 * @param truncateCorruptLog repair switch ({@code --on-corruption truncate}): when recovery finds
 *     corruption that is not a torn write (bad bytes in data known to have been flushed), truncate
 *     the log there and drop everything after it instead of refusing to open. Loses acknowledged
 *     writes; default false.
 * @param diskReserveBytes space kept back on the log's disk ({@link SpaceReserve}, a file of
 *     zeros) so that deletes, FLUSHALL and compaction still work when the disk is full: when a
 *     write fails for want of space the engine releases it and refuses only batches that store
 *     values, until a probe finds room for the reserve again. 0 keeps nothing back (deletes may
 *     then fail too). Default 64 MiB.
 * @param batchChecksums EXPERIMENT ONLY, always true in production: false makes recovery skip
 *     every checksum check (record CRCs and the commit record's batch checksum) and trust a commit
 *     record alone, as a journal without checksummed commits would. It exists to show that the
 *     crash-state test can find inconsistent states.
 */
public record StorageConfig(
    long segmentBytesMax,
    int batchBytesMax,
    int keyBytesMax,
    int valueBytesMax,
    long flushIntervalMillis,
    long compactionIntervalMillis,
    double compactionGarbageRatioMin,
    long compactionBytesMin,
    boolean truncateCorruptLog,
    long diskReserveBytes,
    boolean batchChecksums) {

  /** No segment may be larger than this: offsets are checked as longs, but keep files sane. */
  public static final long SEGMENT_BYTES_LIMIT = 1L << 40;

  /** The smallest segment: one block. */
  public static final long SEGMENT_BYTES_MIN = 4096;

  public static final long FLUSH_INTERVAL_MILLIS_LIMIT = 60_000;

  public StorageConfig {
    requireRange("keyBytesMax", keyBytesMax, 1, RecordTable.KEY_BYTES_MAX); // 24 bits in memory
    requireRange("valueBytesMax", valueBytesMax, 0, LogFormat.VALUE_BYTES_LIMIT);
    long oneRecordBytesMax = LogFormat.recordBytes(keyBytesMax, valueBytesMax) + LogFormat.COMMIT_BYTES;
    requireRange("batchBytesMax", batchBytesMax, oneRecordBytesMax, LogFormat.BATCH_BYTES_LIMIT);
    requireRange("segmentBytesMax", segmentBytesMax, SEGMENT_BYTES_MIN, SEGMENT_BYTES_LIMIT);
    requireRange("flushIntervalMillis", flushIntervalMillis, 0, FLUSH_INTERVAL_MILLIS_LIMIT);
    requireRange("compactionIntervalMillis", compactionIntervalMillis, 0, 86_400_000L);
    if (!(compactionGarbageRatioMin > 0.0 && compactionGarbageRatioMin < 1.0)) {
      throw new IllegalArgumentException(
          "compactionGarbageRatioMin " + compactionGarbageRatioMin + " must be > 0 and < 1");
    }
    requireRange("compactionBytesMin", compactionBytesMin, 0, Long.MAX_VALUE);
    requireRange("diskReserveBytes", diskReserveBytes, 0, DISK_RESERVE_BYTES_LIMIT);
  }

  /** The largest reserve: 16 GiB. */
  public static final long DISK_RESERVE_BYTES_LIMIT = 16L << 30;

  /** Production defaults. */
  public static StorageConfig defaults() {
    return new StorageConfig(
        128L << 20, 1536 << 20, 64 << 10, 512 << 20, 100, 10_000, 0.5, 64L << 20, false,
        64L << 20, true);
  }

  public StorageConfig withSegmentBytesMax(long v) {
    return new StorageConfig(v, batchBytesMax, keyBytesMax, valueBytesMax, flushIntervalMillis,
        compactionIntervalMillis, compactionGarbageRatioMin, compactionBytesMin,
        truncateCorruptLog, diskReserveBytes, batchChecksums);
  }

  public StorageConfig withBatchBytesMax(int v) {
    return new StorageConfig(segmentBytesMax, v, keyBytesMax, valueBytesMax, flushIntervalMillis,
        compactionIntervalMillis, compactionGarbageRatioMin, compactionBytesMin,
        truncateCorruptLog, diskReserveBytes, batchChecksums);
  }

  /** Sets the three size limits together (they constrain each other). */
  public StorageConfig withSizes(long segmentBytes, int batchBytes, int keyBytes, int valueBytes) {
    return new StorageConfig(segmentBytes, batchBytes, keyBytes, valueBytes, flushIntervalMillis,
        compactionIntervalMillis, compactionGarbageRatioMin, compactionBytesMin,
        truncateCorruptLog, diskReserveBytes, batchChecksums);
  }

  public StorageConfig withFlushIntervalMillis(long v) {
    return new StorageConfig(segmentBytesMax, batchBytesMax, keyBytesMax, valueBytesMax, v,
        compactionIntervalMillis, compactionGarbageRatioMin, compactionBytesMin,
        truncateCorruptLog, diskReserveBytes, batchChecksums);
  }

  public StorageConfig withCompaction(long intervalMillis, double garbageRatioMin, long bytesMin) {
    return new StorageConfig(segmentBytesMax, batchBytesMax, keyBytesMax, valueBytesMax,
        flushIntervalMillis, intervalMillis, garbageRatioMin, bytesMin, truncateCorruptLog,
        diskReserveBytes, batchChecksums);
  }

  public StorageConfig withTruncateCorruptLog(boolean v) {
    return new StorageConfig(segmentBytesMax, batchBytesMax, keyBytesMax, valueBytesMax,
        flushIntervalMillis, compactionIntervalMillis, compactionGarbageRatioMin,
        compactionBytesMin, v, diskReserveBytes, batchChecksums);
  }

  /** EXPERIMENT ONLY: see {@link #batchChecksums()}. */
  public StorageConfig withBatchChecksums(boolean v) {
    return new StorageConfig(segmentBytesMax, batchBytesMax, keyBytesMax, valueBytesMax,
        flushIntervalMillis, compactionIntervalMillis, compactionGarbageRatioMin,
        compactionBytesMin, truncateCorruptLog, diskReserveBytes, v);
  }

  public StorageConfig withDiskReserveBytes(long v) {
    return new StorageConfig(segmentBytesMax, batchBytesMax, keyBytesMax, valueBytesMax,
        flushIntervalMillis, compactionIntervalMillis, compactionGarbageRatioMin,
        compactionBytesMin, truncateCorruptLog, v, batchChecksums);
  }

  private static void requireRange(String field, long value, long min, long max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          field + " " + value + " is out of range: must be >= " + min + " and <= " + max);
    }
  }
}
