package io.respawn.storage.memory;

import io.respawn.storage.LinuxCalls;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Large zeroed blocks straight from the kernel: an anonymous private mapping, asked to be backed
 * by transparent huge pages and faulted in at once, instead of {@link Arena#allocate} (the C
 * allocator, then the JVM writing zeros over every byte).
 *
 * <p>Why: the kernel hands out anonymous memory already zeroed, so the JVM's zeroing pass is a
 * second one, and it takes the page faults 4 KiB at a time. Measured on the development VM (2
 * cores, Linux 6.18, transparent huge pages {@code madvise}), 1,024 blocks of 4 MiB each, CPU of
 * the allocating thread per block, two fresh JVMs per way: {@code Arena.allocate} 4.1 and 9.1 ms;
 * a mapping with {@code MAP_POPULATE} 3.4 and 3.5 ms; a mapping with {@code MADV_HUGEPAGE} then
 * {@code MADV_POPULATE_WRITE} (this class) 0.4 and 1.0 ms. A new primary makes ~520 such blocks
 * while it installs E2's 2 GiB copy: ~3.5 s of CPU on a 2-core machine before, and the faults
 * that remain are 2 MiB ones.
 *
 * <p>Worst case: where the mapping call is missing or refused (not Linux, native access denied),
 * {@link #allocate} returns null and the caller allocates as before. Where huge pages are off,
 * {@code MADV_HUGEPAGE} fails and the block uses small pages. Where {@code MADV_POPULATE_WRITE}
 * fails (Linux before 5.14, or no memory at that moment) the mapping is undone and this block and
 * every later one go to the C allocator, which then reports running out as before. The memory
 * is counted in the process's resident set as soon as it is returned (as with the JVM's zeroing),
 * and a block of a size that is not a multiple of 2 MiB may round its last huge page's worth up
 * in the resident set. Only for blocks of at least {@link #BYTES_MIN}: smaller ones are not worth
 * a system call and a mapping each.
 *
 * <p><b>One slice at a time.</b> Faulting a block in and unmapping it hold the process's memory-map
 * lock (faulting in for reading, unmapping for writing) for as long as the call runs, and every
 * other thread's {@code mmap} or {@code munmap} (an event loop allocating a block itself, the C
 * allocator growing) waits for it. A hash table's next size at E2's 4 M keys is a block of
 * 64-128 MiB, which the background thread ({@code respawn-zeroed-blocks}, at idle priority)
 * faulted in with one call: a new primary's event loop was seen blocked in {@code mmap} for up to
 * 184 ms, and for 5-23 ms twenty times in 25 s of recovery (kernel stacks sampled every ~1 ms,
 * docs/benchmarks.md). So both are done in calls of {@link #LOCK_SLICE_BYTES} each ({@link
 * #slices}): a thread that wants the lock waits for one slice at most, once the holder runs
 * (which is why the thread that makes blocks ahead is not at idle priority: see NativeArenas).
 */
final class AnonymousMemory {
  /** Blocks smaller than this (one huge page) go to the C allocator as before. */
  static final long BYTES_MIN = 2L << 20;
  /**
   * Bytes faulted in, or unmapped, per system call: one huge page, under 1 ms of the kernel's work
   * here (a 4 MiB block took 0.4-1 ms to fault in), about 3 ms while the host takes freed memory
   * back (~1.5 ms a MiB then).
   */
  static final long LOCK_SLICE_BYTES = 2L << 20;
  private static final int PROT_READ_WRITE = 0x1 | 0x2;
  private static final int MAP_PRIVATE_ANONYMOUS = 0x02 | 0x20;
  private static final int MADV_HUGEPAGE = 14;
  private static final int MADV_POPULATE_WRITE = 23;

  private static final boolean ENABLED =
      !"false".equals(System.getProperty("respawn.anonymousMemory"));
  private static final MethodHandle MUNMAP = ENABLED ? LinuxCalls.function("munmap",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG))
      : null;
  /** Null unless all three calls can be had: then blocks come from the C allocator as before. */
  private static final MethodHandle MMAP = MUNMAP == null || !LinuxCalls.canMadvise() ? null
      : LinuxCalls.function("mmap", FunctionDescriptor.of(ValueLayout.ADDRESS,
          ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG));

  /**
   * Set once {@code MADV_POPULATE_WRITE} failed (a kernel before 5.14, or no memory left at that
   * moment): every later block goes to the C allocator, as before this class.
   */
  private static volatile boolean populateRefused;

  private AnonymousMemory() {}

  /** Whether {@link #allocate} maps memory here (tests). */
  static boolean available() {
    return MMAP != null;
  }

  /**
   * A zeroed, page-aligned block of {@code size} bytes whose pages are already faulted in, unmapped
   * when {@code arena} closes; null when this way is unavailable or {@code size} is under {@link
   * #BYTES_MIN} (the caller allocates another way). Throws OutOfMemoryError when the kernel has no
   * memory for it.
   */
  static MemorySegment allocate(Arena arena, long size) {
    if (MMAP == null || populateRefused || size < BYTES_MIN) {
      return null;
    }
    MemorySegment address;
    try {
      address = (MemorySegment) MMAP.invokeExact(MemorySegment.NULL, size, PROT_READ_WRITE,
          MAP_PRIVATE_ANONYMOUS, -1, 0L);
    } catch (Throwable e) {
      return null;
    }
    if (address.address() == -1L) { // MAP_FAILED
      throw new OutOfMemoryError("cannot map " + size + " bytes of memory");
    }
    if (!populate(address, size)) {
      populateRefused = true; // an older kernel, or no memory left: the C allocator from now on
      unmap(address, size);
      return null;
    }
    return address.reinterpret(size, arena, mapped -> unmap(address, size));
  }

  /** One system call over {@code [offset, offset + length)} of a block; false if it failed. */
  @FunctionalInterface
  interface SliceCall {
    boolean call(long offset, long length);
  }

  /**
   * Calls {@code call} over the block {@code [0, size)} that starts at {@code address}, in slices
   * that end at multiples of {@link #LOCK_SLICE_BYTES} in the address space (so a slice never
   * covers part of two huge pages; only the first and the last may be shorter), from the end
   * down if {@code fromTheEnd} (an unmapping then shrinks one mapping instead of splitting it),
   * else from the start; stops at the first that fails and returns false. Offsets are the
   * block's.
   */
  static boolean slices(long address, long size, boolean fromTheEnd, SliceCall call) {
    final long s = LOCK_SLICE_BYTES;
    if (fromTheEnd) {
      for (long end = size; end > 0; ) {
        long start = Math.max(0, (address + end - 1) / s * s - address); // boundary below end
        if (!call.call(start, end - start)) {
          return false;
        }
        end = start;
      }
    } else {
      for (long start = 0; start < size; ) {
        long end = Math.min(size, ((address + start) / s + 1) * s - address); // next boundary
        if (!call.call(start, end - start)) {
          return false;
        }
        start = end;
      }
    }
    return true;
  }

  /**
   * Asks for huge pages, then faults every page in, one slice at a time: zeroed by the kernel,
   * written by nobody.
   */
  private static boolean populate(MemorySegment address, long size) {
    LinuxCalls.madvise(address.address(), size, MADV_HUGEPAGE); // may be off: fine
    return slices(address.address(), size, false,
        (offset, length) -> LinuxCalls.madvise(address.address() + offset, length,
            MADV_POPULATE_WRITE));
  }

  /**
   * Unmaps the block, last slice first. A slice the kernel refuses (it never should: the range is
   * ours and mapped) stops it with the block's front still mapped, and the message says how much.
   */
  private static void unmap(MemorySegment address, long size) {
    slices(address.address(), size, true, (offset, length) -> {
      int result;
      Throwable cause = null;
      try {
        result = (int) MUNMAP.invokeExact(MemorySegment.ofAddress(address.address() + offset),
            length);
      } catch (Throwable e) {
        result = -1;
        cause = e;
      }
      if (result != 0) { // slices go from the end: everything up to this one's end stays mapped
        throw new IllegalStateException("munmap of a " + size + "-byte block failed; its first "
            + (offset + length) + " bytes stay mapped", cause);
      }
      return true;
    });
  }

}
