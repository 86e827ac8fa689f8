package io.respawn.core;

import java.util.Objects;

/**
 * Leader to runtime: {@code to} needs entries this leader has compacted away; send it a snapshot
 * image of the state machine (the newest one held durably, at or above the log's snapshot base),
 * then the log resumes from the image's index. {@code keysOnly}: the peer is a witness, which
 * keeps keys and timestamps only. Repeated on every heartbeat round while the peer lags behind
 * the base, so the runtime keeps one transfer per peer and ignores requests for one under way.
 *
 * <p>{@code via}: null when this node sends its own image; otherwise the member that keeps values
 * and should send its image instead ({@link Message.SendSnapshot}), because this leader is a
 * witness whose image has no values to give.
 *
 * <p>{@code imageIndexMin}: the image sent must be at or above this index; 0 means the leader's
 * snapshot base (the usual case: the peer is behind it). Above the base when the peer is not
 * behind the base but needs values of entries the leader holds keys-only and every member that
 * kept them compacted them away: an image at or above the first such entry replaces them (a
 * helper that compacted them keeps one).
 */
public record SnapshotSend(NodeId to, boolean keysOnly, NodeId via, long imageIndexMin) {
  public SnapshotSend {
    Objects.requireNonNull(to, "to");
    if (via != null && keysOnly) {
      throw new IllegalArgumentException("a keys-only snapshot is always the leader's own");
    }
    if (imageIndexMin < 0 || (imageIndexMin > 0 && via == null)) {
      throw new IllegalArgumentException("imageIndexMin " + imageIndexMin
          + " (above the base only through a helper)");
    }
  }

  /** A helper sends its image, at or above the leader's base. */
  public SnapshotSend(NodeId to, boolean keysOnly, NodeId via) {
    this(to, keysOnly, via, 0);
  }

  /** The leader sends its own image. */
  public SnapshotSend(NodeId to, boolean keysOnly) {
    this(to, keysOnly, null, 0);
  }
}
