package io.respawn.storage;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;

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
 *
 * <p>The JIT's C2 compiler threads get the same treatment ({@link #lowerJitCompilerThreads}):
 * when a new primary and its backup start running recovery code they had never run, C2
 * recompiles it on both for hundreds of milliseconds at a time. Measured on the development VM during E2 (per-thread
 * schedstat every 50 ms): at 2, 4 and 13 s after the kill the two processes' C2 threads ran 30-70
 * ms of every 55, both event loops waited 10-46 ms per 55 on the run queue, and every client's
 * request stalled 25-40 ms together (every 100 ms window of the E2 run missed its SLO then). At
 * nice {@value #NICE} a compilation still uses every idle cycle and finishes a little later.
 */
public final class BackgroundPriority {
  /** The nice value background threads run at (0 is the default, 19 the lowest priority). */
  public static final int NICE = 10;
  private static final int PRIO_PROCESS = 0;
  /**
   * The name (as the kernel keeps it: the first 15 characters) of HotSpot's optimizing JIT
   * compiler threads. C1's are left alone: its compilations are short and take code out of the
   * interpreter, and a JVM run with C1 only (the integration tests' members) would otherwise
   * compile everything at background priority while starting up.
   */
  private static final String JIT_THREAD_NAME = "C2 CompilerThre";

  private static final MethodHandle GETTID =
      LinuxCalls.function("gettid", FunctionDescriptor.of(ValueLayout.JAVA_INT));
  /** Null where unavailable (LinuxCalls): threads then run at the normal priority. */
  private static final MethodHandle SETPRIORITY = GETTID == null ? null
      : LinuxCalls.function("setpriority", FunctionDescriptor.of(ValueLayout.JAVA_INT,
          ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));

  /** Linux's {@code SCHED_IDLE} scheduling policy. */
  private static final int SCHED_IDLE = 5;
  /**
   * Whether {@link #idleCurrentThread} uses {@code SCHED_IDLE} ({@code
   * -Drespawn.idleBackground=false}: nice {@value #NICE} like the rest).
   */
  static final boolean IDLE_POLICY =
      Boolean.parseBoolean(System.getProperty("respawn.idleBackground", "true"));

  /** Linux's {@code SCHED_OTHER} (normal) scheduling policy. */
  private static final int SCHED_OTHER = 0;
  /**
   * Threads this class put under {@code SCHED_IDLE}, with how many locks each holds now (see
   * {@link #aboveIdleWhileLocked}); absent for every other thread.
   */
  private static final ThreadLocal<int[]> IDLE_LOCK_DEPTH = new ThreadLocal<>();
  /** Whether a thread of this process may leave {@code SCHED_IDLE} again; null until probed. */
  private static volatile Boolean idleReversible;

  private BackgroundPriority() {}

  /**
   * Runs the calling thread under Linux's {@code SCHED_IDLE} policy, for bulk work whose pace
   * nobody waits on while a thread of normal priority wants the CPU: a BatchPull stream. Falls
   * back to {@link #lowerCurrentThread} where the policy cannot be set, or where a thread under
   * it could not return to the normal policy ({@link #idleReversible}). Returns whether either
   * took effect.
   *
   * <p>Such a thread may take only locks built for it (the backup's state lock is a {@link
   * CeilingLock}): while it holds one it runs at normal priority ({@link #aboveIdleWhileLocked}).
   * Preempted under {@code SCHED_IDLE} while holding a plain lock, it keeps the lock for as long as
   * anything of normal priority wants its CPU, and every thread that needs the lock waits that
   * long: in E2 (2 GiB, twenty-fifth session, a scheduler trace of both CPUs) a backup's BatchPull
   * thread, preempted inside the store's lock while both members' C2 compilers held both CPUs,
   * kept the backup's priority-pull threads and its event loop waiting 8-20 ms, twelve times in
   * the first 3.3 s after the kill; every client stalled each time. Likewise not for a thread
   * that holds a lock of the kernel others wait on (the process's memory-map lock while it faults
   * memory in, see NativeArenas).
   *
   * <p>Why more than nice {@value #NICE}: a nice value only weighs a thread's share, and a thread
   * of normal priority that wakes may still wait for the lower one's time slice to end. The
   * scheduler preempts a {@code SCHED_IDLE} thread as soon as any other thread wakes on its CPU.
   * Measured in E2 at 2 GiB on the development VM (2 cores, per-thread schedstat over 100 ms
   * steps): with the BatchPull stream (~27 ms of CPU per 100 ms), the zeroing thread (~35 ms)
   * and C2 at nice 10, and the threads of normal priority needing ~75 ms of the 200 available, a
   * new primary's event loop still waited 10-15 ms of every 100 on the run queue while its
   * clients' requests stalled 10-15 ms together. Under a sustained full load such a thread
   * progresses only slowly (the scheduler gives it a minimal weight), so it is not for work that
   * must finish in bounded time (snapshot captures keep nice {@value #NICE}).
   */
  public static boolean idleCurrentThread() {
    if (!IDLE_POLICY || !LinuxCalls.canSetScheduler() || !idleReversible()) {
      return lowerCurrentThread();
    }
    if (setPolicy(SCHED_IDLE)) {
      IDLE_LOCK_DEPTH.set(new int[1]);
      return true;
    }
    return lowerCurrentThread();
  }

  /**
   * Whether a thread of this process that is put under {@code SCHED_IDLE} can return to the
   * normal policy. Linux lets an unprivileged thread leave {@code SCHED_IDLE} only if its nice
   * value is within its {@code RLIMIT_NICE} (by default no nice value is: {@code ulimit -e} 0;
   * root, {@code CAP_SYS_NICE}, or {@code ulimit -e 20} (systemd's {@code LimitNICE=20}) allow
   * it). Probed once, on a short-lived thread of its own (which, if it cannot return, ends under
   * the policy).
   */
  public static boolean idleReversible() {
    Boolean known = idleReversible;
    if (known != null) {
      return known;
    }
    synchronized (BackgroundPriority.class) {
      if (idleReversible == null) {
        boolean[] result = new boolean[1];
        Thread probe = new Thread(() -> result[0] = setPolicy(SCHED_IDLE) && setPolicy(SCHED_OTHER),
            "respawn-sched-probe");
        probe.setDaemon(true);
        probe.start();
        try {
          probe.join();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return false; // not known: do not put anyone under SCHED_IDLE this time
        }
        idleReversible = result[0];
      }
      return idleReversible;
    }
  }

  /**
   * Returns the calling thread, put under {@code SCHED_IDLE} by {@link #idleCurrentThread}, to the
   * normal policy (and forgets it was idle); false, changing nothing, where the idle policy is not
   * reversible or the thread was not put under it. Not while it holds a {@link CeilingLock}. For a
   * thread whose bulk work comes in urgent and non-urgent phases (a backup's BatchPull stream:
   * the hot set a takeover waits for, then the cold log nobody waits for).
   */
  public static boolean normalCurrentThread() {
    int[] depth = IDLE_LOCK_DEPTH.get();
    if (depth == null) {
      return false;
    }
    assert depth[0] == 0 : "leaving SCHED_IDLE inside a ceiling lock";
    if (!setPolicy(SCHED_OTHER)) {
      return false;
    }
    IDLE_LOCK_DEPTH.remove();
    return true;
  }

  /** Whether the calling thread is under {@code SCHED_IDLE} by {@link #idleCurrentThread}. */
  public static boolean currentThreadIdle() {
    return IDLE_LOCK_DEPTH.get() != null;
  }

  /**
   * Called before the calling thread takes a {@link CeilingLock}: a thread under {@code
   * SCHED_IDLE} ({@link #idleCurrentThread}) returns to the normal policy until it has released
   * every such lock ({@link #backToIdleAfterLocked}), so it is never preempted in favour of
   * everything else while others wait for it. Costs one system call at the outermost lock of
   * such a thread, nothing for any other thread (one thread-local read).
   */
  static void aboveIdleWhileLocked() {
    int[] depth = IDLE_LOCK_DEPTH.get();
    if (depth != null && depth[0]++ == 0) {
      setPolicy(SCHED_OTHER);
    }
  }

  /** Called after the calling thread released a {@link CeilingLock}: undoes the one above. */
  static void backToIdleAfterLocked() {
    int[] depth = IDLE_LOCK_DEPTH.get();
    if (depth != null) {
      assert depth[0] > 0 : "a ceiling lock released more often than taken";
      if (--depth[0] == 0) {
        setPolicy(SCHED_IDLE);
      }
    }
  }

  private static boolean setPolicy(int policy) {
    return LinuxCalls.setScheduler(policy, 0);
  }

  /**
   * One daemon thread named {@code name} that runs the tasks given to it in order, each at nice
   * {@value #NICE} ({@link #lowerCurrentThread}): for work nobody waits on that must still finish
   * on a busy machine (snapshot walks, memory made ahead, files closed).
   */
  public static java.util.concurrent.ExecutorService lowPriorityThread(String name) {
    return java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(() -> {
        lowerCurrentThread();
        r.run();
      }, name);
      t.setDaemon(true);
      return t;
    });
  }

  /** Lowers the calling thread to nice {@value #NICE}; returns whether it did. */
  public static boolean lowerCurrentThread() {
    if (SETPRIORITY == null) {
      return false;
    }
    try {
      return lower((int) GETTID.invokeExact());
    } catch (Throwable e) {
      return false;
    }
  }

  /**
   * Lowers every C2 (optimizing) JIT compiler thread of this JVM that exists now to nice {@value
   * #NICE} (found by name in {@code /proc/self/task}); returns how many it lowered. Idempotent and
   * cheap (a few dozen small reads): call it again now and then, since the JVM may start compiler
   * threads later.
   */
  public static int lowerJitCompilerThreads() {
    if (SETPRIORITY == null) {
      return 0;
    }
    int lowered = 0;
    try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
      for (Path task : tasks) {
        String name;
        try {
          name = Files.readString(task.resolve("comm")).strip();
        } catch (java.io.IOException gone) {
          continue; // the thread ended meanwhile
        }
        if (JIT_THREAD_NAME.equals(name)
            && lower(Integer.parseInt(task.getFileName().toString()))) {
          lowered++;
        }
      }
    } catch (java.io.IOException | RuntimeException e) {
      return lowered; // no /proc here: leave the rest as they are
    }
    return lowered;
  }

  private static boolean lower(int tid) {
    try {
      return (int) SETPRIORITY.invokeExact(PRIO_PROCESS, tid, NICE) == 0;
    } catch (Throwable e) {
      return false;
    }
  }
}
