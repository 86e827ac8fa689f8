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
 * tick ({@link NodeLoop#TICK_NANOS}) when it is healthy, or by the wake-up it armed when it is
 * idle (up to {@link NodeLoop#IDLE_TICK_NANOS_MAX} ahead): silence counts from the later of its
 * last pass's end and that wake-up less a tick, so any stall this long is a collection pause or
 * worse.
 *
 * <p><b>Hiccups.</b> Shorter stalls cost the clients latency, not availability: every client of
 * a new primary once waited 50-120 ms at once, several times during a recovery, with no
 * collection pause in the GC log. So the watchdog also looks when the loop, had it ended no pass
 * since its last, would have been silent {@link #HICCUP_NANOS} (ten ticks): a healthy loop has
 * ended another by then, and the watchdog sleeps on to the new due time (about 50 looks a
 * second, against 200 when it looked every {@link #HICCUP_CHECK_MILLIS}: each look is a wake-up
 * of a thread on cores the clients and the other members share). Once the loop is that silent it
 * samples the loop's stack, looks every {@link #HICCUP_CHECK_MILLIS} until passes end again, and
 * then logs one line: how long, the stack sampled, and how late the watchdog itself woke
 * meanwhile. A watchdog that woke about as late as the stall lasted
 * says the whole process or the machine stood still (a safepoint, no CPU); one that woke on
 * time says the loop itself was busy or blocked, and the stack says on what. At most {@link
 * #HICCUPS_LOGGED_PER_MINUTE} such lines a minute.
 *
 * <p><b>The JIT's C2 compiler threads</b> are kept at background priority from here too ({@link
 * io.respawn.storage.BackgroundPriority#lowerJitCompilerThreads}, once at start and every {@link
 * #JIT_RESCAN_CHECKS} checks, since the JVM may start compiler threads later): C2 recompiling the
 * recovery code on a new primary and its backup at once was what stalled every client of the
 * shard 25-40 ms at a time in E2. {@code -Drespawn.jitAtBackgroundPriority=false} leaves them be.
 *
 * <p>Threads: one daemon thread ({@code respawn-loop-watchdog}) that sleeps until its next look
 * ({@link #nextLookNanos}).
 */
final class LoopWatchdog implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LoopWatchdog.class);
  /** How often the loop's progress is checked. */
  static final long CHECK_MILLIS = 1_000;
  /** Frames of each thread's stack written to the log. */
  static final int FRAMES_MAX = 40;
  /** How often the loop is looked at during a hiccup (and before its first pass). */
  static final long HICCUP_CHECK_MILLIS = 5;
  /** A loop silent this long has a hiccup (a healthy one ends a pass every tick it owes). */
  static final long HICCUP_NANOS = 20_000_000L;
  static final int HICCUPS_LOGGED_PER_MINUTE = 20;
  /** {@code -Drespawn.loopHiccups=false} turns the hiccup checks off (the stall check stays). */
  static final boolean HICCUPS = !"false".equals(System.getProperty("respawn.loopHiccups"));
  /** {@code -Drespawn.jitAtBackgroundPriority=false} leaves the JIT's threads at their priority. */
  static final boolean JIT_AT_BACKGROUND_PRIORITY =
      !"false".equals(System.getProperty("respawn.jitAtBackgroundPriority"));
  /** The JIT's threads are looked for again every this many progress checks (10 s). */
  static final int JIT_RESCAN_CHECKS = 10;
  /**
   * A hiccup's stack is sampled only at a check that woke at most this late. Sampling another
   * thread's stack is a handshake with it; with the process starved of CPU (the watchdog itself
   * late) the loop is only waiting for a core, the stack says nothing, and the handshake cost the
   * watchdog 13 ms of CPU per hiccup while the loops waited for it (E2, per-thread schedstat).
   */
  static final long HICCUP_SAMPLE_LATE_MAX_NANOS = 5_000_000L;
  /** Frames of the loop's stack a hiccup line shows. */
  static final int HICCUP_FRAMES_MAX = 16;

  private final Supplier<Thread> loopThread;
  private final LongSupplier lastPassEndNanos;
  private final long stallNanos;
  private final Thread thread;
  private volatile boolean running = true;
  private long stallsLogged;

  /**
   * @param loopThread the loop's thread (null until its first pass)
   * @param lastPassEndNanos since when the loop owes a pass ({@link System#nanoTime}): when it
   *     last ended one, or later when it armed its next wake-up further ahead than a tick
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
    long checkNanos = TimeUnit.MILLISECONDS.toNanos(CHECK_MILLIS);
    long nextCheck = System.nanoTime() + checkNanos;
    int checksUntilJitRescan = 0;
    while (running) {
      long wakeAt = nextLookNanos(System.nanoTime(), nextCheck);
      try {
        TimeUnit.NANOSECONDS.sleep(wakeAt - System.nanoTime());
      } catch (InterruptedException e) {
        return;
      }
      long now = System.nanoTime();
      if (HICCUPS) {
        checkHiccup(now, Math.max(0, now - wakeAt));
      }
      if (now >= nextCheck) {
        if (JIT_AT_BACKGROUND_PRIORITY && checksUntilJitRescan-- <= 0) {
          io.respawn.storage.BackgroundPriority.lowerJitCompilerThreads();
          checksUntilJitRescan = JIT_RESCAN_CHECKS;
        }
        check(now);
        nextCheck = now + checkNanos;
      }
    }
  }

  /**
   * When to look next, at {@code nowNanos}, with the stall check due at {@code nextCheckNanos}:
   * that check; and with hiccup checks on, sooner if the loop would have been silent {@link
   * #HICCUP_NANOS} by then, or in {@link #HICCUP_CHECK_MILLIS} during a hiccup and before the
   * loop's first pass. Never before {@code nowNanos}. Watchdog thread (and tests).
   */
  long nextLookNanos(long nowNanos, long nextCheckNanos) {
    long at = nextCheckNanos;
    if (HICCUPS) {
      long during = nowNanos + TimeUnit.MILLISECONDS.toNanos(HICCUP_CHECK_MILLIS);
      at = Math.min(at, inHiccup || loopThread.get() == null ? during
          : lastPassEndNanos.getAsLong() + HICCUP_NANOS);
    }
    return Math.max(at, nowNanos);
  }

  private boolean inHiccup;
  private long hiccupFromNanos;
  private long hiccupStackAtNanos;
  private StackTraceElement[] hiccupStack;
  private long hiccupWokeLateMaxNanos;
  private long hiccups;
  private long hiccupLogMinuteStartNanos;
  private int hiccupsLoggedThisMinute;
  private long hiccupsNotLogged;

  /** Hiccups seen so far (logged or not). */
  long hiccups() {
    return hiccups;
  }

  /**
   * One hiccup check at {@code nowNanos}, the watchdog having woken {@code wokeLateNanos} later
   * than it asked to; returns the line logged when a hiccup ended, else null. Watchdog thread
   * (and tests).
   */
  String checkHiccup(long nowNanos, long wokeLateNanos) {
    long lastPass = lastPassEndNanos.getAsLong();
    long silentNanos = nowNanos - lastPass;
    Thread loop = loopThread.get();
    if (loop == null) {
      return null;
    }
    if (!inHiccup) {
      if (silentNanos >= HICCUP_NANOS) {
        inHiccup = true;
        hiccupFromNanos = lastPass;
        hiccupWokeLateMaxNanos = wokeLateNanos;
        hiccupStack = null;
        maybeSampleHiccupStack(loop, nowNanos, wokeLateNanos);
      }
      return null;
    }
    hiccupWokeLateMaxNanos = Math.max(hiccupWokeLateMaxNanos, wokeLateNanos);
    if (lastPass == hiccupFromNanos) {
      maybeSampleHiccupStack(loop, nowNanos, wokeLateNanos);
      return null; // still no pass
    }
    inHiccup = false;
    hiccups++;
    long lastedMillis = (lastPass - hiccupFromNanos) / 1_000_000;
    long lateMillis = hiccupWokeLateMaxNanos / 1_000_000;
    if (!hiccupLineLeft(nowNanos)) {
      hiccupsNotLogged++;
      return null;
    }
    hiccupsLoggedThisMinute++;
    StringBuilder sb = new StringBuilder();
    sb.append("the event loop ended no pass for ").append(lastedMillis).append(" ms; this watchdog ")
        .append("woke up to ").append(lateMillis).append(" ms late meanwhile (")
        .append(lateMillis * 2 >= lastedMillis
            ? "the whole process or the machine stood still: a safepoint or no CPU"
            : "the loop itself was busy or blocked")
        .append(')');
    if (hiccupsNotLogged > 0) {
      sb.append("; ").append(hiccupsNotLogged).append(" more before it were not logged");
      hiccupsNotLogged = 0;
    }
    StackTraceElement[] stack = hiccupStack;
    if (stack == null) {
      sb.append("; the loop's stack was not sampled (this watchdog woke late at every look)\n");
    } else {
      sb.append("; the loop's stack ").append((hiccupStackAtNanos - hiccupFromNanos) / 1_000_000)
          .append(" ms in:\n");
      for (int i = 0; i < Math.min(stack.length, HICCUP_FRAMES_MAX); i++) {
        sb.append("    at ").append(stack[i]).append('\n');
      }
    }
    hiccupStack = null;
    String line = sb.toString();
    log.info(line);
    return line;
  }

  /**
   * Samples the loop's stack for the current hiccup once, at a look that woke on time, and only
   * while this minute's hiccup lines are not used up (a line that will not be logged needs none).
   */
  private void maybeSampleHiccupStack(Thread loop, long nowNanos, long wokeLateNanos) {
    if (hiccupStack == null && wokeLateNanos <= HICCUP_SAMPLE_LATE_MAX_NANOS
        && hiccupLineLeft(nowNanos)) {
      hiccupStackAtNanos = nowNanos;
      hiccupStack = loop.getStackTrace();
    }
  }

  /** Whether this minute may still log a hiccup line (a new minute starts the count again). */
  private boolean hiccupLineLeft(long nowNanos) {
    if (nowNanos - hiccupLogMinuteStartNanos >= TimeUnit.MINUTES.toNanos(1)) {
      hiccupLogMinuteStartNanos = nowNanos;
      hiccupsLoggedThisMinute = 0;
    }
    return hiccupsLoggedThisMinute < HICCUPS_LOGGED_PER_MINUTE;
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
