package io.respawn.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The replica's in-memory log and its persistence bookkeeping. Owned by {@link Replica}.
 *
 * <p>The log may start after a snapshot base ({@link SnapshotMeta}): entries up to {@code
 * baseIndex} were compacted into the state machine's image; {@code term(baseIndex)} is the base's
 * term, and an index below the base is committed everywhere and has no entry here.
 *
 * <p>Entries in [1, persistedIndex] are known to be written to the replica log in order
 * (acknowledged through {@link Replica#advance}); entries in [1, flushedIndex] are also known to be
 * flushed (reported through {@link Replica#logFlushed}); entries from {@code unstableFrom} on must
 * be (re)written by the next {@link Ready}. Any mutation below {@code unstableFrom} moves it down,
 * which the Ready contract turns into "delete from there, then append". The log handed to the
 * constructor is taken as flushed (it is what a restart recovered).
 *
 * <p>Invariants: entry at position i has index baseIndex + i + 1; terms never decrease along the
 * log, starting from the base's term; {@code baseIndex <= flushedIndex <= persistedIndex <
 * unstableFrom <= lastIndex + 1}.
 */
final class RaftLog implements LogView {
  /** {@link #termOrMissing} of an index below the snapshot base. */
  static final long COMPACTED = -2;

  private final ArrayList<Entry> entries = new ArrayList<>();
  /** Where the CONFIG entries among {@link #entries} are. */
  private final ConfigPositions configs = new ConfigPositions();
  private SnapshotMeta base;
  private long persistedIndex;
  private long flushedIndex;
  private long unstableFrom;

  RaftLog(SnapshotMeta base, List<Entry> persisted) {
    this.base = base;
    entries.addAll(persisted);
    for (Entry e : persisted) {
      if (e.kind() == EntryKind.CONFIG) {
        configs.appended(e.index());
      }
    }
    persistedIndex = lastIndex();
    flushedIndex = persistedIndex;
    unstableFrom = persistedIndex + 1;
    checkInvariants();
  }

  @Override
  public long lastIndex() {
    return base.index() + entries.size();
  }

  @Override
  public long snapshotIndex() {
    return base.index();
  }

  SnapshotMeta base() {
    return base;
  }

  private int position(long index) {
    return (int) (index - base.index() - 1);
  }

  long lastTerm() {
    return term(lastIndex());
  }

  @Override
  public long term(long index) {
    if (index == base.index()) {
      return base.term();
    }
    if (index < base.index()) {
      throw new IndexOutOfBoundsException("index " + index + " is compacted (snapshot base "
          + base.index() + ")");
    }
    return entry(index).term();
  }

  /** The term at {@code index}; -1 if beyond the log, {@link #COMPACTED} below the base. */
  long termOrMissing(long index) {
    if (index == base.index()) {
      return base.term();
    }
    if (index < base.index()) {
      return index < 0 ? -1 : COMPACTED;
    }
    if (index > lastIndex()) {
      return -1;
    }
    return entries.get(position(index)).term();
  }

  @Override
  public Entry entry(long index) {
    if (index <= base.index() || index > lastIndex()) {
      throw new IndexOutOfBoundsException("index " + index + " outside [" + (base.index() + 1)
          + ", " + lastIndex() + "]");
    }
    return entries.get(position(index));
  }

  @Override
  public List<Entry> entries(long fromIndex, long toIndexInclusive) {
    long from = Math.max(base.index() + 1, fromIndex);
    long to = Math.min(lastIndex(), toIndexInclusive);
    if (from > to) {
      return List.of();
    }
    return new ArrayList<>(entries.subList(position(from), position(to) + 1));
  }

  /**
   * Log matching. An index below the base matches whatever term is asked: it is committed
   * durably, so the asker (a leader, whose log holds every durable entry) has the same entry.
   */
  boolean matches(long index, long term) {
    if (index < base.index()) {
      return index >= 0;
    }
    return termOrMissing(index) == term;
  }

  /** Raft's "at least as up to date": compare last (term, index). */
  boolean isUpToDate(long otherLastIndex, long otherLastTerm) {
    return compare(otherLastTerm, otherLastIndex, lastTerm(), lastIndex()) >= 0;
  }

  /** Orders log positions by (term, index). */
  static int compare(long termA, long indexA, long termB, long indexB) {
    int c = Long.compare(termA, termB);
    return c != 0 ? c : Long.compare(indexA, indexB);
  }

  void append(Entry e) {
    if (e.index() != lastIndex() + 1) {
      throw new IllegalStateException("append " + e + " after last index " + lastIndex());
    }
    if (e.term() < lastTerm()) {
      throw new IllegalStateException("append " + e + " with term below last term " + lastTerm());
    }
    entries.add(e);
    if (e.kind() == EntryKind.CONFIG) {
      configs.appended(e.index());
    }
  }

  /** Drops entries with index >= {@code fromIndex}. */
  void truncateFrom(long fromIndex) {
    if (fromIndex < 1 || fromIndex > lastIndex() + 1) {
      throw new IllegalStateException("truncate from " + fromIndex + " with last " + lastIndex());
    }
    if (fromIndex <= base.index()) {
      throw new IllegalStateException("truncate from " + fromIndex + " into the snapshot base "
          + base);
    }
    while (lastIndex() >= fromIndex) {
      entries.remove(entries.size() - 1);
    }
    configs.truncatedFrom(fromIndex);
    markRewrittenFrom(fromIndex);
  }

  /** Replaces the entry at {@code e.index()} with an equal-identity copy (e.g. value filled). */
  void replaceSameEntry(Entry e) {
    Entry old = entry(e.index());
    if (!old.sameId(e)) {
      throw new IllegalStateException("replace " + old + " by different entry " + e);
    }
    if (old.kind() != e.kind()) {
      throw new IllegalStateException("replace " + old + " by an entry of another kind " + e);
    }
    entries.set(position(e.index()), e);
    markRewrittenFrom(e.index());
  }

  private void markRewrittenFrom(long index) {
    unstableFrom = Math.min(unstableFrom, index);
    persistedIndex = Math.min(persistedIndex, index - 1);
    flushedIndex = Math.min(flushedIndex, index - 1);
  }

  long persistedIndex() {
    return persistedIndex;
  }

  long flushedIndex() {
    return flushedIndex;
  }

  /**
   * The runtime's replica log reports everything up to {@code index} flushed. Only what this log
   * knows is persisted counts: a report about entries since rewritten, or not yet acknowledged,
   * moves nothing. Returns true if the flushed index moved.
   */
  boolean flushedTo(long index) {
    long next = Math.max(flushedIndex, Math.min(index, persistedIndex));
    boolean moved = next > flushedIndex;
    flushedIndex = next;
    return moved;
  }

  /** Entries the next Ready must persist (overwriting from the first one's index). */
  List<Entry> takeUnstable() {
    List<Entry> out = entries(unstableFrom, lastIndex());
    unstableFrom = lastIndex() + 1;
    return out;
  }

  /** The runtime persisted everything up to {@code e} (the last entry of a Ready). */
  void persistedTo(Entry e) {
    if (matches(e.index(), e.term())) {
      persistedIndex = Math.max(persistedIndex, Math.min(e.index(), unstableFrom - 1));
    }
  }

  /**
   * The latest CONFIG entry at or below {@code index}, or null. Below the log's first entry the
   * base's membership stands in, as a CONFIG entry at the base index (committed, like the base).
   */
  Entry latestConfigAtOrBelow(long index) {
    long at = configs.latestAtOrBelow(Math.min(index, lastIndex()));
    if (at > base.index()) {
      return entries.get(position(at));
    }
    if (base.membership() != null && index >= base.index()) {
      return Entry.config(base.term(), base.index(), base.membership());
    }
    return null;
  }

  /**
   * Drops every entry up to {@code meta.index()}, which must be in this log with {@code
   * meta.term()} and persisted; the base moves there. Nothing is rewritten.
   */
  void compactThrough(SnapshotMeta meta) {
    if (meta.index() <= base.index()) {
      return;
    }
    if (meta.index() > persistedIndex || termOrMissing(meta.index()) != meta.term()) {
      throw new IllegalStateException("compact through " + meta + ": not a persisted entry of"
          + " this log (persisted " + persistedIndex + ", term there "
          + termOrMissing(meta.index()) + ")");
    }
    entries.subList(0, position(meta.index()) + 1).clear();
    configs.droppedThrough(meta.index());
    base = meta;
    flushedIndex = Math.max(flushedIndex, base.index());
  }

  /**
   * A snapshot from the leader replaces the whole log: the base moves to {@code meta} and no
   * entry remains (the leader sends what follows). The base counts as persisted and flushed: the
   * runtime installs the image and resets its replica log durably before anything of this Ready
   * leaves.
   */
  void install(SnapshotMeta meta) {
    entries.clear();
    configs.clear();
    base = meta;
    persistedIndex = base.index();
    flushedIndex = base.index();
    unstableFrom = base.index() + 1;
  }

  void checkInvariants() {
    long prevTerm = base.term();
    int configEntries = 0;
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      if (e.index() != base.index() + i + 1 || e.term() < prevTerm) {
        throw new IllegalStateException("log invariant broken at position " + i + " after base "
            + base + ": " + e);
      }
      if (e.kind() == EntryKind.CONFIG) {
        configEntries++;
        if (configs.latestAtOrBelow(e.index()) != e.index()) {
          throw new IllegalStateException("CONFIG entry " + e + " missing from its positions");
        }
      }
      prevTerm = e.term();
    }
    if (configEntries != configs.size()) {
      throw new IllegalStateException(configs.size() + " CONFIG positions for " + configEntries
          + " CONFIG entries");
    }
    if (!(base.index() <= flushedIndex && flushedIndex <= persistedIndex
        && persistedIndex < unstableFrom
        && unstableFrom <= lastIndex() + 1)) {
      throw new IllegalStateException("persistence bookkeeping broken: flushed=" + flushedIndex
          + " persisted=" + persistedIndex + " unstableFrom=" + unstableFrom + " last=" + lastIndex());
    }
  }
}
