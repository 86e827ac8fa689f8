package io.respawn.node;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import io.respawn.core.SnapshotMeta;
import java.io.Closeable;
import java.util.List;

/**
 * Where a replica keeps its hard state (term, vote, commit index) and its log: the persistence
 * half of the core's {@code Ready} contract.
 *
 * <p>Contract. {@link #append} and {@link #truncateSuffix} are visible at once ({@link
 * #lastIndex}, {@link #termAt}) and <em>ordered</em> but volatile: after a crash the log recovers
 * to the state after some prefix of the history of appended entries and truncations (an append may
 * survive in part, as a prefix of its entries; nothing is ever reordered or half-written), and that
 * prefix contains every change made before the last completed {@link #flush} ({@link
 * #lastFlushedIndex} tells how far that reaches). The worst case is a machine crash (power loss,
 * kernel panic), which drops the whole unflushed suffix; a process crash (kill -9) leaves the
 * operating system's page cache, and so the whole written log, intact; the runtime assumes the
 * worst. {@link #saveHardState} is durable and atomic when it returns: after any crash the hard
 * state read back is the last one saved or, if the crash interrupted a save, the one before.
 * {@link #flush} may complete before it returns or later on a thread of the implementation; in
 * the latter case {@link #lastFlushedIndex} moves when it completes and the driver tells the
 * runtime ({@code NodeRuntime.onFlushed}). An {@link #append} may also flush on its own (a
 * segmented log fsyncs a segment it seals, with everything before it): {@link
 * #lastFlushedIndex} then moves during the append, and the runtime reports it itself. Any method may throw {@link
 * io.respawn.storage.StorageException} (disk full, I/O error, corruption found on open); after
 * that the log past the last completed flush is unknown and the node must stop (fail-stop) and
 * reopen, which recovers. Not thread-safe: the driver's thread calls everything, except that an
 * asynchronous flush completes elsewhere and {@link #lastFlushedIndex} must then be safe to read.
 *
 * <p>Invariants: {@code firstIndex() - 1 <= lastFlushedIndex() <= lastIndex()}; the entries in
 * [firstIndex, lastIndex] are contiguous and their terms never decrease.
 */
public interface ReplicaLog extends Closeable {

  /**
   * The hard state and the log found when the log was opened, for the replica's constructor:
   * the entries after {@code base} (the snapshot the state machine restarts from; {@link
   * SnapshotMeta#NONE} if none). Called once, before anything else is written. If the log does
   * not continue the base (it ends below it, or holds another term at its index: a crash between
   * installing a received snapshot and {@link #resetAfter}), it is reset after the base here,
   * durably. Throws {@link IllegalStateException} if the log was compacted beyond the base (the
   * entries between are gone: the store lost its image).
   */
  PersistentState load(SnapshotMeta base);

  /** {@link #load(SnapshotMeta)} without a snapshot: the log must start at index 1. */
  default PersistentState load() {
    return load(SnapshotMeta.NONE);
  }

  /**
   * Drops every entry and makes {@code index + 1} the next one (an installed snapshot ends at
   * {@code index}); durable when it returns. {@code index} may be anywhere, also beyond
   * {@link #lastIndex()}.
   */
  void resetAfter(long index);

  /** The last hard state saved (or recovered). */
  HardState hardState();

  /** Index of the first entry kept: 1 unless {@link #truncatePrefix} dropped earlier ones. */
  long firstIndex();

  /** Index of the last entry, {@code firstIndex() - 1} when the log is empty. */
  long lastIndex();

  /** Term of the entry at {@code index}; 0 for index 0 and for indexes outside the log. */
  long termAt(long index);

  /**
   * The entries from {@code fromIndex} on as the log holds them now (written, flushed or not),
   * in order, stopping after {@code toIndexInclusive}, at {@link #lastIndex()}, or once those
   * returned carry more than {@code bytesMax} bytes of encoded entry (the first always comes).
   * The core's {@link io.respawn.core.LogReader}: what its in-memory log no longer holds. Worst
   * case: a {@link io.respawn.storage.StorageException} when {@code fromIndex} is outside
   * [{@link #firstIndex()}, {@link #lastIndex()}] (compacted meanwhile, or never written), or
   * reading failed (an I/O error, a checksum that does not match: the bytes on disk are not
   * what was written). Unlike the other methods a failed read changes nothing: the log stays
   * usable, and the caller falls back (the core sends a snapshot instead).
   */
  List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax);

  /**
   * Highest index such that every entry up to it, as the log holds it now, survives any crash.
   * Moves back when {@link #truncateSuffix} removes flushed entries, forward when a flush ends.
   */
  long lastFlushedIndex();

  /** Stores the hard state durably and atomically (see the contract). */
  void saveHardState(HardState hardState);

  /**
   * Appends entries; the first must have index {@code lastIndex() + 1} and terms must not
   * decrease. Ordered, volatile until flushed.
   */
  void append(List<Entry> entries);

  /**
   * Removes every entry with index {@code >= fromIndex} (conflicting entries a new leader
   * overwrites); {@code firstIndex() <= fromIndex <= lastIndex() + 1}. Ordered like an append.
   */
  void truncateSuffix(long fromIndex);

  /**
   * Drops every entry with index {@code <= throughIndex}, which must be flushed (for compaction
   * behind a snapshot); durable when it returns. A no-op below {@link #firstIndex()}.
   */
  void truncatePrefix(long throughIndex);

  /** Makes every append and truncation so far durable (fsync), now or asynchronously. */
  void flush();

  /** Releases files; does not flush. */
  @Override
  void close();
}
