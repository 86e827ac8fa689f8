package io.respawn.node;

import static io.respawn.node.TestShard.MS;
import static io.respawn.node.TestShard.cmd;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import io.respawn.storage.Durability;
import io.respawn.storage.StorageException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;

class NodeRuntimeTest {

  static Refusal.Reason reasonOf(CompletableFuture<?> f) {
    assertThat(f).isCompletedExceptionally();
    Throwable t = f.handle((v, e) -> e).getNow(null);
    if (t instanceof CompletionException ce) {
      t = ce.getCause();
    }
    assertThat(t).isInstanceOf(Refusal.class);
    return ((Refusal) t).reason();
  }

  @Test
  void aWriteIsOrderedThenDurableAndEveryMemberAppliesIt() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> leader = s.electNode(0);
    ProposalHandle<Long> h = leader.propose(cmd("a", "1"), Durability.DURABLE);
    assertThat(h.index()).isZero();
    leader.processQueued();
    assertThat(h.term()).isEqualTo(leader.replica().term());
    assertThat(h.index()).isEqualTo(leader.replica().lastIndex());
    s.deliverAll();
    assertThat(h.ordered()).isCompletedWithValue(h.index());
    // followers flush as soon as they wrote; the leader flushes at once for a DURABLE waiter
    assertThat(h.durable()).isCompletedWithValue(h.index());
    s.run(50);
    assertThat(s.stores.get(1).values).containsEntry("a", "1");
    assertThat(s.stores.get(2).values).as("the witness keeps keys only").containsEntry("a", "?");
  }

  @Test
  void proposalsOfOnePassAreOneBatchWithConsecutiveIndexes() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> leader = s.electNode(0);
    s.queue.clear();
    List<ProposalHandle<Long>> hs = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      hs.add(leader.propose(cmd("k" + i, "v" + i), Durability.ORDERED));
    }
    leader.processQueued();
    long first = hs.get(0).index();
    for (int i = 0; i < 5; i++) {
      assertThat(hs.get(i).index()).isEqualTo(first + i);
    }
    long appendsToBackup = s.queue.stream().filter(m -> m instanceof Message.AppendEntries a
        && a.to().value() == 1 && !a.entries().isEmpty()).count();
    assertThat(appendsToBackup).isEqualTo(1);
    s.deliverAll();
    for (ProposalHandle<Long> h : hs) {
      assertThat(h.ordered()).isCompletedWithValue(h.index());
    }
  }

  @Test
  void anOrderedWriteWaitsForTheFlushIntervalBeforeItIsDurable() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults().withFlushIntervalMillis(50));
    NodeRuntime<Long> leader = s.electNode(0);
    s.run(100); // let earlier entries flush
    ProposalHandle<Long> h = leader.propose(cmd("x", "1"), Durability.ORDERED);
    leader.processQueued();
    s.deliverAll();
    assertThat(h.ordered()).isCompleted();
    assertThat(h.durable()).as("the leader has not flushed yet").isNotDone();
    assertThat(leader.log().lastFlushedIndex()).isLessThan(h.index());
    s.run(60);
    assertThat(h.durable()).isCompletedWithValue(h.index());
  }

  @Test
  void aFollowerRefusesWritesNamingTheLeaderAndServesNoRead() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    s.electNode(0);
    NodeRuntime<Long> backup = s.n(1);
    ProposalHandle<Long> h = backup.propose(cmd("a", "1"), Durability.ORDERED);
    backup.processQueued();
    assertThat(reasonOf(h.ordered())).isEqualTo(Refusal.Reason.NOT_LEADER);
    assertThat(reasonOf(h.durable())).isEqualTo(Refusal.Reason.NOT_LEADER);
    assertThat(backup.localReadsServableUntilNanos()).isEqualTo(Long.MIN_VALUE);
    Refusal why = (Refusal) h.ordered().handle((v, e) -> e).getNow(null);
    assertThat(why.leaderHint()).isEqualTo(NodeId.of(0));
  }

  @Test
  void localReadsWaitForTheTermsFirstCommitThenFollowTheLease() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> n0 = s.n(0);
    boolean sawLeaderNotReady = false;
    for (int step = 0; step < 2000 && !n0.readyInTerm(); step++) {
      s.nowNanos[0] += 5 * MS;
      n0.onTick();
      while (!s.queue.isEmpty()) {
        Message m = s.queue.poll();
        s.n(m.to().value()).onMessage(m);
        if (n0.replica().status() == io.respawn.core.Status.LEADER && !n0.readyInTerm()) {
          sawLeaderNotReady = true;
          assertThat(n0.localReadsServableUntilNanos()).isEqualTo(Long.MIN_VALUE);
        }
      }
    }
    assertThat(sawLeaderNotReady).as("elected before its no-op committed").isTrue();
    assertThat(n0.readyInTerm()).isTrue();
    assertThat(n0.localReadsServableUntilNanos())
        .isEqualTo(n0.replica().readsServableUntilNanos())
        .isGreaterThan(s.nowNanos[0]);
    assertThat(s.n(1).readyInTerm()).isFalse();
    assertThat(s.n(1).localReadsServableUntilNanos()).isEqualTo(Long.MIN_VALUE);
    s.nowNanos[0] += 10_000 * MS; // no heartbeat answers for far longer than the lease
    assertThat(n0.localReadsServableUntilNanos()).isLessThanOrEqualTo(s.nowNanos[0]);
  }

  @Test
  void queuesAreBoundedAndRefuseWithQueueFull() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults().withProposalLimits(2, 3, 2));
    NodeRuntime<Long> leader = s.electNode(0);
    ProposalHandle<Long> a = leader.propose(cmd("a", "1"), Durability.ORDERED);
    ProposalHandle<Long> b = leader.propose(cmd("b", "1"), Durability.ORDERED);
    ProposalHandle<Long> c = leader.propose(cmd("c", "1"), Durability.ORDERED);
    assertThat(reasonOf(c.ordered())).isEqualTo(Refusal.Reason.QUEUE_FULL);
    leader.processQueued(); // a, b appended: 2 in flight (not applied)
    ProposalHandle<Long> d = leader.propose(cmd("d", "1"), Durability.ORDERED);
    ProposalHandle<Long> e = leader.propose(cmd("e", "1"), Durability.ORDERED);
    assertThat(d.ordered()).isNotDone();
    assertThat(reasonOf(e.ordered())).isEqualTo(Refusal.Reason.QUEUE_FULL);
    s.run(100);
    assertThat(a.ordered()).isCompleted();
    assertThat(b.ordered()).isCompleted();
  }

  /**
   * A 1+1+1 shard whose logs flush only when the test completes their flushes ({@code slow}, in
   * member order), node 0 elected and the election's flushes completed.
   */
  private static TestShard slowFlushShardWithLeader(RuntimeConfig config,
      List<TestShard.SlowFlushLog> slow) {
    TestShard s = new TestShard(config, l -> {
      TestShard.SlowFlushLog x = new TestShard.SlowFlushLog(l);
      slow.add(x);
      return x;
    }, Role.PRIMARY, Role.BACKUP, Role.WITNESS);
    s.electNode(0);
    for (int i = 0; i < 3; i++) {
      slow.get(i).complete();
      s.n(i).onFlushed();
    }
    s.deliverAll();
    return s;
  }

  /**
   * An applied ORDERED write waits only for its durable notice: a flush that lags must not refuse
   * new writes at the in-flight bound (it did: E1's ORDERED clients got TRYAGAIN when a member's
   * fsync lagged). Those notices have a bound of their own, ten times the in-flight one; once
   * the flush completes they are all given, and writes are taken again.
   */
  @Test
  void appliedWritesWaitingForTheirDurableNoticeHaveABoundOfTheirOwn() {
    List<TestShard.SlowFlushLog> slow = new ArrayList<>();
    TestShard s = slowFlushShardWithLeader(RuntimeConfig.defaults().withProposalLimits(2, 3, 2),
        slow);
    NodeRuntime<Long> leader = s.n(0);
    int noticesMax = 3 * RuntimeConfig.DURABLE_NOTICES_PER_IN_FLIGHT;
    List<ProposalHandle<Long>> acknowledged = new ArrayList<>();
    for (int i = 0; i < noticesMax; i++) {
      ProposalHandle<Long> h = leader.propose(cmd("k" + i, "v"), Durability.ORDERED);
      leader.processQueued();
      s.deliverAll();
      assertThat(h.ordered()).as("write %d of %d while no flush completes", i, noticesMax)
          .isCompleted();
      assertThat(h.ordered()).isNotCompletedExceptionally();
      assertThat(h.durable()).isNotDone();
      assertThat(h.command()).as("an appended proposal holds no command").isNull();
      acknowledged.add(h);
    }
    ProposalHandle<Long> over = leader.propose(cmd("over", "v"), Durability.ORDERED);
    assertThat(reasonOf(over.ordered())).isEqualTo(Refusal.Reason.QUEUE_FULL);
    // The flushes complete (the primary's and, after its flush interval, the backup's).
    for (int round = 0; round < 100 && !acknowledged.getLast().durable().isDone(); round++) {
      for (int i = 0; i < 3; i++) {
        if (slow.get(i).pending) {
          slow.get(i).complete();
          s.n(i).onFlushed();
        }
      }
      s.run(5);
    }
    assertThat(acknowledged).allSatisfy(h -> assertThat(h.durable()).isCompleted());
    ProposalHandle<Long> after = leader.propose(cmd("after", "v"), Durability.ORDERED);
    leader.processQueued();
    s.deliverAll();
    assertThat(after.ordered()).isCompleted();
    assertThat(after.ordered()).isNotCompletedExceptionally();
  }

  @Test
  void anAsynchronousFlushIsReportedWithOnFlushed() {
    List<TestShard.SlowFlushLog> slow = new ArrayList<>();
    TestShard s = slowFlushShardWithLeader(RuntimeConfig.defaults(), slow);
    NodeRuntime<Long> leader = s.n(0);
    ProposalHandle<Long> h = leader.propose(cmd("a", "1"), Durability.DURABLE);
    leader.processQueued();
    s.deliverAll();
    assertThat(h.ordered()).as("ORDERED needs no flush").isCompleted();
    assertThat(leader.flushInFlight()).isTrue();
    assertThat(h.durable()).isNotDone();
    slow.get(0).complete();
    leader.onFlushed();
    assertThat(h.durable()).as("the backup has not flushed").isNotDone();
    slow.get(1).complete();
    s.n(1).onFlushed(); // the backup reports its flushed index at once
    s.deliverAll();
    assertThat(h.durable()).isCompletedWithValue(h.index());
  }

  @Test
  void replicaAckDurableFlushesBeforeSendingAndNeedsASynchronousFlush() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults().withReplicaAck(Durability.DURABLE));
    NodeRuntime<Long> leader = s.electNode(0);
    ProposalHandle<Long> h = leader.propose(cmd("a", "1"), Durability.ORDERED);
    leader.processQueued();
    assertThat(s.logs.get(0).lastFlushedIndex()).isEqualTo(h.index());
    s.deliverAll();
    assertThat(s.logs.get(1).lastFlushedIndex()).isGreaterThanOrEqualTo(h.index());
    assertThat(h.durable()).as("committed means flushed on the quorum").isCompleted();

    assertThatThrownBy(() -> new TestShard(RuntimeConfig.defaults().withReplicaAck(Durability.DURABLE),
        TestShard.SlowFlushLog::new, Role.PRIMARY, Role.BACKUP, Role.WITNESS).electNode(0))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("replicaAck DURABLE");
  }

  /**
   * A log may flush on its own while it appends (a segmented log fsyncs a segment it seals, and
   * everything before it): the runtime then has no flush of its own to report, and must report
   * that one. Before, a DURABLE write whose entry went out in the append that sealed a segment,
   * on the primary and the backup, waited until some later write flushed again; with every
   * client waiting for its reply, for good (E1's DURABLE cells, every client at once).
   */
  @Test
  void aFlushTheLogDidWhileAppendingIsReported() {
    boolean[] seal = {false};
    TestShard s = new TestShard(RuntimeConfig.defaults(), l -> new ForwardingLog(l) {
      @Override
      public void append(List<io.respawn.core.Entry> entries) {
        super.append(entries);
        if (seal[0]) {
          super.flush(); // everything written so far is durable before append returns
        }
      }
    }, Role.PRIMARY, Role.BACKUP, Role.WITNESS);
    NodeRuntime<Long> leader = s.electNode(0);
    s.deliverAll();
    seal[0] = true;
    ProposalHandle<Long> h = leader.propose(cmd("a", "1"), Durability.DURABLE);
    leader.processQueued();
    s.deliverAll();
    assertThat(leader.log().lastFlushedIndex()).isEqualTo(h.index());
    assertThat(h.durable()).as("flushed on the primary and the backup by their appends")
        .isCompletedWithValue(h.index());
  }

  /**
   * A follower flushes at once only what a DURABLE write waits on (its leader says so in the
   * AppendEntries that carry it) and ORDERED entries within the flush interval, as the leader
   * does: an fsync for every AppendEntries on every follower was the largest single cost of an
   * ORDERED write. Both halves fail without the change: a follower that flushes every append
   * fails the first, one the leader does not tell fails the second (the DURABLE write waits out
   * the interval).
   */
  @Test
  void followersFlushAtOnceOnlyWhatADurableWriteWaitsOn() {
    List<int[]> flushes = new ArrayList<>();
    TestShard s = new TestShard(RuntimeConfig.defaults(), l -> {
      int[] count = new int[1];
      flushes.add(count);
      return new ForwardingLog(l) {
        @Override
        public void flush() {
          count[0]++;
          super.flush();
        }
      };
    }, Role.PRIMARY, Role.BACKUP, Role.WITNESS);
    NodeRuntime<Long> leader = s.electNode(0);
    NodeRuntime<Long> backup = s.n(1);
    s.run(200); // everything so far flushed within the interval
    int backupFlushes = flushes.get(1)[0];

    for (int i = 0; i < 5; i++) {
      ProposalHandle<Long> ordered = leader.propose(cmd("o" + i, "1"), Durability.ORDERED);
      leader.processQueued();
      s.deliverAll();
      assertThat(ordered.ordered()).as("committed on the written, unflushed copies")
          .isCompleted();
    }
    assertThat(backup.log().lastFlushedIndex()).as("ORDERED entries wait for the interval")
        .isLessThan(backup.log().lastIndex());
    assertThat(flushes.get(1)[0]).isEqualTo(backupFlushes);
    s.run(RuntimeConfig.defaults().flushIntervalMillis() + 10);
    assertThat(backup.log().lastFlushedIndex()).as("flushed within the interval")
        .isEqualTo(backup.log().lastIndex());
    assertThat(flushes.get(1)[0]).as("one fsync for the five").isEqualTo(backupFlushes + 1);

    ProposalHandle<Long> durable = leader.propose(cmd("d", "1"), Durability.DURABLE);
    leader.processQueued();
    s.deliverAll(); // no time passes
    assertThat(backup.log().lastFlushedIndex()).as("flushed at once: the leader asked")
        .isEqualTo(durable.index());
    assertThat(durable.durable()).isCompletedWithValue(durable.index());
  }

  @Test
  void aStorageFailureStopsTheRuntimeAndFailsWhatIsPending() {
    boolean[] broken = {false};
    TestShard s = new TestShard(RuntimeConfig.defaults(), l -> new ForwardingLog(l) {
      @Override
      public void append(List<io.respawn.core.Entry> entries) {
        if (broken[0]) {
          throw new StorageException("disk full: No space left on device");
        }
        super.append(entries);
      }
    }, Role.PRIMARY, Role.BACKUP, Role.WITNESS);
    NodeRuntime<Long> leader = s.electNode(0);
    ProposalHandle<Long> queued = leader.propose(cmd("a", "1"), Durability.ORDERED);
    broken[0] = true;
    assertThatThrownBy(leader::processQueued).isInstanceOf(StorageException.class);
    assertThat(reasonOf(queued.ordered())).isEqualTo(Refusal.Reason.OUTCOME_UNKNOWN);
    assertThat(leader.stoppedBy()).isInstanceOf(StorageException.class);
    assertThat(leader.replica().status()).isEqualTo(io.respawn.core.Status.LEADER);
    assertThat(leader.localReadsServableUntilNanos())
        .as("a stopped runtime serves no read, whatever its core says").isEqualTo(Long.MIN_VALUE);
    assertThatThrownBy(leader::onTick).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("stopped");
  }

  @Test
  void aCallbackMayNotCallBackIntoTheRuntime() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> leader = s.electNode(0);
    ProposalHandle<Long> h = leader.propose(cmd("a", "1"), Durability.ORDERED);
    Throwable[] seen = new Throwable[1];
    h.ordered().thenRun(() -> {
      try {
        leader.onTick();
      } catch (IllegalStateException e) {
        seen[0] = e;
      }
    });
    leader.processQueued();
    s.deliverAll();
    assertThat(seen[0]).hasMessageContaining("re-entrant");
  }

  @Test
  void aLeaderThatStepsDownCannotTellTheOutcomeOfUncommittedWrites() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> leader = s.electNode(0);
    s.down.add(1); // the backup is gone: nothing commits
    ProposalHandle<Long> h = leader.propose(cmd("a", "1"), Durability.ORDERED);
    leader.processQueued();
    s.deliverAll();
    assertThat(h.ordered()).isNotDone();
    // a higher term reaches the leader: it steps down
    leader.onMessage(new Message.AppendEntriesResponse(NodeId.of(2), NodeId.of(0),
        leader.replica().term() + 5, false, 0, 0, 0));
    assertThat(reasonOf(h.ordered())).isEqualTo(Refusal.Reason.OUTCOME_UNKNOWN);
    assertThat(leader.durableIndex()).isEqualTo(-1);
  }

  @Test
  void aRestartedMemberTrustsNoPersistedCommitIndexAndRelearnsItFromTheLeader() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> leader = s.electNode(0);
    ProposalHandle<Long> h = leader.propose(cmd("a", "1"), Durability.ORDERED);
    leader.processQueued();
    s.run(50);
    assertThat(s.stores.get(1).values).containsEntry("a", "1");
    assertThat(s.logs.get(1).hardState().commitIndex()).as("the commit index is not kept").isZero();
    s.logs.get(1).processCrash();
    s.start(1);
    assertThat(s.n(1).replica().commitIndex()).isZero();
    assertThat(s.stores.get(1).values).isEmpty();
    s.run(50); // the leader's heartbeat carries the commit index; the store is rebuilt
    assertThat(s.n(1).replica().commitIndex()).isGreaterThanOrEqualTo(h.index());
    assertThat(s.stores.get(1).values).containsEntry("a", "1");
  }

  @Test
  void aMemberToldToOverwriteACommittedEntryStopsSoThatItIsRestarted() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> leader = s.electNode(0);
    leader.propose(cmd("a", "1"), Durability.ORDERED);
    leader.processQueued();
    s.run(50);
    NodeRuntime<Long> backup = s.n(1);
    long committed = backup.replica().commitIndex();
    io.respawn.core.Entry other = io.respawn.core.Entry.noop(leader.replica().term() + 1, committed);
    Message overwrite = new Message.AppendEntries(NodeId.of(2), NodeId.of(1), other.term(),
        committed - 1, backup.replica().log().term(committed - 1), List.of(other), 0, 1);
    assertThatThrownBy(() -> backup.onMessage(overwrite))
        .isInstanceOf(io.respawn.core.CommittedEntryLost.class);
    assertThat(backup.stoppedBy()).isInstanceOf(io.respawn.core.CommittedEntryLost.class);
  }

  @Test
  void theClockMustNotGoBackwards() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    s.n(0).onTick();
    s.nowNanos[0] -= MS;
    assertThatThrownBy(() -> s.n(0).onTick()).hasMessageContaining("backwards");
  }
}
