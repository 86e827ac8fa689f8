package io.respawn.sim;

import io.respawn.sim.invariant.Violation;
import io.respawn.sim.lin.Verdict;
import java.util.List;

/**
 * What one seed's run produced.
 *
 * @param seed the seed
 * @param events events run (faulty phase plus settling and final reads)
 * @param virtualMillis virtual time at the end
 * @param violations broken properties (empty for a clean run)
 * @param operations client operations in the history
 * @param acknowledgedWrites writes acknowledged to clients
 * @param linearizability the checker's verdict (UNKNOWN: search bound hit, not a violation)
 * @param linearizabilityStates states the checker explored
 * @param description shape, faults and node states, printed when the run failed
 */
public record RunResult(
    long seed,
    long events,
    long virtualMillis,
    List<Violation> violations,
    int operations,
    int acknowledgedWrites,
    Verdict linearizability,
    long linearizabilityStates,
    String description) {

  public boolean clean() {
    return violations.isEmpty();
  }
}
