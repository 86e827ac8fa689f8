package io.respawn.bench.e1;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * CPU time (user + system) that processes used, from Linux's {@code /proc/PID/stat}, so a cell
 * can report what each system's server processes spent per operation. On a machine whose
 * cores the servers share with the load generator (and here with other work), this is the
 * figure that decides throughput, and it moves far less with the machine's load than ops/s.
 */
final class ProcessCpu {
  /** Linux's USER_HZ: the unit of utime and stime in /proc/PID/stat. */
  static final long TICKS_PER_SECOND = 100;

  private ProcessCpu() {}

  /** Microseconds of CPU the live processes among {@code pids} used so far; -1 if unknown. */
  static long micros(List<Long> pids) {
    long ticks = 0;
    for (long pid : pids) {
      try {
        String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
        // Fields after the command name, which is in parentheses and may hold spaces.
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
      } catch (IOException | RuntimeException e) {
        return -1;
      }
    }
    return ticks * 1_000_000 / TICKS_PER_SECOND;
  }
}
