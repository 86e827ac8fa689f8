package io.respawn.storage.crash;

import io.respawn.storage.Disk;
import io.respawn.storage.ForwardingDisk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * A {@link Disk} that fills up: the files of the disk it wraps may hold at most {@code
 * capacityBytes} in total (the sum of their lengths). A write that would pass it writes the bytes
 * that fit, as a real full disk may, then throws {@code IOException("No space left on device")},
 * the error a Linux filesystem reports (ENOSPC). Truncating and deleting files frees space;
 * {@link #capacity} can be raised or lowered at any time, as when another process frees or takes
 * space on a shared disk. Creating, renaming and flushing cost nothing.
 *
 * <p>For tests of disk-full handling. Thread-safe (synchronized); assumes it is the only writer
 * of the disk it wraps.
 */
public final class SpaceLimitedDisk extends ForwardingDisk {
  public static final String NO_SPACE = "No space left on device";

  private final Map<String, Long> sizes = new HashMap<>();
  private long capacityBytes;
  private long usedBytes;
  private long refusedWrites;

  public SpaceLimitedDisk(Disk inner, long capacityBytes) throws IOException {
    super(inner);
    for (String name : inner.list()) {
      long size = inner.size(name);
      sizes.put(name, size);
      usedBytes += size;
    }
    this.capacityBytes = capacityBytes;
  }

  /** Sets the capacity; below the bytes in use, the next growing write fails. */
  public synchronized void capacity(long bytes) {
    this.capacityBytes = bytes;
  }

  public synchronized long capacity() {
    return capacityBytes;
  }

  public synchronized long usedBytes() {
    return usedBytes;
  }

  public synchronized long freeBytes() {
    return Math.max(0, capacityBytes - usedBytes);
  }

  /** Writes that ran out of space so far. */
  public synchronized long refusedWrites() {
    return refusedWrites;
  }

  @Override
  public synchronized void create(String name) throws IOException {
    super.create(name);
    sizes.put(name, 0L);
  }

  @Override
  public synchronized void write(String name, long position, ByteBuffer src) throws IOException {
    long size = sizes.getOrDefault(name, 0L);
    long end = position + src.remaining();
    long growth = Math.max(0, end - size);
    long free = Math.max(0, capacityBytes - usedBytes);
    if (growth <= free) {
      super.write(name, position, src);
      grow(name, size, end);
      return;
    }
    refusedWrites++;
    long fitsEnd = size + free; // the write may fill the file up to here
    if (fitsEnd > position) {
      ByteBuffer part = src.duplicate();
      part.limit(part.position() + (int) (fitsEnd - position));
      super.write(name, position, part);
      grow(name, size, fitsEnd);
    }
    throw new IOException(NO_SPACE);
  }

  private void grow(String name, long size, long end) {
    if (end > size) {
      sizes.put(name, end);
      usedBytes += end - size;
    }
  }

  @Override
  public synchronized void truncate(String name, long size) throws IOException {
    super.truncate(name, size);
    long was = sizes.getOrDefault(name, 0L);
    if (size < was) {
      sizes.put(name, size);
      usedBytes -= was - size;
    }
  }

  @Override
  public synchronized void rename(String from, String to) throws IOException {
    super.rename(from, to);
    Long size = sizes.remove(from);
    sizes.put(to, size == null ? 0L : size);
  }

  @Override
  public synchronized void delete(String name) throws IOException {
    super.delete(name);
    Long size = sizes.remove(name);
    if (size != null) {
      usedBytes -= size;
    }
  }

  @Override
  public synchronized String toString() {
    return "SpaceLimitedDisk[" + usedBytes + "/" + capacityBytes + " bytes] over " + inner;
  }
}
