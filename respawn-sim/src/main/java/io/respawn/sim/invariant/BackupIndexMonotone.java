package io.respawn.sim.invariant;

import io.respawn.core.Role;
import io.respawn.sim.node.SimNode;

/**
 * A backup's index never moves backwards: while a backup process runs, its commit index and
 * applied index only grow (key timestamps are checked by the state machine itself as it applies).
 * A restart starts a new lifetime; the persisted log, not the index, is then what counts, and
 * {@link CommittedEntries} covers it.
 */
public final class BackupIndexMonotone implements Invariant<Cluster> {

  private final long[] lastCommit;
  private final long[] lastApplied;
  private final Object[] lifetime;

  public BackupIndexMonotone(int nodeCount) {
    lastCommit = new long[nodeCount];
    lastApplied = new long[nodeCount];
    lifetime = new Object[nodeCount];
  }

  @Override
  public String name() {
    return "backup-index-monotone";
  }

  @Override
  public void check(Cluster cluster, Reporter report) {
    for (SimNode node : cluster.nodes()) {
      int id = node.id();
      if (!node.isUp()) {
        lifetime[id] = null;
        continue;
      }
      if (lifetime[id] != node.replica()) {
        lifetime[id] = node.replica();
        lastCommit[id] = node.replica().commitIndex();
        lastApplied[id] = node.stateMachine().appliedIndex();
        continue;
      }
      if (node.role() != Role.BACKUP) {
        continue;
      }
      long commit = node.replica().commitIndex();
      long applied = node.stateMachine().appliedIndex();
      if (commit < lastCommit[id] || applied < lastApplied[id]) {
        report.violation("backup n" + id + " index went back: commit " + lastCommit[id] + " -> "
            + commit + ", applied " + lastApplied[id] + " -> " + applied);
      }
      lastCommit[id] = commit;
      lastApplied[id] = applied;
    }
  }
}
