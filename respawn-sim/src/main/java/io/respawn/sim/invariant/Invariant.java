package io.respawn.sim.invariant;

/**
 * A safety property checked after every simulation event.
 *
 * <p>Implementations keep whatever history they need (for example every leader seen per term)
 * and report a broken property through {@code report}. They must not change the cluster.
 *
 * @param <V> the view of the cluster the property reads
 */
public interface Invariant<V> {

  /** Short name used in reports, e.g. "one-leader-per-term". */
  String name();

  /** Checks the property against the cluster as it is after the latest event. */
  void check(V cluster, Reporter report);

  /** Where invariants send what they found. */
  interface Reporter {
    void violation(String description);
  }
}
