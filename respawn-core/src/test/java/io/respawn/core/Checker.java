package io.respawn.core;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Cluster-wide safety checks run after every event of a randomized test: one leader per term,
 * committed entries never lost or changed, log matching, committed values kept by backups, commit
 * index monotone, no read served while a later term has committed anything.
 */
final class Checker {
  private final Cluster c;
  private final Map<Long, NodeId> leaderOfTerm = new HashMap<>();
  private final Map<Long, Entry> committed = new HashMap<>();
  private final Map<Long, byte[]> committedData = new HashMap<>();
  private final Map<NodeId, Long> lastCommit = new HashMap<>();
  private final Map<NodeId, Replica> instance = new HashMap<>();
  private final Map<Replica, Long> checkedUpTo = new java.util.IdentityHashMap<>();
  private final Map<Long, NodeId> completenessChecked = new HashMap<>();
  private long calls;

  Checker(Cluster c) {
    this.c = c;
  }

  /**
   * Checks what changed since the last call; every 200 calls (and on {@code full}) re-checks
   * every node's whole committed prefix.
   */
  void check() {
    check(++calls % 200 == 0);
  }

  void check(boolean full) {
    for (Replica r : c.replicas.values()) {
      if (r.status() == Status.LEADER) {
        NodeId prev = leaderOfTerm.putIfAbsent(r.term(), r.id());
        if (prev != null && !prev.equals(r.id())) {
          throw new AssertionError("two leaders in term " + r.term() + ": " + prev + " and " + r.id());
        }
      }
      // commit index monotone for one incarnation (a restart restores it from the hard state)
      if (instance.get(r.id()) == r) {
        long before = lastCommit.getOrDefault(r.id(), 0L);
        if (r.commitIndex() < before) {
          throw new AssertionError(r.id() + " commitIndex went back " + before + " -> " + r.commitIndex());
        }
      }
      instance.put(r.id(), r);
      lastCommit.put(r.id(), r.commitIndex());
      long from = full ? 1 : checkedUpTo.getOrDefault(r, 0L) + 1;
      checkedUpTo.put(r, r.commitIndex());
      for (long i = from; i <= r.commitIndex(); i++) {
        Entry e = r.log().entry(i);
        Entry known = committed.putIfAbsent(i, e);
        if (known != null && !known.sameId(e)) {
          throw new AssertionError("committed entry changed at " + i + ": " + known + " vs " + e
              + " on " + r.id());
        }
        if (e.kind() == EntryKind.NORMAL && !e.isElided()) {
          byte[] d = e.command().data();
          byte[] prev = committedData.putIfAbsent(i, d);
          if (prev != null && !Arrays.equals(prev, d)) {
            throw new AssertionError("committed value changed at " + i + " on " + r.id());
          }
        }
        if (e.isElided() && r.role() == Role.BACKUP) {
          throw new AssertionError("backup " + r.id() + " holds committed entry " + i + " without value");
        }
      }
    }
    // leader completeness: every leader holds every entry known committed
    for (Replica r : c.replicas.values()) {
      if (r.status() != Status.LEADER || c.down.contains(r.id())) {
        continue;
      }
      if (!full && r.id().equals(completenessChecked.get(r.term()))) {
        continue;
      }
      completenessChecked.put(r.term(), r.id());
      for (Map.Entry<Long, Entry> e : committed.entrySet()) {
        if (e.getValue().term() < r.term()
            && (e.getKey() > r.lastIndex() || !r.log().entry(e.getKey()).sameId(e.getValue()))) {
          throw new AssertionError("leader " + r.id() + " of term " + r.term()
              + " misses committed " + e.getValue());
        }
      }
    }
    if (full) {
      c.checkSafety();
    }
  }

  /** Call when {@code leader} answered a read ok: nothing may be committed in a later term. */
  void checkReadAllowed(Replica leader) {
    for (Replica r : c.replicas.values()) {
      if (r.commitIndex() > 0 && r.log().term(r.commitIndex()) > leader.term()) {
        throw new AssertionError("read served by " + leader.id() + " in term " + leader.term()
            + " while term " + r.log().term(r.commitIndex()) + " has committed on " + r.id());
      }
    }
  }

  int committedCount() {
    return committed.size();
  }
}
