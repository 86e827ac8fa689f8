package io.respawn.storage;

import java.util.concurrent.CompletableFuture;

/**
 * What {@link KvStore#apply} hands back for one atomic batch.
 *
 * <p>{@link #ordered()} completes when the batch is in the log in order (written to the file,
 * not necessarily flushed); {@link #durable()} — the durability notice — completes when it is on
 * stable storage. Both complete exceptionally with a {@link StorageException} if the write
 * failed (for example a full disk); a failed batch is never acknowledged.
 */
public interface WriteTicket {
  /** Position of this batch in the log's write order; larger means later. */
  long sequence();

  CompletableFuture<Void> ordered();

  CompletableFuture<Void> durable();

  /** The future matching the given acknowledgement level. */
  default CompletableFuture<Void> acknowledged(Durability durability) {
    return durability == Durability.DURABLE ? durable() : ordered();
  }

  /** A ticket made of two futures someone else completes. */
  static WriteTicket of(long sequence, CompletableFuture<Void> ordered,
      CompletableFuture<Void> durable) {
    return new Futures(sequence, ordered, durable);
  }

  /** See {@link #of}. */
  record Futures(long sequence, CompletableFuture<Void> ordered, CompletableFuture<Void> durable)
      implements WriteTicket {}
}
