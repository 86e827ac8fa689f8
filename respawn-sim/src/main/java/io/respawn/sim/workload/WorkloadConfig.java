package io.respawn.sim.workload;

/**
 * Shape of the client load.
 *
 * @param keyCount size of the key space; small so operations collide
 * @param msetGroupSize MSET draws its keys from one group of this many consecutive keys, which
 *     keeps the linearizability checker's key components small
 * @param getWeight relative frequency of GET
 * @param setWeight relative frequency of SET
 * @param delWeight relative frequency of DEL
 * @param incrWeight relative frequency of INCR
 * @param msetWeight relative frequency of MSET
 * @param thinkMicrosMax a client waits up to this long between its operations
 * @param durablePercent share of writes a client asks to be acknowledged DURABLE (flushed on a
 *     write quorum) rather than ORDERED (written in order on a write quorum)
 */
public record WorkloadConfig(
    int keyCount,
    int msetGroupSize,
    int getWeight,
    int setWeight,
    int delWeight,
    int incrWeight,
    int msetWeight,
    long thinkMicrosMax,
    int durablePercent) {

  public WorkloadConfig {
    if (keyCount < 1 || msetGroupSize < 1 || keyCount % msetGroupSize != 0) {
      throw new IllegalArgumentException("keyCount " + keyCount
          + " must be a positive multiple of msetGroupSize " + msetGroupSize);
    }
    if (durablePercent < 0 || durablePercent > 100) {
      throw new IllegalArgumentException("durablePercent " + durablePercent + " must be in [0, 100]");
    }
    if (getWeight + setWeight + delWeight + incrWeight + msetWeight <= 0) {
      throw new IllegalArgumentException("at least one operation weight must be positive");
    }
  }

  /** A mix of reads and every kind of write over 8 keys in two MSET groups. */
  public static WorkloadConfig standard() {
    return new WorkloadConfig(8, 4, 40, 25, 8, 17, 10, 20_000, 30);
  }
}
