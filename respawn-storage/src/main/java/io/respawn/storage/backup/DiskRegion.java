package io.respawn.storage.backup;

import io.respawn.storage.Disk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;

/**
 * {@link PersistentRegion} kept on a {@link Disk}, for crash tests and the simulator: a write is
 * a positional disk write and {@link #force} a flush. With a {@code RecordingDisk} the buffer and
 * the logs live on one recorded disk, so one crash image catches both at the same instant, with
 * the region's unforced writes lost, kept or torn as the contract allows.
 *
 * <p>A {@code Disk} flushes whole files, while the contract forces ranges; so the region is kept
 * as two files — its first page (the buffer's checkpoints) in {@code name}, the rest in {@code
 * name.ring} — and a force flushes the files its range touches. Forcing the checkpoint page thus
 * leaves the ring's writes as volatile as an msync of one page leaves them in a mapped file.
 * Creation mirrors {@link MappedRegion}: the ring file is zero-filled and flushed, the first page
 * formatted and flushed under a temporary name, then renamed into place.
 */
public final class DiskRegion implements PersistentRegion {
  /** The first page lives in its own file. */
  static final int HEAD_BYTES = BackupFormat.PAGE_BYTES;
  static final String RING_SUFFIX = ".ring";
  private static final int ZERO_CHUNK_BYTES = 1 << 16;

  private final Disk disk;
  private final String head;
  private final String ring;
  private final long sizeBytes;

  private DiskRegion(Disk disk, String head, String ring, long sizeBytes) {
    this.disk = disk;
    this.head = head;
    this.ring = ring;
    this.sizeBytes = sizeBytes;
  }

  /** Opens the region name on disk, creating it with sizeBytes if it does not exist. */
  public static DiskRegion open(Disk disk, String name, long sizeBytes, Initializer initializer)
      throws IOException {
    String ring = name + RING_SUFFIX;
    if (!disk.list().contains(name)) {
      if (sizeBytes <= HEAD_BYTES) {
        throw new IllegalArgumentException("region of " + sizeBytes + " bytes has no ring");
      }
      String tmp = name + ".tmp";
      for (String stale : new String[] {tmp, ring}) {
        if (disk.list().contains(stale)) {
          disk.delete(stale);
        }
      }
      disk.create(ring);
      zero(disk, ring, sizeBytes - HEAD_BYTES);
      disk.flush(ring);
      disk.create(tmp);
      zero(disk, tmp, HEAD_BYTES);
      DiskRegion fresh = new DiskRegion(disk, tmp, ring, sizeBytes);
      initializer.initialize(fresh);
      fresh.force(0, sizeBytes);
      disk.rename(tmp, name);
    }
    return new DiskRegion(disk, name, ring, HEAD_BYTES + disk.size(ring));
  }

  private static void zero(Disk disk, String file, long bytes) throws IOException {
    byte[] zeros = new byte[ZERO_CHUNK_BYTES];
    for (long at = 0; at < bytes; at += ZERO_CHUNK_BYTES) {
      disk.write(file, at, ByteBuffer.wrap(zeros, 0, (int) Math.min(ZERO_CHUNK_BYTES, bytes - at)));
    }
  }

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  @Override
  public void write(long offset, byte[] src, int from, int length) {
    try {
      while (length > 0) {
        int n = offset < HEAD_BYTES ? (int) Math.min(length, HEAD_BYTES - offset) : length;
        disk.write(fileOf(offset), fileOffset(offset), ByteBuffer.wrap(src, from, n));
        offset += n;
        from += n;
        length -= n;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void read(long offset, byte[] dst, int from, int length) {
    try {
      while (length > 0) {
        int n = offset < HEAD_BYTES ? (int) Math.min(length, HEAD_BYTES - offset) : length;
        ByteBuffer into = ByteBuffer.wrap(dst, from, n);
        while (into.hasRemaining()) {
          if (disk.read(fileOf(offset), fileOffset(offset) + into.position() - from, into) < 0) {
            throw new IOException("persistent buffer " + head + " is shorter than " + (offset + n));
          }
        }
        offset += n;
        from += n;
        length -= n;
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private String fileOf(long offset) {
    return offset < HEAD_BYTES ? head : ring;
  }

  private static long fileOffset(long offset) {
    return offset < HEAD_BYTES ? offset : offset - HEAD_BYTES;
  }

  @Override
  public void force(long offset, long length) throws IOException {
    if (offset < HEAD_BYTES) {
      disk.flush(head);
    }
    if (offset + length > HEAD_BYTES) {
      disk.flush(ring);
    }
  }

  @Override
  public void close() {}
}
