package io.respawn.sim.lin;

import java.util.Arrays;
import java.util.Objects;

/**
 * One client operation in a history.
 *
 * <p>Keys are small integers (the workload's key space) and values are longs, so the model state
 * is a flat array. Times are logical stamps from one counter shared by every client, so invoke and
 * complete stamps never tie and their order is the real order in which the simulator saw them.
 *
 * @param id unique within a history
 * @param client the client that issued it
 * @param kind the command
 * @param keys keys touched: one for GET/SET/DEL/INCR, one or more distinct keys for MSET
 * @param values values written: one per key for SET and MSET, empty otherwise
 * @param invokeStamp when the client sent it
 * @param completeStamp when the client learned the outcome; ignored for {@link Outcome#UNKNOWN}
 * @param outcome what the client learned
 * @param result GET: value or {@link #ABSENT}; DEL: keys removed; INCR: new value; else unused
 */
public record Op(
    int id,
    int client,
    OpKind kind,
    int[] keys,
    long[] values,
    long invokeStamp,
    long completeStamp,
    Outcome outcome,
    long result) {

  /** The value a GET returns for a missing key. */
  public static final long ABSENT = Long.MIN_VALUE;

  public Op {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(outcome, "outcome");
    if (keys.length == 0) {
      throw new IllegalArgumentException("op " + id + " touches no key");
    }
    if (kind != OpKind.MSET && keys.length != 1) {
      throw new IllegalArgumentException(kind + " takes one key, got " + keys.length);
    }
    boolean carriesValues = kind == OpKind.SET || kind == OpKind.MSET;
    if (carriesValues ? values.length != keys.length : values.length != 0) {
      throw new IllegalArgumentException(kind + " with " + keys.length + " keys and "
          + values.length + " values");
    }
    if (outcome != Outcome.UNKNOWN && completeStamp <= invokeStamp) {
      throw new IllegalArgumentException("op " + id + " completes at " + completeStamp
          + " before its invoke at " + invokeStamp);
    }
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder();
    b.append('#').append(id).append(" c").append(client).append(' ').append(kind);
    for (int i = 0; i < keys.length; i++) {
      b.append(" k").append(keys[i]);
      if (values.length > 0) {
        b.append('=').append(values[i]);
      }
    }
    b.append(" [").append(invokeStamp).append(',');
    b.append(outcome == Outcome.UNKNOWN ? "?" : Long.toString(completeStamp)).append("] ");
    b.append(outcome);
    if (outcome == Outcome.OK && kind != OpKind.SET && kind != OpKind.MSET) {
      b.append(" -> ").append(result == ABSENT ? "nil" : Long.toString(result));
    }
    return b.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Op other && other.id == id && other.client == client
        && other.kind == kind && Arrays.equals(other.keys, keys)
        && Arrays.equals(other.values, values) && other.invokeStamp == invokeStamp
        && other.completeStamp == completeStamp && other.outcome == outcome
        && other.result == result;
  }

  @Override
  public int hashCode() {
    return Objects.hash(id, client, kind, invokeStamp);
  }
}
