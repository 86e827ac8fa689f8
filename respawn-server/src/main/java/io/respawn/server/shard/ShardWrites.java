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
 * it is also fsynced on every member of that quorum. If this member stops being the primary
 * before the outcome is known, the futures stay pending until the log shows whether the batch
 * survived (its index applied with the term it was proposed in) or not (fails with {@link
 * NotPrimaryException}, whose text is the whole error reply); a batch refused before it was proposed fails at once. The futures may
 * complete on any thread.
 */
public interface ShardWrites {

  /** Proposes one atomic batch of mutations (see the contract). */
  WriteTicket propose(List<Mutation> batch);

  /**
   * Whether this member may answer reads from its state now: it is the primary and holds a
   * read lease (followers promised not to elect another primary before it runs out).
   */
  boolean mayServeReads();

  /** A write or read this member cannot serve because it is not (or no longer) the primary. */
  final class NotPrimaryException extends io.respawn.server.command.ReplyException {
    private static final long serialVersionUID = 1L;

    /** @param fullText the whole error reply, with its Redis error code first */
    public NotPrimaryException(String fullText) {
      super(fullText);
    }
  }
}
