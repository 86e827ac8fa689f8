package io.respawn.sim.lin;

import java.util.ArrayList;
import java.util.List;

/**
 * Records client operations as they are invoked and completed, stamping each with the next value
 * of one logical counter so the recorded order is the order the simulator saw.
 *
 * <p>Single-threaded, owned by whoever drives the clients (the simulation loop, or a test).
 * An op never completed by the end of the run is recorded as {@link Outcome#UNKNOWN}.
 */
public final class HistoryRecorder {

  private static final long[] NO_VALUES = new long[0];

  private final List<Pending> pending = new ArrayList<>();
  private long stamp;

  private static final class Pending {
    final int client;
    final OpKind kind;
    final int[] keys;
    final long[] values;
    final long invokeStamp;
    long completeStamp;
    Outcome outcome;
    long result;

    Pending(int client, OpKind kind, int[] keys, long[] values, long invokeStamp) {
      this.client = client;
      this.kind = kind;
      this.keys = keys;
      this.values = values;
      this.invokeStamp = invokeStamp;
    }
  }

  /** Records an invocation; returns the op id to pass to {@link #complete}. */
  public int invoke(int client, OpKind kind, int[] keys, long[] values) {
    pending.add(new Pending(client, kind, keys, values == null ? NO_VALUES : values, ++stamp));
    return pending.size() - 1;
  }

  public int invokeGet(int client, int key) {
    return invoke(client, OpKind.GET, new int[] {key}, null);
  }

  public int invokeSet(int client, int key, long value) {
    return invoke(client, OpKind.SET, new int[] {key}, new long[] {value});
  }

  public int invokeDel(int client, int key) {
    return invoke(client, OpKind.DEL, new int[] {key}, null);
  }

  public int invokeIncr(int client, int key) {
    return invoke(client, OpKind.INCR, new int[] {key}, null);
  }

  /** Records the outcome of op id; an op completes at most once. */
  public void complete(int id, Outcome outcome, long result) {
    Pending p = pending.get(id);
    if (p.outcome != null) {
      throw new IllegalStateException("op " + id + " completed twice");
    }
    p.outcome = outcome;
    p.result = result;
    p.completeStamp = ++stamp;
  }

  public void ok(int id, long result) {
    complete(id, Outcome.OK, result);
  }

  public void ok(int id) {
    complete(id, Outcome.OK, 0);
  }

  public void fail(int id) {
    complete(id, Outcome.FAIL, 0);
  }

  public void timeout(int id) {
    complete(id, Outcome.UNKNOWN, 0);
  }

  public int size() {
    return pending.size();
  }

  /** The history so far; ops still pending appear as UNKNOWN. */
  public List<Op> history() {
    List<Op> out = new ArrayList<>(pending.size());
    for (int id = 0; id < pending.size(); id++) {
      Pending p = pending.get(id);
      Outcome outcome = p.outcome == null ? Outcome.UNKNOWN : p.outcome;
      long complete = outcome == Outcome.UNKNOWN ? 0 : p.completeStamp;
      out.add(new Op(id, p.client, p.kind, p.keys, p.values, p.invokeStamp, complete, outcome,
          p.result));
    }
    return out;
  }
}
