package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Writes zeros into a file on a {@link Disk}: space written ahead of a log's end, so that the
 * log's fsyncs overwrite bytes the file already has instead of growing it (an fdatasync of a
 * file that grew must also commit its new size), or space held back in reserve.
 */
public final class ZeroFill {
  /** Zeros one write takes at most; shared read-only, each write uses its own view. */
  static final int WRITE_BYTES_MAX = 1 << 20;

  private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(WRITE_BYTES_MAX).asReadOnlyBuffer();

  private ZeroFill() {}

  /**
   * Writes zeros over {@code [fromOffset, toOffset)} of {@code name}, at most {@link
   * #WRITE_BYTES_MAX} bytes per write. Throws what the disk throws (a full disk included); the
   * writes before the failing one stay written.
   */
  public static void write(Disk disk, String name, long fromOffset, long toOffset)
      throws IOException {
    for (long at = fromOffset; at < toOffset; ) {
      ByteBuffer zeros = ZEROS.duplicate();
      zeros.limit((int) Math.min(zeros.capacity(), toOffset - at));
      int n = zeros.remaining();
      disk.write(name, at, zeros);
      at += n;
    }
  }
}
