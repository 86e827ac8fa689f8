package io.respawn.storage;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;

/**
 * How many of a file's pages the page cache holds dirty, from Linux's {@code cachestat} system
 * call (Linux 6.5 and later; tests only). Layouts, from the kernel's uapi headers:
 *
 * <pre>
 * struct cachestat_range { u64 off; u64 len; }            16 bytes (len 0: to the end)
 * struct cachestat { u64 nr_cache; u64 nr_dirty;          40 bytes
 *                    u64 nr_writeback; u64 nr_evicted; u64 nr_recently_evicted; }
 * </pre>
 */
public final class CacheStat {
  private static final long SYS_CACHESTAT_X86_64 = 451;
  private static final int O_RDONLY_CLOEXEC = 0x80000;
  private static final MethodHandle SYSCALL = LinuxCalls.function("syscall",
      FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT,
          ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
      Linker.Option.firstVariadicArg(1));
  private static final MethodHandle OPEN = LinuxCalls.function("open",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
      Linker.Option.firstVariadicArg(2));
  private static final MethodHandle CLOSE = LinuxCalls.function("close",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

  private CacheStat() {}

  /**
   * Dirty cached pages of {@code file} in {@code [offset, offset + length)}, or -1 where the call
   * cannot be made (not Linux on x86-64, a kernel before 6.5, the file unopenable).
   */
  public static long dirtyPages(Path file, long offset, long length) {
    if (SYSCALL == null || OPEN == null || CLOSE == null
        || !"amd64".equals(System.getProperty("os.arch"))) {
      return -1;
    }
    try (Arena arena = Arena.ofConfined()) {
      int fd = (int) OPEN.invokeExact(arena.allocateFrom(file.toAbsolutePath().toString()),
          O_RDONLY_CLOEXEC);
      if (fd < 0) {
        return -1;
      }
      try {
        MemorySegment range = arena.allocate(16, 8);
        range.set(ValueLayout.JAVA_LONG, 0, offset);
        range.set(ValueLayout.JAVA_LONG, 8, length);
        MemorySegment stat = arena.allocate(40, 8);
        long rc = (long) SYSCALL.invokeExact(SYS_CACHESTAT_X86_64, fd, range, stat, 0);
        return rc == 0 ? stat.get(ValueLayout.JAVA_LONG, 8) : -1;
      } finally {
        int ignored = (int) CLOSE.invokeExact(fd);
      }
    } catch (Throwable e) {
      return -1;
    }
  }
}
