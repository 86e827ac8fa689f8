package io.respawn.server.solo.monitor;

import java.util.Locale;

/**
 * Where one takeover spent its time, phase by phase, as the monitor measured it: what explains a
 * failover latency (E3 compares SpecREDS's with the oracle's phase by phase).
 *
 * <pre>
 *  event ─▶ detected ─▶ standby taken ─▶ super (SpecREDS) or fence ─▶ recovered ─▶ promoted ─▶ serving ─▶ switch published
 *           │detectedAtEpochMillis│ standbyMillis │ superMillis         │recoverMillis│promoteMillis│serveMillis │
 * </pre>
 *
 * Times are wall-clock epoch milliseconds for the two instants another process compares with its
 * own clock (a bench that knows when it killed the node), durations in milliseconds otherwise.
 *
 * @param mode how the monitor took over
 * @param cause what the detection was: {@code connection-lost}, {@code silent}, {@code timeout}
 *     or {@code exited}
 * @param detectedAtEpochMillis when the monitor's decision loop saw the failure (or suspicion)
 * @param standbyMillis detection to a standby in hand (0 when one was ready)
 * @param superMillis super (SpecREDS) or super + promote (the fence of REDS and the oracle)
 * @param recoverMillis RECOVER sent to its reply received, as the monitor saw it
 * @param standbyRecoverMillis the recovery as the standby timed it (in {@code +RECOVERED})
 * @param promoteMillis collapse and promote after the recovery (SpecREDS; 0 otherwise)
 * @param serveMillis SERVE sent to {@code +SERVING} received
 * @param switchedAtEpochMillis when the listeners (stdout, Sentinel subscribers) heard of it
 */
public record TakeoverPhases(FailoverMode mode, String cause, long detectedAtEpochMillis,
    long standbyMillis, long superMillis, long recoverMillis, long standbyRecoverMillis,
    long promoteMillis, long serveMillis, long switchedAtEpochMillis) {

  public TakeoverPhases {
    if (cause == null || cause.isEmpty() || cause.indexOf(' ') >= 0) {
      throw new IllegalArgumentException("cause must be one word, got '" + cause + "'");
    }
  }

  /** Detection to switch published. */
  public long totalMillis() {
    return switchedAtEpochMillis - detectedAtEpochMillis;
  }

  /**
   * One line of {@code key=value} words, in the order of the phases: what {@code respawn
   * monitor} prints after {@code respawn: phases} and the bench parses.
   */
  public String line() {
    return String.format(Locale.ROOT, "mode=%s cause=%s detected_at_ms=%d standby_ms=%d "
        + "super_ms=%d recover_ms=%d standby_recover_ms=%d promote_ms=%d serve_ms=%d "
        + "switched_at_ms=%d total_ms=%d", mode.name().toLowerCase(Locale.ROOT), cause,
        detectedAtEpochMillis, standbyMillis, superMillis, recoverMillis, standbyRecoverMillis,
        promoteMillis, serveMillis, switchedAtEpochMillis, totalMillis());
  }

  /** The wall-clock epoch milliseconds of a {@link System#nanoTime} instant in the past. */
  static long epochMillisOf(long nanos) {
    return System.currentTimeMillis() - (System.nanoTime() - nanos) / 1_000_000;
  }

  static long millisBetween(long fromNanos, long toNanos) {
    return (toNanos - fromNanos) / 1_000_000;
  }
}
