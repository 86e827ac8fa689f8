package io.respawn.storage.backup;

/**
 * A snapshot of a {@link BackupStore}'s counters (INFO, benchmarks, tests).
 *
 * @param keys keys in the index, tombstones included
 * @param tombstones keys whose newest record is a tombstone (kept until GC may drop them)
 * @param indexOffHeapBytes bytes the index allocated off the heap (table and key arena)
 * @param ringBytes size of the buffer's ring
 * @param bufferUsedBytes ring bytes not yet reusable (waiting for writeback or its checkpoint)
 * @param bufferHighWaterBytes the most ring bytes ever in use at once
 * @param bufferFullWaits replicated writes that had to wait for ring space
 * @param applied replicated writes stored
 * @param duplicates writes ignored because an equal or newer timestamp was already applied
 * @param durableSeq every record with a smaller seq is durable (its durable notice is done)
 * @param tailSeq seq the next record gets
 * @param hotSegments segments of the hot log
 * @param hotBytes record bytes in the hot log (live and stale)
 * @param hotLiveBytes record bytes in the hot log that the index points to
 * @param coldSegments segments of the cold log
 * @param coldBytes record bytes in the cold log
 * @param coldLiveBytes live record bytes in the cold log
 * @param writebackPasses writeback passes that moved records
 * @param writebackBytes bytes written to the logs (records and padding)
 * @param writebackNanos time spent in those passes (forces, writes, fsyncs, checkpoint)
 * @param gcSegments segments GC collected (deleted)
 * @param gcBytesRead segment bytes GC read
 * @param gcRecordsRewritten live records GC appended to the buffer again
 * @param gcRecordsDropped stale records GC dropped
 * @param gcTombstonesDropped tombstones GC dropped for good
 * @param gcNanos time spent collecting
 * @param hotKeys keys in the most-popular set
 * @param popularityReports popularity reports received
 * @param hotOldestSegmentId id of the hot log's oldest segment (0 if it has none)
 * @param coldOldestSegmentId id of the cold log's oldest segment (0 if it has none)
 * @param newestSegmentId id of the newest segment created in either log (ids only grow and are
 *     shared by both logs, so every segment present now is gone once a log's oldest id is
 *     larger than this)
 */
public record BackupStats(
    long keys,
    long tombstones,
    long indexOffHeapBytes,
    long ringBytes,
    long bufferUsedBytes,
    long bufferHighWaterBytes,
    long bufferFullWaits,
    long applied,
    long duplicates,
    long durableSeq,
    long tailSeq,
    int hotSegments,
    long hotBytes,
    long hotLiveBytes,
    int coldSegments,
    long coldBytes,
    long coldLiveBytes,
    long writebackPasses,
    long writebackBytes,
    long writebackNanos,
    long gcSegments,
    long gcBytesRead,
    long gcRecordsRewritten,
    long gcRecordsDropped,
    long gcTombstonesDropped,
    long gcNanos,
    int hotKeys,
    long popularityReports,
    long hotOldestSegmentId,
    long coldOldestSegmentId,
    long newestSegmentId) {}
