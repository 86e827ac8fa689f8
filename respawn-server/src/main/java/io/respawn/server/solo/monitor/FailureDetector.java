package io.respawn.server.solo.monitor;

/**
 * Turns what the heartbeat probe saw into a verdict about the serving node. Pure: time is passed
 * in, so a test drives it with numbers.
 *
 * <p>Timeout detector: {@link Verdict#SUSPECT} as soon as the node is silent for {@code
 * suspectMillis} or its connection was lost or refused since its last answer (the first sign
 * something is wrong: cheap to act on when acting is speculative); {@link Verdict#DOWN} once it
 * has been silent for {@code timeoutMillis} (the hard timeout REDS must wait for). Invariant:
 * {@code 0 < suspectMillis <= timeoutMillis}.
 */
public record FailureDetector(long suspectMillis, long timeoutMillis) {

  /** What the monitor believes about the node now. */
  public enum Verdict {
    /** Answered recently; nothing to do. */
    UP,
    /** A first sign of failure: SpecREDS starts speculating. */
    SUSPECT,
    /** Silent past the hard timeout: REDS fails over. */
    DOWN
  }

  public FailureDetector {
    if (suspectMillis < 1) {
      throw new IllegalArgumentException("suspectMillis must be >= 1, got " + suspectMillis);
    }
    if (timeoutMillis < suspectMillis) {
      throw new IllegalArgumentException("timeoutMillis " + timeoutMillis
          + " must be >= suspectMillis " + suspectMillis);
    }
  }

  /**
   * @param lastReplyNanos when the node last answered a heartbeat
   * @param lostAtNanos when its connection was lost or refused after that answer, or -1
   */
  public Verdict assess(long nowNanos, long lastReplyNanos, long lostAtNanos) {
    long silentMillis = (nowNanos - lastReplyNanos) / 1_000_000;
    if (silentMillis >= timeoutMillis) {
      return Verdict.DOWN;
    }
    if (silentMillis >= suspectMillis || lostAtNanos >= 0) {
      return Verdict.SUSPECT;
    }
    return Verdict.UP;
  }
}
