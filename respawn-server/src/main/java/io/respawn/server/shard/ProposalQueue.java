package io.respawn.server.shard;

import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Writes waiting for the node loop's next pass, from every client connection: the loop takes
 * them all at once and proposes them as one batch (one log append, one AppendEntries per
 * follower). Bounded by count and bytes; past either bound {@link #offer} refuses, and the
 * client gets {@code -TRYAGAIN} instead of the node buffering without limit.
 *
 * <p>Thread-safe: the command thread offers, the node loop drains.
 */
final class ProposalQueue {
  /** One batch from the command thread and the futures its ticket hands out. */
  record Pending(List<Mutation> batch, byte[] payload, List<byte[]> keys,
      CompletableFuture<Void> ordered, CompletableFuture<Void> durable) {}

  private final int countMax;
  private final long bytesMax;
  private List<Pending> queue = new ArrayList<>();
  private long bytes;

  ProposalQueue(int countMax, long bytesMax) {
    if (countMax < 1 || bytesMax < 1) {
      throw new IllegalArgumentException("countMax and bytesMax must be >= 1");
    }
    this.countMax = countMax;
    this.bytesMax = bytesMax;
  }

  /** Queues a batch; null when the queue is full (the caller refuses the write). */
  Pending offer(List<Mutation> batch) {
    byte[] payload = MutationBatchCodec.encode(batch);
    List<byte[]> keys = new ArrayList<>(batch.size());
    for (Mutation m : batch) {
      if (m.kind() != Mutation.Kind.CLEAR) {
        keys.add(m.key());
      }
    }
    Pending p = new Pending(batch, payload, keys, new CompletableFuture<>(),
        new CompletableFuture<>());
    synchronized (this) {
      if (queue.size() >= countMax || (bytes + payload.length > bytesMax && !queue.isEmpty())) {
        return null;
      }
      queue.add(p);
      bytes += payload.length;
    }
    return p;
  }

  /** Everything queued, oldest first; the queue is empty afterwards. */
  synchronized List<Pending> drain() {
    if (queue.isEmpty()) {
      return List.of();
    }
    List<Pending> out = queue;
    queue = new ArrayList<>();
    bytes = 0;
    return out;
  }

  synchronized int size() {
    return queue.size();
  }
}
