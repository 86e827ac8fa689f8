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
 */
public record SnapshotSend(NodeId to, boolean keysOnly, NodeId via) {
  public SnapshotSend {
    Objects.requireNonNull(to, "to");
    if (via != null && keysOnly) {
      throw new IllegalArgumentException("a keys-only snapshot is always the leader's own");
    }
  }

  /** The leader sends its own image. */
  public SnapshotSend(NodeId to, boolean keysOnly) {
    this(to, keysOnly, null);
  }
}
