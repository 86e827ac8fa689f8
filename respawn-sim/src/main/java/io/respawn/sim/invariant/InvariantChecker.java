package io.respawn.sim.invariant;

import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * Runs a set of invariants after each event and collects violations stamped with the seed, the
 * event number and the virtual time. Keeps only the first {@code violationsMax} so one broken
 * property cannot flood the report.
 *
 * @param <V> the cluster view the invariants read
 */
public final class InvariantChecker<V> {

  private final long seed;
  private final List<Invariant<V>> invariants;
  private final LongSupplier eventNumber;
  private final LongSupplier virtualNanos;
  private final int violationsMax;
  private final List<Violation> violations = new ArrayList<>();

  public InvariantChecker(long seed, List<Invariant<V>> invariants, LongSupplier eventNumber,
      LongSupplier virtualNanos, int violationsMax) {
    this.seed = seed;
    this.invariants = List.copyOf(invariants);
    this.eventNumber = eventNumber;
    this.virtualNanos = virtualNanos;
    this.violationsMax = violationsMax;
  }

  public void checkAll(V cluster) {
    for (Invariant<V> invariant : invariants) {
      invariant.check(cluster, d -> report(invariant.name(), d));
    }
  }

  /** Records a violation found outside the per-event invariants (e.g. end-of-run checks). */
  public void report(String invariant, String description) {
    if (violations.size() < violationsMax) {
      violations.add(new Violation(seed, eventNumber.getAsLong(), virtualNanos.getAsLong(),
          invariant, description));
    }
  }

  public List<Violation> violations() {
    return violations;
  }

  public boolean clean() {
    return violations.isEmpty();
  }
}
