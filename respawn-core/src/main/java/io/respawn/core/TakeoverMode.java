package io.respawn.core;

import java.util.Locale;

/**
 * When a follower that may lead (a witness, or the configured primary) campaigns after its leader
 * fell silent. Both are settings of one build (DESIGN §5.3 and §6); safety is the same in both,
 * because real votes always wait for every voter's lease promise (protocol.md §6).
 */
public enum TakeoverMode {
  /**
   * CANDStore's rule: campaign at HARD suspicion of the leader (with a phi-accrual detector), or
   * after the randomized election timeout without one, once this node's own lease promise has run
   * out.
   */
  HARD_TIMEOUT,
  /**
   * DESIGN §6: from SOFT suspicion the runtime warms up (it is told by a {@link SuspicionChange});
   * as soon as it reports the warm-up done ({@link Replica#warmUpDone}) while the leader is still
   * silent and this node's lease promise has run out, campaign: no hard timeout. Hearing the
   * leader first ends the suspicion, aborts the warm-up, and nothing changes. Voters grant
   * pre-votes once their own promise is over, without waiting out the election timeout.
   */
  SPECULATIVE;

  /** Parses the flag spelling: {@code hard-timeout} or {@code speculative}. */
  public static TakeoverMode parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    return switch (t) {
      case "hard-timeout" -> HARD_TIMEOUT;
      case "speculative" -> SPECULATIVE;
      default -> throw new IllegalArgumentException("takeover '" + text
          + "' is not hard-timeout or speculative");
    };
  }

  /** The flag spelling. */
  public String spelling() {
    return this == HARD_TIMEOUT ? "hard-timeout" : "speculative";
  }
}
