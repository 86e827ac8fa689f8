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

  private static final MethodHandle SCHED_SETSCHEDULER = function("sched_setscheduler",
      FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
          ValueLayout.ADDRESS));
  /** {@code struct sched_param} for each real-time priority used (0: every other policy). */
  private static final MemorySegment[] SCHED_PARAMS = new MemorySegment[2];

  static {
    for (int priority = 0; priority < SCHED_PARAMS.length; priority++) {
      SCHED_PARAMS[priority] = java.lang.foreign.Arena.global().allocate(ValueLayout.JAVA_INT);
      SCHED_PARAMS[priority].set(ValueLayout.JAVA_INT, 0, priority);
    }
  }

  private LinuxCalls() {}

  /** Whether {@link #setScheduler} can be called here. */
  public static boolean canSetScheduler() {
    return SCHED_SETSCHEDULER != null;
  }

  /**
   * {@code sched_setscheduler(0, policy, {priority})} for the calling thread ({@code policy} may
   * carry flags such as {@code SCHED_RESET_ON_FORK}; {@code priority} 0 or 1); false where it
   * cannot be had or the kernel refused it.
   */
  public static boolean setScheduler(int policy, int priority) {
    if (SCHED_SETSCHEDULER == null) {
      return false;
    }
    try {
      return (int) SCHED_SETSCHEDULER.invokeExact(0, policy, SCHED_PARAMS[priority]) == 0;
    } catch (Throwable e) {
      return false;
    }
  }

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
