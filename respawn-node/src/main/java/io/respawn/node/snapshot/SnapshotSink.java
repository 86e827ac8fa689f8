package io.respawn.node.snapshot;

/**
 * Where a store stages the body of a snapshot image while it arrives ({@link SnapshotReceiver}),
 * before {@code StateMachineStore.installSnapshot} swaps it in. Bytes come in order, each once;
 * nothing is visible to reads until the install. {@link #abort} drops what was staged (a
 * transfer that failed its checksum, or was overtaken by a newer one).
 */
public interface SnapshotSink {

  /** Appends the next {@code len} body bytes. */
  void write(byte[] src, int off, int len);

  /** Body bytes staged so far. */
  long bytes();

  /** Drops the staged bytes; the sink is unusable afterwards. */
  void abort();
}
