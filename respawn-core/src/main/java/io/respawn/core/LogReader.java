package io.respawn.core;

import java.util.List;

/**
 * Reads back entries the runtime persisted, for a {@link Replica} whose in-memory log keeps only
 * its tail (the shape of etcd raft's {@code Storage.Entries}): the core holds the entries not yet
 * persisted or applied and a cache of the newest ones up to {@link
 * ReplicaConfig#logCacheBytesMax()}; older ones it reads here when a leader sends a lagging
 * follower what it lacks, when it answers a {@code RequestLog}, or when an elided copy below the
 * cache is filled.
 *
 * <p>Contract. {@link #read} returns the entries from {@code fromIndex} on, in index order and
 * contiguous, stopping after {@code toIndexInclusive} or once the entries returned carry more
 * than {@code bytesMax} bytes (the first entry always comes, however large), exactly as the
 * replica log holds them <em>now</em>: for every index the core has been told is persisted
 * ({@link Replica#advance}) and has not truncated or compacted since, that is the entry the core
 * handed out for persisting (an elided one elided). It changes nothing and is called on the
 * driver's thread inside a core call, so it may block on the disk for one read. The worst case:
 * {@link EntriesUnavailable} when the range starts below the log's first entry (compacted away
 * meanwhile) or beyond its last, or the read failed (an I/O error, a checksum mismatch). The
 * core never trusts it further than that: it checks the indexes and terms of what comes back.
 */
public interface LogReader {

  /** Entries in [fromIndex, toIndexInclusive] up to {@code bytesMax} bytes (see the contract). */
  List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax)
      throws EntriesUnavailable;

  /** No reader: the core keeps every entry of its log in memory (tests, tools). */
  LogReader NONE = (from, to, bytesMax) -> {
    throw new EntriesUnavailable("no log reader: the core keeps every entry in memory");
  };
}
