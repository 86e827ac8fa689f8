package io.respawn.bench.e2;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * When the members' event loops and pull threads were blocked in the kernel during an E2 run, and
 * on what: about every {@link #SAMPLE_NANOS} it reads {@code /proc/PID/task/TID/stat} (the
 * thread's state) and {@code wchan} (the kernel function it sleeps in) of the threads whose names
 * start with one of {@link #WATCHED}, and sums per {@link #PERIOD_NANOS} the time each spent in
 * uninterruptible sleep ({@code D}), by wait channel. {@link ThreadCpu}'s run and run-queue times
 * cannot show this: a loop that waits for a lock inside the kernel neither runs nor waits for a
 * CPU. Sampling of this kind (a script, in the twenty-first session) found a new primary's loop
 * blocked in {@code mmap} for up to 184 ms while another thread faulted a 128 MiB block in under
 * the memory-map lock.
 *
 * <p>Linux only (else it records nothing). Sampling costs about a tenth of a core, so {@code
 * bench e2} samples only with {@code --thread-states}; each sample stands for the time since the
 * previous one, so a sampler that falls behind charges the whole gap to the state it then sees
 * (coarser, not lost).
 *
 * <p>Rows ({@code e2-blocked.csv}): {@code mode,rep,t_ms,process,thread,wchan,blocked_ms}, t_ms
 * the end of the period relative to the kill, thread names as the kernel keeps them (15
 * characters), wchan {@code 0} where the kernel did not say.
 */
final class ThreadStates implements AutoCloseable {
  static final String HEADER = "mode,rep,t_ms,process,thread,wchan,blocked_ms";
  static final long SAMPLE_NANOS = 1_000_000L;
  static final long PERIOD_NANOS = 100_000_000L;
  /** Kernel names (prefixes) of the threads watched: event loops and the backup's pull threads. */
  static final List<String> WATCHED =
      List.of("respawn-io-", "respawn-node-lo", "respawn-priorit", "respawn-pull-an");

  /** One thread of one process, as listed at the period's start. */
  private record Task(String process, String name, Path dir) {}

  /** A period's blocked time of one "process,thread,wchan". */
  private record Row(long atNanos, String key, long blockedNanos) {}

  private final Map<String, Long> pids;
  private final Thread thread;
  /** "process,thread,wchan" -> nanos blocked, for the period under way. */
  private final Map<String, long[]> period = new TreeMap<>();
  private final List<Row> rows = new ArrayList<>();
  private volatile boolean running = true;
  /** Threads watched in the current period (tests). */
  private volatile int watched;

  /** Samples the processes named in {@code pids} (name -> pid) until closed. */
  ThreadStates(Map<String, Long> pids) {
    this.pids = Map.copyOf(pids);
    this.thread = new Thread(this::run, "e2-thread-states");
    thread.setDaemon(true);
    thread.start();
  }

  /** For tests: records nothing by itself. */
  ThreadStates() {
    this.pids = Map.of();
    this.thread = null;
  }

  private void run() {
    if (!Files.isDirectory(Path.of("/proc/self/task"))) {
      return;
    }
    long periodEnd = System.nanoTime() + PERIOD_NANOS;
    List<Task> tasks = list();
    watched = tasks.size();
    long last = System.nanoTime();
    while (running) {
      long now = System.nanoTime();
      for (Task t : tasks) {
        char state = state(t.dir());
        if (state == 'D') {
          blocked(t.process(), t.name(), wchan(t.dir()), now - last);
        }
      }
      last = now;
      if (now >= periodEnd) {
        endPeriod(now);
        periodEnd += PERIOD_NANOS;
        tasks = list();
        watched = tasks.size();
      }
      java.util.concurrent.locks.LockSupport.parkNanos(SAMPLE_NANOS);
    }
  }

  private List<Task> list() {
    List<Task> out = new ArrayList<>();
    for (Map.Entry<String, Long> p : pids.entrySet()) {
      try (var dir = Files.newDirectoryStream(Path.of("/proc", p.getValue().toString(), "task"))) {
        for (Path task : dir) {
          String name = Files.readString(task.resolve("comm")).strip();
          if (WATCHED.stream().anyMatch(name::startsWith)) {
            out.add(new Task(p.getKey(), name.replace(',', ' '), task));
          }
        }
      } catch (IOException | RuntimeException e) {
        // the process ended (the killed primary): nothing of it to watch
      }
    }
    return out;
  }

  /** The state letter of a {@code stat} line: after the last ')' (the name may hold any). */
  static char stateOf(String statLine) {
    int close = statLine.lastIndexOf(')');
    return close < 0 || close + 2 >= statLine.length() ? '?' : statLine.charAt(close + 2);
  }

  private static char state(Path task) {
    try {
      return stateOf(Files.readString(task.resolve("stat")));
    } catch (IOException | RuntimeException e) {
      return '?';
    }
  }

  private static String wchan(Path task) {
    try {
      String w = Files.readString(task.resolve("wchan")).strip();
      return w.isEmpty() ? "0" : w.replace(',', ' ');
    } catch (IOException | RuntimeException e) {
      return "0";
    }
  }

  /** How many threads the sampler watches now. */
  int watched() {
    return watched;
  }

  /** Counts {@code nanos} of {@code thread} blocked on {@code wchan} into the current period. */
  synchronized void blocked(String process, String thread, String wchan, long nanos) {
    period.computeIfAbsent(process + "," + thread + "," + wchan, k -> new long[1])[0] += nanos;
  }

  /** Closes the current period at {@code atNanos}. */
  synchronized void endPeriod(long atNanos) {
    period.forEach((key, nanos) -> rows.add(new Row(atNanos, key, nanos[0])));
    period.clear();
  }

  /** CSV rows of the periods ending from {@code fromNanos} on, times relative to the kill. */
  synchronized List<String> rows(String mode, int rep, long killAtNanos, long fromNanos) {
    List<String> out = new ArrayList<>();
    for (Row r : rows) {
      if (r.atNanos() >= fromNanos) {
        out.add(String.format(Locale.ROOT, "%s,%d,%.0f,%s,%.1f", mode, rep,
            (r.atNanos() - killAtNanos) / 1e6, r.key(), r.blockedNanos() / 1e6));
      }
    }
    return out;
  }

  @Override
  public void close() {
    running = false;
    if (thread == null) {
      return;
    }
    thread.interrupt();
    try {
      thread.join(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
