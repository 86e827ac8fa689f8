package io.respawn.storage;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Drops a file's pages from the operating system's page cache once they are on the device:
 * {@code posix_fadvise(POSIX_FADV_DONTNEED)} on a descriptor of its own (the cache is the file's,
 * so any descriptor will do; Java's channels do not expose theirs). And starts writing a range's
 * dirty pages without waiting ({@link #startWriting}, the same way).
 *
 * <p>Why: a member writes gigabytes of log segments and snapshots that it does not read again in
 * the normal course (the single node and the primary keep values in memory, a backup reads its
 * logs past the cache, see {@code backup.DirectReads}), and Linux keeps every written page cached
 * until memory runs short. Then every allocation of the process, or of any process on the
 * machine, reclaims cache first on the allocating thread. Measured on the development VM with
 * the cache full: making 4 MiB blocks of fresh memory cost 2.5-7.6 ms each instead of 0.4-1.0 ms
 * (169,000 pages reclaimed on allocating threads during one 2 GiB recovery experiment, where a new
 * primary allocates its 2 GiB of values at 150 MiB/s while the backup's and the old primary's
 * files fill the cache).
 *
 * <p>Worst case: nothing is dropped (not Linux, native access refused, a file system that ignores
 * the advice): the cache behaves as before. Only clean pages are dropped: call it after the
 * file's bytes were flushed, else the dirty ones stay. A later read of a dropped page reads the
 * device, and a later write into a partly written dropped page reads it first, so call it on
 * files that are complete (a sealed segment, a finished snapshot), not on one still appended to.
 *
 * <p>Dropping is not free: the kernel walks every cached page of the file, 9-22 ms for a sealed
 * 128 MiB log segment on the development VM, which the single node's event loop spent inside its
 * segment rotation (10-45 ms stalls of every client under {@code redis-benchmark -P 16}). Threads
 * that clients wait on call {@link #dropLater}, which leaves the walk to one background thread.
 */
public final class PageCache {
  private static final int O_RDONLY_CLOEXEC = 0x80000;
  private static final int POSIX_FADV_DONTNEED = 4;

  private static final boolean ENABLED =
      !"false".equals(System.getProperty("respawn.dropWrittenPages"));
  /** {@code sync_file_range}'s flag: start writing the range's dirty pages, wait for nothing. */
  private static final int SYNC_FILE_RANGE_WRITE = 2;
  private static final MethodHandle OPEN = LinuxCalls.function("open",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
      Linker.Option.firstVariadicArg(2));
  private static final MethodHandle FADVISE = ENABLED ? LinuxCalls.function("posix_fadvise",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
          ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT)) : null;
  private static final MethodHandle CLOSE = LinuxCalls.function("close",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
  private static final MethodHandle SYNC_FILE_RANGE = LinuxCalls.function("sync_file_range",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
          ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

  private PageCache() {}

  /** Whether {@link #drop} can advise the kernel here (tests). */
  public static boolean available() {
    return OPEN != null && FADVISE != null && CLOSE != null;
  }

  /**
   * {@link #drop} on the thread {@code respawn-page-cache} (started on first use, at background
   * priority), in the order asked; returns at once. A file deleted or renamed meanwhile is
   * skipped (the advice finds nothing under its name); one written again meanwhile loses only
   * cached pages that were clean. The queue is unbounded: one entry per sealed segment or
   * finished file, each handled in milliseconds.
   */
  public static void dropLater(Path file) {
    if (available()) {
      Dropper.QUEUE.add(file);
    }
  }

  /** Starts the thread of {@link #dropLater} now, if it can work here (idempotent). */
  public static void startDropper() {
    if (available()) {
      Dropper.QUEUE.size(); // loads the holder class, which starts the thread
    }
  }

  /** The background thread of {@link #dropLater}; the class loads (and starts it) on first use. */
  private static final class Dropper {
    static final LinkedBlockingQueue<Path> QUEUE = new LinkedBlockingQueue<>();

    static {
      Thread thread = new Thread(Dropper::run, "respawn-page-cache");
      thread.setDaemon(true);
      thread.start();
    }

    private static void run() {
      BackgroundPriority.lowerCurrentThread();
      while (true) {
        try {
          drop(QUEUE.take());
        } catch (InterruptedException e) {
          return;
        }
      }
    }
  }

  /**
   * Asks the kernel to drop {@code file}'s clean cached pages; returns whether the advice was
   * given (false: unavailable here, or the file could not be opened).
   */
  public static boolean drop(Path file) {
    return available() && onDescriptor(file,
        fd -> (int) FADVISE.invokeExact(fd, 0L, 0L, POSIX_FADV_DONTNEED));
  }

  /** Whether {@link #startWriting} can ask the kernel here (tests). */
  public static boolean canStartWriting() {
    return OPEN != null && CLOSE != null && SYNC_FILE_RANGE != null;
  }

  /**
   * Asks the kernel to start writing the dirty cached pages of {@code [offset, offset + length)}
   * of {@code file} to the device now ({@code sync_file_range(SYNC_FILE_RANGE_WRITE)}), and
   * returns without waiting for them: nothing becomes durable by it, and no byte changes.
   * Returns whether the kernel took the request (false: unavailable here, or the file could not
   * be opened).
   *
   * <p>Why: pages dirtied through a shared mapping and never forced are written by the kernel
   * only once they are 30 s old ({@code vm.dirty_expire_centisecs}) while the machine's dirty
   * memory is under its background threshold (a tenth of the memory: gigabytes), and then all
   * at once. A backup's persistent buffer (a 64 MiB mapped ring that is never forced) dirtied
   * whole by a GC drift was written 30 s later in one burst of ~135 MB with 20+ requests queued
   * on the device, and a priority pull's 4 KiB page read waited 36-56 ms behind it in E2
   * (docs/recovery.md). Started as the pages are done with, the same bytes go out in small
   * pieces at the pace they were written.
   *
   * <p>Worst case: the call blocks while the device's request queue is full (the kernel's
   * contract for this flag); call it on a background thread, never on one clients wait on.
   */
  public static boolean startWriting(Path file, long offset, long length) {
    return canStartWriting() && length > 0 && onDescriptor(file,
        fd -> (int) SYNC_FILE_RANGE.invokeExact(fd, offset, length, SYNC_FILE_RANGE_WRITE));
  }

  /** A call on an open descriptor, returning the C library's result (0 = done). */
  @FunctionalInterface
  private interface DescriptorCall {
    int call(int fd) throws Throwable;
  }

  /** Opens {@code file} read-only, makes the call, closes; whether the call returned 0. */
  private static boolean onDescriptor(Path file, DescriptorCall call) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment name = arena.allocateFrom(file.toAbsolutePath().toString());
      int fd = (int) OPEN.invokeExact(name, O_RDONLY_CLOEXEC);
      if (fd < 0) {
        return false;
      }
      try {
        return call.call(fd) == 0;
      } finally {
        int ignored = (int) CLOSE.invokeExact(fd);
      }
    } catch (Throwable e) {
      return false;
    }
  }
}
