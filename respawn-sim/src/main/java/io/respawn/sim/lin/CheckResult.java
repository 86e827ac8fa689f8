package io.respawn.sim.lin;

import java.util.List;

/**
 * The answer of {@link LinearizabilityChecker#check}.
 *
 * @param verdict the answer
 * @param statesExplored distinct (linearized set, state) pairs visited, summed over components
 * @param components number of independent key components checked
 * @param description empty when linearizable; otherwise which component failed and why
 * @param culprits for NOT_LINEARIZABLE: the operations around the deepest point the search
 *     reached (the op that could not be placed and the ops it had to precede), else empty
 */
public record CheckResult(
    Verdict verdict, long statesExplored, int components, String description, List<Op> culprits) {

  public boolean linearizable() {
    return verdict == Verdict.LINEARIZABLE;
  }
}
