package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.server.testing.HeldShardWrites;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The primary's view of its replicated state: in-flight writes, read gates, the lease. */
class ReplicatedStoreTest {
  private final MapKvStore stateMachine = new MapKvStore();
  private final HeldShardWrites log = new HeldShardWrites(stateMachine);
  private final ReplicatedStore store = new ReplicatedStore(stateMachine, log);

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private String get(String key) {
    StoredValue v = store.get(b(key));
    return v == null ? null : new String(v.value(), StandardCharsets.UTF_8);
  }

  /** Without a quorum, flushAll (SHUTDOWN, SIGTERM) still completes, and marks nothing durable. */
  @Test
  void flushAllWithoutAQuorumCompletesAfterItsBound() throws Exception {
    WriteTicket t = store.apply(List.of(Mutation.put(b("a"), b("1"))));
    long start = System.nanoTime();
    store.flushAll().get(ReplicatedStore.QUORUM_FLUSH_WAIT_MILLIS + 10_000,
        java.util.concurrent.TimeUnit.MILLISECONDS);
    assertThat((System.nanoTime() - start) / 1_000_000)
        .isGreaterThanOrEqualTo(ReplicatedStore.QUORUM_FLUSH_WAIT_MILLIS);
    assertThat(t.durable()).as("the write's own notice is untouched").isNotDone();
  }

  /** A batch a DURABLE reply waits on is proposed DURABLE, so the primary flushes at once. */
  @Test
  void theDurableHintReachesTheProposal() {
    store.apply(List.of(Mutation.put(b("a"), b("1"))));
    store.apply(List.of(Mutation.put(b("b"), b("2"))), true);
    assertThat(log.durableWanted).containsExactly(false, true);
  }

  @Test
  void laterCommandsSeeInFlightWritesAndReadsThatSawThemWaitForTheirCommit() {
    store.apply(List.of(Mutation.put(b("k"), b("1"))));
    assertThat(stateMachine.get(b("k"))).isNull();
    assertThat(store.takeReadGate()).isNull();
    assertThat(get("k")).isEqualTo("1"); // an INCR would compute 2 from this, not from absent
    CompletableFuture<Void> gate = store.takeReadGate();
    assertThat(gate).isNotNull().isNotDone();
    assertThat(store.takeReadGate()).isNull(); // taken
    store.apply(List.of(Mutation.put(b("k"), b("2"))));
    assertThat(get("k")).isEqualTo("2");
    log.commitNext();
    assertThat(gate).isDone();
    assertThat(get("k")).isEqualTo("2");
    assertThat(store.inFlightBatches()).isEqualTo(1);
    log.commitNext();
    assertThat(store.inFlightBatches()).isZero();
    assertThat(get("k")).isEqualTo("2");
    assertThat(store.takeReadGate()).isNull(); // read from the state machine: nothing to wait for
  }

  @Test
  void anInFlightClearHidesKeysUntilTheyAreWrittenAgain() {
    stateMachine.apply(List.of(Mutation.put(b("a"), b("x")), Mutation.put(b("b"), b("y"))));
    store.apply(List.of(Mutation.clear()));
    store.apply(List.of(Mutation.put(b("b"), b("z"))));
    assertThat(get("a")).isNull();
    assertThat(get("b")).isEqualTo("z");
    log.commitNext();
    assertThat(get("a")).isNull();
    assertThat(get("b")).isEqualTo("z");
    log.commitNext();
    assertThat(get("b")).isEqualTo("z");
    assertThat(store.inFlightBatches()).isZero();
  }

  @Test
  void anAbandonedWriteDisappearsFromTheOverlay() {
    store.apply(List.of(Mutation.delete(b("gone"))));
    stateMachine.apply(List.of(Mutation.put(b("gone"), b("still"))));
    assertThat(get("gone")).isNull();
    log.ordered.get(0).completeExceptionally(new ShardWrites.NotPrimaryException("X lost"));
    assertThat(get("gone")).isEqualTo("still");
  }

  /**
   * A read that returned a write in flight fails with that write when it fails, even when it
   * failed before the reply asked for its gate (another thread settles it): the value it read
   * never was. Looking the gate up by sequence at reply time found it gone and answered at once.
   */
  @Test
  void aReadOfAWriteThatFailsFailsWithItEvenWhenItFailedFirst() {
    store.apply(List.of(Mutation.put(b("k"), b("new"))));
    assertThat(get("k")).isEqualTo("new");
    log.ordered.get(0).completeExceptionally(new ShardWrites.NotPrimaryException("X lost"));
    CompletableFuture<Void> gate = store.takeReadGate();
    assertThat(gate).isNotNull();
    assertThat(gate).isCompletedExceptionally();
    assertThat(get("k")).as("no longer in flight").isNull();
  }

  @Test
  void withoutTheLeaseReadsAreRefused() {
    log.serving = false;
    assertThatThrownBy(() -> store.get(b("k"))).hasMessageStartingWith("TRYAGAIN");
    assertThatThrownBy(() -> store.scan(0, 10)).hasMessageStartingWith("TRYAGAIN");
  }

  /**
   * Active expiry asks every key's expiry: the in-flight write's if there is one, else the
   * state machine's; it samples nothing (the popular set is for clients' accesses) and leaves
   * no read gate; a key whose value is still on a backup has no expiry known yet.
   */
  @Test
  void activeExpirysQuestionSeesInFlightWritesButSamplesNothing() {
    io.respawn.storage.backup.PopularitySampler sampler =
        new io.respawn.storage.backup.PopularitySampler(1.0, 1_000, 1);
    ReplicatedStore sampled = new ReplicatedStore(stateMachine, log, sampler, io.respawn.core.Variant.CORRECT);
    stateMachine.apply(List.of(Mutation.put(b("a"), b("x"), 5_000)));
    sampled.apply(List.of(Mutation.put(b("b"), b("y"), 7_000)));
    sampler.drainReport(); // the write's sample
    assertThat(sampled.expiresAtMillis(b("a"))).isEqualTo(5_000);
    assertThat(sampled.expiresAtMillis(b("b"))).isEqualTo(7_000);
    assertThat(sampled.expiresAtMillis(b("none"))).isEqualTo(-1);
    assertThat(sampler.drainReport()).as("keys active expiry examined").isEmpty();
    assertThat(sampled.takeReadGate()).isNull();
    sampled.apply(List.of(Mutation.delete(b("a"))));
    assertThat(sampler.drainReport()).as("the delete's sample").hasSize(1);
    assertThat(sampled.expiresAtMillis(b("a"))).as("deleted in flight").isEqualTo(-1);
    sampled.pendingValues(k -> new String(k, StandardCharsets.UTF_8).equals("pulled"));
    assertThat(sampled.expiresAtMillis(b("pulled"))).isZero();
    sampled.get(b("a"));
    assertThat(sampler.drainReport()).as("a client's read is sampled").hasSize(1);
    log.serving = false;
    assertThatThrownBy(() -> sampled.expiresAtMillis(b("a"))).hasMessageStartingWith("TRYAGAIN");
  }
}
