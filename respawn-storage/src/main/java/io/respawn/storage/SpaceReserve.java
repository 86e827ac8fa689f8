package io.respawn.storage;

import java.io.IOException;
import java.util.List;

/**
 * Space kept back on the log's disk so that the store can still free space when the disk is
 * full: a file of zeros, {@value #FILE}, of {@link StorageConfig#diskReserveBytes()}. Writing
 * zeros makes the filesystem allocate the blocks, so they are really held.
 *
 * <p>When a write fails for want of space the engine {@link #release releases} the reserve: its
 * blocks are what deletes, FLUSHALL (a new segment) and compaction then write into. {@link #fill}
 * grows it back, plus a headroom it gives back at once (a quarter of the reserve, between 4 KiB
 * and {@value #HEADROOM_BYTES_MAX} bytes); success is the engine's test that the disk has room
 * again. A failed fill gives back whatever it took, so
 * probing a full disk never eats the room deletes need.
 *
 * <p>Worst case: another process may take the released space before our deletes use it; they
 * then fail like any write on a full disk. Recovery ignores the file. Owned by {@link LogEngine};
 * methods are synchronized.
 */
final class SpaceReserve {
  static final String FILE = "reserve.space";
  /** Free space a fill also asks for beyond the reserve, so a fill on the brink does not count. */
  static final int HEADROOM_BYTES_MAX = 1 << 20;

  private final Disk disk;
  private final long bytes;
  private final long headroomBytes;

  SpaceReserve(Disk disk, long bytes) {
    this.disk = disk;
    this.bytes = bytes;
    this.headroomBytes = Math.clamp(bytes / 4, 4096, HEADROOM_BYTES_MAX);
  }

  long bytes() {
    return bytes;
  }

  /**
   * Grows the file to {@code bytes} plus the headroom of zeros, flushes it and cuts it back to
   * {@code bytes}. Returns false, with the file back at the size it had, if the disk has no room
   * for that; throws for any other disk error.
   */
  synchronized boolean fill() throws IOException {
    if (!disk.list().contains(FILE)) {
      disk.create(FILE);
    }
    long before = disk.size(FILE);
    long target = bytes + headroomBytes;
    try {
      ZeroFill.write(disk, FILE, before, target);
      disk.flush(FILE);
    } catch (IOException e) {
      if (!DiskFullException.isDiskFull(e)) {
        throw e;
      }
      disk.truncate(FILE, Math.min(before, bytes)); // give back what the attempt took
      return false;
    }
    disk.truncate(FILE, bytes);
    return true;
  }

  /** Gives the reserved space back to the filesystem (truncates the file to nothing). */
  synchronized void release() throws IOException {
    List<String> names = disk.list();
    if (names.contains(FILE) && disk.size(FILE) > 0) {
      disk.truncate(FILE, 0);
    }
  }
}
