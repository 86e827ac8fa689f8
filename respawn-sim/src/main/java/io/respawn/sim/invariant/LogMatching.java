package io.respawn.sim.invariant;

import io.respawn.core.Entry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Log matching, checked incrementally: every entry identified by (index, term) must, on every
 * node that ever persists it, have the same predecessor term and the same content (ignoring
 * witness elision). By induction on the index, that is the whole Raft property "same (index,
 * term) implies identical prefixes", at O(1) per persisted entry instead of comparing logs.
 */
public final class LogMatching {

  private record Seen(long prevTerm, Entry entry, int node) {}

  private final Map<Long, Seen> byId = new HashMap<>();

  public String name() {
    return "log-matching";
  }

  /** prevTerms[i] is the term the node's log holds just before entries.get(i). */
  public void persisted(int node, List<Entry> entries, long firstPrevTerm,
      Invariant.Reporter report) {
    long prevTerm = firstPrevTerm;
    for (Entry e : entries) {
      long id = e.index() * 1_000_003L + e.term();
      Seen seen = byId.get(id);
      if (seen == null) {
        byId.put(id, new Seen(prevTerm, e, node));
      } else {
        if (seen.prevTerm != prevTerm) {
          report.violation("entry " + e.term() + "/" + e.index() + " follows term " + prevTerm
              + " on n" + node + " but term " + seen.prevTerm + " on n" + seen.node);
        }
        if (!sameContent(seen.entry, e)) {
          report.violation("entry " + e.term() + "/" + e.index() + " differs: n" + seen.node
              + " has " + seen.entry + ", n" + node + " has " + e);
        }
        if (seen.entry.isElided() && !e.isElided()) {
          byId.put(id, new Seen(seen.prevTerm, e, node));
        }
      }
      prevTerm = e.term();
    }
  }

  static boolean sameContent(Entry a, Entry b) {
    if (!a.sameId(b)) {
      return false;
    }
    if (a.command() != null && b.command() != null) {
      if (a.isElided() || b.isElided()) {
        return a.command().sameKeys(b.command());
      }
      return a.command().equals(b.command());
    }
    return java.util.Objects.equals(a.membership(), b.membership());
  }
}
