package io.respawn.core;

/**
 * A {@link LogReader} cannot hand back the entries asked for: the range was compacted away
 * meanwhile, lies beyond the log's end, or reading it failed (an I/O error, a checksum that does
 * not match). The core then treats the entries as gone from its log: a follower that needs them
 * gets a snapshot, as one behind the snapshot base does; a peer asking for them is told the copy
 * cannot be served from there.
 */
public final class EntriesUnavailable extends Exception {
  public EntriesUnavailable(String message) {
    super(message);
  }

  public EntriesUnavailable(String message, Throwable cause) {
    super(message, cause);
  }
}
