package io.respawn.storage.backup;

import io.respawn.storage.LinuxCalls;
import io.respawn.storage.PageCache;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link PersistentRegion} on a memory-mapped file, through the Foreign Function &amp; Memory API:
 * {@code FileChannel.map(READ_WRITE, 0, size, arena)} gives one {@link MemorySegment} for the
 * whole file (no 2 GiB limit), a write is a copy into it (memory speed, no system call), and
 * {@link #force} is an {@code msync} of the pages of its range. A new file is written with zeros in full (so
 * every block is allocated and a later store never faults on a full disk), formatted by the
 * initializer, forced, and only then renamed into place with a directory fsync: a file with the
 * final name is always formatted. The mapping is shared by all threads and unmapped on close,
 * which the owner calls after its threads have stopped.
 */
public final class MappedRegion implements PersistentRegion {
  private static final Logger log = LoggerFactory.getLogger(MappedRegion.class);
  private static final int ZERO_CHUNK_BYTES = 1 << 20;
  private static final long PAGE_BYTES = 4096;
  private static final java.lang.invoke.VarHandle LONG_HANDLE =
      ValueLayout.JAVA_LONG.varHandle();

  private static final int MADV_RANDOM = 1;

  private final Path file;
  private final FileChannel channel;
  private final Arena arena;
  private final MemorySegment segment;

  private MappedRegion(Path file, FileChannel channel) throws IOException {
    this.file = file;
    this.channel = channel;
    this.arena = Arena.ofShared();
    try {
      this.segment = channel.map(FileChannel.MapMode.READ_WRITE, 0, channel.size(), arena);
    } catch (IOException | RuntimeException e) {
      arena.close();
      throw e;
    }
  }

  /**
   * Maps file, creating it with sizeBytes (zeros, then initializer) if it does not exist. An
   * existing file keeps its size; a different sizeBytes is logged and ignored (its records are
   * laid out for the old size).
   */
  public static MappedRegion open(Path file, long sizeBytes, Initializer initializer)
      throws IOException {
    if (!Files.exists(file)) {
      create(file, sizeBytes, initializer);
    }
    FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      long size = channel.size();
      if (size != sizeBytes) {
        log.warn("persistent buffer {} is {} bytes; keeping that size, not the configured {}",
            file, size, sizeBytes);
      }
      return new MappedRegion(file, channel);
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
  }

  private static void create(Path file, long sizeBytes, Initializer initializer)
      throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.deleteIfExists(tmp);
    try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      ByteBuffer zeros = ByteBuffer.allocateDirect(ZERO_CHUNK_BYTES);
      for (long at = 0; at < sizeBytes; ) {
        zeros.clear().limit((int) Math.min(ZERO_CHUNK_BYTES, sizeBytes - at));
        at += channel.write(zeros, at);
      }
      channel.force(true);
      MappedRegion fresh = new MappedRegion(tmp, channel);
      try {
        initializer.initialize(fresh);
        fresh.force(0, sizeBytes);
      } finally {
        fresh.arena.close();
      }
    }
    Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
    try (FileChannel dir = FileChannel.open(file.toAbsolutePath().getParent(),
        StandardOpenOption.READ)) {
      dir.force(true);
    }
  }

  /**
   * Gives the pages of {@code [offset, offset + length)} page-cache folios of their own; call it
   * right after {@link #open}, before anything reads or writes the region. Linux caches a file in
   * folios of up to megabytes (ext4 on Linux 6.x; this file was written in 1 MiB chunks), a store
   * through a mapping dirties its whole folio, and a {@link #force} writes every dirty folio in
   * its range whole: forcing one page wrote 1 MiB (a backup writing 20 MiB/s for 100 replicated
   * writes a second, docs/storage.md). So: the range is advised {@code MADV_RANDOM} (a fault
   * there reads one page, no read-around); the file is flushed (a process killed before left its
   * last stores dirty in the cache, and only clean pages can leave it: making them durable now is
   * a state a crash could have left anyway) and its cached pages dropped (none is mapped yet);
   * and the range is faulted in at once ({@link #pretouch}), before a fault elsewhere could read
   * it around into a larger folio. Worst case (advice refused, not Linux): nothing changes but
   * the cost of a force.
   */
  @Override
  public void keepApart(long offset, long length) throws IOException {
    long first = offset & -PAGE_BYTES;
    long end = Math.min(segment.byteSize(), offset + length);
    if (!LinuxCalls.madvise(segment.address() + first, end - first, MADV_RANDOM)) {
      return;
    }
    channel.force(false);
    PageCache.drop(file);
    pretouch(first, end - first);
  }

  @Override
  public long sizeBytes() {
    return segment.byteSize();
  }

  @Override
  public void write(long offset, byte[] src, int from, int length) {
    MemorySegment.copy(src, from, segment, ValueLayout.JAVA_BYTE, offset, length);
  }

  @Override
  public void read(long offset, byte[] dst, int from, int length) {
    MemorySegment.copy(segment, ValueLayout.JAVA_BYTE, offset, dst, from, length);
  }

  @Override
  public void force(long offset, long length) {
    segment.asSlice(offset, length).force();
  }

  /**
   * {@code sync_file_range(SYNC_FILE_RANGE_WRITE)} on the range ({@link PageCache#startWriting}):
   * the ring is never forced, and without this its pages reach the device only when the kernel
   * writes back pages 30 s old, all that are due at once (docs/storage.md, "Write path").
   */
  @Override
  public void startWriteBack(long offset, long length) {
    long first = offset & -PAGE_BYTES;
    long end = Math.min(segment.byteSize(), offset + length);
    if (end > first) {
      PageCache.startWriting(file, first, end - first);
    }
  }

  /**
   * Adds 0 atomically to the first eight bytes of each page in the range: every page is dirty
   * and writable afterwards, and no byte changes even if another thread writes the same bytes
   * at the same time (the add is one atomic read-modify-write).
   */
  @Override
  public void pretouch(long offset, long length) {
    long first = offset & -PAGE_BYTES;
    for (long at = first; at < offset + length && at < segment.byteSize(); at += PAGE_BYTES) {
      LONG_HANDLE.getAndAdd(segment, at, 0L);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      arena.close();
    } finally {
      channel.close();
    }
  }
}
