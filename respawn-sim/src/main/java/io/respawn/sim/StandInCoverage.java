package io.respawn.sim;

import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.sim.invariant.CommittedEntries;
import io.respawn.sim.node.SimNode;
import io.respawn.sim.storage.SimStorage;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * stand-in-ended-covered: when a leader ends a stand-in by itself, nothing committed rests on
 * the witness's full copies alone, which it may compact away once it gets keys-only copies
 * again. The backup holds, flushed (its disk, not what it reported: flushed data survives every
 * crash), every entry committed while the witness counted in its place alone, and holds in its
 * log the entry at the commit index: a stand-in handed back ({@link Replica#handBacks}) lets the
 * leader commit only what the backup has as well. A stand-in not being handed back after the
 * previous event ends with the backup holding everything committed flushed. What was committed
 * under each stand-in is recorded here from what the leader's core reports after each event
 * (one event ends at most one stand-in: the backup's answer). Also counts the stand-ins and
 * hand-backs leaders started by themselves, for the run's statistics. One per simulation, fed by
 * its single thread.
 */
final class StandInCoverage {

  /** Where a violation goes: the invariant's name and what broke. */
  interface Violations {
    void report(String invariant, String description);
  }

  /** What is known of one node's current incarnation. */
  private static final class Seen {
    int incarnation;
    long standInsStarted;
    long standInsEnded;
    long handBacksStarted;
    long standInsMoved;
    /** For each stand-in in force, the highest commit index seen while not handed back. */
    final Map<Integer, Long> committedAlone = new HashMap<>();
    /** The backups whose stand-in was being handed back after the previous event. */
    final Set<Integer> handedBack = new HashSet<>();
  }

  private final CommittedEntries committed;
  private final IntFunction<SimStorage> storageOf;
  private final Violations violations;
  private final Seen[] seen;
  private long leaderStandIns;
  private long leaderStandInsEnded;
  private long leaderHandBacks;
  private long leaderStandInsMoved;

  StandInCoverage(int replicas, CommittedEntries committed, IntFunction<SimStorage> storageOf,
      Violations violations) {
    this.committed = committed;
    this.storageOf = storageOf;
    this.violations = violations;
    this.seen = new Seen[replicas];
    for (int i = 0; i < replicas; i++) {
      seen[i] = new Seen();
    }
  }

  /**
   * After an event: checks a stand-in {@code node} ended by itself in it and records what the
   * next event's end is checked against. {@code standIns}: the stand-ins its core has in force
   * now (backup to witness; empty when it does not lead).
   */
  void afterEvent(SimNode node, Map<Integer, Integer> standIns) {
    if (!node.isUp()) {
      return;
    }
    Seen s = seen[node.id()];
    Replica r = node.replica();
    if (s.incarnation != node.incarnation()) {
      s.incarnation = node.incarnation();
      s.standInsStarted = 0;
      s.standInsEnded = 0;
      s.handBacksStarted = 0;
      s.standInsMoved = 0;
      s.committedAlone.clear();
      s.handedBack.clear();
    }
    leaderStandIns += r.standInsStarted() - s.standInsStarted;
    s.standInsStarted = r.standInsStarted();
    leaderHandBacks += r.handBacksStarted() - s.handBacksStarted;
    s.handBacksStarted = r.handBacksStarted();
    leaderStandInsMoved += r.standInsMoved() - s.standInsMoved;
    s.standInsMoved = r.standInsMoved();
    if (r.standInsEnded() != s.standInsEnded) {
      leaderStandInsEnded += r.standInsEnded() - s.standInsEnded;
      s.standInsEnded = r.standInsEnded();
      int backup = r.lastStandInEndedFor().value();
      long commit = r.lastStandInEndedAtCommit();
      long flushedNeeded = s.handedBack.contains(backup)
          ? s.committedAlone.getOrDefault(backup, 0L) : commit;
      checkBackupHolds(node.id(), r, backup, flushedNeeded, true);
      checkBackupHolds(node.id(), r, backup, commit, false);
    }
    Map<NodeId, Long> backs = standIns.isEmpty() ? Map.of() : r.handBacks();
    s.committedAlone.keySet().retainAll(standIns.keySet());
    s.handedBack.clear();
    for (int backup : standIns.keySet()) {
      if (backs.containsKey(NodeId.of(backup))) {
        s.handedBack.add(backup);
      } else {
        s.committedAlone.merge(backup, r.commitIndex(), Math::max);
      }
    }
  }

  /**
   * Reports stand-in-ended-covered unless backup's log holds the leader's entry at {@code index}
   * (flushed, when {@code flushed}), or has compacted past it.
   */
  private void checkBackupHolds(int leader, Replica r, int backup, long index, boolean flushed) {
    SimStorage disk = storageOf.apply(backup);
    if (index == 0 || index < disk.firstIndex()) {
      return;
    }
    // the term there: as the checker recorded it once applied somewhere, else the leader's log
    // (its commit index may run ahead of every apply; what it committed is in its log)
    long term = index <= committed.committedCount()
        ? committed.committed(index).term() : r.log().term(index);
    long held = flushed ? disk.lastFlushedIndex() : disk.lastIndex();
    if (held < index || disk.termAt(index) != term) {
      violations.report("stand-in-ended-covered", "n" + leader + " ended the stand-in for backup n"
          + backup + " at commit index " + r.lastStandInEndedAtCommit() + " but n" + backup
          + (flushed ? " has flushed" : " holds") + " only up to " + held + " (term at "
          + index + ": " + disk.termAt(index) + ", committed " + term + ")");
    }
  }

  /** Stand-ins leaders started by themselves ({@code standInAfterMillis}). */
  long leaderStandIns() {
    return leaderStandIns;
  }

  /** Of those, the ones their leader ended once the backup had caught up. */
  long leaderStandInsEnded() {
    return leaderStandInsEnded;
  }

  /** Hand-backs leaders began (a stood-in backup caught up). */
  long leaderHandBacks() {
    return leaderHandBacks;
  }

  /** Stand-ins leaders moved to another witness because the one standing in fell silent too. */
  long leaderStandInsMoved() {
    return leaderStandInsMoved;
  }
}
