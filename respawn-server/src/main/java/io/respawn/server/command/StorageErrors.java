package io.respawn.server.command;

import io.respawn.storage.DiskFullException;
import io.respawn.storage.FencedException;
import io.respawn.storage.StorageException;

/** Error replies for storage failures, in Redis's words where Redis has them. */
final class StorageErrors {
  private StorageErrors() {}

  /**
   * What Redis answers when it cannot write its append-only file ({@code -MISCONF Errors writing
   * to the AOF file: No space left on device}), for our log, with what still works.
   */
  static String misconf(DiskFullException e) {
    return "MISCONF Errors writing to the log: " + e.diskMessage() + " (disk full; writes resume "
        + "by themselves once the disk has room; reads, DEL, UNLINK and FLUSHALL still work)";
  }

  /**
   * What a fenced node answers to a write: Redis's reply of a demoted primary, which Sentinel-aware
   * clients (redis-py's {@code SentinelManagedConnection}, for one) take as "reconnect to the
   * primary the Sentinel names", followed by why.
   */
  static String readonly(FencedException e) {
    return "READONLY You can't write against a read only replica. (" + e.getMessage() + ")";
  }

  /** The full error text for a storage failure. */
  static String text(StorageException e) {
    return e instanceof DiskFullException full ? misconf(full)
        : e instanceof FencedException fenced ? readonly(fenced)
        : "ERR " + e.getMessage();
  }

  /**
   * A failure as the cause a reply gate fails with: a disk-full one becomes a {@link
   * ReplyException} carrying the MISCONF text, a fenced one the READONLY text (a failed gate
   * answers a ReplyException verbatim, anything else as {@code -ERR <message>}).
   */
  static Throwable forGate(Throwable cause) {
    return cause instanceof DiskFullException full ? new ReplyException(misconf(full))
        : cause instanceof FencedException fenced ? new ReplyException(readonly(fenced))
        : cause;
  }
}
