package io.respawn.storage.solo;

import io.respawn.storage.solo.VolumeFormat.SuperRecord;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A child view made by {@link SoloVolume#superView()}: a store directory a standby can open and
 * recover ({@link #dir()}) while the parent store may still be served. It ends with {@link
 * #promote()} or {@link #abort()}. The handle lives in the memory of the process that made the
 * child: after a crash of that process the child is a leftover, which the next super deletes.
 *
 * <p>Contract for whoever opens {@link #dir()}: open it with the storage engine's default
 * corruption handling (refuse), accept no writes before {@link #promote()} returns {@link
 * Promotion#PROMOTED} (the engine's {@link SoloVolume#fenceFor fence} refuses them anyway), and
 * after an abort stop using the directory (it is deleted).
 */
public final class ChildView {
  /** What {@link #collapse()} observed. */
  public enum Collapse {
    /** The parent wrote nothing since super (and the volume did not move): the child is whole. */
    CLEAN,
    /** The parent wrote since super (it is alive), or the volume moved: the child is stale. */
    DIRTY
  }

  /** What {@link #promote()} did. */
  public enum Promotion {
    /** The child is the volume's store at epoch {@code parent's + 2}; the parent is fenced. */
    PROMOTED,
    /** The parent was dirty before the fence: nothing was fenced; the child is dropped. */
    ABORTED_PARENT_WROTE,
    /**
     * The parent wrote between the check and the fence: it is fenced (epoch {@code + 1}) and its
     * store stays the current one; the child is dropped. Super again to take over from it.
     */
    FENCED_PARENT_WROTE
  }

  private final SoloVolume volume;
  private final SuperRecord record;

  ChildView(SoloVolume volume, SuperRecord record) {
    this.volume = volume;
    this.record = record;
  }

  /** The child's store directory, for a standby to open. */
  public Path dir() {
    return volume.disk().path(record.child());
  }

  /** The child's store name on the volume. */
  public String name() {
    return record.child();
  }

  /** The parent's store name. */
  public String parent() {
    return record.parent();
  }

  /** The volume's epoch when super ran; a promotion makes it {@code epoch() + 2}. */
  public long epoch() {
    return record.epoch();
  }

  /**
   * Reads the parent's dirty bit from the volume, without the parent's help: DIRTY if the parent
   * store changed since super (any write, a new segment, a compaction, a clean stop) or the volume
   * moved to another epoch. Costs a listing of the parent's store and a read of its active segment
   * (at most segmentBytesMax bytes). Does not change anything; may be called any number of times,
   * also after {@link #promote()} (then it tells whether the fenced parent wrote after super).
   *
   * @throws IllegalStateException after {@link #abort()}
   */
  public Collapse collapse() throws IOException {
    return volume.collapse(record);
  }

  /**
   * Makes the child the volume's store and fences the parent, if the parent is still clean:
   * checks the dirty bit, writes the fence epoch (the parent's engine then refuses every batch),
   * checks again, writes the promotion epoch naming the child. See {@link SoloVolume} for the
   * window this leaves and why no acknowledged write is lost in it. Crash-safe: a crash before
   * the fence changes nothing; between the fence and the promotion leaves the parent's store
   * current and fenced; after it, the child current.
   *
   * @throws IllegalStateException if the child was aborted, or the volume moved since super
   */
  public Promotion promote() throws IOException {
    return volume.promote(record);
  }

  /**
   * Drops the child: deletes its super record, then its directory. Crash-safe: a crash midway
   * leaves a leftover the next super deletes. Idempotent.
   *
   * @throws IllegalStateException if the child was promoted
   */
  public void abort() throws IOException {
    volume.abort(record);
  }

  @Override
  public String toString() {
    return "ChildView[" + record.child() + " of " + record.parent() + " at epoch "
        + record.epoch() + "]";
  }
}
