package io.respawn.server.shard;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one process per member of a local shard and keeps them running, as a service manager
 * would: a member whose process dies is started again after {@code restartDelayMillis}; {@link
 * #stop} sends each member SIGTERM (a primary then hands over leadership and every member
 * flushes) and waits for it. A member that exits with code 2 (its configuration is refused)
 * soon after it started is not restarted: that would only repeat the error; the supervisor stops
 * the shard instead and reports it. A member that exits with code 3 found that the shard removed
 * it while it was away (docs/operations.md): it is not started again, and the others run on.
 * A member that keeps exiting by itself (not killed by a
 * signal) soon after it started (within {@link #QUICK_EXIT_WINDOW_MILLIS}; a full disk does that:
 * its first write fails and it stops, fail-stop) is restarted after a delay that doubles with
 * each such exit in a row, up to {@link
 * #RESTART_DELAY_MAX_MILLIS}: each start costs a JVM's start-up and the member's warm-up on a
 * machine the other members share. When the member's data directory is on a full file system
 * the exit's log line says so (the member's own log, in that directory, cannot say why it
 * stopped).
 *
 * <p>Threads: the caller's, plus one watcher thread per member ({@code respawn-up-N}).
 */
public final class ShardSupervisor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ShardSupervisor.class);
  /** An exit with code 2 within this long after start is a configuration error. */
  private static final long CONFIG_ERROR_WINDOW_MILLIS = 10_000;
  private static final int EXIT_CONFIG_ERROR = 2;
  private static final int EXIT_REMOVED = ShardMember.EXIT_REMOVED;
  /** Exit codes from here up are a death by a signal (128 + the signal's number). */
  private static final int EXIT_BY_SIGNAL_MIN = 128;
  /** A member that exits within this long after it started exits "quickly" (a crash loop). */
  static final long QUICK_EXIT_WINDOW_MILLIS = 30_000;
  /** The longest wait before restarting a member that keeps exiting quickly. */
  static final long RESTART_DELAY_MAX_MILLIS = 30_000;
  /** The shortest base of the doubling (a restart delay of 0 would spin otherwise). */
  private static final long BACKOFF_BASE_MIN_MILLIS = 100;
  /** Free space below which a data directory's file system counts as full. */
  static final long FULL_DISK_BYTES_MAX = 1 << 20;

  private final int members;
  private final IntFunction<ProcessBuilder> commandOf;
  private final long restartDelayMillis;
  private final long stopTimeoutMillis;
  private final Process[] processes;
  private final long[] restarts;
  /** Per member: quick exits in a row (only its watcher thread touches its slot). */
  private final int[] quickExits;
  private final IntFunction<Path> dataDirOf;
  private final List<Thread> watchers = new ArrayList<>();
  private volatile boolean stopping;
  private volatile String failure;
  private final Object lock = new Object();

  /**
   * @param members how many members (ids 1..members)
   * @param commandOf builds the process of member {@code id} (output redirection included)
   * @param restartDelayMillis wait before restarting a member that died
   * @param stopTimeoutMillis how long {@link #stop} waits for a member before it kills it
   * @param dataDirOf member {@code id}'s data directory (its file system's free space is checked
   *     when it exits), or null
   */
  public ShardSupervisor(int members, IntFunction<ProcessBuilder> commandOf,
      long restartDelayMillis, long stopTimeoutMillis, IntFunction<Path> dataDirOf) {
    this.members = members;
    this.commandOf = commandOf;
    this.restartDelayMillis = restartDelayMillis;
    this.stopTimeoutMillis = stopTimeoutMillis;
    this.dataDirOf = dataDirOf;
    this.processes = new Process[members + 1];
    this.restarts = new long[members + 1];
    this.quickExits = new int[members + 1];
  }

  /** As above, without data directories. */
  public ShardSupervisor(int members, IntFunction<ProcessBuilder> commandOf,
      long restartDelayMillis, long stopTimeoutMillis) {
    this(members, commandOf, restartDelayMillis, stopTimeoutMillis, null);
  }

  /**
   * The wait before the next restart after {@code quickExitsInARow} quick exits in a row: the
   * configured delay for the first, then doubling (from at least {@link
   * #BACKOFF_BASE_MIN_MILLIS}) up to {@link #RESTART_DELAY_MAX_MILLIS}.
   */
  static long restartDelayMillis(long configuredMillis, int quickExitsInARow) {
    if (quickExitsInARow <= 1) {
      return configuredMillis;
    }
    long base = Math.max(configuredMillis, BACKOFF_BASE_MIN_MILLIS);
    int doublings = Math.min(quickExitsInARow - 1, 20);
    return Math.min(RESTART_DELAY_MAX_MILLIS, Math.max(configuredMillis, base << doublings));
  }

  /**
   * What to add to a member's exit line about its data directory's file system: that it is
   * full, when {@code usableBytes} is below {@link #FULL_DISK_BYTES_MAX}; else nothing.
   */
  static String fullDiskNote(Path dataDir, long usableBytes) {
    if (usableBytes >= FULL_DISK_BYTES_MAX) {
      return "";
    }
    return "; the file system of its data directory " + dataDir + " is full (" + usableBytes
        + " bytes free): its own log cannot say why it stopped, and it will stop again until "
        + "space is freed there";
  }

  private String fullDiskNote(int id) {
    if (dataDirOf == null) {
      return "";
    }
    Path dir = dataDirOf.apply(id);
    try {
      return fullDiskNote(dir, java.nio.file.Files.getFileStore(dir).getUsableSpace());
    } catch (IOException | RuntimeException e) {
      return "";
    }
  }

  /**
   * Starts every member and its watcher, except a member the shard removed earlier (its data
   * directory holds {@link RemovedMarker}): it would be refused by every peer and stop again.
   */
  public void start() throws IOException {
    List<Integer> started = new ArrayList<>();
    for (int id = 1; id <= members; id++) {
      String removed = removedEarlier(id);
      if (removed != null) {
        log.warn("member {} is not started: it was {} (delete {} to start it anyway)", id,
            removed, RemovedMarker.in(dataDirOf.apply(id)));
        continue;
      }
      launch(id, false);
      started.add(id);
    }
    for (int id : started) {
      int member = id;
      Thread t = new Thread(() -> watch(member), "respawn-up-" + id);
      t.setDaemon(true);
      t.start();
      watchers.add(t);
    }
  }

  /** Why member {@code id} was removed from the shard earlier ({@link RemovedMarker}), or null. */
  public String removedEarlier(int id) {
    return dataDirOf == null ? null : RemovedMarker.read(dataDirOf.apply(id));
  }

  /** The pid of member {@code id}'s current process, or -1. */
  public long pid(int id) {
    synchronized (lock) {
      Process p = processes[id];
      return p == null ? -1 : p.pid();
    }
  }

  /** How many times member {@code id} was restarted. */
  public long restarts(int id) {
    synchronized (lock) {
      return restarts[id];
    }
  }

  /** Why the supervisor gave up, or null while it runs. */
  public String failure() {
    return failure;
  }

  /** Blocks until {@link #stop} was called or a member's configuration was refused. */
  public void awaitStopped() throws InterruptedException {
    for (Thread t : watchers) {
      t.join();
    }
  }

  /**
   * Starts member {@code id}'s process unless {@link #stop} has begun; returns whether it did.
   * Under the lock {@link #stop} takes to set {@link #stopping} and collect the processes, so a
   * restart either lands before (and is stopped with the others) or is refused: none outlives
   * the supervisor. A {@code restart} is counted with the new process, so whoever sees its pid
   * sees the count.
   */
  private boolean launch(int id, boolean restart) throws IOException {
    Process p;
    synchronized (lock) {
      if (stopping) {
        return false;
      }
      p = commandOf.apply(id).start();
      processes[id] = p;
      if (restart) {
        restarts[id]++;
      }
    }
    log.info("member {} started (pid {})", id, p.pid());
    return true;
  }

  private void watch(int id) {
    while (!stopping) {
      Process p;
      synchronized (lock) {
        p = processes[id];
      }
      long startedAt = System.currentTimeMillis();
      int code;
      try {
        code = p.waitFor();
      } catch (InterruptedException e) {
        return;
      }
      if (stopping) {
        return;
      }
      long ranMillis = p.info().startInstant().map(s -> System.currentTimeMillis()
          - s.toEpochMilli()).orElse(System.currentTimeMillis() - startedAt);
      if (code == EXIT_CONFIG_ERROR && ranMillis < CONFIG_ERROR_WINDOW_MILLIS) {
        failure = "member " + id + " refused its configuration (exit code 2); see its log";
        log.error(failure);
        new Thread(this::stop, "respawn-up-stop").start();
        return;
      }
      if (code == EXIT_REMOVED) {
        log.warn("member {} (pid {}) is no longer a member of the shard (exit code {}, see its "
            + "log); not started again", id, p.pid(), code);
        return;
      }
      // Exits by the member itself only: one killed by a signal (code 128 + signal; kill -9 in a
      // test or a fault campaign) is started again after the configured delay, however often.
      boolean byItself = code < EXIT_BY_SIGNAL_MIN;
      quickExits[id] = byItself && ranMillis < QUICK_EXIT_WINDOW_MILLIS ? quickExits[id] + 1 : 0;
      long delay = restartDelayMillis(restartDelayMillis, quickExits[id]);
      String loop = quickExits[id] <= 1 ? "" : " (it exited within " + QUICK_EXIT_WINDOW_MILLIS
          / 1_000 + " s of starting " + quickExits[id] + " times in a row)";
      log.warn("member {} (pid {}) exited with code {} after {} ms{}{}; restarting in {} ms", id,
          p.pid(), code, ranMillis, fullDiskNote(id), loop, delay);
      try {
        Thread.sleep(delay);
      } catch (InterruptedException e) {
        return;
      }
      try {
        if (!launch(id, true)) {
          return; // stopping
        }
      } catch (IOException e) {
        log.error("restarting member {} failed: {}", id, e.toString());
      }
    }
  }

  /** SIGTERM to every member, wait (then SIGKILL past the timeout). Idempotent. */
  public void stop() {
    List<Process> running = new ArrayList<>();
    synchronized (lock) {
      if (stopping) {
        return;
      }
      stopping = true;
      for (int id = 1; id <= members; id++) {
        if (processes[id] != null && processes[id].isAlive()) {
          running.add(processes[id]);
          processes[id].destroy(); // SIGTERM
        }
      }
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(stopTimeoutMillis);
    for (Process p : running) {
      try {
        long left = Math.max(0, deadline - System.nanoTime());
        if (!p.waitFor(left, TimeUnit.NANOSECONDS)) {
          log.warn("member pid {} did not stop within {} ms; killing it", p.pid(),
              stopTimeoutMillis);
          p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
    for (Thread t : watchers) {
      t.interrupt();
    }
  }

  @Override
  public void close() {
    stop();
  }

  /** The command line that runs member {@code config} with this JVM's java and class path. */
  public static ProcessBuilder javaMember(Path config, Path logFile, List<String> jvmArgs,
      List<String> extraArgs) {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(jvmArgs);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.respawn.server.cli.RespawnCommand");
    cmd.add("node");
    cmd.add("--config");
    cmd.add(config.toString());
    cmd.addAll(extraArgs);
    return new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()));
  }
}
