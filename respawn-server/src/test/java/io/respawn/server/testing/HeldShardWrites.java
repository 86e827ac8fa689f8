package io.respawn.server.testing;

import io.respawn.server.shard.ShardWrites;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.WriteTicket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A shard's log as a primary's command thread sees it, for tests: every proposal waits until the
 * test commits it ({@link #commitNext}: applied to the state machine first, then acknowledged, as
 * the node loop does) or fails it through {@link #ordered}. One future serves both levels.
 */
public final class HeldShardWrites implements ShardWrites {
  public final List<List<Mutation>> proposed = new ArrayList<>();
  public final List<CompletableFuture<Void>> ordered = new ArrayList<>();
  public final List<Boolean> durableWanted = new ArrayList<>();
  /** What {@link #mayServeReads} answers (the primary's lease). */
  public volatile boolean serving = true;
  private final KvStore stateMachine;
  private int committed;

  /** @param stateMachine where committed batches are applied; null to apply nothing */
  public HeldShardWrites(KvStore stateMachine) {
    this.stateMachine = stateMachine;
  }

  @Override
  public WriteTicket propose(List<Mutation> batch, boolean durable) {
    durableWanted.add(durable);
    return add(batch);
  }

  @Override
  public WriteTicket propose(List<Mutation> batch) {
    durableWanted.add(false);
    return add(batch);
  }

  private WriteTicket add(List<Mutation> batch) {
    proposed.add(batch);
    CompletableFuture<Void> f = new CompletableFuture<>();
    ordered.add(f);
    long seq = proposed.size();
    return WriteTicket.of(seq, f, f);
  }

  @Override
  public boolean mayServeReads() {
    return serving;
  }

  /** Commits the oldest proposal not committed yet. */
  public void commitNext() {
    if (stateMachine != null) {
      stateMachine.apply(proposed.get(committed));
    }
    ordered.get(committed++).complete(null);
  }

  /** Commits every proposal not committed yet. */
  public void commitAll() {
    while (committed < proposed.size()) {
      commitNext();
    }
  }
}
