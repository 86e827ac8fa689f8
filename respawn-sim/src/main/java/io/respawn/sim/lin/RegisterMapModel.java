package io.respawn.sim.lin;

import java.util.Arrays;

/**
 * Sequential specification of the key-value store: a map from key to long, where every command
 * is one atomic step. The checker calls it on the keys of one component, renumbered 0..n-1.
 *
 * <p>Stateless; states are arrays that are never mutated after creation, so they can be shared
 * and used as memo keys.
 */
final class RegisterMapModel {

  private RegisterMapModel() {}

  /** The state in which every key is absent. */
  static long[] initial(int keyCount) {
    long[] state = new long[keyCount];
    Arrays.fill(state, Op.ABSENT);
    return state;
  }

  /**
   * Applies op to state.
   *
   * @param localKeys op's keys renumbered into the component
   * @return the next state (the same array when nothing changed), or {@code null} if op's
   *     recorded result is impossible in state
   */
  static long[] step(long[] state, Op op, int[] localKeys) {
    boolean known = op.outcome() == Outcome.OK;
    switch (op.kind()) {
      case GET -> {
        return !known || state[localKeys[0]] == op.result() ? state : null;
      }
      case SET, MSET -> {
        long[] next = state.clone();
        for (int i = 0; i < localKeys.length; i++) {
          next[localKeys[i]] = op.values()[i];
        }
        return next;
      }
      case DEL -> {
        long removed = state[localKeys[0]] == Op.ABSENT ? 0 : 1;
        if (known && removed != op.result()) {
          return null;
        }
        if (removed == 0) {
          return state;
        }
        long[] next = state.clone();
        next[localKeys[0]] = Op.ABSENT;
        return next;
      }
      case INCR -> {
        long old = state[localKeys[0]];
        long incremented = (old == Op.ABSENT ? 0 : old) + 1;
        if (known && incremented != op.result()) {
          return null;
        }
        long[] next = state.clone();
        next[localKeys[0]] = incremented;
        return next;
      }
      default -> throw new IllegalStateException("unknown kind " + op.kind());
    }
  }
}
