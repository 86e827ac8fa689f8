package io.respawn.node.recovery;

/**
 * The rate of online recovery's background copy (BatchPull), derived from what the new primary
 * measures (DESIGN §5.3: the copy continues "at a rate that keeps PriorityPull latency low"). A
 * command that touches a key not copied yet waits for a priority pull; the copy competes with
 * that pull for the backup's disk and answering thread, the wire and the new primary's node loop,
 * and with the client commands for the cores. So the copy goes as fast as priority pulls stay
 * close to what they cost without it, and slows down as soon as they do not, but never so much
 * that the copy takes more than {@link #COPY_STRETCH_MAX} times as long as an unpaced one.
 *
 * <p>Two costs are measured, both as moving averages:
 *
 * <ul>
 *   <li>the <b>idle priority-pull latency</b>: priority pulls sent while no BatchPull request was
 *       on its way ({@link #onPriorityLatency} with {@code copyIdle}): what a pull costs on this
 *       backup (a direct read of a log page, two hops) with the copy out of the way. The
 *       <b>target</b> is {@link #TARGET_FACTOR} times that, within [{@link #TARGET_MIN_NANOS},
 *       {@link #TARGET_MAX_NANOS}]; {@link #TARGET_DEFAULT_NANOS} until one was measured.
 *   <li>the <b>copy's own rate</b>: the log bytes one BatchPull request asked for over the time
 *       from sending it to its last chunk ({@link #onCopyService}): how fast the copy would
 *       go unpaced, one request after the other. The <b>floor</b> is that rate divided by {@link
 *       #COPY_STRETCH_MAX}, at least {@link #RATE_MIN_BYTES_PER_SECOND}.
 * </ul>
 *
 * <p>A third cost bounds the rate from above: the <b>install time of a chunk</b> on this member's
 * event loop ({@link #onChunkInstall}), which also serves its clients, so every install delays
 * the commands queued behind it, whether they need a pull or not. The <b>loop cap</b> is the rate
 * at which installs would take {@link #LOOP_SHARE_MAX} of the loop's time: {@code LOOP_SHARE_MAX
 * × chunk bytes / install time} ({@link #loopCapBytesPerSecond}). It never pushes the rate below
 * the floor (the copy's length stays bounded).
 *
 * <p>Once per {@link #PERIOD_NANOS} the rate is multiplied by {@code target / latency}, bounded to
 * [{@link #SHRINK_MAX}, {@link #GROWTH_MAX}] per period, and kept within [floor, min({@link
 * #RATE_MAX_BYTES_PER_SECOND}, loop cap)], where {@code latency} is the mean latency of the priority pulls
 * answered in the period, or the wait of the oldest one still unanswered if that is longer (a pull
 * stuck behind the copy counts before it is answered). A period in which no priority pull was
 * answered or waited grows the rate by {@link #GROWTH_MAX}: nobody waits for the backup, so the
 * copy may use it.
 *
 * <p>Worked example (the 2 GiB E2 run on the development machine): priority pulls sent between
 * copy requests take 3.5 ms, so the target is 7 ms; unpaced, a request of one 256 KiB chunk comes
 * back in 4 ms (64 MiB/s), so the floor is 21 MiB/s and the copy of 2 GiB takes at most ~100 s
 * where an unpaced one takes ~33 s. At 64 MiB/s the pulls of a period take 14 ms on average: the
 * rate halves to 32 MiB/s; at 5.6 ms in the next it grows by 7/5.6 = 1.25 to 40 MiB/s; with no
 * command waiting for half a second it is at 40 × 1.25⁵ ≈ 122 MiB/s (the backup's reads and the
 * installs then set the pace, not this).
 *
 * <p>The copy sends a request of {@code chunks} chunks and the next one no earlier than {@link
 * #gapNanos} after it, so that on average it asks for no more than the rate. Owned by the node
 * loop thread; {@link #bytesPerSecond}, {@link #targetNanos} and {@link #floorBytesPerSecond}
 * may be read from any thread (INFO).
 */
public final class CopyPace {
  public static final long PERIOD_NANOS = 100_000_000L;
  /**
   * The copy may make a priority pull this many times slower than it is with the copy out of the
   * way: a command waiting for one pays at most about one more pull.
   */
  static final double TARGET_FACTOR = 2.0;
  /** Below this the target is noise of the clock and the scheduler, not the copy's doing. */
  public static final long TARGET_MIN_NANOS = 1_000_000L;
  /**
   * A backup whose idle pull takes longer than half of this gets this target: beyond it a
   * command waiting for a pull misses any latency SLO anyway, and the floor keeps the copy going.
   */
  public static final long TARGET_MAX_NANOS = 20_000_000L;
  /** The target before any idle priority pull was measured. */
  public static final long TARGET_DEFAULT_NANOS = 2_000_000L;
  /** The online copy takes at most this many times as long as the copy unpaced would. */
  static final double COPY_STRETCH_MAX = 3.0;
  public static final double RATE_START_BYTES_PER_SECOND = 64.0 * (1 << 20);
  /** The floor when the copy's rate is unknown or very low (a slow or busy backup). */
  public static final double RATE_MIN_BYTES_PER_SECOND = 8.0 * (1 << 20);
  public static final double RATE_MAX_BYTES_PER_SECOND = 1024.0 * (1 << 20);
  static final double GROWTH_MAX = 1.25;
  static final double SHRINK_MAX = 0.5;
  /** Weight of a new sample in the moving averages of the idle latency and the copy's rate. */
  static final double SAMPLE_WEIGHT = 0.25;
  /**
   * The share of the event loop's time the copy's installs may take: the rest is the commands'.
   * At half, a chunk installed in 1 ms allows 128 MiB/s; commands at a few thousand a second
   * take a few per cent of the loop, so this bounds the copy only when installs get slow (a
   * loaded machine), where its head-of-line delays would otherwise pile up.
   */
  static final double LOOP_SHARE_MAX = 0.5;
  /** Log bytes of one BatchPull chunk, the unit of an install. */
  static final long CHUNK_BYTES = ValueRecovery.BATCH_CHUNK_BYTES;

  private volatile double bytesPerSecond = RATE_START_BYTES_PER_SECOND;
  private long periodEndsAtNanos = Long.MIN_VALUE;
  private long periodReplies;
  private long periodLatencyNanos;
  /** Moving average of the idle priority-pull latency, 0 before one. */
  private volatile double idleLatencyNanos;
  /** Moving average of the copy's unpaced rate (bytes of values a second), 0 before one. */
  private volatile double copyBytesPerSecond;
  /** Moving average of the time one chunk's install took on the event loop, 0 before one. */
  private volatile double chunkInstallNanos;

  /**
   * A priority pull was answered after {@code nanos}; {@code copyIdle}: no BatchPull request was
   * on its way when it was sent.
   */
  void onPriorityLatency(long nanos, boolean copyIdle) {
    long n = Math.max(0, nanos);
    periodReplies++;
    periodLatencyNanos += n;
    if (copyIdle) {
      double avg = idleLatencyNanos;
      idleLatencyNanos = avg == 0 ? n : avg + SAMPLE_WEIGHT * (n - avg);
    }
  }

  /**
   * A BatchPull request for {@code bytes} of log (its chunks times their size, the unit of {@link
   * #gapNanos}) was answered in full {@code nanos} after it was sent.
   */
  void onCopyService(long bytes, long nanos) {
    if (bytes <= 0 || nanos <= 0) {
      return;
    }
    double rate = bytes * 1e9 / nanos;
    double avg = copyBytesPerSecond;
    copyBytesPerSecond = avg == 0 ? rate : avg + SAMPLE_WEIGHT * (rate - avg);
  }

  /** One BatchPull chunk's values were installed in {@code nanos} on the event loop. */
  void onChunkInstall(long nanos) {
    if (nanos <= 0) {
      return;
    }
    double avg = chunkInstallNanos;
    chunkInstallNanos = avg == 0 ? nanos : avg + SAMPLE_WEIGHT * (nanos - avg);
  }

  /** Moving average of a chunk's install time (0 before one). Any thread. */
  long chunkInstallNanos() {
    return (long) chunkInstallNanos;
  }

  /**
   * The rate at which installs take {@link #LOOP_SHARE_MAX} of the event loop; unbounded
   * (infinity) before an install was measured. Any thread.
   */
  double loopCapBytesPerSecond() {
    double install = chunkInstallNanos;
    return install == 0 ? Double.POSITIVE_INFINITY : LOOP_SHARE_MAX * CHUNK_BYTES * 1e9 / install;
  }

  /** The priority-pull latency the rate aims at now. */
  long targetNanos() {
    double idle = idleLatencyNanos;
    if (idle == 0) {
      return TARGET_DEFAULT_NANOS;
    }
    return Math.clamp((long) (TARGET_FACTOR * idle), TARGET_MIN_NANOS, TARGET_MAX_NANOS);
  }

  /** The lowest rate now: the copy's unpaced rate over {@link #COPY_STRETCH_MAX}, or the minimum. */
  double floorBytesPerSecond() {
    return Math.clamp(copyBytesPerSecond / COPY_STRETCH_MAX, RATE_MIN_BYTES_PER_SECOND,
        RATE_MAX_BYTES_PER_SECOND);
  }

  /**
   * Adjusts the rate if a period has passed. {@code oldestWaitNanos}: how long the oldest priority
   * pull still unanswered has waited (0 if none).
   */
  void control(long nowNanos, long oldestWaitNanos) {
    if (periodEndsAtNanos == Long.MIN_VALUE) {
      periodEndsAtNanos = nowNanos + PERIOD_NANOS;
      return;
    }
    if (nowNanos < periodEndsAtNanos) {
      return;
    }
    long latency = Math.max(periodReplies == 0 ? 0 : periodLatencyNanos / periodReplies,
        Math.max(0, oldestWaitNanos));
    double factor = latency == 0 ? GROWTH_MAX
        : Math.clamp((double) targetNanos() / latency, SHRINK_MAX, GROWTH_MAX);
    double floor = floorBytesPerSecond();
    double ceiling = Math.max(floor, Math.min(RATE_MAX_BYTES_PER_SECOND, loopCapBytesPerSecond()));
    bytesPerSecond = Math.clamp(bytesPerSecond * factor, floor, ceiling);
    periodReplies = 0;
    periodLatencyNanos = 0;
    periodEndsAtNanos = nowNanos + PERIOD_NANOS;
  }

  double bytesPerSecond() {
    return bytesPerSecond;
  }

  /** How long after sending a request of {@code bytes} the next one may go out. */
  long gapNanos(long bytes) {
    return (long) (bytes * 1e9 / bytesPerSecond);
  }

  /** Back to the start rate, costs measured anew (a new recovery). */
  void reset() {
    bytesPerSecond = RATE_START_BYTES_PER_SECOND;
    idleLatencyNanos = 0;
    copyBytesPerSecond = 0;
    chunkInstallNanos = 0;
    periodEndsAtNanos = Long.MIN_VALUE;
    periodReplies = 0;
    periodLatencyNanos = 0;
  }
}
