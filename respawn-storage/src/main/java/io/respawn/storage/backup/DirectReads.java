package io.respawn.storage.backup;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads of a backup's log segments that go to the device, past the page cache ({@code O_DIRECT},
 * {@code com.sun.nio.file.ExtendedOpenOption.DIRECT}): the reads online recovery makes for other
 * members (BatchPull chunks, PriorityPull pages). A recovery scan reads every value the backup
 * holds once; through the page cache it would evict what other processes on the machine use and
 * leave gigabytes of pages nobody reads again, and a backup whose segments happen to be cached
 * would answer from memory, which is not what a backup is for (DESIGN §3: values on disk, only
 * the index in memory). With direct reads the cost of a pull is a device read, always.
 *
 * <p>Alignment: {@code O_DIRECT} wants the file position, the length and the buffer's address to
 * be multiples of the file system's block size ({@link #alignBytes()}, from {@link
 * java.nio.file.FileStore#getBlockSize()}, 4 KiB on ext4/xfs). A read of {@code [position,
 * position + n)} reads the aligned range around it into an aligned off-heap buffer of the calling
 * thread and copies the part asked for; worst case one block more on each side.
 *
 * <p>Linux writes back dirty cached pages of the range before a direct read of it, so a direct
 * read sees every byte written through the page cache before it (the writeback agent writes
 * buffered); it never returns older data than a buffered read would.
 *
 * <p>Fallback: a file system that refuses {@code O_DIRECT} (tmpfs, some overlays) makes opening
 * a file for direct reads fail with an {@link IOException} that is not "no such file"; from then
 * on every read goes
 * through {@code fallback} (the store's own {@link io.respawn.storage.Disk}), once noted in the
 * log. A read longer than {@link #BUFFER_BYTES_MAX} (a record of several MiB) also goes through
 * {@code fallback}, so the per-thread buffer stays bounded.
 *
 * <p>Thread-safe: each thread has its own buffer; a channel is opened and closed per read (a
 * BatchPull chunk is 256 KiB, a PriorityPull page 4 KiB: the open costs microseconds against a
 * device read).
 */
final class DirectReads {
  /** Largest read done directly; longer ones go through the fallback. */
  static final int BUFFER_BYTES_MAX = 16 << 20;
  private static final int ALIGN_DEFAULT = 4096;

  /** A positional read, as {@link io.respawn.storage.Disk#read}. */
  @FunctionalInterface
  interface Reads {
    int read(String name, long position, ByteBuffer dst) throws IOException;
  }

  private final Path directory;
  private final Reads fallback;
  private final int alignBytes;
  private final ThreadLocal<ByteBuffer> buffers = new ThreadLocal<>();
  private volatile boolean refused;
  private volatile long directReads;
  private volatile long directBytes;

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(DirectReads.class);

  DirectReads(Path directory, Reads fallback) {
    this.directory = directory;
    this.fallback = fallback;
    this.alignBytes = blockSize(directory);
  }

  private static int blockSize(Path directory) {
    try {
      long b = Files.getFileStore(directory).getBlockSize();
      return b >= 512 && b <= 65_536 && Long.bitCount(b) == 1 ? (int) b : ALIGN_DEFAULT;
    } catch (IOException | UnsupportedOperationException e) {
      return ALIGN_DEFAULT;
    }
  }

  int alignBytes() {
    return alignBytes;
  }

  /** False once the file system refused a direct read: reads go through the page cache. */
  boolean direct() {
    return !refused;
  }

  /** Reads done past the page cache, and their bytes (aligned ranges, as read from the device). */
  long directReads() {
    return directReads;
  }

  long directBytes() {
    return directBytes;
  }

  /**
   * Reads up to {@code dst.remaining()} bytes of {@code name} from {@code position} into {@code
   * dst}; returns how many, or -1 at the end of the file.
   */
  int read(String name, long position, ByteBuffer dst) throws IOException {
    int want = dst.remaining();
    if (refused || want == 0 || want > BUFFER_BYTES_MAX - 2 * alignBytes) {
      return fallback.read(name, position, dst);
    }
    long start = position - Math.floorMod(position, alignBytes);
    long end = BackupFormat.align(position + want, alignBytes);
    int span = (int) (end - start);
    ByteBuffer buffer = buffer(span);
    FileChannel channel;
    try {
      channel = FileChannel.open(directory.resolve(name), StandardOpenOption.READ,
          com.sun.nio.file.ExtendedOpenOption.DIRECT);
    } catch (NoSuchFileException e) {
      throw e;
    } catch (IOException | UnsupportedOperationException e) {
      if (!refused) {
        refused = true;
        log.warn("direct reads refused in {} ({}); recovery reads go through the page cache "
            + "from now on", directory, e.toString());
      }
      return fallback.read(name, position, dst);
    }
    int got = 0;
    try (channel) {
      while (got < span) {
        int n = channel.read(buffer.limit(span).position(got), start + got);
        if (n <= 0) {
          break;
        }
        got += n;
        if (got % alignBytes != 0) {
          break; // a short read ends at the end of the file
        }
      }
    }
    directReads++;
    directBytes += got;
    int skip = (int) (position - start);
    if (got <= skip) {
      return -1;
    }
    int n = Math.min(want, got - skip);
    dst.put(dst.position(), buffer, skip, n);
    dst.position(dst.position() + n);
    return n;
  }

  /** This thread's aligned buffer of at least {@code bytes} (grown in powers of two). */
  private ByteBuffer buffer(int bytes) {
    ByteBuffer b = buffers.get();
    if (b == null || b.capacity() < bytes) {
      int size = Math.max(64 << 10, Integer.highestOneBit(bytes - 1) << 1);
      b = ByteBuffer.allocateDirect(size + alignBytes).alignedSlice(alignBytes);
      buffers.set(b);
    }
    return b.clear();
  }
}
