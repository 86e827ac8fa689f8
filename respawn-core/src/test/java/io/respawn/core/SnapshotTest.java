package io.respawn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.codec.MessageCodec;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Log compaction and snapshot installation in the core (protocol.md §15). */
class SnapshotTest {

  private static NodeId n(int i) {
    return NodeId.of(i);
  }

  /** 1+1+1 led by node 1, with node 3 (the witness) down while {@code writes} commit. */
  private static Cluster witnessLagsBehindCompaction(Cluster c, int writes) {
    c.propose("a", "k1");
    c.run(300);
    c.down.add(n(3));
    for (int i = 0; i < writes; i++) {
      c.propose("v" + i, "k" + (i % 4));
      c.run(50);
    }
    c.run(300);
    return c;
  }

  @Test
  void compactionStopsAtTheShardDurableIndexAndKeepsTheTail() {
    Cluster c = witnessLagsBehindCompaction(Cluster.ledByNodeOne(Cluster.shape(1, 1)), 10);
    Replica leader = c.r(1);
    long compactable = leader.compactableIndex();
    assertThat(compactable).isEqualTo(leader.commitIndex()).isGreaterThan(5);
    assertThatThrownBy(() -> leader.compact(compactable + 1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("compactable");
    SnapshotMeta meta = leader.compact(compactable - 2);
    assertThat(meta.index()).isEqualTo(compactable - 2);
    assertThat(leader.log().snapshotIndex()).isEqualTo(meta.index());
    assertThat(leader.log().entries(1, leader.lastIndex()).get(0).index())
        .isEqualTo(meta.index() + 1);
    assertThatThrownBy(() -> leader.log().entry(meta.index()))
        .isInstanceOf(IndexOutOfBoundsException.class);
    // the follower learned the durable index from heartbeats and may compact too
    Replica backup = c.r(2);
    assertThat(backup.compactableIndex()).isGreaterThanOrEqualTo(meta.index());
    assertThat(backup.compact(meta.index())).isEqualTo(meta);
    c.propose("after", "k9");
    c.run(300);
    c.checkSafety();
    assertThat(backup.commitIndex()).isEqualTo(leader.commitIndex());
  }

  @Test
  void aPeerBehindTheBaseGetsASnapshotThenTheLog() {
    Cluster c = witnessLagsBehindCompaction(Cluster.ledByNodeOne(Cluster.shape(1, 1)), 12);
    Replica leader = c.r(1);
    SnapshotMeta meta = leader.compact(leader.compactableIndex());
    c.snapshotSends.clear();
    c.down.remove(n(3));
    c.run(400);
    assertThat(c.snapshotSends).contains(new SnapshotSend(n(3), true));
    assertThat(c.r(3).commitIndex()).isLessThan(meta.index()); // heartbeats alone cannot help
    // the runtime streamed the image; the witness installs it
    c.handle(n(3), c.r(3).installSnapshot(meta, n(1), leader.term(), c.now(n(3))));
    assertThat(c.installed.get(n(3))).containsExactly(meta);
    assertThat(c.r(3).snapshotIndex()).isEqualTo(meta.index());
    assertThat(c.r(3).appliedIndex()).isEqualTo(meta.index());
    c.propose("after", "k9");
    c.run(400);
    c.checkSafety();
    assertThat(c.r(3).lastIndex()).isEqualTo(leader.lastIndex());
    assertThat(c.r(3).commitIndex()).isEqualTo(leader.commitIndex());
    assertThat(c.r(3).log().entry(leader.lastIndex()).isElided()).isTrue();
    // a late copy of the same transfer must not take back what was applied since
    long applied = c.r(3).appliedIndex();
    Ready again = c.r(3).installSnapshot(meta, n(1), leader.term(), c.now(n(3)));
    assertThat(again.snapshotToInstall()).isNull();
    c.handle(n(3), again);
    assertThat(c.r(3).appliedIndex()).isEqualTo(applied);
    assertThat(c.installed.get(n(3))).hasSize(1);
  }

  @Test
  void theBrokenVariantInstallsAStaleSnapshotAndGoesBack() {
    Cluster c = new Cluster(Cluster.shape(1, 1), b -> b.variant(Variant.INSTALL_STALE_SNAPSHOT));
    c.tickAll();
    for (int i = 0; i < 800 && c.r(1).status() != Status.LEADER; i++) {
      c.globalNanos += 10 * Cluster.MS;
      c.tick(1);
      c.deliverAll();
    }
    c.run(300);
    c.down.remove(n(3));
    for (int i = 0; i < 6; i++) {
      c.propose("v" + i, "k" + i);
      c.run(100);
    }
    Replica backup = c.r(2);
    long applied = backup.appliedIndex();
    SnapshotMeta old = c.r(1).snapshotMetaAt(2);
    Ready rd = backup.installSnapshot(old, n(1), c.r(1).term(), c.now(n(2)));
    assertThat(rd.snapshotToInstall()).isEqualTo(old);
    c.handle(n(2), rd);
    assertThat(backup.appliedIndex()).isLessThan(applied);
  }

  @Test
  void aReplicaRestartsFromASnapshotBaseAndItsTail() {
    Membership m = Cluster.shape(1, 1);
    ReplicaConfig cfg = ReplicaConfig.builder(n(2), m).electionTimeoutMillis(1000)
        .heartbeatIntervalMillis(100).leaseMillis(500).clockDriftMax(0.01).build();
    SnapshotMeta base = new SnapshotMeta(40, 3, m);
    List<Entry> tail = List.of(Entry.noop(4, 41),
        Entry.normal(4, 42, Command.of(new byte[] {1}, new byte[] {'k'})));
    Replica r = new Replica(cfg, new PersistentState(new HardState(4, null, 0), base, tail));
    assertThat(r.commitIndex()).isEqualTo(40);
    assertThat(r.appliedIndex()).isEqualTo(40);
    assertThat(r.snapshotIndex()).isEqualTo(40);
    assertThat(r.log().term(40)).isEqualTo(3);
    assertThat(r.lastIndex()).isEqualTo(42);
    assertThat(r.membership()).isEqualTo(m);
    Ready first = r.tick(1_000_000_000L);
    assertThat(first.committedEntries()).isEmpty(); // nothing below the base is handed out again
    assertThatThrownBy(() -> new PersistentState(HardState.INITIAL, base, List.of(Entry.noop(4, 40))))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("contiguous from 41");
  }

  @Test
  void raftLogAnswersAtTheBaseAndMatchesBelowIt() {
    Membership m = Cluster.shape(1, 1);
    RaftLog log = new RaftLog(new SnapshotMeta(10, 2, m), List.of(Entry.noop(3, 11)));
    assertThat(log.term(10)).isEqualTo(2);
    assertThat(log.matches(10, 2)).isTrue();
    assertThat(log.matches(10, 1)).isFalse();
    assertThat(log.matches(5, 99)).isTrue(); // compacted: durable, so the asker's entry is ours
    assertThat(log.termOrMissing(5)).isEqualTo(RaftLog.COMPACTED);
    assertThat(log.latestConfigAtOrBelow(11).membership()).isEqualTo(m);
    assertThatThrownBy(() -> log.truncateFrom(10)).isInstanceOf(IllegalStateException.class);
    log.install(new SnapshotMeta(20, 3, m));
    assertThat(log.lastIndex()).isEqualTo(20);
    assertThat(log.persistedIndex()).isEqualTo(20);
    log.checkInvariants();
  }

  @Test
  void snapshotMessagesRoundTripThroughTheCodec() {
    List<Message> ms = List.of(
        new Message.SnapshotChunk(n(1), n(2), 5, 40, 3, 1000, 512, new byte[] {1, 2, 3}),
        new Message.SnapshotAck(n(2), n(1), 5, 40, 3, 515, false),
        new Message.AppendEntries(n(1), n(2), 5, 4, 3, List.of(), 9, 7, 8));
    for (Message m : ms) {
      assertThat(MessageCodec.decode(MessageCodec.encode(m))).isEqualTo(m);
    }
    assertThatThrownBy(() -> new Message.SnapshotChunk(n(1), n(2), 5, 40, 3, 10, 8, new byte[3]))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(Set.of(MessageType.values())).contains(MessageType.SNAPSHOT_CHUNK);
  }
  /**
   * F2 of respawn-sim/FINDINGS.md (seed 3963): a witness leads a configuration without voting
   * backups ({P1 W3 W4}, after the failed backup B2 was removed with the leader standing in for
   * it), and the primary, the only member that keeps values, is down. Writes commit on the two
   * witnesses. Neither may compact past what the primary has flushed: the leader's image has no
   * values to give it, and nobody else has them either. Once the primary is back, catches up
   * from the log and keeps an image there (a member that keeps no values compacts no further
   * than the images of the value keepers, F7), compaction moves on.
   */
  @Test
  void aWitnessLeaderCompactsNoFurtherThanAValueKeepingMemberFlushed() {
    Cluster c = new Cluster(Cluster.shape(1, 2)); // P1 B2 W3 W4
    c.run(3_000);
    if (!c.leader().id().equals(n(3))) {
      Replica old = c.leader();
      assertThat(old.transferLeadership(n(3), c.now(old.id()))).isTrue();
      c.handle(old.id(), old.ready());
      c.run(2_000);
    }
    Replica w = c.r(3);
    assertThat(c.leader()).isSameAs(w);
    c.propose("a", "k1");
    c.run(300);
    c.down.add(n(2));
    assertThat(w.standIn(n(2), n(3))).isTrue();
    Membership withoutBackup = Membership.of(Membership.Member.voter(1, Role.PRIMARY),
        Membership.Member.voter(3, Role.WITNESS), Membership.Member.voter(4, Role.WITNESS));
    assertThat(w.proposeMembership(withoutBackup, c.now(n(3)))).isTrue();
    c.handle(n(3), w.ready());
    c.run(1_000);
    assertThat(w.membership()).isEqualTo(withoutBackup);
    long primaryHas = c.r(1).lastIndex();
    c.down.add(n(1));
    for (int i = 0; i < 10; i++) {
      c.propose("v" + i, "k" + (i % 3));
      c.run(50);
    }
    c.run(300);
    assertThat(w.commitIndex()).as("the witnesses commit without the primary")
        .isGreaterThan(primaryHas + 5);
    assertThat(w.durableIndex()).isEqualTo(w.commitIndex());
    assertThat(w.compactableIndex()).isLessThanOrEqualTo(primaryHas);
    assertThat(c.r(4).compactableIndex()).isLessThanOrEqualTo(primaryHas);
    c.down.remove(n(1));
    c.run(1_000);
    assertThat(c.r(1).lastIndex()).isEqualTo(w.lastIndex());
    // and once the primary keeps an image there (its runtime would), the witnesses may follow
    c.r(1).imageKept(c.r(1).compactableIndex());
    c.run(300);
    assertThat(w.compactableIndex()).isEqualTo(w.commitIndex());
    assertThat(c.r(4).compactableIndex()).isEqualTo(w.commitIndex());
    c.checkSafety();
  }

  /**
   * F7 of respawn-sim/FINDINGS.md (seeds 10721, 12693; 1126, 1597 of F8): a witness leads and a
   * learner backup acknowledges its writes but flushes none of them; the witness's log and its
   * image may not hold them with values. The learner then loses power and comes back at its
   * kept image. The witness used to compact to the index durable on the shard, which counts no
   * learner: the learner was then behind the witness's base, and every value keeper asked to
   * send it an image had to keep a new one first, which in the seeds waited on the learner (a
   * backup by then) for good. Now a member that keeps no values compacts no further than the
   * lowest image kept by the value keepers its leader heard from within an election timeout
   * (every AppendEntriesResponse says the responder's newest image): the learner's, so it is
   * never behind the witness's base and catches up from the log.
   */
  @Test
  void aWitnessCompactsNoFurtherThanTheImageOfALiveValueKeeper() {
    Membership m = Membership.of(Membership.Member.voter(1, Role.PRIMARY),
        Membership.Member.voter(2, Role.BACKUP), Membership.Member.voter(3, Role.WITNESS),
        Membership.Member.learner(4, Role.BACKUP));
    Cluster c = Cluster.ledByNodeOne(m);
    for (int i = 0; i < 5; i++) {
      c.propose("v" + i, "k" + (i % 3));
      c.run(50);
    }
    c.run(300);
    long learnerImage = c.r(4).commitIndex();
    assertThat(c.r(4).compactableIndex()).isEqualTo(learnerImage);
    c.r(4).imageKept(learnerImage); // what its runtime does once it keeps an image there
    c.noFlushReports.add(n(4)); // from now on it writes and acknowledges, and flushes nothing
    Replica old = c.r(1);
    assertThat(old.transferLeadership(n(3), c.now(n(1)))).isTrue();
    c.handle(n(1), old.ready());
    c.run(2_000);
    Replica w = c.r(3);
    assertThat(c.leader()).isSameAs(w);

    for (int i = 0; i < 10; i++) {
      c.propose("w" + i, "k" + (i % 3));
      c.run(50);
    }
    c.run(300);
    long committed = w.commitIndex();
    assertThat(c.r(4).lastIndex()).as("the learner acknowledged everything").isEqualTo(committed);
    assertThat(c.r(4).flushedIndex()).isEqualTo(learnerImage);
    for (int i = 1; i <= 2; i++) { // primary and backup keep images at the durable index
      assertThat(c.r(i).compactableIndex()).isEqualTo(committed);
      c.r(i).imageKept(committed);
    }
    c.run(300); // heartbeat answers carry the images
    assertThat(w.durableIndex()).isEqualTo(committed);
    assertThat(w.compactableIndex())
        .as("the witness compacts no further than the learner's image")
        .isEqualTo(learnerImage);
    w.compact(w.compactableIndex());

    // the learner loses power: back at its image, with nothing after it
    List<Entry> disk = c.disks.get(n(4));
    disk.subList((int) learnerImage, disk.size()).clear();
    c.restart(4);
    c.r(4).imageKept(learnerImage);
    c.snapshotSends.clear();
    c.propose("after", "k9");
    c.run(1_000);
    assertThat(c.snapshotSends).as("nobody needs an image").isEmpty();
    Replica learner = c.r(4);
    assertThat(learner.lastIndex()).isEqualTo(w.lastIndex());
    assertThat(learner.commitIndex()).isEqualTo(w.commitIndex());
    for (long i = 1; i <= learner.lastIndex(); i++) {
      assertThat(learner.log().entry(i).isElided()).as("entry %d on the learner", i).isFalse();
    }
    c.checkSafety();
  }

  /**
   * F5 of respawn-sim/FINDINGS.md (seed 2922): a witness leads holding entries keys-only (the
   * primary appended them), and a member that keeps values needs their values, but is not behind
   * the leader's base (the witness compacted nothing), so no snapshot is asked for the usual way.
   * The primary and the backup, the only members that had the values in their logs, compacted
   * them (durable on the shard under the primary). Every fill the leader asks for is refused
   * with the range compacted; the leader then asks one of them to send its image, at or above
   * the first entry missing, and the follower goes on from the log after it. Here the follower
   * is a learner backup that was down from the start; in the seed it was a voting backup whose
   * every write the shard needed, so it stopped committing.
   */
  @Test
  void aValueKeeperNeedingValuesEveryMemberCompactedGetsAHelpersImage() {
    Membership m = Membership.of(Membership.Member.voter(1, Role.PRIMARY),
        Membership.Member.voter(2, Role.BACKUP), Membership.Member.voter(3, Role.WITNESS),
        Membership.Member.learner(4, Role.BACKUP));
    Cluster c = new Cluster(m);
    c.down.add(n(4));
    c.tickAll();
    for (int i = 0; i < 800 && c.r(1).status() != Status.LEADER; i++) {
      c.globalNanos += 10 * Cluster.MS;
      c.tick(1);
      c.deliverAll();
    }
    assertThat(c.r(1).status()).isEqualTo(Status.LEADER);
    c.run(300);
    for (int i = 0; i < 10; i++) {
      c.propose("v" + i, "k" + (i % 3));
      c.run(50);
    }
    c.run(300);
    long committed = c.r(1).commitIndex();
    assertThat(c.r(1).compactableIndex()).isEqualTo(committed);
    assertThat(c.r(2).compactableIndex()).isEqualTo(committed);
    SnapshotMeta base = c.r(1).compact(committed);
    assertThat(c.r(2).compact(committed)).isEqualTo(base);

    Replica old = c.r(1);
    assertThat(old.transferLeadership(n(3), c.now(n(1)))).isTrue();
    c.handle(n(1), old.ready());
    c.run(2_000);
    Replica w = c.r(3);
    assertThat(c.leader()).isSameAs(w);
    assertThat(w.snapshotIndex()).isZero(); // the learner is not behind the leader's base
    long firstElided = 0;
    for (long i = 1; i <= committed && firstElided == 0; i++) {
      firstElided = w.log().entry(i).isElided() ? i : 0;
    }
    assertThat(firstElided).as("the witness leader holds the primary's writes keys-only")
        .isPositive();

    c.snapshotSends.clear();
    c.down.remove(n(4));
    c.run(1_000);
    assertThat(c.r(4).lastIndex()).as("nobody can fill the values the learner needs")
        .isLessThan(firstElided);
    SnapshotSend send = c.snapshotSends.stream().filter(x -> x.to().equals(n(4))).findFirst()
        .orElseThrow(() -> new AssertionError("no snapshot asked for the learner: "
            + c.snapshotSends));
    assertThat(send.via()).isIn(n(1), n(2));
    assertThat(send.keysOnly()).isFalse();
    assertThat(send.imageIndexMin()).isEqualTo(firstElided);
    // the helper's runtime streams its kept image (at its base, which is at or above the first
    // missing entry); the learner installs it and takes the rest from the log
    c.handle(n(4), c.r(4).installSnapshot(base, send.via(), w.term(), c.now(n(4))));
    assertThat(c.installed.get(n(4))).containsExactly(base);
    c.propose("after", "k9");
    c.run(1_000);
    c.checkSafety();
    Replica learner = c.r(4);
    assertThat(learner.lastIndex()).isEqualTo(w.lastIndex());
    assertThat(learner.commitIndex()).isEqualTo(w.commitIndex());
    for (long i = base.index() + 1; i <= learner.lastIndex(); i++) {
      assertThat(learner.log().entry(i).isElided()).as("entry %d on the learner", i).isFalse();
    }
  }

  /**
   * F8 of respawn-sim/FINDINGS.md, seed 1791: a leader probes a follower below the follower's
   * base (the leader's match for it is stale). The follower's log matches there (compacted:
   * durable on the shard, so the same entries), and it used to acknowledge only the probe point;
   * a witness leader that held the next entries keys-only, with every value keeper compacted
   * past them, then asked helpers for images the follower already had (it ignored them), for
   * ever. The acknowledgement now covers everything through the follower's base.
   */
  @Test
  void aFollowerAcknowledgesEverythingThroughItsBaseToAProbeBelowIt() {
    Membership m = Cluster.shape(1, 1);
    ReplicaConfig cfg = ReplicaConfig.builder(n(2), m).electionTimeoutMillis(1000)
        .heartbeatIntervalMillis(100).leaseMillis(500).clockDriftMax(0.01).build();
    SnapshotMeta base = new SnapshotMeta(40, 3, m);
    Replica r = new Replica(cfg, new PersistentState(new HardState(4, null, 0), base,
        List.of(Entry.noop(4, 41))));
    Ready rd = r.step(new Message.AppendEntries(n(1), n(2), 4, 17, 1, List.of(), 41, 1),
        1_000_000_000L);
    Message.AppendEntriesResponse ack = rd.messages().stream()
        .filter(x -> x instanceof Message.AppendEntriesResponse)
        .map(x -> (Message.AppendEntriesResponse) x).findFirst().orElseThrow();
    assertThat(ack.success()).isTrue();
    assertThat(ack.matchIndex()).isEqualTo(40);
  }
}
