package io.respawn.node;

import io.respawn.core.Entry;
import io.respawn.core.SnapshotMeta;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.node.snapshot.SnapshotSink;

/**
 * The state that committed entries build up on one node: the primary's key-value table, a
 * backup's copy, a witness's keys and timestamps (DESIGN §3). The runtime applies committed
 * entries to it; the driver reads from it under the runtime's local read rule ({@link
 * NodeRuntime#localReadsServableUntilNanos}).
 *
 * <p>Contract. The runtime calls {@link #apply} once per committed entry, in index order without
 * gaps and never before the entry is committed; an entry at or below {@link #appliedIndex()} is
 * not handed over again. NOOP and CONFIG entries only move the applied index. A NORMAL entry in
 * witness form ({@link Entry#isElided()}) has keys and its (term, index) but no data: the store
 * records the timestamps and must from then on report those keys' values as unknown, never as
 * the stale value it had. After a
 * crash the worst case is that nothing the store held survives: the runtime then re-applies the
 * committed entries from the start of the replica log. A store that keeps state across restarts
 * reports the index it reached through {@link #appliedIndex()} right after it is opened, and may
 * keep effects only of entries the replica log had flushed, so that it is never ahead of the log
 * it restarts with. {@link #apply} must not fail for an entry the protocol committed; a command
 * it cannot decode is a bug (it throws, and the node stops). Called from the driver's thread only.
 *
 * <p>Snapshots (optional; a store that takes none keeps the defaults, and the runtime then never
 * compacts the log). {@link #captureSnapshot} takes an immutable image of the state as of {@link
 * #appliedIndex()} (or a fuzzy one, see {@link SnapshotImage#effectsThroughIndex}, for a store
 * whose entries are idempotent writes of whole values, so that replaying them over any state
 * that holds some of their effects gives the same result); it is volatile until {@link #keepSnapshot} makes it the store's durable image
 * (atomically: after any crash the store opens from the image kept last, or a newer one, with
 * {@link #appliedIndex()} at its index, and the runtime replays only the log after it). The
 * runtime keeps an image only once the shard holds its index durably. {@link #stageSnapshot} and
 * {@link #installSnapshot} take in an image a leader sent: staged bytes are invisible until the
 * install replaces the whole state with them, durably, and keeps that image. The same calls work
 * whatever the store keeps (values and keys, or keys and timestamps only on a witness).
 *
 * @param <R> what applying a client command returns to that client (e.g. a reply)
 */
public interface StateMachineStore<R> {

  /** Index of the last entry applied (0 for none). */
  long appliedIndex();

  /**
   * Applies the committed entry at {@code appliedIndex() + 1}. Returns the result its proposer's
   * client gets, or {@code null} when this node cannot compute it (for example a witness-form
   * entry, or a command whose result depends on a value this node does not hold).
   */
  R apply(Entry entry);

  /**
   * An immutable image of the state as of {@link #appliedIndex()}, labelled {@code meta}; null
   * when this store takes no snapshots. The label's index is the applied index, or lower for a
   * member that keeps no values ({@code Replica.imageLabelIndexMax}): the image is then fuzzy,
   * with {@link SnapshotImage#effectsThroughIndex} at least the applied index.
   */
  default SnapshotImage captureSnapshot(SnapshotMeta meta) {
    return null;
  }

  /**
   * Whether {@code image} (captured here) can be kept without waiting: a store that writes its
   * images in the background says false until the write is done, and the runtime asks again
   * later instead of blocking its thread in {@link #keepSnapshot}. True by default.
   */
  default boolean snapshotReady(SnapshotImage image) {
    return true;
  }

  /**
   * Whether the capture of {@code image} (ready, see {@link #snapshotReady}) failed or was
   * abandoned (the store replaced its state meanwhile, or writing the image failed): the runtime
   * then drops it and captures another later, instead of keeping it. False by default.
   */
  default boolean snapshotFailed(SnapshotImage image) {
    return false;
  }

  /** Makes {@code image} (captured here) the durable image the store restarts from. */
  default void keepSnapshot(SnapshotImage image) {
    throw new UnsupportedOperationException("this store takes no snapshots");
  }

  /** The image kept last (durable), or null when none. */
  default SnapshotImage keptSnapshot() {
    return null;
  }

  /** Opens a staging area for the body of a snapshot image a leader is sending. */
  default SnapshotSink stageSnapshot(SnapshotMeta meta, boolean keysOnly, long bodyBytes) {
    throw new UnsupportedOperationException("this store takes no snapshots");
  }

  /**
   * What an earlier run of this node staged of the snapshot (index, term) whose envelope has
   * {@code totalBytes} bytes, when a restart cut its transfer short and the store kept the
   * staged bytes; null (the default) when there is none, and the transfer starts over. See
   * {@link io.respawn.node.snapshot.SnapshotReceiver.Stager#resume}.
   */
  default io.respawn.node.snapshot.SnapshotReceiver.Resumed resumeStaging(long snapshotIndex,
      long snapshotTerm, long totalBytes) {
    return null;
  }

  /**
   * Replaces the whole state by the staged image (durable on return; the image becomes the kept
   * one); {@link #appliedIndex()} is then {@code meta.index()}.
   */
  default void installSnapshot(SnapshotMeta meta, SnapshotSink staged) {
    throw new UnsupportedOperationException("this store takes no snapshots");
  }
}
