package io.respawn.sim.invariant;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * <b>durable-ack-late</b>: once the faults have stopped and the shard has settled, a DURABLE
 * write whose entry is flushed on a write quorum of its leader's configuration is acknowledged
 * within {@code boundNanos} of virtual time, for as long as the leader that proposed it keeps
 * leading the term it proposed it in.
 *
 * <p>The safety checks cannot see a DURABLE acknowledgement that never comes: the client times
 * out and records the write as of unknown outcome, which linearizability accepts. This one sees
 * it: "flushed on a write quorum" is read from the disks (each member's flushed log, or its kept
 * image below the log), not from what the leader was told, so a flush that happened and was never
 * reported to the core (the runtime's unreported append flush of the fifth session, or the core
 * variant {@code withhold-flush-report}) shows as a write left waiting.
 *
 * <p>The bound is the worst case of the report path with a lost message or two: the flush report
 * crosses the network, and if it is lost, a heartbeat round later the answer to the next
 * AppendEntries carries the flushed index again. The caller computes it from the run's timing.
 *
 * <p>Only checked from {@link #startChecking}: while faults run, a leader may be cut off from its
 * followers' reports for any length of time and still lead until its lease runs out. Owned by the
 * simulation thread.
 */
public final class DurableAckLiveness {

  /** What the checker asks the simulation about the shard as it is now. */
  public interface Shard {
    /** Whether {@code node} is up in {@code incarnation} and leads {@code term}. */
    boolean leads(int node, int incarnation, long term);

    /** Whether (term, index) is flushed on a write quorum of {@code leader}'s configuration. */
    boolean flushedOnWriteQuorum(int leader, long term, long index);
  }

  private static final class Waiting {
    final int node;
    final int incarnation;
    final long term;
    final long index;
    long flushedSeenNanos = -1;

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
  private long checked;
  private long latencyMaxNanos;

  public DurableAckLiveness(long boundNanos) {
    if (boundNanos <= 0) {
      throw new IllegalArgumentException("boundNanos " + boundNanos + " must be positive");
    }
    this.boundNanos = boundNanos;
  }

  public String name() {
    return "durable-ack-late";
  }

  public long boundNanos() {
    return boundNanos;
  }

  /** Op {@code opId}, committed at (term, index), waits on node for its DURABLE ack. */
  public void awaited(int opId, int node, int incarnation, long term, long index) {
    waiting.put(opId, new Waiting(node, incarnation, term, index));
  }

  /** Op {@code opId} was acknowledged DURABLE now. */
  public void acknowledged(int opId, long nowNanos) {
    Waiting w = waiting.remove(opId);
    if (w != null && w.flushedSeenNanos >= 0) {
      checked++;
      latencyMaxNanos = Math.max(latencyMaxNanos, nowNanos - w.flushedSeenNanos);
    }
  }

  /** The faults stopped and the shard settled: writes waiting from now on are held to the bound. */
  public void startChecking(long nowNanos) {
    checkFromNanos = nowNanos;
  }

  /**
   * Drops the writes whose leader stopped leading their term (they will never be acknowledged:
   * their clients time out), notes when each other one is first seen flushed on a write quorum,
   * and reports one that has been so for longer than the bound.
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
      if (w.flushedSeenNanos < 0) {
        if (shard.flushedOnWriteQuorum(w.node, w.term, w.index)) {
          w.flushedSeenNanos = nowNanos;
        }
      } else if (nowNanos - w.flushedSeenNanos > boundNanos) {
        violations.accept(name(), "op #" + e.getKey() + " committed at " + w.term + "/"
            + w.index + " waits for its DURABLE acknowledgement on leader n" + w.node + " "
            + (nowNanos - w.flushedSeenNanos) / 1_000 + " us after its entry was seen flushed on"
            + " a write quorum, above the bound of " + boundNanos / 1_000 + " us (faults stopped "
            + (nowNanos - checkFromNanos) / 1_000_000 + " ms ago)");
        it.remove();
        return;
      }
    }
  }

  /** DURABLE acknowledgements timed against the bound. */
  public long checked() {
    return checked;
  }

  /** Longest time from flushed on a write quorum to acknowledged, among those timed. */
  public long latencyMaxNanos() {
    return latencyMaxNanos;
  }
}
