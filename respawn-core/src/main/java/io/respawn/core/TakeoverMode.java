package io.respawn.core;

import java.util.Locale;

/**
 * When a follower that may lead (a witness, or the configured primary) campaigns after its leader
 * fell silent. Both are settings of one build (DESIGN §5.3 and §6); safety is the same in both,
 * because real votes always wait for every voter's lease promise (protocol.md §6).
 */
public enum TakeoverMode {
  /**
   * CANDStore's rule: campaign at HARD suspicion of the leader by the phi-accrual detector, or
   * after the randomized election timeout without one, once this node's own lease promise has run
   * out. It goes by silence alone: the runtime's hint that the leader's process is gone
   * ({@link Replica#peerUnreachable}) does not count as suspicion here, so a kill costs the
   * timeout, as in CANDStore.
   */
  HARD_TIMEOUT,
  /**
   * DESIGN §6: from SOFT suspicion (or the hint that the leader's process is gone, which counts
   * as HARD) the runtime warms up (it is told by a {@link SuspicionChange}); once it reports the
   * warm-up done ({@link Replica#warmUpDone}) while the leader is still suspected and this
   * node's lease promise has run out, campaign, if the leader's process is known to be gone or it
   * has been silent for {@link ReplicaConfig#speculativeSilenceMillis()}: no phi threshold. So a
   * kill costs about max(lease, warm-up), and a stall shorter than the silence bound no failover
   * even when the warm-up is quick (a small data set warms up in milliseconds, and the design's
   * "a stall shorter than the warm-up" would then mean any stall longer than the lease). Hearing
   * the leader first ends the suspicion, aborts the warm-up, and nothing changes. Voters grant
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
