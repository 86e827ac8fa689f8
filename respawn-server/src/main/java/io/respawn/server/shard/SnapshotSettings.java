package io.respawn.server.shard;

import io.respawn.node.snapshot.SnapshotPolicy;

/**
 * When a shard member takes snapshots and compacts its replica log, and how fast it sends an
 * image to a member that needs one (config file keys in parentheses; see docs/operations.md):
 *
 * @param entries take a snapshot once this many entries were applied since the last one ({@code
 *     snapshot-entries}, default 100,000; 0 turns snapshots and log compaction off: the replica
 *     log then grows without bound and a restart replays it from the first entry)
 * @param logBytes also take one once the entries applied since the last one carry this many
 *     command bytes ({@code snapshot-log-bytes}, default 64 MiB; 0: by entries only)
 * @param tailEntries entries kept in the replica log behind a snapshot, so a member a little
 *     behind catches up from the log instead of a whole image ({@code snapshot-tail-entries},
 *     default 10,000)
 * @param tailBytes the entries kept behind a snapshot carry at most this many command bytes, or
 *     never more, whatever the image's size ({@code snapshot-tail-bytes}, default 16 MiB; 0: by
 *     entries only): a member further behind than that receives the image, no larger than the
 *     log it would replay, and the replica log on disk stays within this tail, what was applied
 *     since the last snapshot and one 64 MiB segment
 * @param chunkBytes image bytes per peer message ({@code snapshot-chunk-bytes}, default 64 KiB,
 *     at most 16 MiB)
 * @param bytesPerSecond rate limit of each transfer, so the primary keeps serving while it sends
 *     ({@code snapshot-bytes-per-sec}, default 32 MiB/s; at least one chunk)
 * @param logGrowthPercent a member that keeps values snapshots by {@code entries} or {@code
 *     logBytes} only once the commands applied since its last capture carry this share of its
 *     kept image's bytes ({@code snapshot-log-growth-percent}, default 100; 0: no such gate; see
 *     {@link SnapshotPolicy#logGrowthPercent}): a large data set is not rewritten whole every 64
 *     MiB of log
 * @param logCacheBytes bytes of the newest log entries the member's core keeps in memory beyond
 *     those not yet written or applied ({@code log-cache-bytes}, default 1 MiB, see {@code
 *     ReplicaConfig.logCacheBytesMax}); older ones are read back from the replica log, so the
 *     log between snapshots costs no heap
 */
public record SnapshotSettings(long entries, long logBytes, long tailEntries, long tailBytes,
    int chunkBytes, long bytesPerSecond, long logCacheBytes, int logGrowthPercent) {

  /** With the default {@link #logCacheBytes} and {@link #logGrowthPercent}. */
  public SnapshotSettings(long entries, long logBytes, long tailEntries, long tailBytes,
      int chunkBytes, long bytesPerSecond) {
    this(entries, logBytes, tailEntries, tailBytes, chunkBytes, bytesPerSecond,
        LOG_CACHE_BYTES_DEFAULT);
  }

  /** With the default {@link #logGrowthPercent}. */
  public SnapshotSettings(long entries, long logBytes, long tailEntries, long tailBytes,
      int chunkBytes, long bytesPerSecond, long logCacheBytes) {
    this(entries, logBytes, tailEntries, tailBytes, chunkBytes, bytesPerSecond, logCacheBytes,
        LOG_GROWTH_PERCENT_DEFAULT);
  }

  public static final int LOG_GROWTH_PERCENT_DEFAULT = 100;
  public static final int LOG_GROWTH_PERCENT_MAX = 10_000;

  public static final long LOG_CACHE_BYTES_DEFAULT =
      io.respawn.core.ReplicaConfig.LOG_CACHE_BYTES_DEFAULT;

  public static final long ENTRIES_DEFAULT = 100_000;
  public static final long LOG_BYTES_DEFAULT = 64L << 20;
  public static final long TAIL_ENTRIES_DEFAULT = 10_000;
  public static final long TAIL_BYTES_DEFAULT = 16L << 20;
  public static final int CHUNK_BYTES_DEFAULT = 64 << 10;
  public static final int CHUNK_BYTES_MAX = 16 << 20;
  public static final long BYTES_PER_SECOND_DEFAULT = 32L << 20;
  /** Chunks in flight per transfer. */
  static final int WINDOW_CHUNKS = 4;
  /** A transfer that heard nothing for this long resends from the last acknowledged offset. */
  static final long RETRY_MILLIS = 500;
  /** Largest image a member stages. */
  static final long IMAGE_BYTES_MAX = 1L << 40;

  public SnapshotSettings {
    if (entries < 0) {
      throw new IllegalArgumentException("snapshot-entries: " + entries + " must be >= 0");
    }
    if (logBytes < 0) {
      throw new IllegalArgumentException("snapshot-log-bytes: " + logBytes + " must be >= 0");
    }
    if (tailEntries < 0) {
      throw new IllegalArgumentException("snapshot-tail-entries: " + tailEntries
          + " must be >= 0");
    }
    if (tailBytes < 0) {
      throw new IllegalArgumentException("snapshot-tail-bytes: " + tailBytes + " must be >= 0");
    }
    if (chunkBytes < 1024 || chunkBytes > CHUNK_BYTES_MAX) {
      throw new IllegalArgumentException("snapshot-chunk-bytes: " + chunkBytes
          + " is not in [1024, " + CHUNK_BYTES_MAX + "]");
    }
    if (logGrowthPercent < 0 || logGrowthPercent > LOG_GROWTH_PERCENT_MAX) {
      throw new IllegalArgumentException("snapshot-log-growth-percent: " + logGrowthPercent
          + " is not in [0, " + LOG_GROWTH_PERCENT_MAX + "]");
    }
    if (logCacheBytes < 0) {
      throw new IllegalArgumentException("log-cache-bytes: " + logCacheBytes + " must be >= 0");
    }
    if (bytesPerSecond < chunkBytes) {
      throw new IllegalArgumentException("snapshot-bytes-per-sec: " + bytesPerSecond
          + " must be at least snapshot-chunk-bytes (" + chunkBytes + ")");
    }
  }

  public static SnapshotSettings defaults() {
    return new SnapshotSettings(ENTRIES_DEFAULT, LOG_BYTES_DEFAULT, TAIL_ENTRIES_DEFAULT,
        TAIL_BYTES_DEFAULT, CHUNK_BYTES_DEFAULT, BYTES_PER_SECOND_DEFAULT);
  }

  public boolean enabled() {
    return entries > 0;
  }

  /** The runtime's policy ({@link SnapshotPolicy#OFF} when {@code entries} is 0). */
  public SnapshotPolicy toPolicy() {
    if (!enabled()) {
      return SnapshotPolicy.OFF;
    }
    return new SnapshotPolicy(entries, tailEntries, chunkBytes, WINDOW_CHUNKS, bytesPerSecond,
        RETRY_MILLIS, IMAGE_BYTES_MAX, logBytes, tailBytes, logGrowthPercent);
  }
}
