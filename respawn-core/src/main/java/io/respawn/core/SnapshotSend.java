package io.respawn.core;

import java.util.Objects;

/**
 * Leader to runtime: {@code to} needs entries this leader has compacted away; send it a snapshot
 * image of the state machine (the newest one held durably, at or above the log's snapshot base),
 * then the log resumes from the image's index. {@code keysOnly}: the peer is a witness, which
 * keeps keys and timestamps only. Repeated on every heartbeat round while the peer lags behind
 * the base, so the runtime keeps one transfer per peer and ignores requests for one under way.
 */
public record SnapshotSend(NodeId to, boolean keysOnly) {
  public SnapshotSend {
    Objects.requireNonNull(to, "to");
  }
}
