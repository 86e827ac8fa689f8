package io.respawn.server.mirror;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * Reply gates waiting for one cumulative mirror position (admitted, sent or applied) to reach
 * theirs. The command thread adds waiters in increasing position order; the link's thread
 * advances the watermark and completes them. Thread-safe: a waiter added while the watermark
 * moves past it is completed by whichever thread sees both.
 */
final class Waiters {
  private record Waiter(long position, CompletableFuture<Void> gate) {}

  private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

  private final ConcurrentLinkedQueue<Waiter> queue = new ConcurrentLinkedQueue<>();
  private volatile long watermark;
  private volatile Throwable failure;

  /** A future completed once the watermark reaches position. */
  CompletableFuture<Void> await(long position) {
    if (watermark >= position) {
      return DONE;
    }
    Throwable f = failure;
    if (f != null) {
      return CompletableFuture.failedFuture(f);
    }
    CompletableFuture<Void> gate = new CompletableFuture<>();
    queue.add(new Waiter(position, gate));
    if (watermark >= position) {
      gate.complete(null); // advanced meanwhile: the advancing thread may have missed it
    } else if (failure != null) {
      gate.completeExceptionally(failure);
    }
    return gate;
  }

  /** Link thread: the position reached everything up to {@code position}. */
  void advance(long position) {
    if (position <= watermark) {
      return;
    }
    watermark = position;
    for (Waiter w = queue.peek(); w != null && w.position() <= position; w = queue.peek()) {
      queue.poll();
      w.gate().complete(null);
    }
  }

  /** Fails every waiter now and later (the link is gone). */
  void fail(Throwable cause) {
    failure = cause;
    for (Waiter w = queue.poll(); w != null; w = queue.poll()) {
      w.gate().completeExceptionally(cause);
    }
  }

  long watermark() {
    return watermark;
  }
}
