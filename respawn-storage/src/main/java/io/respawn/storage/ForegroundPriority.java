package io.respawn.storage;


/**
 * Runs a thread that clients wait on at every step, and that sleeps between short bursts of work,
 * ahead of every thread of normal priority while it matters: Linux's {@code SCHED_FIFO} at its
 * lowest real-time priority ({@value #PRIORITY}). For a backup's priority-pull readers, and for a
 * member's event loop while it takes part in a recovery (shard/LoopPriority); for nothing that
 * computes in bulk.
 *
 * <p>Why: on a small machine a woken thread of normal priority waits for a CPU until the thread
 * on it has used up its time slice (milliseconds), and a command that needs a value from a backup
 * crosses several such wake-ups (the new primary's event loop, the backup's event loop, its page
 * reader, the backup's event loop again, the new primary's). Measured in E2 at 2 GiB on the
 * development VM (2 cores, twenty-sixth session), one run each: with every member's event loop
 * and the backup's readers under this policy (moved there from outside, {@code chrt -f 1}, and
 * then by this class), priority pulls had a p99 of 1.4 ms, against 3.6 ms with neither and 2.9
 * ms with the readers alone; of the 100 ms windows from 3 s after the kill to the copy's end 15 %
 * had an operation over 3 ms, against 69 % and 60 % (a nice value of -10 for the loops instead:
 * 64 %, no better). A woken real-time thread takes a CPU from a thread of normal priority at once.
 *
 * <p>Not for an event loop all the time: it then preempts the clients at every wake-up, and a
 * shard's throughput under E1's closed-loop write-only load (8 clients, 2 cores) fell from 35.8k
 * to 22.1k ORDERED writes a second (28.0k with the loops' 20 us spin off) and DURABLE from 13.2k to
 * 6.8k. The kernel reserves 5 % of every second for threads of normal priority ({@code
 * sched_rt_runtime_us}), so a real-time thread that never slept would slow the machine, not stop
 * it.
 *
 * <p>Only with {@code CAP_SYS_NICE} (root) or an {@code RLIMIT_RTPRIO} of at least {@value
 * #PRIORITY} ({@code ulimit -r 1}, systemd's {@code LimitRTPRIO=1}); elsewhere, or with {@code
 * -Drespawn.realtimeRecovery=false}, threads keep their normal priority. Threads a real-time
 * thread creates start with the normal policy ({@code SCHED_RESET_ON_FORK}), not the real-time
 * one.
 */
public final class ForegroundPriority {
  /** The real-time priority used: the lowest, so any real-time thread of the system comes first. */
  public static final int PRIORITY = 1;
  /**
   * Whether {@link #realtimeCurrentThread} changes anything ({@code -Drespawn.realtimeRecovery}).
   */
  public static final boolean ENABLED =
      Boolean.parseBoolean(System.getProperty("respawn.realtimeRecovery", "true"));
  /** Linux's {@code SCHED_OTHER} (normal) policy. */
  private static final int SCHED_OTHER = 0;
  /** Linux's {@code SCHED_FIFO} policy. */
  private static final int SCHED_FIFO = 1;
  /** Or'ed into a policy: threads created by this one do not inherit it. */
  private static final int SCHED_RESET_ON_FORK = 0x40000000;
  /** Set on a thread while this class has it under the real-time policy. */
  private static final ThreadLocal<Boolean> REALTIME = ThreadLocal.withInitial(() -> false);

  private ForegroundPriority() {}


  /**
   * Puts the calling thread under {@code SCHED_FIFO} at priority {@value #PRIORITY}; returns
   * whether it did (false: turned off, not Linux, or not permitted; the thread is unchanged).
   */
  public static boolean realtimeCurrentThread() {
    if (!ENABLED) {
      return false;
    }
    boolean done = LinuxCalls.setScheduler(SCHED_FIFO | SCHED_RESET_ON_FORK, PRIORITY);
    if (done) {
      REALTIME.set(true);
    }
    return done;
  }

  /**
   * Whether the calling thread runs under the real-time policy, as this class set it. An event
   * loop does not busy-poll then (SpinningSelectStrategy): the poll saves a wake-up's wait for a
   * CPU, which a real-time thread hardly has, and costs the clients' threads their CPU at every
   * event (E1 write-only with real-time loops: 22.1k ORDERED writes a second with the 20 us poll,
   * 28.0k without).
   */
  public static boolean currentThreadRealtime() {
    return REALTIME.get();
  }

  /**
   * Returns the calling thread to the normal policy (what {@link #realtimeCurrentThread} undoes);
   * returns whether it did. Keeps {@code SCHED_RESET_ON_FORK}: a thread without {@code
   * CAP_SYS_NICE} may leave a real-time policy but not clear that flag, so asking for the plain
   * normal policy would be refused there and leave the thread real-time.
   */
  public static boolean normalCurrentThread() {
    boolean done = LinuxCalls.setScheduler(SCHED_OTHER | SCHED_RESET_ON_FORK, 0);
    if (done) {
      REALTIME.set(false);
    }
    return done;
  }
}
