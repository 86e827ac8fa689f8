package io.respawn.server.shard;

import io.respawn.core.Variant;
import io.respawn.node.InFlightWrites;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The store the command layer sees on a member of a replicated shard: writes are proposed to
 * the shard's log ({@link ShardWrites}) instead of written locally, and reads come from the
 * state the committed log built here ({@code applied}), overlaid with this primary's own
 * in-flight writes ({@link InFlightWrites}) so that later commands see earlier ones in log
 * order. A read is refused unless this member holds the primary's read lease.
 *
 * <p>A read that returned an in-flight value must not be answered before that write commits
 * (else a client could see a value a failover then loses): {@link #takeReadGate} hands the
 * caller the commit future of the newest in-flight write any read observed since the last
 * call.
 *
 * <p>The command thread calls everything; write futures complete on the node loop.
 */
public final class ReplicatedStore implements KvStore {
  private final KvStore applied;
  private final ShardWrites writes;
  private final io.respawn.storage.backup.PopularitySampler sampler;
  private final InFlightWrites inFlight;
  private volatile java.util.function.Predicate<byte[]> pending;
  private long nextSequence = 1;
  /**
   * The newest in-flight write a read observed since the last takeReadGate (the change, with its
   * commit future), or null; command thread.
   */
  private InFlightWrites.Change observed;
  /** {@link #readAcknowledgedOnly}: reads leave the in-flight writes out; command thread. */
  private boolean acknowledgedOnly;
  private CompletableFuture<Void> newestOrdered = CompletableFuture.completedFuture(null);
  private CompletableFuture<Void> newestDurable = CompletableFuture.completedFuture(null);

  public ReplicatedStore(KvStore applied, ShardWrites writes) {
    this(applied, writes, null, Variant.CORRECT);
  }

  /**
   * @param sampler takes every key this member reads or writes while it leads (popularity for
   *     the backups' hot and cold logs); null for none
   * @param variant the shard's protocol variant ({@link Variant#CORRECT} but in teeth tests)
   */
  public ReplicatedStore(KvStore applied, ShardWrites writes,
      io.respawn.storage.backup.PopularitySampler sampler, Variant variant) {
    this.inFlight = new InFlightWrites(variant);
    this.applied = applied;
    this.writes = writes;
    this.sampler = sampler;
  }

  @Override
  public StoredValue get(byte[] key) {
    requireReadLease();
    if (sampler != null) {
      sampler.observe(key);
    }
    InFlightWrites.Change c = acknowledgedOnly ? null : inFlight.lookup(key);
    if (c != null) {
      observe(c);
      return c.value();
    }
    StoredValue v = applied.get(key);
    if (v == null && pending != null && pending.test(key)) {
      // Online recovery holds every command whose key is pending before it runs (Dispatcher);
      // should one get here anyway, "absent" would be wrong: the value is on a backup.
      throw new ShardWrites.NotPrimaryException(
          "TRYAGAIN the value of this key is still being pulled from a backup; retry", true);
    }
    return v;
  }

  /**
   * Active expiry's question about every key it examines, answered like {@link #get} but
   * without copying the value, and without sampling the key: a sweep that visits 2,000 keys a
   * second is no client's access, and sampled it drowned the popular set in keys touched once
   * (the backups' hot log then lost half its keys at every report). No client is answered from
   * it, so it does not enter the read gate. A key whose value is still on a backup reads as
   * "no expiry known" (0): it expires lazily once its value is back.
   */
  @Override
  public long expiresAtMillis(byte[] key) {
    requireReadLease();
    InFlightWrites.Change c = acknowledgedOnly ? null : inFlight.lookup(key);
    if (c != null) {
      return c.deleted() ? -1 : c.value().expiresAtMillis();
    }
    long expiresAt = applied.expiresAtMillis(key);
    if (expiresAt == -1 && pending != null && pending.test(key)) {
      return 0;
    }
    return expiresAt;
  }

  private void requireReadLease() {
    if (!writes.mayServeReads()) {
      throw new ShardWrites.NotPrimaryException(
          "TRYAGAIN this member holds no primary read lease right now; retry", true);
    }
  }

  /** Keys whose values are still on a backup (online recovery): never read as absent. */
  public void pendingValues(java.util.function.Predicate<byte[]> pending) {
    this.pending = pending;
  }

  @Override
  public WriteTicket apply(List<Mutation> batch) {
    return apply(batch, false);
  }

  @Override
  public WriteTicket apply(List<Mutation> batch, boolean durableWanted) {
    long sequence = nextSequence++;
    // Proposed first, then in flight: only this thread reads, so no command runs in between.
    WriteTicket t = writes.propose(batch, durableWanted);
    if (sampler != null) {
      for (Mutation m : batch) {
        if (m.kind() != Mutation.Kind.CLEAR) {
          sampler.observe(m.key());
        }
      }
    }
    CompletableFuture<Void> ordered = t.ordered();
    inFlight.add(sequence, batch, ordered);
    // Applied (or settled otherwise): the state machine has it, or it never happened.
    ordered.whenComplete((v, e) -> inFlight.settle(sequence));
    newestOrdered = ordered;
    newestDurable = t.durable();
    return WriteTicket.of(sequence, ordered, t.durable());
  }

  /**
   * The commit future a reply must wait for because a read since the last call observed an
   * in-flight write, or null when no read did.
   */
  @Override
  public CompletableFuture<Void> takeReadGate() {
    InFlightWrites.Change c = observed;
    if (c == null) {
      return null;
    }
    observed = null;
    @SuppressWarnings("unchecked")
    CompletableFuture<Void> gate = (CompletableFuture<Void>) c.gate();
    // Applied already: nothing to wait for. Failed: the read fails with it (its value never was).
    return gate == null || (gate.isDone() && !gate.isCompletedExceptionally()) ? null : gate;
  }

  private void observe(InFlightWrites.Change c) {
    if (observed == null || c.sequence() > observed.sequence()) {
      observed = c;
    }
  }

  /**
   * Reads from the applied state alone (the state machine applies an entry only once it is
   * committed: what it holds, no failover takes back, under this member's lease). The in-flight
   * writes are left out, and so is their wait.
   */
  @Override
  public void readAcknowledgedOnly(boolean on) {
    acknowledgedOnly = on;
  }

  /** Writes proposed here and not yet applied or settled. */
  public int inFlightBatches() {
    return inFlight.size();
  }

  @Override
  public long keyCount() {
    return applied.keyCount();
  }

  @Override
  public long expiringKeyCount() {
    return applied.expiringKeyCount();
  }

  /** The applied store's memory (writes in flight are on the heap, bounded by the runtime). */
  @Override
  public long memoryUsedBytes() {
    return applied.memoryUsedBytes();
  }

  @Override
  public ScanPage scan(long cursor, int countHint) {
    requireReadLease();
    return applied.scan(cursor, countHint);
  }

  /**
   * How long {@link #flushAll} waits for the write quorum: a member that lost its quorum (the
   * others are down or cut off) must still stop promptly on SHUTDOWN or SIGTERM.
   */
  static final long QUORUM_FLUSH_WAIT_MILLIS = 5_000;

  /**
   * Completes when every batch proposed so far is durable on the write quorum, or after {@link
   * #QUORUM_FLUSH_WAIT_MILLIS} without a quorum (logged; such batches were never acknowledged
   * DURABLE, and the replica log keeps them for the next primary to commit or drop), and then the
   * local state is flushed.
   */
  @Override
  public CompletableFuture<Void> flushAll() {
    CompletableFuture<Void> quorum = newestDurable;
    return quorum.exceptionally(e -> null)
        .completeOnTimeout(null, QUORUM_FLUSH_WAIT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS)
        .thenCompose(v -> {
          if (!quorum.isDone()) {
            org.slf4j.LoggerFactory.getLogger(ReplicatedStore.class).warn(
                "the write quorum did not confirm the newest writes durable within {} ms; "
                    + "flushing this member's state without it", QUORUM_FLUSH_WAIT_MILLIS);
          }
          return applied.flushAll();
        });
  }

  /** The ordered future of the newest batch (for WAIT). */
  public CompletableFuture<Void> newestOrdered() {
    return newestOrdered;
  }

  @Override
  public void close() throws IOException {
    applied.close();
  }
}
