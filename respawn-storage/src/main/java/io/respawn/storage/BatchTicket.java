package io.respawn.storage;

import java.util.concurrent.CompletableFuture;

/**
 * The {@link WriteTicket} of one batch. Asking for {@link #durable()} is what tells the engine
 * that someone waits for durability, so a batch whose caller only wants ORDERED never causes an
 * fsync of its own (the background flusher makes it durable later).
 *
 * <p>Futures complete on the engine's writer or flusher thread (or the caller's, when it did the
 * work itself): dependent actions should be short or use the *Async variants.
 */
final class BatchTicket implements WriteTicket {
  private final LogEngine engine;
  private final long sequence;
  final CompletableFuture<Void> ordered = new CompletableFuture<>();
  final CompletableFuture<Void> durable = new CompletableFuture<>();

  BatchTicket(LogEngine engine, long sequence) {
    this.engine = engine;
    this.sequence = sequence;
  }

  @Override
  public long sequence() {
    return sequence;
  }

  @Override
  public CompletableFuture<Void> ordered() {
    return ordered;
  }

  @Override
  public CompletableFuture<Void> durable() {
    if (!durable.isDone()) {
      engine.requestSync(sequence);
    }
    return durable;
  }

  void completeOrdered() {
    ordered.complete(null);
  }

  void completeDurable() {
    ordered.complete(null);
    durable.complete(null);
  }

  void fail(StorageException e) {
    ordered.completeExceptionally(e);
    durable.completeExceptionally(e);
  }

  @Override
  public String toString() {
    return "BatchTicket[" + sequence + "]";
  }
}
