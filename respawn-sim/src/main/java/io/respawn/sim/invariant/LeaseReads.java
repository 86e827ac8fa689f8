package io.respawn.sim.invariant;

/**
 * Lease safety: a leader may serve a local read only while no leader of a higher term can exist.
 * A correct lease guarantees that: voters promised not to elect anyone else until the lease
 * (with its drift margin) ran out. So a read allowed by the core in term T after some node
 * became leader of a term above T is a violation, even if the value read happens to be fresh.
 */
public final class LeaseReads {

  private final OneLeaderPerTerm leaders;
  private long readsChecked;

  public LeaseReads(OneLeaderPerTerm leaders) {
    this.leaders = leaders;
  }

  public String name() {
    return "lease-read";
  }

  public void readServed(int node, long term, boolean nodeIsLeader, Invariant.Reporter report) {
    readsChecked++;
    if (!nodeIsLeader) {
      report.violation("n" + node + " served a read in term " + term + " while not leader");
    } else if (leaders.highestLeaderTerm() > term) {
      report.violation("n" + node + " served a read under its term-" + term
          + " lease after a leader of term " + leaders.highestLeaderTerm() + " was elected");
    }
  }

  public long readsChecked() {
    return readsChecked;
  }
}
