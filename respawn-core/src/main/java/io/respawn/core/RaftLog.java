package io.respawn.core;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The replica's log and its persistence bookkeeping. Owned by {@link Replica}.
 *
 * <p>The log may start after a snapshot base ({@link SnapshotMeta}): entries up to {@code
 * baseIndex} were compacted into the state machine's image; {@code term(baseIndex)} is the base's
 * term, and an index below the base is committed everywhere and has no entry here.
 *
 * <p><b>What stays in memory</b> (etcd raft's unstable log plus a bounded cache; its {@code
 * Storage} is our {@link LogReader}). The entries themselves are held only from {@code hotFrom}
 * to the last index, the <em>hot window</em>; entries below it were dropped because the window
 * held more than {@code cacheBytesMax} bytes, and are read back through the {@link LogReader}
 * when needed. An entry leaves the window only once it is acknowledged as persisted and handed
 * out to apply ({@link #evict}), so the entries a Ready must carry (to persist, to apply) are
 * always in memory. For every index of the log, hot or not, the log keeps what the core asks on
 * every step without reading the disk: the term (as runs of equal terms: a few bytes per term,
 * not per entry), whether the entry is elided (one bit per entry) and every CONFIG entry in full.
 * Without a reader ({@link LogReader#NONE}) nothing is ever dropped.
 *
 * <p>Entries in [1, persistedIndex] are known to be written to the replica log in order
 * (acknowledged through {@link Replica#advance}); entries in [1, flushedIndex] are also known to be
 * flushed (reported through {@link Replica#logFlushed}); entries from {@code unstableFrom} on must
 * be (re)written by the next {@link Ready}. Any mutation below {@code unstableFrom} moves it down,
 * which the Ready contract turns into "delete from there, then append". The log handed to the
 * constructor is taken as flushed (it is what a restart recovered).
 *
 * <p>Invariants: entry at index i has index i; terms never decrease along the log, starting from
 * the base's term; {@code baseIndex <= flushedIndex <= persistedIndex < unstableFrom <= lastIndex
 * + 1}; {@code baseIndex < hotFrom <= persistedIndex + 1}.
 */
final class RaftLog implements LogView {
  /** {@link #termOrMissing} of an index below the snapshot base. */
  static final long COMPACTED = -2;
  /**
   * Bytes an entry is counted for in the cache beyond its command's keys and data: the entry,
   * command and array headers and references on a 64-bit JVM, rounded up.
   */
  static final int ENTRY_OVERHEAD_BYTES = 96;

  private final LogReader reader;
  private final long cacheBytesMax;

  /** The hot window: {@code hot.get(hotHead + i)} is the entry at {@code hotFrom + i}. */
  private final ArrayList<Entry> hot = new ArrayList<>();
  private int hotHead;
  private long hotFrom;
  /** Sum of {@link #cacheBytes} over the hot window. */
  private long hotBytes;
  private long lastIndex;

  /** Term runs over (base, lastIndex]: runTerm[k] from runStart[k] to the next run's start. */
  private long[] runStart = new long[8];
  private long[] runTerm = new long[8];
  private int runs;
  /** Bit (index - elidedOrigin) is set when the entry at index is elided. */
  private BitSet elided = new BitSet();
  private long elidedOrigin;

  /** Where the CONFIG entries are, and the entries themselves (always kept). */
  private final ConfigPositions configs = new ConfigPositions();
  private final Map<Long, Entry> configEntries = new HashMap<>();

  private SnapshotMeta base;
  private long persistedIndex;
  private long flushedIndex;
  private long unstableFrom;

  /** A log that keeps every entry in memory. */
  RaftLog(SnapshotMeta base, List<Entry> persisted) {
    this(base, persisted, LogReader.NONE, Long.MAX_VALUE);
  }

  RaftLog(SnapshotMeta base, List<Entry> persisted, LogReader reader, long cacheBytesMax) {
    this.reader = reader;
    this.cacheBytesMax = reader == LogReader.NONE ? Long.MAX_VALUE : cacheBytesMax;
    this.base = base;
    this.lastIndex = base.index();
    this.hotFrom = base.index() + 1;
    this.elidedOrigin = base.index() + 1;
    for (Entry e : persisted) {
      append(e);
    }
    persistedIndex = lastIndex();
    flushedIndex = persistedIndex;
    unstableFrom = persistedIndex + 1;
    checkInvariants();
  }

  /** Bytes {@code e} is counted for in the hot window. */
  static long cacheBytes(Entry e) {
    long bytes = ENTRY_OVERHEAD_BYTES;
    Command c = e.command();
    if (c != null) {
      bytes += c.dataLength();
      for (int i = 0; i < c.keyCount(); i++) {
        bytes += c.rawKey(i).length;
      }
    }
    return bytes;
  }

  @Override
  public long lastIndex() {
    return lastIndex;
  }

  @Override
  public long snapshotIndex() {
    return base.index();
  }

  SnapshotMeta base() {
    return base;
  }

  long lastTerm() {
    return term(lastIndex());
  }

  /** The first index whose entry is in memory ({@code lastIndex + 1} when none is). */
  long hotFrom() {
    return hotFrom;
  }

  /** Bytes of the entries in memory, as counted against {@code cacheBytesMax}. */
  long hotBytes() {
    return hotBytes;
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
    if (index > lastIndex) {
      throw new IndexOutOfBoundsException("index " + index + " beyond the last " + lastIndex);
    }
    return runTermAt(index);
  }

  private long runTermAt(long index) {
    if (runStart[runs - 1] <= index) {
      return runTerm[runs - 1];
    }
    int lo = 0;
    int hi = runs - 1;
    while (lo < hi) { // the last run starting at or below index
      int mid = (lo + hi + 1) >>> 1;
      if (runStart[mid] <= index) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    return runTerm[lo];
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
    return runTermAt(index);
  }

  /** Whether the entry at {@code index} (in (base, last]) is held elided. No disk read. */
  @Override
  public boolean isElided(long index) {
    checkInLog(index);
    return elided.get(bit(index));
  }

  /** The first elided index in [fromIndex, lastIndex], or -1. No disk read. */
  long nextElided(long fromIndex) {
    long from = Math.max(fromIndex, base.index() + 1);
    if (from > lastIndex) {
      return -1;
    }
    int b = elided.nextSetBit(bit(from));
    return b < 0 ? -1 : elidedOrigin + b;
  }

  private int bit(long index) {
    long b = index - elidedOrigin;
    if (b < 0 || b > Integer.MAX_VALUE) {
      throw new IllegalStateException("index " + index + " outside the elided bits from "
          + elidedOrigin);
    }
    return (int) b;
  }

  private void checkInLog(long index) {
    if (index <= base.index() || index > lastIndex()) {
      throw new IndexOutOfBoundsException("index " + index + " outside [" + (base.index() + 1)
          + ", " + lastIndex() + "]");
    }
  }

  private Entry hotEntry(long index) {
    return hot.get(hotHead + (int) (index - hotFrom));
  }

  /**
   * The entry at {@code index}: from memory when it is there (the hot window, or a CONFIG entry),
   * else read back through the reader. Throws {@link IllegalStateException} when that read
   * fails: for inspection and for paths that cannot do without the entry.
   */
  @Override
  public Entry entry(long index) {
    checkInLog(index);
    if (index >= hotFrom) {
      return hotEntry(index);
    }
    Entry cfg = configEntries.get(index);
    if (cfg != null) {
      return cfg;
    }
    List<Entry> read = read(index, index, 1);
    if (read == null) {
      throw new IllegalStateException("entry " + index + " is not in memory and cannot be read"
          + " back from the replica log");
    }
    return read.get(0);
  }

  /** Entries in [from, to] (clamped to the log), a copy; reads back as {@link #entry} does. */
  @Override
  public List<Entry> entries(long fromIndex, long toIndexInclusive) {
    long from = Math.max(base.index() + 1, fromIndex);
    long to = Math.min(lastIndex(), toIndexInclusive);
    if (from > to) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>((int) Math.min(to - from + 1, 1 << 16));
    for (long i = from; i <= to; ) {
      if (i >= hotFrom) {
        out.addAll(hot.subList(hotHead + (int) (i - hotFrom), hotHead + (int) (to - hotFrom) + 1));
        break;
      }
      List<Entry> read = read(i, Math.min(to, hotFrom - 1), Long.MAX_VALUE);
      if (read == null) {
        throw new IllegalStateException("entries " + i + ".." + Math.min(to, hotFrom - 1)
            + " are not in memory and cannot be read back from the replica log");
      }
      out.addAll(read);
      i += read.size();
    }
    return out;
  }

  /**
   * Entries from {@code fromIndex} (in (base, last]) up to {@code toIndexInclusive}, at most
   * {@code bytesMax} bytes of them as the reader counts (at least one): from memory where they
   * are, through the reader below the hot window. Null when the reader could not serve the part
   * below the window (the caller falls back as for entries behind the snapshot base). Checks
   * that what the reader returned is the run asked for with the terms this log holds.
   */
  List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax) {
    checkInLog(fromIndex);
    long to = Math.min(toIndexInclusive, lastIndex);
    if (to < fromIndex) {
      return List.of();
    }
    if (fromIndex >= hotFrom) {
      return new ArrayList<>(hot.subList(hotHead + (int) (fromIndex - hotFrom),
          hotHead + (int) (to - hotFrom) + 1));
    }
    long coldTo = Math.min(to, hotFrom - 1);
    List<Entry> cold;
    try {
      cold = reader.read(fromIndex, coldTo, bytesMax);
    } catch (EntriesUnavailable e) {
      return null;
    }
    if (cold.isEmpty() || cold.size() > coldTo - fromIndex + 1) {
      return null;
    }
    for (int i = 0; i < cold.size(); i++) {
      Entry e = cold.get(i);
      long want = fromIndex + i;
      if (e.index() != want || e.term() != runTermAt(want) || e.isElided() != isElided(want)) {
        throw new IllegalStateException("the log reader returned " + e + " at index " + want
            + " where this log holds term " + runTermAt(want) + (isElided(want) ? " (elided)"
            : "") + ": the replica log and the core disagree");
      }
    }
    if (cold.size() < coldTo - fromIndex + 1 || coldTo == to) {
      return cold;
    }
    List<Entry> out = new ArrayList<>(cold);
    long bytes = 0;
    for (Entry e : cold) {
      bytes += cacheBytes(e);
    }
    for (long i = hotFrom; i <= to && bytes <= bytesMax; i++) {
      Entry e = hotEntry(i);
      out.add(e);
      bytes += cacheBytes(e);
    }
    return out;
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
    long lastTerm = lastTerm();
    if (e.term() < lastTerm) {
      throw new IllegalStateException("append " + e + " with term below last term " + lastTerm);
    }
    if (runs == 0 || runTerm[runs - 1] != e.term()) {
      if (runs == runStart.length) {
        runStart = java.util.Arrays.copyOf(runStart, runs * 2);
        runTerm = java.util.Arrays.copyOf(runTerm, runs * 2);
      }
      runStart[runs] = e.index();
      runTerm[runs] = e.term();
      runs++;
    }
    elided.set(bit(e.index()), e.isElided());
    hot.add(e);
    hotBytes += cacheBytes(e);
    lastIndex = e.index();
    if (e.kind() == EntryKind.CONFIG) {
      configs.appended(e.index());
      configEntries.put(e.index(), e);
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
    if (fromIndex <= hotFrom) {
      clearHot(fromIndex);
    } else {
      while (lastIndex >= fromIndex) {
        hotBytes -= cacheBytes(hot.remove(hot.size() - 1));
        lastIndex--;
      }
    }
    lastIndex = fromIndex - 1;
    while (runs > 0 && runStart[runs - 1] >= fromIndex) {
      runs--;
    }
    elided.clear(bit(fromIndex), Math.max(bit(fromIndex), elided.length()));
    configs.truncatedFrom(fromIndex);
    configEntries.keySet().removeIf(i -> i >= fromIndex);
    markRewrittenFrom(fromIndex);
  }

  /** Empties the hot window; the next entry held will be at {@code nextIndex}. */
  private void clearHot(long nextIndex) {
    hot.clear();
    hotHead = 0;
    hotBytes = 0;
    hotFrom = nextIndex;
  }

  /**
   * Replaces the entry at {@code e.index()} with an equal-identity copy (e.g. value filled). The
   * entries from there on must be rewritten, so they must be in memory: below the hot window
   * they are read back first. Returns false (and changes nothing) when that read fails.
   */
  boolean replaceSameEntry(Entry e) {
    checkInLog(e.index());
    if (e.term() != runTermAt(e.index())) {
      throw new IllegalStateException("replace the entry at " + e.index() + " of term "
          + runTermAt(e.index()) + " by different entry " + e);
    }
    if (e.index() < hotFrom && !loadBack(e.index())) {
      return false;
    }
    Entry old = hotEntry(e.index());
    if (!old.sameId(e)) {
      throw new IllegalStateException("replace " + old + " by different entry " + e);
    }
    if (old.kind() != e.kind()) {
      throw new IllegalStateException("replace " + old + " by an entry of another kind " + e);
    }
    hot.set(hotHead + (int) (e.index() - hotFrom), e);
    hotBytes += cacheBytes(e) - cacheBytes(old);
    elided.set(bit(e.index()), e.isElided());
    if (e.kind() == EntryKind.CONFIG) {
      configEntries.put(e.index(), e);
    }
    markRewrittenFrom(e.index());
    return true;
  }

  /** Reads [fromIndex, hotFrom) back into the hot window; false if the reader fails. */
  private boolean loadBack(long fromIndex) {
    List<Entry> back = new ArrayList<>();
    for (long i = fromIndex; i < hotFrom; ) {
      List<Entry> read = read(i, hotFrom - 1, Long.MAX_VALUE);
      if (read == null) {
        return false;
      }
      back.addAll(read);
      i += read.size();
    }
    for (Entry e : back) {
      hotBytes += cacheBytes(e);
    }
    back.addAll(hot.subList(hotHead, hot.size()));
    hot.clear();
    hot.addAll(back);
    hotHead = 0;
    hotFrom = fromIndex;
    return true;
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
    if (unstableFrom > lastIndex) {
      return List.of();
    }
    List<Entry> out = new ArrayList<>(hot.subList(hotHead + (int) (unstableFrom - hotFrom),
        hot.size()));
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
   * Drops the oldest entries from memory while the hot window holds more than the cache's bytes,
   * but only entries persisted and at or below {@code throughIndexMax} (handed out to apply).
   * Nothing goes without a reader to get it back.
   */
  void evict(long throughIndexMax) {
    long limit = Math.min(throughIndexMax, persistedIndex);
    while (hotBytes > cacheBytesMax && hotFrom <= limit) {
      Entry e = hot.set(hotHead++, null);
      hotBytes -= cacheBytes(e);
      hotFrom++;
    }
    if (hotHead > 4096 && hotHead > hot.size() / 2) {
      hot.subList(0, hotHead).clear();
      hotHead = 0;
    }
  }

  /**
   * The latest CONFIG entry at or below {@code index}, or null. Below the log's first entry the
   * base's membership stands in, as a CONFIG entry at the base index (committed, like the base).
   */
  Entry latestConfigAtOrBelow(long index) {
    long at = configs.latestAtOrBelow(Math.min(index, lastIndex()));
    if (at > base.index()) {
      return configEntries.get(at);
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
    long through = meta.index();
    if (through >= hotFrom) {
      for (long i = hotFrom; i <= through; i++) {
        hotBytes -= cacheBytes(hot.set(hotHead++, null));
      }
      hotFrom = through + 1;
      hot.subList(0, hotHead).clear();
      hotHead = 0;
    }
    // keep the run that covers through + 1 (its start may lie at or below the new base)
    int drop = 0;
    while (drop + 1 < runs && runStart[drop + 1] <= through + 1) {
      drop++;
    }
    System.arraycopy(runStart, drop, runStart, 0, runs - drop);
    System.arraycopy(runTerm, drop, runTerm, 0, runs - drop);
    runs -= drop;
    if (runs > 0 && runStart[0] <= through) {
      runStart[0] = through + 1;
    }
    if (through >= lastIndex) {
      runs = 0;
    }
    int shift = bit(through + 1);
    elided = elided.get(shift, Math.max(shift, elided.length()));
    elidedOrigin = through + 1;
    configs.droppedThrough(through);
    configEntries.keySet().removeIf(i -> i <= through);
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
    clearHot(meta.index() + 1);
    runs = 0;
    elided = new BitSet();
    elidedOrigin = meta.index() + 1;
    configs.clear();
    configEntries.clear();
    base = meta;
    lastIndex = base.index();
    persistedIndex = base.index();
    flushedIndex = base.index();
    unstableFrom = base.index() + 1;
  }

  /** Checks the whole log's invariants (the hot window entry by entry). */
  void checkInvariants() {
    long prevTerm = base.term();
    int hotSize = hot.size() - hotHead;
    if (hotFrom + hotSize != lastIndex + 1 || hotFrom <= base.index()) {
      throw new IllegalStateException("hot window of " + hotSize + " entries from " + hotFrom
          + " does not end at the last index " + lastIndex + " (base " + base + ")");
    }
    if (hotFrom > base.index() + 1) {
      prevTerm = runTermAt(hotFrom - 1);
    }
    long bytes = 0;
    for (int i = 0; i < hotSize; i++) {
      Entry e = hot.get(hotHead + i);
      long index = hotFrom + i;
      if (e.index() != index || e.term() < prevTerm || e.term() != runTermAt(index)
          || e.isElided() != elided.get(bit(index))) {
        throw new IllegalStateException("log invariant broken at index " + index + " after base "
            + base + ": " + e + " (term runs say " + runTermAt(index) + ")");
      }
      bytes += cacheBytes(e);
      prevTerm = e.term();
    }
    if (bytes != hotBytes) {
      throw new IllegalStateException("hot window counted " + hotBytes + " bytes, holds " + bytes);
    }
    for (int k = 1; k < runs; k++) {
      if (runStart[k] <= runStart[k - 1] || runTerm[k] <= runTerm[k - 1]) {
        throw new IllegalStateException("term runs out of order at run " + k);
      }
    }
    if (lastIndex > base.index() && (runs == 0 || runStart[0] > base.index() + 1
        || runTerm[0] < base.term())) {
      throw new IllegalStateException("term runs do not cover the log after base " + base);
    }
    if (configEntries.size() != configs.size()) {
      throw new IllegalStateException(configs.size() + " CONFIG positions for "
          + configEntries.size() + " CONFIG entries");
    }
    for (Map.Entry<Long, Entry> c : configEntries.entrySet()) {
      if (configs.latestAtOrBelow(c.getKey()) != c.getKey()
          || c.getValue().kind() != EntryKind.CONFIG) {
        throw new IllegalStateException("CONFIG entry " + c.getValue() + " missing from its"
            + " positions");
      }
    }
    if (!(base.index() <= flushedIndex && flushedIndex <= persistedIndex
        && persistedIndex < unstableFrom
        && unstableFrom <= lastIndex() + 1 && hotFrom <= persistedIndex + 1)) {
      throw new IllegalStateException("persistence bookkeeping broken: flushed=" + flushedIndex
          + " persisted=" + persistedIndex + " unstableFrom=" + unstableFrom + " last=" + lastIndex()
          + " hotFrom=" + hotFrom);
    }
  }
}
