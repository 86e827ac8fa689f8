package io.respawn.sim.invariant;

import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.sim.kv.KvCommand;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BiConsumer;

/**
 * The two durability statements of {@code docs/protocol.md} (acknowledgement levels), checked as
 * the run goes:
 *
 * <ol>
 *   <li><b>durable-ack-lost</b>: no write acknowledged DURABLE is ever lost, whatever crashed.
 *   <li><b>ordered-ack-lost</b>: a committed entry (so every ORDERED-acknowledged write) is lost
 *       only if a member of the write quorum that committed it — the leader or a voting backup,
 *       or the witness standing in for one — lost its copy in a machine crash, and that copy had
 *       been written less than the flush interval before (<b>flush-interval</b>, checked at each
 *       machine crash).
 * </ol>
 *
 * <p>"Lost" is observed where the other checkers see it: another entry is applied at a committed
 * index ({@link CommittedEntries}), a leader lacks a committed entry, or an acknowledged write is
 * missing from the final leader's log. A loss the second statement allows is <em>excused</em>:
 * the run goes on, the keys it touched leave the linearizability check (a lost acknowledged write
 * is a legitimate non-linearizable history), and the stats count it. A loss it does not allow is
 * reported by the caller under its own invariant; a lost DURABLE write is reported here.
 *
 * <p>Also counted, not reported: losses where some member of that write quorum still held its
 * copy (the loss happened through an election that left it out). They measure how far the
 * protocol is from the stronger statement "only if every write-quorum member machine-crashed".
 *
 * <p>Owned by the simulation thread.
 */
public final class DurabilityStatements {

  private record Id(long term, long index) {}

  private record Commit(int[] quorum, int[] keys) {}

  private final BiConsumer<String, String> violations;
  private final long flushIntervalBoundNanos;
  private final Map<Id, Commit> commits = new HashMap<>();
  private final Map<Id, Set<Integer>> lostInMachineCrash = new HashMap<>();
  private final Map<Id, Integer> durableAcks = new HashMap<>();
  private final Set<Id> excused = new LinkedHashSet<>();
  private final Set<Integer> taintedKeys = new TreeSet<>();
  private long excusedWithSurvivor;
  private long machineCrashLosses;
  private BiConsumer<Long, Long> onExcused = (term, index) -> { };

  /**
   * @param violations receives (invariant, description)
   * @param flushIntervalBoundNanos longest a copy may stay unflushed (flush interval plus fsync
   *     and loop slack)
   */
  public DurabilityStatements(BiConsumer<String, String> violations, long flushIntervalBoundNanos) {
    this.violations = violations;
    this.flushIntervalBoundNanos = flushIntervalBoundNanos;
  }

  /**
   * Told (term, index) of every loss the second statement excuses, when it is first excused: for
   * checks that such an entry was never treated as durable on the shard.
   */
  public void onExcused(BiConsumer<Long, Long> listener) {
    this.onExcused = java.util.Objects.requireNonNull(listener, "listener");
  }

  /** The committing leader applied e; {@code quorum} are the members its commit needed. */
  public void committed(Entry e, int[] quorum) {
    int[] keys = e.kind() == EntryKind.NORMAL ? KvCommand.keysOf(e.command()) : new int[0];
    commits.putIfAbsent(new Id(e.term(), e.index()), new Commit(quorum, keys));
  }

  /** A machine crash of node dropped its full copy of (term, index), unflushed for that long. */
  public void lostInMachineCrash(int node, long term, long index, long unflushedAgeNanos) {
    machineCrashLosses++;
    lostInMachineCrash.computeIfAbsent(new Id(term, index), k -> new HashSet<>()).add(node);
    if (unflushedAgeNanos > flushIntervalBoundNanos) {
      violations.accept("flush-interval", "n" + node + " lost " + term + "/" + index
          + " in a machine crash after it stayed unflushed for " + unflushedAgeNanos / 1_000
          + " us of unpaused time, above the bound of " + flushIntervalBoundNanos / 1_000 + " us");
    }
  }

  /** True if node lost its full copy of (term, index) in a machine crash. */
  public boolean lostInMachineCrash(int node, long term, long index) {
    Set<Integer> nodes = lostInMachineCrash.get(new Id(term, index));
    return nodes != null && nodes.contains(node);
  }

  public void durableAcknowledged(int opId, long term, long index) {
    durableAcks.putIfAbsent(new Id(term, index), opId);
  }

  /**
   * The committed entry (term, index) is gone ({@code how}). Returns true if the second statement
   * excuses it; otherwise false, after reporting it here if it was acknowledged DURABLE.
   */
  public boolean lost(long term, long index, String how) {
    Id id = new Id(term, index);
    if (excused.contains(id)) {
      return true;
    }
    Integer op = durableAcks.get(id);
    if (op != null) {
      violations.accept("durable-ack-lost", "op #" + op + " was acknowledged DURABLE at " + term
          + "/" + index + " and is lost: " + how);
      return false;
    }
    Commit c = commits.get(id);
    Set<Integer> lostBy = lostInMachineCrash.getOrDefault(id, Set.of());
    if (c == null) {
      return false;
    }
    boolean byQuorumMember = false;
    boolean survivor = false;
    for (int member : c.quorum()) {
      if (lostBy.contains(member)) {
        byQuorumMember = true;
      } else {
        survivor = true;
      }
    }
    if (!byQuorumMember) {
      return false;
    }
    excused.add(id);
    if (survivor) {
      excusedWithSurvivor++;
    }
    for (int k : c.keys()) {
      taintedKeys.add(k);
    }
    onExcused.accept(term, index);
    return true;
  }

  /** Keys written by excused losses: their history is left out of the linearizability check. */
  public Set<Integer> taintedKeys() {
    return taintedKeys;
  }

  /** Committed entries lost as the second statement allows. */
  public long excusedLosses() {
    return excused.size();
  }

  /** Excused losses where a member of the committing quorum still held its copy. */
  public long excusedWithSurvivor() {
    return excusedWithSurvivor;
  }

  public long durableAcks() {
    return durableAcks.size();
  }

  /** Full copies dropped by machine crashes. */
  public long machineCrashLosses() {
    return machineCrashLosses;
  }
}
