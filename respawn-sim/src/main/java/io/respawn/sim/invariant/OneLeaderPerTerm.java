package io.respawn.sim.invariant;

import io.respawn.sim.node.SimNode;
import java.util.HashMap;
import java.util.Map;

/**
 * Election safety: at most one node is ever leader in a given term, over the whole run (not
 * just at one instant). Also remembers the highest term anyone led, for {@link LeaseReads}.
 */
public final class OneLeaderPerTerm implements Invariant<Cluster> {

  private final Map<Long, Integer> leaderOfTerm = new HashMap<>();
  private long highestLeaderTerm;

  @Override
  public String name() {
    return "one-leader-per-term";
  }

  @Override
  public void check(Cluster cluster, Reporter report) {
    for (SimNode node : cluster.nodes()) {
      if (node.isLeader()) {
        leaderSeen(node.replica().term(), node.id(), report);
      }
    }
  }

  /** Records that node led term (also called from status changes inside one event). */
  public void leaderSeen(long term, int node, Reporter report) {
    Integer previous = leaderOfTerm.putIfAbsent(term, node);
    if (previous != null && previous != node) {
      report.violation("term " + term + " has two leaders: n" + previous + " and n" + node);
    }
    highestLeaderTerm = Math.max(highestLeaderTerm, term);
  }

  public long highestLeaderTerm() {
    return highestLeaderTerm;
  }
}
