package io.respawn.core;

import java.util.ArrayList;
import java.util.List;

/**
 * The replica's in-memory log and its persistence bookkeeping. Owned by {@link Replica}.
 *
 * <p>Entries in [1, persistedIndex] are known to be written to the replica log in order
 * (acknowledged through {@link Replica#advance}); entries in [1, flushedIndex] are also known to be
 * flushed (reported through {@link Replica#logFlushed}); entries from {@code unstableFrom} on must
 * be (re)written by the next {@link Ready}. Any mutation below {@code unstableFrom} moves it down,
 * which the Ready contract turns into "delete from there, then append". The log handed to the
 * constructor is taken as flushed (it is what a restart recovered).
 *
 * <p>Invariants: entry at position i has index i + 1; terms never decrease along the log;
 * {@code flushedIndex <= persistedIndex < unstableFrom <= lastIndex + 1}.
 */
final class RaftLog implements LogView {
  private final ArrayList<Entry> entries = new ArrayList<>();
  private long persistedIndex;
  private long flushedIndex;
  private long unstableFrom;

  RaftLog(List<Entry> persisted) {
    entries.addAll(persisted);
    persistedIndex = entries.size();
    flushedIndex = persistedIndex;
    unstableFrom = persistedIndex + 1;
    checkInvariants();
  }

  @Override
  public long lastIndex() {
    return entries.size();
  }

  long lastTerm() {
    return term(lastIndex());
  }

  @Override
  public long term(long index) {
    if (index == 0) {
      return 0;
    }
    return entry(index).term();
  }

  /** The term at {@code index}, or -1 if there is no such entry. */
  long termOrMissing(long index) {
    if (index == 0) {
      return 0;
    }
    if (index < 0 || index > lastIndex()) {
      return -1;
    }
    return entries.get((int) (index - 1)).term();
  }

  @Override
  public Entry entry(long index) {
    if (index < 1 || index > lastIndex()) {
      throw new IndexOutOfBoundsException("index " + index + " outside [1, " + lastIndex() + "]");
    }
    return entries.get((int) (index - 1));
  }

  @Override
  public List<Entry> entries(long fromIndex, long toIndexInclusive) {
    long from = Math.max(1, fromIndex);
    long to = Math.min(lastIndex(), toIndexInclusive);
    if (from > to) {
      return List.of();
    }
    return new ArrayList<>(entries.subList((int) (from - 1), (int) to));
  }

  boolean matches(long index, long term) {
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
  }

  /** Drops entries with index >= {@code fromIndex}. */
  void truncateFrom(long fromIndex) {
    if (fromIndex < 1 || fromIndex > lastIndex() + 1) {
      throw new IllegalStateException("truncate from " + fromIndex + " with last " + lastIndex());
    }
    while (lastIndex() >= fromIndex) {
      entries.remove(entries.size() - 1);
    }
    markRewrittenFrom(fromIndex);
  }

  /** Replaces the entry at {@code e.index()} with an equal-identity copy (e.g. value filled). */
  void replaceSameEntry(Entry e) {
    Entry old = entry(e.index());
    if (!old.sameId(e)) {
      throw new IllegalStateException("replace " + old + " by different entry " + e);
    }
    entries.set((int) (e.index() - 1), e);
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

  /** The latest CONFIG entry at or below {@code index}, or null. */
  Entry latestConfigAtOrBelow(long index) {
    for (long i = Math.min(index, lastIndex()); i >= 1; i--) {
      Entry e = entries.get((int) (i - 1));
      if (e.kind() == EntryKind.CONFIG) {
        return e;
      }
    }
    return null;
  }

  void checkInvariants() {
    long prevTerm = 0;
    for (int i = 0; i < entries.size(); i++) {
      Entry e = entries.get(i);
      if (e.index() != i + 1 || e.term() < prevTerm) {
        throw new IllegalStateException("log invariant broken at position " + i + ": " + e);
      }
      prevTerm = e.term();
    }
    if (!(flushedIndex <= persistedIndex && persistedIndex < unstableFrom
        && unstableFrom <= lastIndex() + 1)) {
      throw new IllegalStateException("persistence bookkeeping broken: flushed=" + flushedIndex
          + " persisted=" + persistedIndex + " unstableFrom=" + unstableFrom + " last=" + lastIndex());
    }
  }
}
