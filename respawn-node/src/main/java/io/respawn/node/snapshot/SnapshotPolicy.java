package io.respawn.node.snapshot;

/**
 * When a runtime takes snapshots and compacts its log, and how it sends snapshots to peers.
 *
 * @param entriesMin take a snapshot once the store has applied this many entries past the last
 *     one kept (0: never snapshot, never compact: the log grows without bound)
 * @param logTailEntries entries kept in the log behind the snapshot, so a peer a little behind
 *     catches up from the log rather than with a whole image
 * @param chunkBytes bytes of image per {@code SnapshotChunk}
 * @param windowChunks chunks in flight, unacknowledged, per transfer
 * @param bytesPerSecond rate limit of each transfer, so the sender keeps serving (the bucket holds
 *     one window)
 * @param retryMillis a transfer that made no progress for this long resends from the last
 *     acknowledged offset
 * @param imageBytesMax largest image a receiver stages; a larger one is refused
 * @param logBytesMin also take a snapshot once the commands of the entries applied since the
 *     last one kept carry this many bytes, even if fewer than {@code entriesMin} entries (0: by
 *     entries only); bounds the log between snapshots when entries are large
 * @param logTailBytesMax the entries kept behind the snapshot carry at most this many command
 *     bytes (0: by entries only). A peer further behind than that gets the image. The cap is not
 *     raised to the image's size (as it once was, so that a peer would never receive an image
 *     larger than the log it would replay): the core then held its log's entries, values and
 *     all, on the heap, and a tail as large as the image doubled a primary's memory per key (it
 *     now keeps only a bounded cache of them, {@code ReplicaConfig.logCacheBytesMax}, and the
 *     runtime sizes the tail by reading the replica log). The log on disk stays within this
 *     tail, the bytes applied since the last snapshot ({@code logBytesMin}) and one segment
 *     (compaction deletes whole segments)
 * @param logGrowthPercent a value keeper captures by {@code entriesMin} or {@code logBytesMin}
 *     only once the commands applied since its last capture also carry at least this share of
 *     its kept image's body bytes (Redis's {@code auto-aof-rewrite-percentage}; 0: no such gate).
 *     Without it a large data set is rewritten whole every {@code logBytesMin}: a 2 GiB load
 *     wrote 32 images, each larger than the last, and every one competed with the clients for the
 *     disk and a core. With 100, every byte applied is written at most about twice (log, then
 *     one image), and the log between captures stays under the image's size. A witness's entries
 *     carry no command bytes and its image holds keys only: it goes by entries alone. A capture
 *     a leader asks for (a member needs an image) is never gated
 */
public record SnapshotPolicy(
    long entriesMin,
    long logTailEntries,
    int chunkBytes,
    int windowChunks,
    long bytesPerSecond,
    long retryMillis,
    long imageBytesMax,
    long logBytesMin,
    long logTailBytesMax,
    int logGrowthPercent) {

  /** Without the growth gate ({@code logGrowthPercent} 0). */
  public SnapshotPolicy(long entriesMin, long logTailEntries, int chunkBytes, int windowChunks,
      long bytesPerSecond, long retryMillis, long imageBytesMax, long logBytesMin,
      long logTailBytesMax) {
    this(entriesMin, logTailEntries, chunkBytes, windowChunks, bytesPerSecond, retryMillis,
        imageBytesMax, logBytesMin, logTailBytesMax, 0);
  }

  /** By entries only ({@code logBytesMin} 0, {@code logTailBytesMax} 0). */
  public SnapshotPolicy(long entriesMin, long logTailEntries, int chunkBytes, int windowChunks,
      long bytesPerSecond, long retryMillis, long imageBytesMax) {
    this(entriesMin, logTailEntries, chunkBytes, windowChunks, bytesPerSecond, retryMillis,
        imageBytesMax, 0, 0);
  }

  /** A tail bounded by entries only ({@code logTailBytesMax} 0). */
  public SnapshotPolicy(long entriesMin, long logTailEntries, int chunkBytes, int windowChunks,
      long bytesPerSecond, long retryMillis, long imageBytesMax, long logBytesMin) {
    this(entriesMin, logTailEntries, chunkBytes, windowChunks, bytesPerSecond, retryMillis,
        imageBytesMax, logBytesMin, 0);
  }

  /** No snapshots and no compaction. */
  public static final SnapshotPolicy OFF = new SnapshotPolicy(0, 0, 64 * 1024, 4, 64L << 20, 500,
      1L << 40);

  public SnapshotPolicy {
    require(entriesMin >= 0, "entriesMin " + entriesMin + " must be >= 0");
    require(logTailEntries >= 0, "logTailEntries " + logTailEntries + " must be >= 0");
    require(chunkBytes >= 1 && chunkBytes <= 16 << 20, "chunkBytes " + chunkBytes
        + " must be in [1, 16 MiB]");
    require(windowChunks >= 1 && windowChunks <= 1024, "windowChunks " + windowChunks
        + " must be in [1, 1024]");
    require(bytesPerSecond >= chunkBytes, "bytesPerSecond " + bytesPerSecond
        + " must be >= chunkBytes " + chunkBytes);
    require(retryMillis >= 1, "retryMillis " + retryMillis + " must be >= 1");
    require(imageBytesMax >= 1, "imageBytesMax must be >= 1");
    require(logBytesMin >= 0, "logBytesMin " + logBytesMin + " must be >= 0");
    require(logTailBytesMax >= 0, "logTailBytesMax " + logTailBytesMax + " must be >= 0");
    require(logGrowthPercent >= 0 && logGrowthPercent <= 10_000, "logGrowthPercent "
        + logGrowthPercent + " must be in [0, 10000]");
  }

  /** Production defaults: a snapshot every 100,000 entries, 10,000 kept, 64 KiB chunks, 64 MiB/s. */
  public static SnapshotPolicy defaults() {
    return new SnapshotPolicy(100_000, 10_000, 64 * 1024, 4, 64L << 20, 500, 1L << 40);
  }

  public boolean enabled() {
    return entriesMin > 0;
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }
}
