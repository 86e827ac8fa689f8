package io.respawn.core;

/**
 * Lease arithmetic and the leader's record of when it sent each heartbeat sequence number.
 * Owned by {@link Replica}.
 *
 * <p><b>Math.</b> Every clock runs at a rate within [1 - ρ, 1 + ρ] of real time
 * (ρ = {@link ReplicaConfig#clockDriftMax()}). The leader holds a lease for {@code L} on its own
 * clock from the <em>send</em> time of a heartbeat a write quorum acknowledged; that is at most
 * L / (1 - ρ) real time. A follower that acknowledges promises, from when it <em>received</em>
 * it (later than the send), to refuse votes for {@code P = ceil(L (1 + ρ) / (1 - ρ))} on its
 * clock, which lasts at least P / (1 + ρ) >= L / (1 - ρ) real time. So every follower's promise
 * outlives the leader's lease, and no other leader can be elected while the lease holds.
 */
final class Lease {
  /** Heartbeat sequence numbers remembered for matching acks; older acks are ignored. */
  static final int SEQS_REMEMBERED = 4096;

  private final long leaseNanos;
  private final long promiseNanos;
  private final long[] sentAt = new long[SEQS_REMEMBERED]; // ring: sentAt[seq % size]
  private long nextSeq = 1;
  private long oldestSeq = 1;

  Lease(long leaseMillis, double clockDriftMax) {
    this.leaseNanos = leaseMillis * 1_000_000L;
    this.promiseNanos = promiseNanos(leaseMillis, clockDriftMax);
  }

  /** Follower promise length on its own clock for a leader lease of {@code leaseMillis}. */
  static long promiseNanos(long leaseMillis, double clockDriftMax) {
    double p = leaseMillis * 1_000_000.0 * (1 + clockDriftMax) / (1 - clockDriftMax);
    return (long) Math.ceil(p) + 1;
  }

  long leaseNanos() {
    return leaseNanos;
  }

  long promiseNanos() {
    return promiseNanos;
  }

  /** Allocates a heartbeat sequence number sent at {@code nowNanos}. */
  long nextHeartbeat(long nowNanos) {
    long seq = nextSeq++;
    sentAt[(int) (seq % SEQS_REMEMBERED)] = nowNanos;
    oldestSeq = Math.max(oldestSeq, seq - SEQS_REMEMBERED + 1);
    return seq;
  }

  /** The sequence number the next heartbeat will get. */
  long nextSeq() {
    return nextSeq;
  }

  /** When heartbeat {@code seq} was sent, or {@link Long#MIN_VALUE} if unknown/forgotten. */
  long sentNanos(long seq) {
    if (seq < oldestSeq || seq >= nextSeq) {
      return Long.MIN_VALUE;
    }
    return sentAt[(int) (seq % SEQS_REMEMBERED)];
  }

  /** Forgets all sequence numbers (new term). */
  void reset() {
    oldestSeq = nextSeq;
  }
}
