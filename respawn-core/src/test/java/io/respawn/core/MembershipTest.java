package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Membership.Member;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MembershipTest {

  private static void addNode(Cluster c, int id, Membership bootstrap) {
    ReplicaConfig cfg = ReplicaConfig.builder(n(id), bootstrap).electionTimeoutMillis(1000)
        .heartbeatIntervalMillis(100).leaseMillis(500).maxEntriesPerAppend(8).randomSeed(id).build();
    c.add(n(id), cfg);
  }

  private static Membership with(Membership m, Member... extra) {
    List<Member> ms = new ArrayList<>(m.incoming());
    ms.addAll(List.of(extra));
    return Membership.of(ms);
  }

  private static Membership without(Membership m, int id) {
    List<Member> ms = new ArrayList<>(m.incoming());
    ms.removeIf(x -> x.id().equals(n(id)));
    return Membership.of(ms);
  }

  private static Membership promoted(Membership m, int id) {
    List<Member> ms = new ArrayList<>();
    for (Member x : m.incoming()) {
      ms.add(x.id().equals(n(id)) ? new Member(x.id(), x.role(), true) : x);
    }
    return Membership.of(ms);
  }

  @Test
  void addBackupAsLearnerThenPromoteThroughJointConsensus() {
    Membership start = Cluster.shape(1, 1);
    Cluster c = Cluster.ledByNodeOne(start);
    Replica l = c.r(1);
    for (int i = 0; i < 20; i++) {
      c.propose("v" + i, "k" + i);
    }
    c.run(500);
    Membership withLearner = with(start, Member.learner(4, Role.BACKUP));
    addNode(c, 4, withLearner);
    assertThat(l.proposeMembership(withLearner, c.now(n(1)))).isTrue();
    c.handle(n(1), l.ready());
    c.run(1_000);
    // learner-only change: one step, no joint config; it caught up
    assertThat(l.membership()).isEqualTo(withLearner);
    assertThat(c.r(4).lastIndex()).isEqualTo(l.lastIndex());
    assertThat(c.r(4).log().entry(5).isElided()).as("a backup learner gets values").isFalse();
    assertThat(l.matchIndex(n(4))).isEqualTo(l.lastIndex());

    Membership target = promoted(withLearner, 4);
    assertThat(l.proposeMembership(target, c.now(n(1)))).isTrue();
    assertThat(l.membership().isJoint()).isTrue();
    assertThat(l.proposeMembership(start, c.now(n(1)))).as("one change at a time").isFalse();
    c.handle(n(1), l.ready());
    c.run(1_000);
    assertThat(l.membership()).isEqualTo(target); // left the joint config by itself
    for (int i = 1; i <= 4; i++) {
      assertThat(c.r(i).membership()).isEqualTo(target);
    }
    // the new voting backup is now in every write quorum
    c.down.add(n(4));
    long before = l.commitIndex();
    c.propose("x", "y");
    c.run(1_000);
    assertThat(l.commitIndex()).isEqualTo(before);
    c.down.remove(n(4));
    c.run(500);
    assertThat(l.commitIndex()).isEqualTo(l.lastIndex());
    c.checkSafety();
  }

  @Test
  void witnessLeaderStandsInForItsFailedBackup() {
    // P1 B2 B3 W4 W5: after the primary and then a backup fail, three of five voters remain
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(2, 2));
    c.propose("before", "k0");
    c.run(300);
    c.down.add(n(1));
    for (int i = 0; i < 200 && c.leader() == null; i++) {
      c.run(100);
    }
    Replica w = c.leader();
    assertThat(w).isNotNull();
    assertThat(w.role()).isEqualTo(Role.WITNESS);
    c.down.add(n(2));
    long stuck = c.propose("blocked", "k");
    c.run(1_000);
    assertThat(w.commitIndex()).isLessThan(stuck);
    // the leader names itself: it holds its new entries in full, so it counts for the backup
    assertThat(w.standIn(n(2), w.id())).isTrue();
    c.handle(w.id(), w.ready());
    c.run(300);
    assertThat(w.commitIndex()).isGreaterThanOrEqualTo(stuck);
    assertThat(w.log().entry(stuck).isElided()).isFalse();
    c.checkSafety();
  }

  @Test
  void anAckTheWitnessSentForKeysOnlyCopiesDoesNotCountOnceItStandsIn() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1)); // P1 B2 W3
    Replica l = c.r(1);
    c.down.add(n(2));
    long blocked = c.propose("blocked", "k");
    c.run(300);
    long commit = l.commitIndex();
    assertThat(commit).isLessThan(blocked);
    assertThat(l.standIn(n(2), n(3))).isTrue();
    // an ack the witness sent before (seq 1: long ago) claims everything, as keys-only copies
    c.handle(n(1), l.step(new Message.AppendEntriesResponse(n(3), n(1), l.term(), true,
        l.lastIndex(), l.lastIndex(), 1, l.lastIndex()), c.now(n(1))));
    assertThat(l.matchIndex(n(3))).isLessThanOrEqualTo(commit);
    assertThat(l.commitIndex()).as("no commit on keys-only copies").isEqualTo(commit);
    c.handle(n(1), l.ready());
    c.run(300); // full copies reach the witness; now it counts
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(blocked);
    assertThat(c.r(3).log().entry(blocked).isElided()).isFalse();
  }

  /**
   * F4 of respawn-sim/FINDINGS.md (seed 9596): the AppendEntries carrying a new stand-in's full
   * copies was lost, and the next one, pipelined after it, was accepted over the keys-only copies
   * the witness held (same term and index), so its ack counted them as full. Until the stand-in
   * holds in full everything it may hold keys-only, every AppendEntries to it starts right after
   * its confirmed match.
   */
  @Test
  void aStandInGetsEverythingFromItsConfirmedMatchUntilItHoldsItInFull() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1)); // P1 B2 W3
    Replica l = c.r(1);
    c.propose("before", "k0");
    c.run(300);
    c.down.add(n(2));
    c.propose("blocked", "k");
    c.run(300);
    assertThat(l.standIn(n(2), n(3))).isTrue();
    long match = l.matchIndex(n(3));
    c.dropIf = m -> m.to().equals(n(3)); // the full copies after the match are lost
    c.handle(n(1), l.ready());
    c.dropIf = m -> false;
    Proposal p = l.propose(Command.of("next".getBytes(java.nio.charset.StandardCharsets.UTF_8),
        "k2".getBytes(java.nio.charset.StandardCharsets.UTF_8)), c.now(n(1)));
    assertThat(p.accepted()).isTrue();
    Ready rd = p.ready();
    List<Message.AppendEntries> toStandIn = new ArrayList<>();
    for (Message m : rd.messages()) {
      if (m instanceof Message.AppendEntries a && a.to().equals(n(3))) {
        toStandIn.add(a);
      }
    }
    assertThat(toStandIn).isNotEmpty().allSatisfy(a -> {
      assertThat(a.prevLogIndex()).as("starts after the confirmed match").isEqualTo(match);
      assertThat(a.entries()).noneMatch(Entry::isElided);
    });
    c.handle(n(1), rd);
    c.run(500);
    assertThat(l.commitIndex()).isEqualTo(l.lastIndex());
    for (long i = match + 1; i <= l.lastIndex(); i++) {
      assertThat(c.r(3).log().entry(i).isElided()).as("entry %d on the stand-in", i).isFalse();
    }
    c.checkSafety();
  }

  /**
   * The simulator's 10642 (FINDINGS.md F7): a witness leader holds the primary's writes
   * keys-only, the primary and the backup compacted them, and the leader's match for the other
   * witness is stale (its answers were lost) when that witness starts standing in for the failed
   * backup. Everything up to the commit index is decided, so an AppendEntries to the stand-in
   * may start there (F4/F5); but the probe of every heartbeat round (and of the stand-in's start)
   * took it back to match + 1, into entries the leader can neither send in full nor fill (every
   * value keeper compacted them), and the stand-in, whose every write the shard needs, never
   * caught up. The floor now holds after a probe unless the stand-in rejected since its last ack.
   */
  @Test
  void aStandInIsNotProbedBelowTheCommitIndexUnlessItRejected() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 2)); // P1 B2 W3 W4
    for (int i = 0; i < 6; i++) {
      c.propose("v" + i, "k" + (i % 3));
      c.run(50);
    }
    c.run(300);
    long committed = c.r(1).commitIndex();
    for (int i = 1; i <= 2; i++) { // the value keepers compact what is durable on the shard
      assertThat(c.r(i).compactableIndex()).isEqualTo(committed);
      c.r(i).compact(committed);
    }
    Replica old = c.r(1);
    assertThat(old.transferLeadership(n(3), c.now(n(1)))).isTrue();
    c.handle(n(1), old.ready());
    c.dropIf = m -> m.from().equals(n(4)) && m instanceof Message.AppendEntriesResponse
        && m.to().equals(n(3)); // the new leader's match for n4 stays stale
    c.run(2_000);
    Replica w = c.r(3);
    assertThat(c.leader()).isSameAs(w);
    assertThat(w.log().entry(committed).isElided()).as("the primary's writes, keys-only").isTrue();
    assertThat(w.commitIndex()).isGreaterThan(committed);
    assertThat(c.r(4).lastIndex()).isEqualTo(w.lastIndex());
    c.down.add(n(2));
    assertThat(w.standIn(n(2), n(4))).isTrue();
    c.dropIf = m -> false;
    c.snapshotSends.clear();
    c.handle(n(3), w.ready());
    long next = c.propose("next", "k1");
    c.run(1_000);
    assertThat(w.commitIndex()).as("the write needs the stand-in").isGreaterThanOrEqualTo(next);
    assertThat(c.r(4).log().entry(next).isElided()).isFalse();
    assertThat(c.snapshotSends).as("nobody needs an image").isEmpty();
    c.checkSafety();
  }

  @Test
  void removeFailedBackupWithAWitnessStandingIn() {
    Membership start = Cluster.shape(1, 1); // P1 B2 W3
    Cluster c = Cluster.ledByNodeOne(start);
    Replica l = c.r(1);
    c.down.add(n(2));
    long stuck = c.propose("blocked", "k");
    c.run(1_000);
    assertThat(l.commitIndex()).isLessThan(stuck);
    // with the backup failed, the removal itself could never commit...
    assertThat(l.standIn(n(2), n(3))).isTrue();
    c.run(500);
    // ...the witness stands in, receives full entries, and the write commits
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(stuck);
    assertThat(c.r(3).log().entry(stuck).isElided()).isFalse();

    Membership target = without(start, 2);
    assertThat(l.proposeMembership(target, c.now(n(1)))).isTrue();
    c.handle(n(1), l.ready());
    c.run(1_000);
    assertThat(l.membership()).isEqualTo(target);
    assertThat(l.standIns()).isEmpty();
    assertThat(c.r(3).membership()).isEqualTo(target);
    // no backups left: the witness keeps values now
    long w = c.propose("after", "k2");
    c.run(300);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(w);
    assertThat(c.r(3).log().entry(w).isElided()).isFalse();

    // and a replacement backup joins as learner, then votes
    Membership withLearner = with(target, Member.learner(5, Role.BACKUP));
    addNode(c, 5, withLearner);
    assertThat(l.proposeMembership(withLearner, c.now(n(1)))).isTrue();
    c.handle(n(1), l.ready());
    c.run(1_000);
    Membership fin = promoted(withLearner, 5);
    assertThat(l.proposeMembership(fin, c.now(n(1)))).isTrue();
    c.handle(n(1), l.ready());
    c.run(1_000);
    assertThat(l.membership()).isEqualTo(fin);
    assertThat(l.commitIndex()).isEqualTo(l.lastIndex());
    c.checkSafety();
  }

  @Test
  void replaceAWitness() {
    Membership start = Cluster.shape(1, 1); // P1 B2 W3
    Cluster c = Cluster.ledByNodeOne(start);
    Replica l = c.r(1);
    c.propose("v", "k");
    c.run(300);
    Membership withLearner = with(start, Member.learner(4, Role.WITNESS));
    addNode(c, 4, withLearner);
    assertThat(l.proposeMembership(withLearner, c.now(n(1)))).isTrue();
    c.handle(n(1), l.ready());
    c.run(1_000);
    assertThat(c.r(4).lastIndex()).isEqualTo(l.lastIndex());
    assertThat(c.r(4).log().entry(2).isElided()).as("a witness learner gets keys only").isTrue();
    Membership target = without(promoted(withLearner, 4), 3);
    assertThat(l.proposeMembership(target, c.now(n(1)))).isTrue();
    c.handle(n(1), l.ready());
    c.run(1_000);
    assertThat(l.membership()).isEqualTo(target);
    // the old witness is gone: the new one can take over if the primary dies
    c.down.add(n(1));
    c.down.add(n(3));
    c.run(5_000);
    assertThat(c.r(4).status()).isEqualTo(Status.LEADER);
    assertThat(c.r(4).commitIndex()).isEqualTo(c.r(4).lastIndex());
    c.checkSafety();
  }

  @Test
  void jointQuorumNeedsBothHalves() {
    Membership old = Cluster.shape(1, 1);
    Membership joint = Membership.joint(old, List.of(
        Member.voter(1, Role.PRIMARY), Member.voter(4, Role.BACKUP), Member.voter(3, Role.WITNESS)));
    java.util.Map<NodeId, NodeId> none = java.util.Map.of();
    assertThat(Quorum.isCommitQuorum(joint, java.util.Set.of(n(1), n(2), n(3)), none, Variant.CORRECT))
        .as("new half misses its backup").isFalse();
    assertThat(Quorum.isCommitQuorum(joint, java.util.Set.of(n(1), n(4), n(3)), none, Variant.CORRECT))
        .as("old half misses its backup").isFalse();
    assertThat(Quorum.isCommitQuorum(joint, java.util.Set.of(n(1), n(2), n(4)), none, Variant.CORRECT))
        .isTrue();
    assertThat(Quorum.isElectionQuorum(joint, java.util.Set.of(n(3), n(2)))).isFalse();
    assertThat(Quorum.isElectionQuorum(joint, java.util.Set.of(n(3), n(2), n(4)))).isTrue();
  }
}
