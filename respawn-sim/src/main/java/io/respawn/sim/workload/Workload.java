package io.respawn.sim.workload;

import io.respawn.sim.lin.OpKind;
import java.util.SplittableRandom;

/**
 * Generates client commands from the run's random source.
 *
 * <p>Every written value is unique in the run (a counter), so a read tells which write it saw.
 * Values are spaced 1000 apart so the INCRs that follow a SET do not reach the next SET's value.
 */
public final class Workload {

  private static final int[] NO_KEYS = new int[0];
  private static final long[] NO_VALUES = new long[0];

  private final WorkloadConfig config;
  private final SplittableRandom random;
  private long nextValue = 1;

  public Workload(WorkloadConfig config, SplittableRandom random) {
    this.config = config;
    this.random = random;
  }

  public WorkloadConfig config() {
    return config;
  }

  public Command next() {
    int total = config.getWeight() + config.setWeight() + config.delWeight()
        + config.incrWeight() + config.msetWeight();
    int pick = random.nextInt(total);
    if ((pick -= config.getWeight()) < 0) {
      return new Command(OpKind.GET, oneKey(), NO_VALUES);
    }
    if ((pick -= config.setWeight()) < 0) {
      return new Command(OpKind.SET, oneKey(), new long[] {freshValue()});
    }
    if ((pick -= config.delWeight()) < 0) {
      return new Command(OpKind.DEL, oneKey(), NO_VALUES);
    }
    if ((pick -= config.incrWeight()) < 0) {
      return new Command(OpKind.INCR, oneKey(), NO_VALUES);
    }
    return mset();
  }

  /** A SET of {@code key} to a fresh value (the final phase's writes). */
  public Command set(int key) {
    return new Command(OpKind.SET, new int[] {key}, new long[] {freshValue()});
  }

  private int[] oneKey() {
    return new int[] {random.nextInt(config.keyCount())};
  }

  private long freshValue() {
    return 1000 * nextValue++;
  }

  private Command mset() {
    int group = config.msetGroupSize();
    int base = random.nextInt(config.keyCount() / group) * group;
    // choose 1..group distinct keys of the group by a random bit mask
    int mask;
    do {
      mask = random.nextInt(1 << group);
    } while (mask == 0);
    int[] keys = new int[Integer.bitCount(mask)];
    long[] values = new long[keys.length];
    for (int bit = 0, i = 0; bit < group; bit++) {
      if ((mask & (1 << bit)) != 0) {
        keys[i] = base + bit;
        values[i] = freshValue();
        i++;
      }
    }
    return keys.length == 0 ? new Command(OpKind.GET, NO_KEYS, NO_VALUES)
        : new Command(OpKind.MSET, keys, values);
  }

  /** Delay before a client's next command. */
  public long thinkNanos() {
    return random.nextLong(config.thinkMicrosMax() + 1) * 1_000;
  }
}
