package io.respawn.node;

import io.respawn.core.Entry;
import io.respawn.core.Membership;
import io.respawn.core.RoleChange;
import io.respawn.core.SuspicionChange;
import java.util.List;

/**
 * What a {@link NodeRuntime} reports as it executes Ready values, in order, on the driver's
 * thread: for metrics and logs in the server, for the invariant checkers in the simulator. Every
 * method does nothing by default; implementations must not call back into the runtime.
 *
 * @param <R> the state machine's result type
 */
public interface RuntimeListener<R> {

  /** {@code entries} were written to the replica log (after any truncation they imply). */
  default void persisted(List<Entry> entries) {}

  /** The replica log reports everything up to {@code index} flushed. */
  default void flushed(long index) {}

  /** A committed entry was applied to the state machine, with the result it produced. */
  default void applied(Entry entry, R result) {}

  default void statusChanged(RoleChange change) {}

  default void membershipChanged(Membership membership) {}

  /**
   * This follower's suspicion of its leader changed: SOFT or HARD starts an episode (where
   * proactive recovery starts), NONE ends it (the leader was heard, or this node campaigns or
   * follows another leader).
   */
  default void suspicionChanged(SuspicionChange change) {}

  /** The store kept a snapshot image durably (the log may then be compacted behind it). */
  default void snapshotKept(io.respawn.core.SnapshotMeta meta) {}

  /** The log was compacted: entries up to {@code base.index()} are gone from it. */
  default void compacted(io.respawn.core.SnapshotMeta base) {}

  /**
   * A snapshot received from the leader replaced the store's state (called once the store holds
   * it, before the log is reset behind it).
   */
  default void snapshotInstalled(io.respawn.core.SnapshotMeta meta) {}

  /** A listener that ignores everything. */
  static <R> RuntimeListener<R> none() {
    return new RuntimeListener<>() {};
  }
}
