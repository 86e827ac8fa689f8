package io.respawn.core;

import io.respawn.core.Message.RequestLog;
import io.respawn.core.Message.RequestLogResponse;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One catch-up round of a node about to campaign (status CATCHING_UP): it reads every peer's log
 * after its own commit index, page by page, and hands each complete copy back for adoption.
 * Owned by {@link Replica}; discarded when the round ends.
 *
 * <p>Pages are consistent: each request names the term the requester expects at
 * {@code fromIndex - 1} (the last entry of the previous page), so a peer whose log changed in
 * between answers {@code prevMatches = false} and the copy is abandoned. Log matching then makes
 * the assembled pages a prefix of the peer's log at the time of the last page.
 */
final class CatchUp {
  private final NodeId self;
  private final long term;
  private final long fromIndex;
  private final int pageEntries;
  private final int entriesMax;
  private final Map<NodeId, Copy> copies = new LinkedHashMap<>();
  private long nextRequestId;

  /** The copy of one peer's log being assembled. */
  private static final class Copy {
    long requestId;
    /** Index of the copy's first entry: {@code fromIndex}, or just after the peer's base. */
    long startFrom;
    long nextFrom;
    final List<Entry> entries = new ArrayList<>();
    boolean done;
  }

  /** The outcome of one response: a request to send next and/or a complete copy to adopt. */
  record Step(RequestLog next, List<Entry> complete) {}

  CatchUp(NodeId self, long term, long fromIndex, int pageEntries, int entriesMax,
      long firstRequestId) {
    this.self = self;
    this.term = term;
    this.fromIndex = fromIndex;
    this.pageEntries = pageEntries;
    this.entriesMax = entriesMax;
    this.nextRequestId = firstRequestId;
  }

  /** Opens a copy per peer; returns the first requests. {@code prevTerm} is ours at fromIndex - 1. */
  List<RequestLog> start(Collection<NodeId> peers, long prevTerm) {
    List<RequestLog> out = new ArrayList<>();
    for (NodeId peer : peers) {
      Copy c = new Copy();
      c.startFrom = fromIndex;
      c.nextFrom = fromIndex;
      c.requestId = nextRequestId++;
      copies.put(peer, c);
      out.add(new RequestLog(self, peer, term, c.requestId, c.nextFrom, prevTerm, pageEntries));
    }
    return out;
  }

  long fromIndex() {
    return fromIndex;
  }

  long nextRequestId() {
    return nextRequestId;
  }

  boolean isEmpty() {
    return copies.isEmpty();
  }

  boolean allDone() {
    return copies.values().stream().allMatch(c -> c.done);
  }

  /** Stops waiting for {@code peer} (its process is known to be gone); nothing of it is adopted. */
  void abandon(NodeId peer) {
    Copy c = copies.get(peer);
    if (c != null) {
      c.done = true;
    }
  }

  /**
   * Feeds one response; stale or unexpected ones change nothing. {@code ourTerm} gives the term
   * of our entry at an index, or -1 when we do not hold it.
   *
   * <p>A peer that compacted its log past where we asked from refuses the first page; if we hold
   * the entry at its base with the term it has there, we ask again from just after its base
   * naming that term: the peer confirms the match, and by log matching our log up to its base
   * equals its own, so its entries after its base are its whole log as far as adoption goes.
   * Without this a campaigner whose commit index went back in a restart (it is not persisted)
   * could not copy the entries only the backups held once the backups had compacted past that
   * index, and since backups never campaign, nobody could be elected (the simulator's F8, seed
   * 17964).
   */
  Step onResponse(RequestLogResponse m, java.util.function.LongUnaryOperator ourTerm) {
    Copy c = copies.get(m.from());
    if (c == null || c.done || c.requestId != m.requestId() || c.nextFrom != m.fromIndex()) {
      return new Step(null, null);
    }
    if (!m.prevMatches()) {
      long base = m.snapshotIndex();
      long termAtBase = base >= c.nextFrom && c.entries.isEmpty() ? ourTerm.applyAsLong(base) : -1;
      if (termAtBase >= 0) {
        c.startFrom = base + 1;
        c.nextFrom = base + 1;
        c.requestId = nextRequestId++;
        return new Step(new RequestLog(self, m.from(), term, c.requestId, c.nextFrom, termAtBase,
            pageEntries), null);
      }
      c.done = true; // it lacks our committed prefix (behind us) or changed under us
      return new Step(null, null);
    }
    c.entries.addAll(m.entries());
    long copiedTo = c.startFrom - 1 + c.entries.size();
    if (c.entries.size() > entriesMax) {
      c.done = true; // too far behind to catch up this way; campaign with what we have
      return new Step(null, null);
    }
    if (!m.entries().isEmpty() && copiedTo < m.lastLogIndex()) {
      c.nextFrom = copiedTo + 1;
      c.requestId = nextRequestId++;
      long prevTerm = c.entries.get(c.entries.size() - 1).term();
      return new Step(new RequestLog(self, m.from(), term, c.requestId, c.nextFrom, prevTerm,
          pageEntries), null);
    }
    c.done = true;
    return new Step(null, List.copyOf(c.entries));
  }
}
