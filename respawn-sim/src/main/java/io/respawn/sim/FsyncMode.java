package io.respawn.sim;

/**
 * How a simulated node's replica log makes its writes durable.
 *
 * <ul>
 *   <li>{@link #ASYNC}: as the shard member runs it. The production {@code SegmentedReplicaLog}
 *       flushes asynchronously ({@code flushAsynchronously}) on an executor the simulated node
 *       gives it, which runs each fsync one simulated fsync time (0.1–3 ms, seeded) later in
 *       virtual time; the log moves its flushed index when the fsync ran and the runtime hears of
 *       it as an event ({@code onFlushed}), after a pause ends, never after a crash (a machine
 *       crash before the fsync ran loses the unflushed tail). A call that must wait for a running
 *       fsync (a suffix truncation, a reset, sealing a segment) runs it at once and the node is
 *       busy until the fsync would have ended. Needs the segmented log and ORDERED replica acks.
 *   <li>{@link #DEFERRED}: the simulator's storage defers each flush itself and then calls the
 *       log's synchronous flush (the mode before the member flushed asynchronously). What the
 *       in-memory log model and DURABLE replica acks (which need a flush that completes before it
 *       returns) always use.
 *   <li>{@link #ENDS_EARLY}: broken on purpose (teeth): the fsync executor runs the log's fsync
 *       task at once but the disk makes the bytes durable only one fsync time later, like a disk
 *       that acknowledges an fsync from its volatile write cache. The log's flushed index moves,
 *       and the runtime is told, before the data is durable.
 * </ul>
 */
public enum FsyncMode {
  ASYNC,
  DEFERRED,
  ENDS_EARLY;

  /** Parses the CLI spelling: async, deferred, ends-early. */
  public static FsyncMode parse(String s) {
    return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
  }

  public String spelling() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
