package io.respawn.server.shard;

import io.respawn.storage.ForegroundPriority;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A member's event loop runs under the real-time policy ({@link ForegroundPriority}) while the
 * member takes part in a recovery, and at normal priority otherwise.
 *
 * <p>Taking part: pulling values (a new primary holding keys without values, or a witness warming
 * up for a suspected leader), or, on a backup, having answered a pull in the last {@link
 * #LINGER_NANOS}. Then every command that needs a value crosses both members' loops twice, and
 * the loops share the machine with the copy's bulk work; each wake-up of a loop at normal priority
 * waits for the thread on the CPU to use up its slice. Outside a recovery the loop stays normal:
 * as a real-time thread it preempts the clients at every wake-up, which cost a closed-loop
 * write-only load a third of its throughput (ForegroundPriority has the figures).
 *
 * <p>Loop thread only: it changes the policy of the thread that calls {@link #follow}.
 */
final class LoopPriority {
  private static final Logger log = LoggerFactory.getLogger(LoopPriority.class);
  /** How long a backup's loop stays real-time after its last answer to a pull. */
  static final long LINGER_NANOS = 1_000_000_000L;

  private final String member;
  /** Written by the loop, read by INFO from any thread. */
  private volatile boolean realtime;
  /** Whether a change of policy was refused once (logged once; none is asked for again). */
  private boolean refused;

  LoopPriority(String member) {
    this.member = member;
  }

  /** Moves the calling loop to the real-time policy or back, as {@code recovering} says. */
  void follow(boolean recovering) {
    if (recovering == realtime || refused) {
      return;
    }
    if (recovering) {
      if (ForegroundPriority.realtimeCurrentThread()) {
        realtime = true;
        log.info("{}: event loop under SCHED_FIFO (priority {}) while it takes part in a "
            + "recovery", member, ForegroundPriority.PRIORITY);
      } else {
        refused = true;
        if (ForegroundPriority.ENABLED) {
          log.info("{}: event loop stays at normal priority through recoveries: the real-time "
              + "policy needs CAP_SYS_NICE or ulimit -r {} (docs/operations.md)", member,
              ForegroundPriority.PRIORITY);
        }
      }
    } else if (ForegroundPriority.normalCurrentThread()) {
      realtime = false;
      log.info("{}: event loop back at normal priority (no recovery under way)", member);
    } else {
      refused = true; // not asked again: the loop stays real-time, and INFO says so
      log.warn("{}: event loop could not return to normal priority; it stays under SCHED_FIFO",
          member);
    }
  }

  /** Whether the loop runs under the real-time policy now. Any thread. */
  boolean realtime() {
    return realtime;
  }
}
