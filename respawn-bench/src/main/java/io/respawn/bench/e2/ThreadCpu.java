package io.respawn.bench.e2;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where the machine's cores went during an E2 run, thread by thread: every {@link
 * #PERIOD_NANOS} it reads {@code /proc/PID/task/TID/schedstat} (nanoseconds run on a CPU, and
 * waited runnable on a run queue) and {@code comm} of every thread of the given processes, and
 * keeps the per-period deltas of the threads that ran or waited at least {@link
 * #REPORTED_NANOS_MIN}. A thread that waits on the run queue while a client waits for it is
 * latency no GC or safepoint log shows; this is how the fourteenth session found C2 recompiling on
 * two processes at once, and a watchdog's stack handshakes, behind every client stalling together.
 *
 * <p>Linux only: where {@code /proc/self/task} is missing it records nothing. Reading a few
 * hundred small files every 100 ms costs the machine a little CPU, so {@code bench e2} samples
 * only with {@code --thread-cpu}.
 *
 * <p>It also reads the machine's <em>steal</em> time ({@code /proc/stat}, summed over CPUs): time
 * the hypervisor ran something else while this virtual machine's CPUs had work, reported as the
 * thread {@code steal} of the process {@code machine} (run_ms the stolen time, in the kernel's
 * 10 ms ticks). A stall of every thread of every process at once shows there as the host's, not
 * ours (twenty-fifth session: every thread's runs grew from microseconds to milliseconds for ~50
 * ms late in a copy).
 *
 * <p>Rows ({@code e2-threads.csv}): {@code mode,rep,t_ms,process,thread,run_ms,wait_ms}, t_ms
 * the end of the period relative to the kill; thread names as the kernel keeps them (15
 * characters), several threads of one name summed.
 */
final class ThreadCpu implements AutoCloseable {
  static final String HEADER = "mode,rep,t_ms,process,thread,run_ms,wait_ms";
  static final long PERIOD_NANOS = 100_000_000L;
  static final long REPORTED_NANOS_MIN = 1_000_000L;

  /** One period's time of one thread name in one process. */
  record Sample(long atNanos, String process, String thread, long runNanos, long waitNanos) {}

  private final Map<String, Long> pids;
  private final Thread thread;
  private final List<Sample> samples = new ArrayList<>();
  private final Map<String, long[]> last = new HashMap<>();
  /** The machine's steal ticks at the last pass, -1 before the first (or where unreadable). */
  private long lastStealTicks = -1;
  /** Each task's "process,thread name", read once (a thread's name rarely changes). */
  private final Map<String, String> names = new HashMap<>();
  private volatile boolean running = true;
  /** Whether a pass has run: threads seen later are new, counted from their start. */
  private boolean passed;

  /** Samples the processes named in {@code pids} (name -> pid) until closed. */
  ThreadCpu(Map<String, Long> pids) {
    this.pids = Map.copyOf(pids);
    this.thread = new Thread(this::run, "e2-thread-cpu");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    if (!Files.isDirectory(Path.of("/proc/self/task"))) {
      return;
    }
    long next = System.nanoTime();
    while (running) {
      next += PERIOD_NANOS;
      long now = System.nanoTime();
      if (next > now) {
        try {
          Thread.sleep((next - now) / 1_000_000, (int) ((next - now) % 1_000_000));
        } catch (InterruptedException e) {
          return;
        }
      }
      sampleOnce(System.nanoTime());
    }
  }

  private void sampleOnce(long atNanos) {
    Map<String, long[]> byName = new TreeMap<>();
    long steal = stealTicks(Path.of("/proc/stat"));
    if (steal >= 0 && lastStealTicks >= 0) {
      byName.put("machine,steal", new long[] {(steal - lastStealTicks) * NANOS_PER_TICK, 0});
    }
    lastStealTicks = steal;
    for (Map.Entry<String, Long> p : pids.entrySet()) {
      Path tasks = Path.of("/proc", Long.toString(p.getValue()), "task");
      try (var dir = Files.newDirectoryStream(tasks)) {
        for (Path task : dir) {
          long[] now = parse(task);
          if (now == null) {
            continue;
          }
          String key = p.getKey() + "/" + task.getFileName();
          long[] before = last.put(key, now);
          if (before == null) {
            if (!passed) {
              continue; // there before the first pass: its past is not this run's
            }
            before = new long[2]; // started since the last pass: all of it is
          }
          String name = names.get(key);
          if (name == null) {
            name = p.getKey() + "," + Files.readString(task.resolve("comm")).strip()
                .replace(',', ' ');
            names.put(key, name);
          }
          long[] sum = byName.computeIfAbsent(name, k -> new long[2]);
          sum[0] += now[0] - before[0];
          sum[1] += now[1] - before[1];
        }
      } catch (IOException | RuntimeException e) {
        // the process or a thread ended meanwhile: what was read counts
      }
    }
    passed = true;
    synchronized (samples) {
      byName.forEach((name, d) -> {
        if (d[0] >= REPORTED_NANOS_MIN || d[1] >= REPORTED_NANOS_MIN) {
          int comma = name.indexOf(',');
          samples.add(new Sample(atNanos, name.substring(0, comma), name.substring(comma + 1),
              d[0], d[1]));
        }
      });
    }
  }

  /** Linux's {@code USER_HZ}: /proc/stat counts in hundredths of a second. */
  static final long NANOS_PER_TICK = 10_000_000L;

  /** The machine's steal time in ticks (the 8th number of /proc/stat's "cpu" line), or -1. */
  static long stealTicks(Path procStat) {
    try (var lines = Files.lines(procStat)) {
      return lines.findFirst().map(ThreadCpu::stealTicks).orElse(-1L);
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }

  /** The steal ticks of a /proc/stat "cpu" line, or -1 if it has none. */
  static long stealTicks(String cpuLine) {
    String[] f = cpuLine.trim().split("\\s+");
    if (f.length < 9 || !f[0].equals("cpu")) {
      return -1;
    }
    return Long.parseLong(f[8]);
  }

  /** {run ns, wait ns} of one task, or null if it is gone. */
  static long[] parse(Path task) {
    try {
      String[] f = Files.readString(task.resolve("schedstat")).trim().split("\\s+");
      return new long[] {Long.parseLong(f[0]), Long.parseLong(f[1])};
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** CSV rows of the periods ending from {@code fromNanos} on, times relative to the kill. */
  List<String> rows(String mode, int rep, long killAtNanos, long fromNanos) {
    List<String> out = new ArrayList<>();
    synchronized (samples) {
      for (Sample s : samples) {
        if (s.atNanos() >= fromNanos) {
          out.add(String.format(Locale.ROOT, "%s,%d,%.0f,%s,%s,%.1f,%.1f", mode, rep,
              (s.atNanos() - killAtNanos) / 1e6, s.process(), s.thread(), s.runNanos() / 1e6,
              s.waitNanos() / 1e6));
        }
      }
    }
    return out;
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
