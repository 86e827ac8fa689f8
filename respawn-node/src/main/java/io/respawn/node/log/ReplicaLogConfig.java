package io.respawn.node.log;

/**
 * Limits of a {@link SegmentedReplicaLog}, validated on construction with messages that name the
 * limit.
 *
 * @param segmentBytesMax a segment is sealed (flushed) and a new one started once it reaches this
 *     size; a segment never holds more than this plus one batch
 * @param batchBytesMax one append is split into batches of at most this many bytes (each batch is
 *     one write and one checksum); a single entry must fit in one batch
 * @param verifyChecksums check record and batch checksums on recovery; only the crash test turns
 *     it off, to show that the checksums are what catches torn writes
 */
public record ReplicaLogConfig(long segmentBytesMax, int batchBytesMax, boolean verifyChecksums) {

  /** Largest segment the format allows (recovery reads a segment in one piece). */
  public static final long SEGMENT_BYTES_LIMIT = 1L << 30;

  public ReplicaLogConfig {
    if (segmentBytesMax < 4096 || segmentBytesMax > SEGMENT_BYTES_LIMIT) {
      throw new IllegalArgumentException("segmentBytesMax " + segmentBytesMax
          + " must be in [4096, " + SEGMENT_BYTES_LIMIT + "]");
    }
    if (batchBytesMax < 1024 || batchBytesMax > segmentBytesMax) {
      throw new IllegalArgumentException("batchBytesMax " + batchBytesMax
          + " must be in [1024, segmentBytesMax " + segmentBytesMax + "]");
    }
  }

  /** 64 MiB segments, 4 MiB batches, checksums verified. */
  public static ReplicaLogConfig defaults() {
    return new ReplicaLogConfig(64L << 20, 4 << 20, true);
  }

  public ReplicaLogConfig withSizes(long segmentBytes, int batchBytes) {
    return new ReplicaLogConfig(segmentBytes, batchBytes, verifyChecksums);
  }

  public ReplicaLogConfig withVerifyChecksums(boolean v) {
    return new ReplicaLogConfig(segmentBytesMax, batchBytesMax, v);
  }

  /** Largest entry body one batch can carry (one PUT record plus the commit record). */
  public int entryBytesMax() {
    return batchBytesMax - ReplicaLogFormat.PUT_OVERHEAD_BYTES - io.respawn.storage.LogFormat.COMMIT_BYTES;
  }
}
