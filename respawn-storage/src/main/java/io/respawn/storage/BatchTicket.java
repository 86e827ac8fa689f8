package io.respawn.storage;

import java.util.concurrent.CompletableFuture;

/**
 * The {@link WriteTicket} of one batch. Waiting on {@link #durable()} is what tells the engine
 * that someone needs durability now: blocking on it (get/join) runs the fsync in the waiting
 * thread, attaching a dependent action (thenRun, whenComplete...) asks the flusher thread for
 * one. A batch whose caller only waits for ORDERED never causes an fsync of its own; the
 * background flusher makes it durable within flushIntervalMillis.
 *
 * <p>Futures complete on the engine's writer or flusher thread (or the caller's, when it did the
 * work itself): dependent actions should be short or use the *Async variants. A thread that
 * blocks on {@link #durable()} (get/join) runs the fsync itself if none already covers it.
 */
final class BatchTicket implements WriteTicket {
  private final LogEngine engine;
  private final long sequence;
  final CompletableFuture<Void> ordered = new CompletableFuture<>();
  final CompletableFuture<Void> durable = new HelpingFuture();

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

  /**
   * A durability future whose blocking waits help: a thread about to block in get/join first
   * writes and fsyncs the log itself (unless an fsync already running covers this batch), so
   * waiting writers combine their fsyncs without a hand-off to the flusher thread. Callers that
   * never block (thenRun...) are served by the flusher.
   */
  private final class HelpingFuture extends CompletableFuture<Void> {
    @Override
    public Void get() throws InterruptedException, java.util.concurrent.ExecutionException {
      help();
      return super.get();
    }

    @Override
    public Void get(long timeout, java.util.concurrent.TimeUnit unit)
        throws InterruptedException, java.util.concurrent.ExecutionException,
            java.util.concurrent.TimeoutException {
      help();
      return super.get(timeout, unit);
    }

    @Override
    public Void join() {
      help();
      return super.join();
    }

    /** Every dependent stage (thenRun, whenComplete, handle...) is created here: a waiter. */
    @Override
    public <U> CompletableFuture<U> newIncompleteFuture() {
      if (!isDone()) {
        engine.requestSync(sequence);
      }
      return new CompletableFuture<>();
    }

    private void help() {
      if (!isDone()) {
        engine.helpSync(sequence);
      }
    }
  }

  @Override
  public String toString() {
    return "BatchTicket[" + sequence + "]";
  }
}
