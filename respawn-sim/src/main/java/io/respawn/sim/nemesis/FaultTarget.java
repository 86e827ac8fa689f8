package io.respawn.sim.nemesis;

import java.util.SplittableRandom;

/** What the nemesis can do to a cluster; the simulation implements it. */
public interface FaultTarget {

  /** Replica endpoints that exist now (members and nodes being added or removed). */
  int[] replicas();

  boolean isUp(int node);

  boolean isPaused(int node);

  /** True while node waits for an fsync: a crash now lands on unsynced writes. */
  boolean isSyncing(int node);

  /**
   * Stops node at once. A machine crash (power loss) leaves its disk in one of the crash states
   * the replica log contract allows (the unflushed suffix may be lost); a process crash (kill -9)
   * leaves everything written, as the page cache survives.
   */
  void crash(int node, boolean machine);

  /**
   * A machine crash (power loss) that leaves the disk in the worst state the replica log
   * contract allows: nothing written since the last flush survives. For scenarios that must
   * take every unflushed copy; the nemesis draws crash states at random.
   */
  void powerLossKeepingNothingUnflushed(int node);

  /** Starts a crashed node again from whatever its disk holds. */
  void restart(int node);

  /** The replica that leads now (up, not necessarily unpaused), or -1. */
  default int primary() {
    return -1;
  }

  /**
   * Longest pause of the primary the nemesis aims at it on purpose (a SIGSTOP of the primary,
   * shorter or longer than its lease); 0 for none: pauses then pick any replica.
   */
  default long primaryStallMillisMax() {
    return 0;
  }

  /** Node receives no events (messages, ticks) for durationNanos, then resumes where it was. */
  void pause(int node, long durationNanos);

  /** Cuts every link between the two sides. */
  void partition(int[] sideA, int[] sideB);

  /** Cuts one direction of one link. */
  void cutOneWay(int from, int to);

  /** Restores every link. */
  void heal();

  /**
   * Asks the primary to change the shard's membership (for example grow 1+1+1 to 1+2+2 or
   * shrink back); returns a description, or null if no change is possible right now.
   */
  String changeMembership(SplittableRandom random);

  /**
   * Asks the primary to hand leadership to another member that may lead (a planned stop, or
   * giving leadership back to the configured primary); returns a description, or null if no
   * transfer is possible right now.
   */
  String transferLeadership(SplittableRandom random);
}
