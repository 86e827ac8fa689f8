package io.respawn.node;

import io.respawn.core.NodeId;
import io.respawn.core.ReadResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * The runtime's reads, from queued to served: queued until the next batch, submitted to the core
 * as one lease check per batch, then waiting until the state machine has applied the read index
 * (and any index the read observed). Owned by {@link NodeRuntime}.
 *
 * <p>Invariant: {@code waiting <= readsWaitingMax}; a read is served only after the core allowed
 * it under a lease and the store applied {@code max(readIndex, observedIndex)}.
 */
final class Reads<V> {
  private record Pending<V>(byte[] key, long observedIndex, CompletableFuture<V> future) {}

  private record Waiting<V>(long waitIndex, long order, Pending<V> read) {}

  private final RuntimeConfig config;
  private final ArrayDeque<Pending<V>> queued = new ArrayDeque<>();
  private final Map<Long, List<Pending<V>>> submitted = new HashMap<>();
  private final PriorityQueue<Waiting<V>> waiting = new PriorityQueue<>(
      (a, b) -> a.waitIndex != b.waitIndex ? Long.compare(a.waitIndex, b.waitIndex)
          : Long.compare(a.order, b.order));
  private long nextId = 1;
  private long order;

  Reads(RuntimeConfig config) {
    this.config = config;
  }

  CompletableFuture<V> offer(byte[] key, long observedIndex, NodeId leaderHint) {
    CompletableFuture<V> f = new CompletableFuture<>();
    if (queued.size() >= config.readsQueuedMax()
        || waiting.size() + queued.size() >= config.readsWaitingMax()) {
      f.completeExceptionally(new Refusal(Refusal.Reason.QUEUE_FULL, leaderHint, "read queue full: "
          + queued.size() + " queued (readsQueuedMax " + config.readsQueuedMax() + "), "
          + waiting.size() + " waiting (readsWaitingMax " + config.readsWaitingMax() + ")"));
      return f;
    }
    queued.add(new Pending<>(key.clone(), observedIndex, f));
    return f;
  }

  boolean hasQueued() {
    return !queued.isEmpty();
  }

  /** Moves every queued read into one batch under a new read id; returns the id. */
  long submitQueued() {
    long id = nextId++;
    submitted.put(id, new ArrayList<>(queued));
    queued.clear();
    return id;
  }

  /** The core answered a batch: refused reads fail, allowed ones wait for their index. */
  void answered(ReadResult r, NodeId leaderHint) {
    List<Pending<V>> batch = submitted.remove(r.id());
    if (batch == null) {
      return;
    }
    if (!r.ok()) {
      Refusal.Reason reason = switch (r.refusal()) {
        case NOT_READY -> Refusal.Reason.NOT_READY;
        case NO_LEASE -> Refusal.Reason.NO_LEASE;
        default -> Refusal.Reason.NOT_LEADER;
      };
      Refusal no = new Refusal(reason, leaderHint, "read refused: " + r.refusal());
      for (Pending<V> p : batch) {
        p.future().completeExceptionally(no);
      }
      return;
    }
    for (Pending<V> p : batch) {
      waiting.add(new Waiting<>(Math.max(r.readIndex(), p.observedIndex()), order++, p));
    }
  }

  /** Serves every waiting read whose index is applied, with {@code read}. */
  void serve(long appliedIndex, Function<byte[], V> read) {
    while (!waiting.isEmpty() && waiting.peek().waitIndex() <= appliedIndex) {
      Pending<V> p = waiting.poll().read();
      p.future().complete(read.apply(p.key()));
    }
  }

  int waiting() {
    return waiting.size();
  }

  void failAll(Refusal why) {
    for (Pending<V> p : queued) {
      p.future().completeExceptionally(why);
    }
    for (List<Pending<V>> batch : submitted.values()) {
      for (Pending<V> p : batch) {
        p.future().completeExceptionally(why);
      }
    }
    for (Waiting<V> w : waiting) {
      w.read().future().completeExceptionally(why);
    }
    queued.clear();
    submitted.clear();
    waiting.clear();
  }
}
