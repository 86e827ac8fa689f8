package io.respawn.sim.clock;

/**
 * One node's local clock: runs at a fixed rate that differs from virtual time by at most the
 * configured drift, and starts at an arbitrary offset.
 *
 * <p>The core measures leases on its own clock with a drift margin; this clock makes that margin
 * matter by letting two nodes disagree on how long a lease lasted. Monotonic as long as the rate
 * is positive, which the drift bound (well under one million ppm) guarantees.
 */
public final class SimClock {

  private static final long PPM = 1_000_000L;

  private final long driftPpm;
  private final long offsetNanos;

  /**
   * @param driftPpm rate error in parts per million: +100 runs 0.01% fast
   * @param offsetNanos local time at virtual time 0
   */
  public SimClock(long driftPpm, long offsetNanos) {
    if (Math.abs(driftPpm) >= PPM / 2) {
      throw new IllegalArgumentException("driftPpm out of range: " + driftPpm);
    }
    this.driftPpm = driftPpm;
    this.offsetNanos = offsetNanos;
  }

  public long driftPpm() {
    return driftPpm;
  }

  /** Local time at the given virtual time. */
  public long localNanos(long virtualNanos) {
    // split the product so virtual times of years do not overflow
    return offsetNanos + virtualNanos + (virtualNanos / PPM) * driftPpm
        + (virtualNanos % PPM) * driftPpm / PPM;
  }

  /** Virtual duration after which this clock has advanced by localNanos (rounded up). */
  public long virtualDurationFor(long localNanos) {
    // local = v * (PPM + drift) / PPM  =>  v = local * PPM / (PPM + drift)
    long rate = PPM + driftPpm;
    return (localNanos / rate) * PPM + ((localNanos % rate) * PPM + rate - 1) / rate;
  }
}
