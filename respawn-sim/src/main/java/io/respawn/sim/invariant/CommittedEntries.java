package io.respawn.sim.invariant;

import io.respawn.core.Entry;
import io.respawn.core.LogView;
import io.respawn.sim.node.SimNode;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Committed entries are never lost or changed.
 *
 * <p>Changed: every node applies committed entries in index order; the first application of an
 * index fixes what is committed there, and every later application anywhere must be the same
 * entry. Lost: a leader of term T that accepts writes must hold every entry committed in a term
 * below T (Raft's leader completeness), checked once per leader and term, and again at the end of
 * the run. An entry's commit term is the term of the first node seen applying it (the leader
 * that committed it applies it before anyone else hears of the commit; anyone else's term is an
 * upper bound, which only makes the check weaker, never wrong). A stale leader of an older term
 * may legitimately lack entries committed in newer terms.
 *
 * <p>With ORDERED replica acks a committed entry may be lost when members of its write quorum
 * lose it in machine crashes; {@link DurabilityStatements} decides whether a loss is allowed. An
 * allowed loss replaces what is committed at that index by the entry applied next.
 */
public final class CommittedEntries implements Invariant<Cluster> {

  private final List<Entry> committed = new ArrayList<>();
  private final List<Long> commitTerm = new ArrayList<>();
  private final Set<Long> verifiedLeaderTerms = new HashSet<>();
  private final DurabilityStatements durability;

  public CommittedEntries(DurabilityStatements durability) {
    this.durability = durability;
  }

  @Override
  public String name() {
    return "committed-entries";
  }

  public int committedCount() {
    return committed.size();
  }

  public Entry committed(long index) {
    return committed.get((int) index - 1);
  }

  public void applied(int node, long nodeTerm, Entry e, Reporter report) {
    int i = (int) e.index();
    if (i <= committed.size()) {
      Entry first = committed.get(i - 1);
      if (!LogMatching.sameContent(first, e)) {
        if (durability.lost(first.term(), first.index(), "n" + node + " applied " + e
            + " at its index")) {
          committed.set(i - 1, e);
          commitTerm.set(i - 1, nodeTerm);
          return;
        }
        report.violation("index " + i + " committed as " + first + " but n" + node
            + " applied " + e);
      } else if (first.isElided() && !e.isElided()) {
        committed.set(i - 1, e);
      }
    } else if (i == committed.size() + 1) {
      committed.add(e);
      commitTerm.add(nodeTerm);
    } else {
      report.violation("n" + node + " applied index " + i + " but only " + committed.size()
          + " entries are known committed");
    }
  }

  @Override
  public void check(Cluster cluster, Reporter report) {
    for (SimNode node : cluster.nodes()) {
      if (node.isLeader() && node.replica().canPropose()) {
        long key = node.replica().term() * 64 + node.id();
        if (verifiedLeaderTerms.add(key)) {
          checkHoldsAllCommitted(node, report);
        }
      }
    }
  }

  /** Reports every committed entry node's log lacks or holds in another version. */
  public void checkHoldsAllCommitted(SimNode node, Reporter report) {
    LogView log = node.replica().log();
    long term = node.replica().term();
    // below its snapshot base the leader holds an image, checked against these entries when it
    // was kept or installed (Simulation's snapshot checks)
    for (int i = (int) log.snapshotIndex() + 1; i <= committed.size(); i++) {
      if (commitTerm.get(i - 1) >= term) {
        continue;
      }
      Entry c = committed.get(i - 1);
      boolean lacks = log.lastIndex() < i || log.term(i) != c.term();
      if (lacks && durability.lost(c.term(), c.index(), "leader n" + node.id() + " of term "
          + term + " lacks it")) {
        continue;
      }
      if (log.lastIndex() < i) {
        report.violation("leader n" + node.id() + " of term " + node.replica().term()
            + " lacks committed index " + i + " (its log ends at " + log.lastIndex() + ")");
        return;
      }
      if (log.term(i) != committed.get(i - 1).term()) {
        report.violation("leader n" + node.id() + " of term " + node.replica().term()
            + " holds term " + log.term(i) + " at committed index " + i + ", committed was "
            + committed.get(i - 1));
        return;
      }
    }
  }
}
