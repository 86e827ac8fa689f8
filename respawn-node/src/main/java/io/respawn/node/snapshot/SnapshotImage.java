package io.respawn.node.snapshot;

import io.respawn.core.SnapshotMeta;

/**
 * An immutable image of a state machine at one applied index, as a byte body the runtime streams
 * to a peer ({@link SnapshotSender}) inside the envelope of {@link SnapshotFormat}. The body's
 * format belongs to the store; the runtime only moves and checks bytes.
 *
 * <p>Contract. Once handed out, an image never changes: {@link #read} returns the same bytes for
 * as long as anyone holds it, whatever the store applies meanwhile (the primary keeps serving
 * while a transfer runs). {@link #bodyCrc32c} is the CRC32C of the whole body. Reads may be slow
 * (disk) but never block on the store's writers. Called from the driver's thread.
 */
public interface SnapshotImage {

  /** The index, term and configuration of the state this image holds. */
  SnapshotMeta meta();

  /** True if the body holds keys and their timestamps only (a witness's form). */
  boolean keysOnly();

  /** Length of the body in bytes. */
  long bodyBytes();

  /** CRC32C of the whole body. */
  int bodyCrc32c();

  /** Copies {@code len} body bytes from {@code offset} into {@code dst[dstOff..]}. */
  void read(long offset, byte[] dst, int dstOff, int len);

  /** The same state in witness form (keys and timestamps only); this image if already so. */
  SnapshotImage keysOnlyView();

  /**
   * Takes a hold on the image for as long as a transfer reads it; every successful call is
   * matched by one {@link #release}. A store whose image holds a resource (an open file, whose
   * disk space a replaced image keeps until it is closed) frees it once the store has let go of
   * the image too and the last hold is released, not whenever the collector gets to it. Returns
   * false if the image is already freed (it must not be read then). Default: nothing to hold.
   */
  default boolean retain() {
    return true;
  }

  /** Ends a hold taken by {@link #retain}. Default: nothing to free. */
  default void release() {}

  /**
   * The newest entry whose effects the body may hold: {@link #meta()}'s index for an image taken
   * at one instant (the default). A store that walks its state while it keeps applying entries
   * (a <em>fuzzy</em> image: every key as of some index between the meta's and this one, which
   * replaying the log after the meta's index turns into the exact state) says how far its walk
   * saw; the runtime keeps such an image only once the shard holds this index durably, so a
   * kept image never holds an effect the shard could still lose. Asked once the store reports
   * the image ready.
   */
  default long effectsThroughIndex() {
    return meta().index();
  }
}
