package io.respawn.server.mirror;

import io.respawn.storage.WriteTicket;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * When a write is acknowledged to its client with respect to the mirror site (on top of its
 * local durability): per connection with {@code RESPAWN MIRROR LOCAL|NETWORK|REMOTE}, server-wide
 * default {@code --mirror-ack}. As a function it maps a committed batch's ticket to the future
 * the reply must also wait for (done at once when the batch is not mirrored).
 */
public enum MirrorAck implements Function<WriteTicket, CompletableFuture<Void>> {
  /** Local commit; the batch is queued for the mirror (within the link's queue bound). */
  LOCAL,
  /** Local commit, and the batch's data packets and every repair packet covering them are on the wire. */
  NETWORK,
  /** The mirror has applied the batch. */
  REMOTE;

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  @Override
  public CompletableFuture<Void> apply(WriteTicket ticket) {
    return ticket instanceof MirroredTicket m ? m.site().await(this, m.position(), m.startBytes())
        : DONE;
  }
}
