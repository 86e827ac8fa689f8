package io.respawn.server.shard;

import io.respawn.storage.Mutation;
import io.respawn.storage.WriteTicket;
import java.util.List;

/**
 * The command thread's way into the shard's replicated log (implemented by the node loop).
 *
 * <p>Contract: {@link #propose} never blocks. It returns a ticket whose {@code ordered} future
 * completes once the batch is committed (on the primary, every voting backup and a majority,
 * written in order on each) and applied here, and whose {@code durable} future completes once
 * it is also fsynced on every member of that quorum. Otherwise they fail with a {@link
 * NotPrimaryException} whose text is the whole error reply: at once for a batch refused before
 * it was proposed, when another entry is committed in its place, or, if this member stops being
 * the primary before the outcome is known, with {@code UNCERTAIN} (it may or may not have taken
 * effect). A planned hand-over lets every proposed batch settle before leadership moves, so it
 * causes no {@code UNCERTAIN}. The futures may complete on any thread.
 */
public interface ShardWrites {

  /** Proposes one atomic batch of mutations (see the contract). */
  WriteTicket propose(List<Mutation> batch);

  /**
   * As {@link #propose(List)}; with {@code durableWanted} the primary flushes its log as soon as
   * the batch is appended instead of within its flush interval, because a reply waits for the
   * batch's DURABLE notice.
   */
  default WriteTicket propose(List<Mutation> batch, boolean durableWanted) {
    return propose(batch);
  }

  /**
   * Whether this member may answer reads from its state now: it is the primary and holds a
   * read lease (followers promised not to elect another primary before it runs out).
   */
  boolean mayServeReads();

  /**
   * A write or read this member cannot serve because it is not (or no longer) the primary.
   * {@link #notCarriedOut} says the command certainly did not take effect here and will not
   * (refused before it was proposed, or another entry took its place), so a cluster member may
   * answer it with a redirect to the primary, which the client follows and retries; otherwise
   * (the outcome is unknown, or the primary is overloaded) the text is the reply.
   */
  final class NotPrimaryException extends io.respawn.server.command.ReplyException {
    private static final long serialVersionUID = 1L;
    private final boolean notCarriedOut;

    /** @param fullText the whole error reply, with its Redis error code first */
    public NotPrimaryException(String fullText) {
      this(fullText, false);
    }

    /**
     * @param fullText the whole error reply, with its Redis error code first
     * @param notCarriedOut the command certainly did not and will not take effect
     */
    public NotPrimaryException(String fullText, boolean notCarriedOut) {
      super(fullText);
      this.notCarriedOut = notCarriedOut;
    }

    public boolean notCarriedOut() {
      return notCarriedOut;
    }
  }
}
