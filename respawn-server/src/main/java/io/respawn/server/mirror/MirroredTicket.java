package io.respawn.server.mirror;

import io.respawn.storage.WriteTicket;
import java.util.concurrent.CompletableFuture;

/**
 * A committed batch's ticket on a primary site that mirrors: the local engine's ticket plus the
 * batch's position in the mirror stream ({@link MirrorAck#apply} waits on the latter).
 *
 * @param startBytes bytes offered to the mirror before this batch (for the queue bound)
 */
record MirroredTicket(WriteTicket local, long position, long startBytes, ShippingSite site)
    implements WriteTicket {

  @Override
  public long sequence() {
    return local.sequence();
  }

  @Override
  public CompletableFuture<Void> ordered() {
    return local.ordered();
  }

  @Override
  public CompletableFuture<Void> durable() {
    return local.durable();
  }
}
