package io.respawn.server.shard;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches a member's event loop from a thread of its own and, when the loop has not ended a pass
 * for {@link #stallNanos}, logs once per stall what every thread is doing (the loop's stack
 * first), and a line when the loop moves again.
 *
 * <p>Why: a shard member serves its clients, runs its node loop and its peer connections on one
 * event loop, so a loop that blocks or spins silences the member entirely: no log line, no INFO,
 * no heartbeat. A member once stopped that way for 11 minutes under load with nothing to tell
 * why; the next one leaves its threads' stacks in its log. The loop ends a pass at least every
 * tick ({@link NodeLoop#TICK_NANOS}) when it is healthy, so any stall this long is a collection
 * pause or worse.
 *
 * <p>Threads: one daemon thread ({@code respawn-loop-watchdog}) that sleeps {@link
 * #CHECK_MILLIS} between checks.
 */
final class LoopWatchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LoopWatchdog.class);
  /** How often the loop's progress is checked. */
  static final long CHECK_MILLIS = 1_000;
  /** Frames of each thread's stack written to the log. */
  static final int FRAMES_MAX = 40;

  private final Supplier<Thread> loopThread;
  private final LongSupplier lastPassEndNanos;
  private final long stallNanos;
  private final Thread thread;
  private volatile boolean running = true;
  private long stallsLogged;

  /**
   * @param loopThread the loop's thread (null until its first pass)
   * @param lastPassEndNanos when the loop last ended a pass ({@link System#nanoTime})
   * @param stallNanos silence after which the threads are dumped
   */
  LoopWatchdog(Supplier<Thread> loopThread, LongSupplier lastPassEndNanos, long stallNanos) {
    if (stallNanos < TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS)) {
      throw new IllegalArgumentException("stallNanos " + stallNanos + " below one check");
    }
    this.loopThread = loopThread;
    this.lastPassEndNanos = lastPassEndNanos;
    this.stallNanos = stallNanos;
    this.thread = new Thread(this::watch, "respawn-loop-watchdog");
    thread.setDaemon(true);
  }

  LoopWatchdog start() {
    thread.start();
    return this;
  }

  /** Stalls logged so far. */
  long stallsLogged() {
    return stallsLogged;
  }

  private void watch() {
    while (running) {
      try {
        Thread.sleep(CHECK_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
      check(System.nanoTime());
    }
  }

  private boolean stalled;
  private long stalledSinceNanos;

  /** One check at {@code nowNanos}; true when it reported a stall. Watchdog thread (and tests). */
  boolean check(long nowNanos) {
    long silentNanos = nowNanos - lastPassEndNanos.getAsLong();
    Thread loop = loopThread.get();
    if (loop == null) {
      return false;
    }
    if (!stalled && silentNanos >= stallNanos) {
      stalled = true;
      stalledSinceNanos = nowNanos - silentNanos;
      stallsLogged++;
      log.warn("the event loop has ended no pass for {} ms (state {}): this member answers "
          + "neither clients nor peers; every thread's stack follows\n{}",
          silentNanos / 1_000_000, loop.getState(), dump(loop));
      return true;
    }
    if (stalled && silentNanos < stallNanos) {
      stalled = false;
      log.warn("the event loop moves again after about {} ms",
          (nowNanos - stalledSinceNanos) / 1_000_000);
    }
    return false;
  }

  /** Every live thread's stack, {@code first}'s at the top. */
  static String dump(Thread first) {
    StringBuilder sb = new StringBuilder();
    Map<Thread, StackTraceElement[]> all = Thread.getAllStackTraces();
    append(sb, first, all.getOrDefault(first, first.getStackTrace()));
    for (Map.Entry<Thread, StackTraceElement[]> e : all.entrySet()) {
      if (e.getKey() != first) {
        append(sb, e.getKey(), e.getValue());
      }
    }
    return sb.toString();
  }

  private static void append(StringBuilder sb, Thread t, StackTraceElement[] stack) {
    sb.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
    for (int i = 0; i < Math.min(stack.length, FRAMES_MAX); i++) {
      sb.append("    at ").append(stack[i]).append('\n');
    }
    if (stack.length > FRAMES_MAX) {
      sb.append("    ... ").append(stack.length - FRAMES_MAX).append(" more\n");
    }
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
  }
}
