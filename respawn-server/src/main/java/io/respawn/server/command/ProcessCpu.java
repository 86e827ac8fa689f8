package io.respawn.server.command;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CPU time for INFO's cpu section, split into user and system time as Redis reports it.
 *
 * <p>The process's times come from {@code /proc/self/stat} (utime and stime, in clock ticks of
 * {@value #TICKS_PER_SECOND} per second, the Linux default): they include threads that have
 * ended. Where that file does not exist, the JVM's process CPU time is split using the live
 * threads' user and total times. The calling thread's times (Redis' {@code *_main_thread}: the
 * command thread here) come from the JVM.
 */
final class ProcessCpu {
  private ProcessCpu() {}

  /** Clock ticks per second of /proc times (USER_HZ; 100 on every mainstream Linux build). */
  static final long TICKS_PER_SECOND = 100;

  private static final Path STAT = Path.of("/proc/self/stat");

  /** CPU time split into user and system (kernel) time. */
  record Times(long userNanos, long systemNanos) {}

  static Times process() {
    Times fromProc = fromProcStat();
    if (fromProc != null) {
      return fromProc;
    }
    long total = 0;
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean os) {
      total = Math.max(0, os.getProcessCpuTime());
    }
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long system = 0;
    for (long id : threads.getAllThreadIds()) {
      long cpu = threads.getThreadCpuTime(id);
      long user = threads.getThreadUserTime(id);
      if (cpu > 0 && user >= 0) {
        system += cpu - user;
      }
    }
    system = Math.min(system, total);
    return new Times(total - system, system);
  }

  static Times currentThread() {
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long cpu = threads.getCurrentThreadCpuTime();
    long user = threads.getCurrentThreadUserTime();
    if (cpu < 0 || user < 0) {
      return new Times(0, 0);
    }
    return new Times(user, Math.max(0, cpu - user));
  }

  /** utime and stime are fields 14 and 15, counted after the ')' that ends the command name. */
  private static Times fromProcStat() {
    try {
      if (!Files.isReadable(STAT)) {
        return null;
      }
      String stat = Files.readString(STAT);
      String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      long utime = Long.parseLong(f[11]);
      long stime = Long.parseLong(f[12]);
      long nanosPerTick = 1_000_000_000L / TICKS_PER_SECOND;
      return new Times(utime * nanosPerTick, stime * nanosPerTick);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
