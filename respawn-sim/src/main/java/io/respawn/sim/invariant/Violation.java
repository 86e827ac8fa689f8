package io.respawn.sim.invariant;

/**
 * A broken safety property, with everything needed to reproduce it.
 *
 * @param seed the run's seed: replaying it repeats the run event for event
 * @param eventNumber how many events had run when the check failed (0 for end-of-run checks
 *     reported before any event, else the event count at the end)
 * @param virtualNanos virtual time of that event
 * @param invariant short name of the property
 * @param description what was observed
 */
public record Violation(
    long seed, long eventNumber, long virtualNanos, String invariant, String description) {

  @Override
  public String toString() {
    return "seed=" + seed + " event=" + eventNumber + " t=" + virtualNanos / 1_000_000 + "ms ["
        + invariant + "] " + description;
  }
}
