package io.respawn.storage;

/**
 * The disk is full: the store refuses batches that store values until it has room again, and
 * still takes batches of only deletes and clears (which free space). {@link #diskMessage()} is
 * what the operating system said, e.g. "No space left on device".
 */
public final class DiskFullException extends StorageException {
  private final String diskMessage;

  public DiskFullException(String diskMessage, Throwable cause) {
    super("disk full: " + diskMessage + "; writes that store values are refused until the disk "
        + "has room (deletes still work)", cause);
    this.diskMessage = diskMessage;
  }

  /** The operating system's words, e.g. "No space left on device". */
  public String diskMessage() {
    return diskMessage;
  }

  /** True if this failure (or a cause of it) means the disk is out of space or quota. */
  public static boolean isDiskFull(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      String m = t.getMessage();
      if (m != null && (m.contains("No space left") || m.contains("ENOSPC")
          || m.contains("Disk quota exceeded") || m.contains("EDQUOT"))) {
        return true;
      }
    }
    return false;
  }
}
