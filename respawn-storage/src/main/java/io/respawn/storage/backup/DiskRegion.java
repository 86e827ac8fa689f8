package io.respawn.storage.backup;

import io.respawn.storage.Disk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * {@link PersistentRegion} kept in one file of a {@link Disk}: a write is a positional disk
 * write and {@link #force} a flush of the file. With a {@code RecordingDisk} the buffer and the
 * logs live on one recorded disk, so one crash image captures both at the same instant, with the
 * region's unforced writes lost, kept or torn as the contract allows. Used by crash tests and the
 * simulator; production maps the file ({@link MappedRegion}). Creation mirrors {@link
 * MappedRegion}: zeros, initializer, flush, then an atomic rename to the final name.
 */
public final class DiskRegion implements PersistentRegion {
  private static final int ZERO_CHUNK_BYTES = 1 << 16;

  private final Disk disk;
  private final String name;
  private final long sizeBytes;

  private DiskRegion(Disk disk, String name, long sizeBytes) {
    this.disk = disk;
    this.name = name;
    this.sizeBytes = sizeBytes;
  }

  /** Opens file name on disk, creating it with sizeBytes if it does not exist. */
  public static DiskRegion open(Disk disk, String name, long sizeBytes, Initializer initializer)
      throws IOException {
    if (!disk.list().contains(name)) {
      String tmp = name + ".tmp";
      if (disk.list().contains(tmp)) {
        disk.delete(tmp);
      }
      disk.create(tmp);
      byte[] zeros = new byte[ZERO_CHUNK_BYTES];
      for (long at = 0; at < sizeBytes; at += ZERO_CHUNK_BYTES) {
        disk.write(tmp, at, ByteBuffer.wrap(zeros, 0, (int) Math.min(ZERO_CHUNK_BYTES, sizeBytes - at)));
      }
      DiskRegion fresh = new DiskRegion(disk, tmp, sizeBytes);
      initializer.initialize(fresh);
      fresh.force();
      disk.rename(tmp, name);
    }
    return new DiskRegion(disk, name, disk.size(name));
  }

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  @Override
  public void write(long offset, byte[] src, int from, int length) {
    try {
      disk.write(name, offset, ByteBuffer.wrap(src, from, length));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void read(long offset, byte[] dst, int from, int length) {
    try {
      ByteBuffer into = ByteBuffer.wrap(dst, from, length);
      while (into.hasRemaining()) {
        if (disk.read(name, offset + into.position() - from, into) < 0) {
          throw new IOException("persistent buffer " + name + " is shorter than " + (offset + length));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void force() throws IOException {
    disk.flush(name);
  }

  @Override
  public void close() {}
}
