package io.respawn.storage;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
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

  private LinuxCalls() {}

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
