package io.respawn.core;

import static io.respawn.core.Cluster.MS;
import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ReplicationTest {

  private static Cluster elected(int backups, int witnesses, Variant v) {
    Cluster c = new Cluster(Cluster.shape(backups, witnesses), b -> b.variant(v));
    // make node 1 (the primary) win deterministically: only it times out first
    c.run(3_000);
    return c;
  }

  @Test
  void writeCommitsOnPrimaryAndBackupAndReachesWitnessAsKeysOnly() {
    Cluster c = elected(1, 1, Variant.CORRECT);
    Replica l = c.leader();
    long idx = c.propose("value-1", "key-1");
    c.run(300);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(idx);
    for (int i = 1; i <= 3; i++) {
      Replica r = c.r(i);
      Entry e = r.log().entry(idx);
      if (r.role() == Role.WITNESS && r != l) {
        assertThat(e.isElided()).as("witness keeps keys only").isTrue();
        assertThat(e.command().keys().get(0)).isEqualTo("key-1".getBytes());
      } else if (r != l) {
        assertThat(e.isElided()).isFalse();
        assertThat(e.command().data()).isEqualTo("value-1".getBytes());
      }
    }
    // applied in order on every node
    assertThat(c.applied.get(n(2))).extracting(Entry::index).contains(idx);
  }

  @Test
  void notCommittedWithoutTheBackupEvenWithAMajority() {
    // P1 B2 W3 W4 W5: a majority without the backup is P + three witnesses
    Cluster c = elected(1, 3, Variant.CORRECT);
    Replica l = c.leader();
    long before = l.commitIndex();
    c.down.add(n(2));
    long idx = c.propose("v", "k");
    c.run(1_000);
    assertThat(l.commitIndex()).isEqualTo(before).isLessThan(idx);
    c.down.remove(n(2));
    c.run(500);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(idx);
  }

  @Test
  void commitWithoutBackupVariantCommitsOnAPlainMajority() {
    Cluster c = elected(1, 3, Variant.COMMIT_WITHOUT_BACKUP);
    Replica l = c.leader();
    c.down.add(n(2));
    long idx = c.propose("v", "k");
    c.run(1_000);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(idx);
  }

  @Test
  void witnessesOnlyReceiveWhatTheBackupsHold() {
    Cluster c = elected(1, 2, Variant.CORRECT);
    Replica l = c.leader();
    Replica witness = c.replicas.values().stream()
        .filter(r -> r != l && r.role() == Role.WITNESS).findFirst().orElseThrow();
    long lastBefore = witness.lastIndex();
    c.down.add(n(2));
    c.propose("v", "k");
    c.run(500);
    assertThat(witness.lastIndex()).isEqualTo(lastBefore);
    c.down.remove(n(2));
    c.run(500);
    assertThat(witness.lastIndex()).isEqualTo(l.lastIndex());
    assertThat(witness.log().entry(l.lastIndex()).isElided()).isTrue();
  }

  @Test
  void leaderServesReadsOnlyUnderAValidLease() {
    Cluster c = elected(1, 1, Variant.CORRECT);
    Replica l = c.leader();
    int li = l.id().value();
    assertThat(c.read(li, 1).ok()).isTrue();
    int follower = li == 1 ? 3 : 1;
    assertThat(c.read(follower, 2).refusal()).isEqualTo(ReadResult.Refusal.NOT_LEADER);
    // cut the leader off: no more acks; reads stop before the lease could be exceeded
    c.partition(java.util.Set.of(l.id()));
    long expiry = l.leaseExpiryNanos();
    assertThat(expiry).isGreaterThan(c.now(l.id()));
    c.globalNanos = expiry - 1; // leader's clock runs at rate 1 here
    assertThat(c.read(li, 3).ok()).isTrue();
    c.globalNanos = expiry;
    assertThat(c.read(li, 4).refusal()).isEqualTo(ReadResult.Refusal.NO_LEASE);
  }

  @Test
  void readAfterLeaseVariantServesStaleReads() {
    Cluster c = elected(1, 1, Variant.READ_AFTER_LEASE);
    Replica l = c.leader();
    c.partition(java.util.Set.of(l.id()));
    c.globalNanos = l.leaseExpiryNanos() + 10_000 * MS;
    assertThat(c.read(l.id().value(), 9).ok()).isTrue();
  }

  @Test
  void newLeaderRefusesReadsUntilItsNoopCommits() {
    Cluster c = new Cluster(Cluster.shape(1, 1));
    c.dropIf = m -> m instanceof Message.AppendEntriesResponse;
    c.run(3_000);
    Replica l = c.leader();
    assertThat(l).isNotNull();
    assertThat(c.read(l.id().value(), 1).refusal()).isEqualTo(ReadResult.Refusal.NOT_READY);
  }

  /**
   * Lease safety under drift: the leader's clock runs slow by the maximum drift and the
   * followers' clocks run fast by it. The followers' promises must still outlive the leader's
   * lease in real time, so no new leader can exist while the old one still answers reads.
   */
  @Test
  void leaseHoldsUnderWorstCaseDrift() {
    Cluster c = new Cluster(Cluster.shape(1, 1));
    c.run(3_000);
    Replica l = c.leader();
    double rho = 0.01;
    // re-base clocks so they stay monotone: from here on node clocks run at 1 -/+ rho
    long base = c.globalNanos;
    for (NodeId id : c.replicas.keySet()) {
      c.clockRate.put(id, 1.0);
    }
    // one last heartbeat round at time base, then cut the leader off
    c.run(100, 100);
    c.partition(java.util.Set.of(l.id()));
    long leaderExpiryLocal = l.leaseExpiryNanos();
    long leaderNowLocal = c.now(l.id());
    // real time the leader will keep serving, if its clock runs slow (1 - rho)
    double leaderRealRemaining = (leaderExpiryLocal - leaderNowLocal) / (1 - rho);
    for (Replica f : c.replicas.values()) {
      if (f == l || f.votePromiseExpiryNanos() == Long.MIN_VALUE) {
        continue;
      }
      // follower promise remaining in real time if its clock runs fast (1 + rho)
      double followerRealRemaining = (f.votePromiseExpiryNanos() - c.now(f.id())) / (1 + rho);
      assertThat(followerRealRemaining).isGreaterThanOrEqualTo(leaderRealRemaining);
    }
    assertThat(base).isPositive();
  }

  @Test
  void promiseLengthAccountsForDrift() {
    long promise = Lease.promiseNanos(500, 0.01);
    assertThat(promise).isGreaterThan(500 * MS);
    // leader lease L on a slow clock lasts L/(1-rho); promise P on a fast clock lasts P/(1+rho)
    assertThat(promise / 1.01).isGreaterThanOrEqualTo(500 * MS / 0.99);
  }

  @Test
  void logsConvergeAfterLostMessages() {
    Cluster c = elected(2, 2, Variant.CORRECT);
    java.util.Random rnd = new java.util.Random(7);
    c.dropIf = m -> rnd.nextInt(4) == 0;
    for (int i = 0; i < 40; i++) {
      if (c.leader() != null) {
        c.propose("v" + i, "k" + (i % 5));
      }
      c.run(50);
      c.checkSafety();
    }
    c.heal();
    c.run(3_000);
    Replica l = c.leader();
    assertThat(l.commitIndex()).isEqualTo(l.lastIndex());
    for (Replica r : c.replicas.values()) {
      assertThat(r.lastIndex()).isEqualTo(l.lastIndex());
    }
    List<Entry> applied = c.applied.get(n(2));
    for (int i = 0; i < applied.size(); i++) {
      assertThat(applied.get(i).index()).isEqualTo(i + 1);
    }
  }

  /**
   * Flow control: a backup that stops answering (a stalled process: what it is sent waits in its
   * socket) is sent at most four AppendEntries' worth of entries (the in-flight budget) between
   * two heartbeat rounds, however many writes the leader takes; once
   * it answers again, each acknowledgement lets the next message out and it catches up. Without
   * the bound (the UNBOUNDED_PIPELINE variant) it is sent every write.
   */
  @Test
  void aBackupThatStopsAnsweringIsSentAtMostTheInFlightBudgetBetweenHeartbeatRounds() {
    assertThat(entriesSentToASilentBackup(Variant.CORRECT)).isBetween(1, 4 * 4);
    assertThat(entriesSentToASilentBackup(Variant.UNBOUNDED_PIPELINE)).isEqualTo(100);
  }

  /**
   * Quiet rounds: a backup that stops answering gets entries from one heartbeat round after its
   * last answer, and empty heartbeats from every round after that, however long it stays silent;
   * its first answer makes the next round resend, and it catches up. With every round restarting
   * the pipeline (PROBE_SILENT_FOLLOWERS) it gets the same entries again at every round.
   */
  @Test
  void aSilentBackupGetsEmptyHeartbeatsAfterOneRoundAndCatchesUpOnceItAnswers() {
    assertThat(entriesSentToASilentBackupOverRounds(Variant.CORRECT)).isBetween(1, 2 * 4 * 4);
    assertThat(entriesSentToASilentBackupOverRounds(Variant.PROBE_SILENT_FOLLOWERS))
        .isGreaterThan(200);
  }

  /** Entries sent to the silent backup of a 1+1+1 shard over 2 s of writes (40 rounds). */
  private static int entriesSentToASilentBackupOverRounds(Variant v) {
    return entriesSentToASilentBackup(v, 200, c -> c.run(10));
  }

  /** Entries sent to the backup of a 1+1+1 shard while it is silent and 100 writes arrive. */
  private static int entriesSentToASilentBackup(Variant v) {
    // no time passes: no heartbeat round in between
    return entriesSentToASilentBackup(v, 100, Cluster::deliverAll);
  }

  /**
   * Entries sent to the backup (4 entries per AppendEntries) of a 1+1+1 shard while its answers
   * never come and {@code writes} writes arrive, each followed by {@code between}; then its
   * answers come again, and it must catch up and the writes commit.
   */
  private static int entriesSentToASilentBackup(Variant v, int writes,
      java.util.function.Consumer<Cluster> between) {
    Cluster c = Cluster.ledByNodeOne(
        new Cluster(Cluster.shape(1, 1), b -> b.variant(v).maxEntriesPerAppend(4)));
    Replica l = c.r(1);
    assertThat(l.status()).isEqualTo(Status.LEADER);
    int[] sent = {0};
    c.dropIf = m -> {
      if (m.to().equals(n(2)) && m instanceof Message.AppendEntries a) {
        sent[0] += a.entries().size();
      }
      return m.from().equals(n(2)); // its answers never come
    };
    for (int i = 0; i < writes; i++) {
      c.propose("v" + i, "k" + (i % 7));
      between.accept(c);
    }
    int whileSilent = sent[0];
    c.dropIf = m -> false;
    c.run(1_000);
    assertThat(l.commitIndex()).as("the backup caught up and the writes committed")
        .isEqualTo(l.lastIndex());
    assertThat(c.r(2).lastIndex()).isEqualTo(l.lastIndex());
    c.checkSafety();
    return whileSilent;
  }

  /**
   * A follower the runtime reported unreachable (its process died) gets empty heartbeats, not
   * the entries past its match again at every heartbeat round (a new primary re-encoded up to a
   * full batch of entries for the killed primary every 50 ms); once reachable again it gets
   * everything it lacks.
   */
  @Test
  void anUnreachableFollowerGetsHeartbeatsWithoutEntriesUntilItIsReachableAgain() {
    Cluster c = elected(1, 1, Variant.CORRECT);
    Replica l = c.leader();
    NodeId gone = l.id().equals(n(1)) ? n(3) : n(1);
    List<Message.AppendEntries> toGone = new java.util.ArrayList<>();
    c.dropIf = m -> {
      if (m.to().equals(gone) && m instanceof Message.AppendEntries a) {
        toGone.add(a);
      }
      return m.to().equals(gone) || m.from().equals(gone);
    };
    c.handle(l.id(), l.peerUnreachable(gone, c.now(l.id())));
    for (int i = 0; i < 20; i++) {
      c.propose("v" + i, "k" + i);
    }
    c.run(500);
    long committed = l.commitIndex();
    assertThat(committed).as("the writes commit without the gone follower").isGreaterThan(20);
    assertThat(toGone).as("heartbeats still reach for it").isNotEmpty();
    assertThat(toGone).allSatisfy(a -> assertThat(a.entries()).isEmpty());

    l.peerReachable(gone);
    toGone.clear();
    c.run(200);
    assertThat(toGone.stream().mapToInt(a -> a.entries().size()).sum())
        .as("entries past its match go out again").isPositive();
    c.dropIf = m -> false;
    c.run(500);
    assertThat(c.replicas.get(gone).log().lastIndex()).isEqualTo(l.log().lastIndex());
    c.checkSafety();
  }

  /**
   * Past a compacted prefix: a follower known unreachable whose match the leader compacted away
   * gets no snapshot while the hint holds, only heartbeats naming the snapshot's index; once it
   * is back, its first message withdraws the hint and the leader replicates to it again.
   */
  @Test
  void anUnreachableFollowerBehindTheSnapshotGetsHeartbeatsAndTheSnapshotOnceItAnswers() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    c.propose("a", "k1");
    c.run(300);
    c.down.add(n(3));
    for (int i = 0; i < 12; i++) {
      c.propose("v" + i, "k" + (i % 4));
      c.run(50);
    }
    c.run(300);
    Replica leader = c.r(1);
    c.handle(n(1), leader.peerUnreachable(n(3), c.now(n(1))));
    SnapshotMeta meta = leader.compact(leader.compactableIndex());
    List<Message.AppendEntries> toGone = new java.util.ArrayList<>();
    c.dropIf = m -> {
      if (m.to().equals(n(3)) && m instanceof Message.AppendEntries a) {
        toGone.add(a);
      }
      return false;
    };
    c.snapshotSends.clear();
    c.run(400);
    assertThat(c.snapshotSends).as("no snapshot for a peer known gone").isEmpty();
    assertThat(toGone).isNotEmpty().allSatisfy(a -> {
      assertThat(a.entries()).isEmpty();
      assertThat(a.prevLogIndex()).isEqualTo(meta.index());
    });
    c.down.remove(n(3)); // it is back: its first message withdraws the hint
    c.propose("after", "k9");
    c.run(300);
    // It is behind the leader's base: the leader asks for a snapshot once it answers (unless the
    // witness caught up from the backup's log first); the runtime would stream it: install it.
    if (c.snapshotSends.contains(new SnapshotSend(n(3), true))) {
      c.handle(n(3), c.r(3).installSnapshot(meta, n(1), leader.term(), c.now(n(3))));
    }
    c.run(300);
    assertThat(leader.matchIndex(n(3))).as("the leader replicates to it again")
        .isEqualTo(leader.lastIndex());
    assertThat(c.r(3).commitIndex()).isEqualTo(leader.commitIndex());
    c.checkSafety();
  }

  /**
   * F6 of respawn-sim/FINDINGS.md: acks are ORDERED (written, not flushed), so a machine crash
   * may take from a follower entries it acknowledged. The leader's match for it stays where the
   * acks put it; every AppendEntries then names an entry the follower no longer has, it rejects,
   * and backing off never went below the match: the follower never caught up, and since it is
   * the backup every write needs, the shard stopped committing. A rejection of a newer message
   * at or below the match now takes the match back to what the follower reported flushed.
   */
  @Test
  void aBackupThatLostWhatItAcknowledgedInAMachineCrashCatchesUp() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    Replica leader = c.r(1);
    for (int i = 0; i < 3; i++) {
      c.propose("a" + i, "k" + i);
    }
    c.run(300);
    long flushed = c.r(2).flushedIndex();
    assertThat(flushed).isEqualTo(leader.commitIndex());
    c.reportFlushes = false; // from here the members write but report no flush
    for (int i = 0; i < 4; i++) {
      c.propose("b" + i, "k" + i);
      c.run(20);
    }
    c.run(300);
    assertThat(leader.matchIndex(n(2))).isEqualTo(leader.lastIndex()).isGreaterThan(flushed);
    assertThat(leader.commitIndex()).isEqualTo(leader.lastIndex());
    // the backup loses power: its log comes back as far as it was flushed
    List<Entry> disk = c.disks.get(n(2));
    while (disk.size() > flushed) {
      disk.remove(disk.size() - 1);
    }
    c.restart(2);
    c.reportFlushes = true;
    long after = c.propose("c", "k9");
    c.run(1_000);
    assertThat(leader.commitIndex()).as("the shard commits again").isGreaterThanOrEqualTo(after);
    assertThat(c.r(2).lastIndex()).isEqualTo(leader.lastIndex());
    assertThat(leader.matchIndex(n(2))).isEqualTo(leader.lastIndex());
    c.checkSafety();
  }
}
