package io.respawn.storage;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * Runs a thread that clients wait on at every step, and that sleeps between short bursts of work,
 * ahead of every thread of normal priority: Linux's {@code SCHED_FIFO} at its lowest real-time
 * priority ({@value #PRIORITY}). For a shard member's event loop (its clients, its node loop and
 * its peer links share it) and a backup's priority-pull readers; for nothing that computes in bulk.
 *
 * <p>Why: on a small machine a woken thread of normal priority waits for a CPU until the thread
 * on it has used up its time slice (milliseconds), and a command crosses several such wake-ups
 * (client, new primary, backup's event loop, its page reader, the event loop again, new primary,
 * client). Measured in E2 at 2 GiB on the development VM (2 cores, twenty-sixth session) with the
 * members' event loops and the backup's priority-pull readers moved to this policy from outside
 * ({@code chrt -f 1}), against the runs before: priority pulls p99 1.4 ms instead of 3.9 ms, and
 * of the 100 ms windows from 3 s after the kill to the copy's end 21 instead of 119-134 had an
 * operation over 3 ms, 3 instead of 10-16 one over 6 ms. A woken real-time thread takes a CPU
 * from a thread of normal priority at once; the kernel reserves 5 % of every second for the
 * others ({@code sched_rt_runtime_us}), so a loop that never slept would slow the machine, not
 * stop it.
 *
 * <p>Only with {@code CAP_SYS_NICE} (root) or an {@code RLIMIT_RTPRIO} of at least {@value
 * #PRIORITY} ({@code ulimit -r 1}, systemd's {@code LimitRTPRIO=1}); elsewhere, or with {@code
 * -Drespawn.realtimeLoops=false}, the thread keeps its normal priority. Threads such a thread
 * creates start with the normal policy ({@code SCHED_RESET_ON_FORK}), not the real-time one.
 */
public final class ForegroundPriority {
  /** The real-time priority used: the lowest, so any real-time thread of the system comes first. */
  public static final int PRIORITY = 1;
  /** Whether {@link #realtimeCurrentThread} changes anything ({@code -Drespawn.realtimeLoops}). */
  public static final boolean ENABLED =
      Boolean.parseBoolean(System.getProperty("respawn.realtimeLoops", "true"));
  /** Linux's {@code SCHED_FIFO} policy. */
  private static final int SCHED_FIFO = 1;
  /** Or'ed into a policy: threads created by this one do not inherit it. */
  private static final int SCHED_RESET_ON_FORK = 0x40000000;
  /** Null where unavailable ({@link LinuxCalls}): threads then keep the normal policy. */
  private static final MethodHandle SCHED_SETSCHEDULER = LinuxCalls.function(
      "sched_setscheduler", FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
  /** {@code struct sched_param} holding {@link #PRIORITY}; never written after this. */
  private static final MemorySegment PARAM = param();

  private ForegroundPriority() {}

  private static MemorySegment param() {
    MemorySegment p = Arena.global().allocate(ValueLayout.JAVA_INT);
    p.set(ValueLayout.JAVA_INT, 0, PRIORITY);
    return p;
  }

  /**
   * Puts the calling thread under {@code SCHED_FIFO} at priority {@value #PRIORITY}; returns
   * whether it did (false: turned off, not Linux, or not permitted; the thread is unchanged).
   */
  public static boolean realtimeCurrentThread() {
    if (!ENABLED || SCHED_SETSCHEDULER == null) {
      return false;
    }
    try {
      return (int) SCHED_SETSCHEDULER.invokeExact(0, SCHED_FIFO | SCHED_RESET_ON_FORK, PARAM)
          == 0;
    } catch (Throwable e) {
      return false;
    }
  }
}
