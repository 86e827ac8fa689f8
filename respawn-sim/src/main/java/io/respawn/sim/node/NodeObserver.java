package io.respawn.sim.node;

import io.respawn.core.Entry;
import io.respawn.core.RoleChange;
import java.util.List;

/** What a {@link SimNode} reports to the simulation's checkers as it executes Ready values. */
public interface NodeObserver {

  /** entries were written to the node's storage (the replica's log already holds them). */
  void persisted(SimNode node, List<Entry> entries);

  /** entry was applied to the node's state machine (so it is committed). */
  void applied(SimNode node, Entry entry);

  /** The core allowed a local read in the node's current term. */
  void readServed(SimNode node, long term);

  /**
   * A client write was acknowledged after committing at (term, index): ORDERED (committed and
   * applied on node), or DURABLE (also flushed on a write quorum).
   */
  void writeAcknowledged(SimNode node, int opId, long term, long index, boolean durable);

  /**
   * A DURABLE write committed and applied at (term, index) on node, which now waits for the
   * runtime to say a write quorum flushed it before it acknowledges ({@link
   * #writeAcknowledged}); in node's current incarnation.
   */
  default void durableAckAwaited(SimNode node, int opId, long term, long index) {}

  /**
   * A machine crash of node dropped its copy of (term, index) (full: with the value, not a
   * witness's keys-only copy), written {@code unflushedAgeNanos} of unpaused time before the crash
   * (-1 if unknown).
   */
  void lostInMachineCrash(SimNode node, long term, long index, boolean full, long unflushedAgeNanos);

  void statusChanged(SimNode node, RoleChange change);

  /**
   * node's runtime stopped because an entry it had committed (and perhaps applied) is being
   * replaced; the node restarts.
   */
  void committedEntryLost(SimNode node, io.respawn.core.CommittedEntryLost lost);

  /**
   * node's runtime refused a client write {@code QUEUE_FULL} while its bounds left room for it
   * ({@code invariant} queue-full-unjustified), or accepted one past them (write-bound-exceeded);
   * see {@link WritesInRuntime}.
   */
  default void writeBoundsBroken(SimNode node, String invariant, String detail) {}

  /**
   * node's runtime sent {@code to} an AppendEntries of {@code term} carrying {@code entries}
   * entries (called as the runtime hands it over, inside the step that made it).
   */
  default void appendSent(SimNode node, int to, long term, int entries) {}

  /**
   * The node's driver skipped a tick because its runtime said nothing was due before a later
   * time ({@code NodeRuntime.tickDueNanos}); the simulation checks that nothing was.
   */
  default void tickSkipped(SimNode node) {}

  /** A message from {@code from} is about to reach node's runtime. */
  default void heardFrom(SimNode node, int from) {}

  /**
   * node's transport is about to report {@code peer} reachable again (a new connection, after
   * its process came back): what node had in flight to it went with the old one.
   */
  default void reconnected(SimNode node, int peer) {}

  /** node (re)started. */
  default void restarted(SimNode node) {}

  /** A key's timestamp moved backwards in node's state machine. */
  void timestampRegressed(SimNode node, int key, String detail);

  /** The node kept a snapshot image durably (its state machine at {@code meta.index()}). */
  default void snapshotKept(SimNode node, io.respawn.core.SnapshotMeta meta,
      io.respawn.sim.kv.KvImage image) {}

  /** The node is about to replace its state by a received snapshot; it had applied this much. */
  default void snapshotInstalling(SimNode node, io.respawn.core.SnapshotMeta meta,
      long appliedBefore) {}

  /** The node's state machine now holds a received snapshot. */
  default void snapshotInstalled(SimNode node, io.respawn.core.SnapshotMeta meta) {}
}
