package io.respawn.core;

/**
 * The core's answer to a {@link ReadRequest}.
 *
 * <p>{@code ok}: the runtime may serve the read from its state machine once it has applied every
 * entry up to {@code readIndex} (entries up to it are in this or an earlier {@link Ready}'s
 * committed entries). Otherwise {@code refusal} says why (not leader, no lease, no commit in the
 * current term yet) and the client should retry, possibly elsewhere.
 */
public record ReadResult(long id, boolean ok, long readIndex, Refusal refusal) {
  /** Why a read was refused. */
  public enum Refusal {
    NONE,
    /** This node is not the leader. */
    NOT_LEADER,
    /** Leader, but it holds no quorum of unexpired heartbeat acknowledgements. */
    NO_LEASE,
    /** Leader, but nothing of its own term is committed yet, so its commit index may be stale. */
    NOT_READY
  }

  public static ReadResult ok(long id, long readIndex) {
    return new ReadResult(id, true, readIndex, Refusal.NONE);
  }

  public static ReadResult refused(long id, Refusal why) {
    return new ReadResult(id, false, -1, why);
  }
}
