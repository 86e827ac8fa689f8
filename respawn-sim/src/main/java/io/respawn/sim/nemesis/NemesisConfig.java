package io.respawn.sim.nemesis;

/**
 * How often and how hard the nemesis strikes. Weights are relative; a weight of 0 disables that
 * fault.
 *
 * @param intervalMillisMax the nemesis acts at uniformly random intervals up to this long
 * @param crashWeight crash a node, restart it later
 * @param partitionWeight split the replicas into two sides, heal later
 * @param oneWayWeight cut one direction of one link, heal later
 * @param pauseWeight pause a node (a GC stall or SIGSTOP)
 * @param membershipWeight change the shard's membership
 * @param transferWeight ask the primary to hand leadership to another member that may lead (a
 *     planned stop, or leadership given back to the configured primary)
 * @param healWeight heal the network and restart every crashed node
 * @param faultMillisMax how long a crash, partition or pause lasts at most
 * @param downMax most replicas crashed or paused at once
 * @param machineCrashPercent share of crashes that are machine crashes (power loss: the disk
 *     loses what was not flushed); the others are process crashes (kill -9: the page cache, and
 *     so everything written, survives)
 */
public record NemesisConfig(
    long intervalMillisMax,
    int crashWeight,
    int partitionWeight,
    int oneWayWeight,
    int pauseWeight,
    int membershipWeight,
    int transferWeight,
    int healWeight,
    long faultMillisMax,
    int downMax,
    int machineCrashPercent) {

  public NemesisConfig {
    if (intervalMillisMax < 1 || faultMillisMax < 1 || downMax < 0) {
      throw new IllegalArgumentException("intervalMillisMax and faultMillisMax must be >= 1");
    }
    if (machineCrashPercent < 0 || machineCrashPercent > 100) {
      throw new IllegalArgumentException("machineCrashPercent " + machineCrashPercent
          + " must be in [0, 100]");
    }
  }

  /** Every fault, often enough that most runs see several of each. */
  public static NemesisConfig standard() {
    return new NemesisConfig(400, 3, 3, 1, 2, 2, 1, 2, 1_500, 2, 50);
  }

  /** Faults several times as often and shorter: more elections per run. */
  public static NemesisConfig aggressive() {
    return new NemesisConfig(150, 4, 4, 2, 3, 1, 1, 1, 800, 2, 50);
  }

  /** standard, aggressive or none. */
  public static NemesisConfig parse(String name) {
    return switch (name.trim().toLowerCase(java.util.Locale.ROOT)) {
      case "standard" -> standard();
      case "aggressive" -> aggressive();
      case "none" -> none();
      default -> throw new IllegalArgumentException("unknown nemesis profile '" + name
          + "': expected standard, aggressive or none");
    };
  }

  /** No faults at all: for steady-state runs. */
  public static NemesisConfig none() {
    return new NemesisConfig(1_000, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0);
  }
}
