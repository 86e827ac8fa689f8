package io.respawn.sim.invariant;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * <b>durable-flush-late</b>: once the faults have stopped and the shard has settled, a DURABLE
 * write's entry that is written (in order, perhaps unflushed) on a write quorum of its leader's
 * configuration is flushed on a write quorum within {@code boundNanos} of virtual time, for as
 * long as the leader that proposed it keeps leading the term it proposed it in.
 *
 * <p>{@link DurableAckLiveness} starts its clock at "flushed on a write quorum", so it cannot see
 * a member that is slow to flush: a leader that stops asking its followers to flush at once
 * (AppendEntries' {@code flushWanted}), or a follower that ignores the request, leaves the flush
 * to the runtime's flush interval, and every DURABLE acknowledgement comes up to an interval
 * late while every other check passes. The leader's own flush and a follower's flush both start
 * in the input that writes the entry (the runtime's {@code maybeFlush}), so the bound is two
 * fsyncs (one may be in flight when the entry arrives; one flush at a time), a tick and a pass
 * of the node's loop: below the flush interval, which is what the broken variant {@code
 * ignore-flush-wanted} waits for. The caller computes it from the run's timing.
 *
 * <p>"Written" and "flushed" are read from the disks, as in {@link DurableAckLiveness}. Only
 * checked from {@link #startChecking}. Owned by the simulation thread.
 */
public final class DurableFlushLiveness {

  /** What the checker asks the simulation about the shard as it is now. */
  public interface Shard {
    /** Whether {@code node} is up in {@code incarnation} and leads {@code term}. */
    boolean leads(int node, int incarnation, long term);

    /**
     * Whether (term, index) is on a write quorum of {@code leader}'s configuration: flushed there
     * if {@code flushed}, else at least written.
     */
    boolean onWriteQuorum(int leader, long term, long index, boolean flushed);
  }

  private static final class Waiting {
    final int node;
    final int incarnation;
    final long term;
    final long index;
    long writtenSeenNanos = -1;

    Waiting(int node, int incarnation, long term, long index) {
      this.node = node;
      this.incarnation = incarnation;
      this.term = term;
      this.index = index;
    }
  }

  private final long boundNanos;
  private final Map<Integer, Waiting> waiting = new LinkedHashMap<>();
  private long checkFromNanos = -1;
  private long timed;
  private long latencyMaxNanos;

  public DurableFlushLiveness(long boundNanos) {
    if (boundNanos <= 0) {
      throw new IllegalArgumentException("boundNanos " + boundNanos + " must be positive");
    }
    this.boundNanos = boundNanos;
  }

  public String name() {
    return "durable-flush-late";
  }

  public long boundNanos() {
    return boundNanos;
  }

  /** Op {@code opId}, committed at (term, index) on {@code node}, waits for its flush. */
  public void awaited(int opId, int node, int incarnation, long term, long index) {
    waiting.put(opId, new Waiting(node, incarnation, term, index));
  }

  /** The faults stopped and the shard settled: writes waiting from now on are held to the bound. */
  public void startChecking(long nowNanos) {
    checkFromNanos = nowNanos;
  }

  /**
   * Drops the writes whose leader stopped leading their term, notes when each other one is first
   * seen written on a write quorum, drops it (timed) once flushed on one, and reports one written
   * for longer than the bound without being flushed.
   */
  public void check(long nowNanos, Shard shard, BiConsumer<String, String> violations) {
    if (checkFromNanos < 0 || waiting.isEmpty()) {
      return;
    }
    for (Iterator<Map.Entry<Integer, Waiting>> it = waiting.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Integer, Waiting> e = it.next();
      Waiting w = e.getValue();
      if (!shard.leads(w.node, w.incarnation, w.term)) {
        it.remove();
        continue;
      }
      if (w.writtenSeenNanos < 0) {
        if (!shard.onWriteQuorum(w.node, w.term, w.index, false)) {
          continue;
        }
        w.writtenSeenNanos = nowNanos;
      }
      if (shard.onWriteQuorum(w.node, w.term, w.index, true)) {
        timed++;
        latencyMaxNanos = Math.max(latencyMaxNanos, nowNanos - w.writtenSeenNanos);
        it.remove();
      } else if (nowNanos - w.writtenSeenNanos > boundNanos) {
        violations.accept(name(), "op #" + e.getKey() + " committed at " + w.term + "/"
            + w.index + " on leader n" + w.node + " is not flushed on a write quorum "
            + (nowNanos - w.writtenSeenNanos) / 1_000 + " us after it was seen written on one,"
            + " above the bound of " + boundNanos / 1_000 + " us (faults stopped "
            + (nowNanos - checkFromNanos) / 1_000_000 + " ms ago)");
        it.remove();
        return;
      }
    }
  }

  /** DURABLE writes timed from written to flushed on a write quorum. */
  public long timed() {
    return timed;
  }

  /** Longest of those times. */
  public long latencyMaxNanos() {
    return latencyMaxNanos;
  }
}
