package io.respawn.storage;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Runs the calling thread at a lower CPU priority, for work that can wait: streaming a BatchPull,
 * zeroing memory ahead of need, capturing a snapshot, rehearsing a takeover.
 *
 * <p>Why: a shard member serves its clients, steps its replication and installs recovered values
 * on one event loop thread, and on a small machine that thread waited for a CPU while background
 * work ran. Measured on the development VM (2 cores) while a new primary installed E2's 2 GiB
 * copy: its loop thread was runnable but waiting on the run queue for 5.0 s while it ran for 10.7
 * s, over 28.7 s ({@code /proc/PID/task/TID/schedstat}), up to 93 ms of 136 ms in the first
 * second, with the machine only ~60 % busy on average; every such wait is latency for every
 * client at once. Linux's scheduler weighs a thread at nice {@value #NICE} at about a tenth of one
 * at nice 0, so background work still uses every idle cycle but yields the CPU to the loops.
 *
 * <p>Linux only: {@code setpriority(PRIO_PROCESS, gettid(), NICE)} sets one thread's nice value
 * (raising one's own needs no privilege; threads the caller creates afterwards inherit it). On
 * other systems, or where the JVM refuses the native call, nothing changes. Threads that clients
 * wait on directly (event loops, the replica log's fsync, answers to priority pulls) must not call
 * it.
 */
public final class BackgroundPriority {
  /** The nice value background threads run at (0 is the default, 19 the lowest priority). */
  public static final int NICE = 10;
  private static final int PRIO_PROCESS = 0;

  private static final MethodHandle GETTID;
  private static final MethodHandle SETPRIORITY;

  static {
    MethodHandle gettid = null;
    MethodHandle setpriority = null;
    if (System.getProperty("os.name", "").startsWith("Linux")) {
      try {
        Linker linker = Linker.nativeLinker();
        SymbolLookup libc = linker.defaultLookup();
        gettid = linker.downcallHandle(libc.find("gettid").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT));
        setpriority = linker.downcallHandle(libc.find("setpriority").orElseThrow(),
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
      } catch (RuntimeException | LinkageError e) {
        gettid = null; // no such symbols, or native access refused: run at the normal priority
        setpriority = null;
      }
    }
    GETTID = gettid;
    SETPRIORITY = setpriority;
  }

  private BackgroundPriority() {}

  /** Lowers the calling thread to nice {@value #NICE}; returns whether it did. */
  public static boolean lowerCurrentThread() {
    if (SETPRIORITY == null) {
      return false;
    }
    try {
      int tid = (int) GETTID.invokeExact();
      return (int) SETPRIORITY.invokeExact(PRIO_PROCESS, tid, NICE) == 0;
    } catch (Throwable e) {
      return false;
    }
  }
}
