package io.respawn.server.shard;

import io.respawn.storage.ForegroundPriority;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member's event loop runs under the real-time policy ({@link ForegroundPriority}) while the
 * member takes part in a recovery, or while the machine has CPU to spare ({@link IdleCpu}), and
 * at normal priority otherwise.
 *
 * <p>Taking part: pulling values (a new primary holding keys without values, or a witness warming
 * up for a suspected leader), or, on a backup, having answered a pull in the last {@link
 * #LINGER_NANOS}. Then every command that needs a value crosses both members' loops twice, and
 * the loops share the machine with the copy's bulk work; each wake-up of a loop at normal priority
 * waits for the thread on the CPU to use up its slice.
 *
 * <p>CPU to spare: a loop at normal priority that wakes on a CPU where a background thread runs
 * (a JIT compiler, a snapshot capture, a GC pass of the backup, all at nice 10) waits until that
 * thread's slice ends, up to a scheduler tick (4 ms on the development VM), even with the other
 * CPU idle; those waits were the steady state's slowest operations in E2 (twenty-seventh session,
 * docs/recovery.md). With CPU to spare a real-time loop costs nobody much. On a saturated machine
 * it preempts the clients at every wake-up, which cost a closed-loop write-only load a third of
 * its throughput (ForegroundPriority has the figures), so the loop returns to normal there.
 * {@code -Drespawn.realtimeWhenIdle=false} keeps the loop real-time only through recoveries.
 *
 * <p>Loop thread only: it changes the policy of the thread that calls {@link #follow}.
 */
final class LoopPriority {
  private static final Logger log = LoggerFactory.getLogger(LoopPriority.class);
  /** How long a backup's loop stays real-time after its last answer to a pull. */
  static final long LINGER_NANOS = 1_000_000_000L;
  /** Whether the machine's idle CPU alone moves the loop real-time (-Drespawn.realtimeWhenIdle). */
  static final boolean WHEN_IDLE =
      Boolean.parseBoolean(System.getProperty("respawn.realtimeWhenIdle", "true"));

  private final String member;
  /** Written by the loop, read by INFO from any thread. */
  private volatile boolean realtime;
  /** Whether it is real-time for a recovery (not only for the idle CPU). Any thread. */
  private volatile boolean forRecovery;
  /** Moves to and from the real-time policy for the idle CPU alone. Any thread. */
  private volatile long idleMoves;
  /** Whether a change of policy was refused once (logged once; none is asked for again). */
  private boolean refused;

  LoopPriority(String member) {
    this.member = member;
  }

  /**
   * Moves the calling loop to the real-time policy or back: real-time while {@code recovering},
   * or while the machine is {@code roomy} (has CPU to spare, {@link IdleCpu}).
   */
  void follow(boolean recovering, boolean roomy) {
    boolean wanted = recovering || (WHEN_IDLE && roomy);
    boolean wasForRecovery = forRecovery;
    forRecovery = recovering;
    if (wanted == realtime || refused) {
      if (realtime && recovering != wasForRecovery) {
        log.info(recovering
            ? "{}: event loop stays under SCHED_FIFO, now for a recovery"
            : "{}: recovery over; event loop stays under SCHED_FIFO while the machine has idle "
                + "CPU", member);
      }
      return;
    }
    if (wanted) {
      if (ForegroundPriority.realtimeCurrentThread()) {
        realtime = true;
        if (recovering) {
          log.info("{}: event loop under SCHED_FIFO (priority {}) while it takes part in a "
              + "recovery", member, ForegroundPriority.PRIORITY);
        } else {
          logIdleMove("{}: event loop under SCHED_FIFO while the machine has idle CPU");
        }
      } else {
        refused = true;
        if (ForegroundPriority.ENABLED) {
          log.info("{}: event loop stays at normal priority: the real-time policy needs "
              + "CAP_SYS_NICE or ulimit -r {} (docs/operations.md)", member,
              ForegroundPriority.PRIORITY);
        }
      }
    } else if (ForegroundPriority.normalCurrentThread()) {
      realtime = false;
      if (wasForRecovery) {
        log.info("{}: event loop back at normal priority (no recovery under way)", member);
      } else {
        logIdleMove("{}: event loop back at normal priority (the machine is busy)");
      }
    } else {
      refused = true; // not asked again: the loop stays real-time, and INFO says so
      log.warn("{}: event loop could not return to normal priority; it stays under SCHED_FIFO",
          member);
    }
  }

  /** The first such move is logged at INFO, the others at DEBUG (the load may hover). */
  private void logIdleMove(String message) {
    if (++idleMoves == 1) {
      log.info(message + " (later moves of this kind are logged at DEBUG)", member);
    } else {
      log.debug(message, member);
    }
  }

  /**
   * Whether the machine's idle CPU can still move this loop: not when turned off, nor once the
   * process was refused the policy. The caller need not measure it otherwise.
   */
  boolean followsIdleCpu() {
    return WHEN_IDLE && !refused;
  }

  /** Whether the loop runs under the real-time policy now. Any thread. */
  boolean realtime() {
    return realtime;
  }

  /** Whether it does so for a recovery. Any thread. */
  boolean realtimeForRecovery() {
    return realtime && forRecovery;
  }

  /** Moves to or from the real-time policy made for the idle CPU alone. Any thread. */
  long idleMoves() {
    return idleMoves;
  }
}
