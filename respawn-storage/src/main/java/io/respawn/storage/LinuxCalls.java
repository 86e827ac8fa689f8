package io.respawn.storage;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Functions of the C library on Linux, for the few system calls the JDK has no API for (a
 * thread's nice value, page-cache advice, anonymous mappings). Every use is an optimisation with
 * a way back: where a function cannot be had (not Linux, a missing symbol, native access refused
 * with {@code --illegal-native-access=deny}), {@link #function} returns null and the caller goes
 * on without it.
 */
public final class LinuxCalls {
  private static final boolean LINUX = System.getProperty("os.name", "").startsWith("Linux");

  private static final MethodHandle MADVISE = function("madvise", FunctionDescriptor.of(
      ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));

  private LinuxCalls() {}

  /** Whether {@link #madvise} can be called here. */
  public static boolean canMadvise() {
    return MADVISE != null;
  }

  /**
   * {@code madvise(address, length, advice)}; false where it cannot be had (above) or the kernel
   * refused it. The address must be on a page boundary.
   */
  public static boolean madvise(long address, long length, int advice) {
    if (MADVISE == null) {
      return false;
    }
    try {
      return (int) MADVISE.invokeExact(MemorySegment.ofAddress(address), length, advice) == 0;
    } catch (Throwable e) {
      return false;
    }
  }

  /** A handle calling the C library's {@code name}, or null where it cannot be had (above). */
  public static MethodHandle function(String name, FunctionDescriptor descriptor,
      Linker.Option... options) {
    if (!LINUX) {
      return null;
    }
    try {
      Linker linker = Linker.nativeLinker();
      return linker.downcallHandle(linker.defaultLookup().find(name).orElseThrow(), descriptor,
          options);
    } catch (RuntimeException | LinkageError e) {
      return null;
    }
  }
}
