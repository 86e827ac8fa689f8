package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.MemberReplacement.Op;
import io.respawn.core.MemberReplacement.Step;
import io.respawn.core.MemberReplacement.Targets;
import io.respawn.core.Membership.Member;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The primary's replacement of silent members from spares ({@link MemberReplacement}), in a
 * 1+1+1 shard (P1 B2 W3) with a spare witness n4 and a spare backup n5, each step taken as the
 * node loop takes it: a proposed configuration, run until committed.
 */
class MemberReplacementTest {

  private static final long REPLACE_AFTER_MILLIS = 2_000;
  private static final long MS = 1_000_000L;

  private final Set<NodeId> spent = new HashSet<>();

  private static Cluster shard() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    Membership start = c.r(1).membership();
    add(c, 4, Role.WITNESS, start);
    add(c, 5, Role.BACKUP, start);
    return c;
  }

  /** A spare process: it knows the shard and itself as a learner, as a joining member does. */
  private static void add(Cluster c, int id, Role role, Membership shard) {
    List<Member> ms = new ArrayList<>(shard.incoming());
    ms.add(Member.learner(id, role));
    c.add(n(id), ReplicaConfig.builder(n(id), Membership.of(ms)).electionTimeoutMillis(1000)
        .heartbeatIntervalMillis(100).leaseMillis(500).clockDriftMax(0.01)
        .catchUpTimeoutMillis(200).maxEntriesPerAppend(8).randomSeed(id).build());
  }

  private static MemberReplacement policy(Variant variant) {
    return new MemberReplacement(new Targets(2, 1),
        List.of(Member.learner(4, Role.WITNESS), Member.learner(5, Role.BACKUP)),
        REPLACE_AFTER_MILLIS * MS, variant);
  }

  /** Takes {@code s} on leader {@code l} as the node loop does, and runs until it commits. */
  private void take(Cluster c, Replica l, Step s) {
    List<Member> next = new ArrayList<>();
    for (Member m : l.membership().incoming()) {
      if (!m.id().equals(s.member().id())
          && (s.replaced() == null || !m.id().equals(s.replaced().id()))) {
        next.add(m);
      }
    }
    if (s.op() != Op.REMOVE) {
      next.add(s.member());
    }
    assertThat(l.proposeMembership(Membership.of(next), c.now(l.id()))).as(s.why()).isTrue();
    c.handle(l.id(), l.ready());
    c.run(1_000);
    assertThat(l.configChangePending()).as("committed: " + s.why()).isFalse();
    assertThat(l.membership().isJoint()).isFalse();
    for (Member m : l.membership().incoming()) {
      spent.add(m.id());
    }
  }

  /**
   * The primary dies for good; the witness takes over. Nothing happens for REPLACE_AFTER; then the
   * spare witness is added, and once caught up promoted in the old primary's place in one change
   * (the witness and the backup carry both halves of the joint configuration); after that the
   * shard survives the loss of the new primary too: the spare takes over and commits.
   */
  @Test
  void aPrimaryLostForGoodIsReplacedByTheSpareWitnessWhichThenTakesOverInTurn() {
    Cluster c = shard();
    MemberReplacement p = policy(Variant.CORRECT);
    c.propose("v", "k");
    c.run(300);
    assertThat(p.next(c.r(1), spent)).as("everyone answers").isNull();
    c.down.add(n(1));
    c.run(3_000);
    Replica w = c.leader();
    assertThat(w).as("the witness took over").isNotNull();
    assertThat(w.id()).isEqualTo(n(3));
    assertThat(p.next(w, spent)).as("the primary is silent for less than the bound since the "
        + "election").isNull();
    c.run(REPLACE_AFTER_MILLIS);
    Step add = p.next(w, spent);
    assertThat(add.op()).isEqualTo(Op.ADD);
    assertThat(add.member().id()).isEqualTo(n(4));
    assertThat(add.member().voting()).isFalse();
    take(c, w, add);
    Step replace = p.next(w, spent);
    assertThat(replace.op()).as("caught up: " + w.matchIndex(n(4))).isEqualTo(Op.REPLACE);
    assertThat(replace.member().id()).isEqualTo(n(4));
    assertThat(replace.member().voting()).isTrue();
    assertThat(replace.replaced().id()).isEqualTo(n(1));
    take(c, w, replace);
    assertThat(p.next(w, spent)).as("done: two that may lead, one backup").isNull();
    assertThat(w.membership().contains(n(1))).isFalse();
    assertThat(w.membership().isVoter(n(4))).isTrue();

    c.down.add(n(3));
    c.run(4_000);
    Replica spare = c.leader();
    assertThat(spare).as("the former spare took over").isNotNull();
    assertThat(spare.id()).isEqualTo(n(4));
    long after = c.propose("after", "k2");
    c.run(500);
    assertThat(spare.commitIndex()).isGreaterThanOrEqualTo(after);
    c.checkSafety();
  }

  /** A spare that never answers is removed after the bound, spent, and the next one is not there. */
  @Test
  void aSpareThatStaysSilentIsRemovedAndNotTriedAgain() {
    Cluster c = shard();
    MemberReplacement p = policy(Variant.CORRECT);
    c.down.add(n(3));
    c.down.add(n(4));
    c.run(REPLACE_AFTER_MILLIS + 100);
    Step add = p.next(c.r(1), spent);
    assertThat(add.op()).isEqualTo(Op.ADD);
    take(c, c.r(1), add);
    assertThat(p.next(c.r(1), spent)).as("waits for the learner").isNull();
    c.run(REPLACE_AFTER_MILLIS);
    Step remove = p.next(c.r(1), spent);
    assertThat(remove.op()).isEqualTo(Op.REMOVE);
    assertThat(remove.member().id()).isEqualTo(n(4));
    take(c, c.r(1), remove);
    assertThat(p.next(c.r(1), spent)).as("no unspent spare witness is left").isNull();
    assertThat(c.r(1).membership().isVoter(n(3))).as("the silent witness stays").isTrue();
  }

  /**
   * A spare that answers but never catches up (here: every AppendEntries to it carrying entries
   * is lost, so it answers heartbeats only) is removed after CATCH_UP_BOUNDS_MAX bounds and
   * spent, instead of holding every later step.
   */
  @Test
  void aSpareThatNeverCatchesUpIsRemovedAfterTheCatchUpBound() {
    Cluster c = shard();
    MemberReplacement p = policy(Variant.CORRECT);
    for (int i = 0; i < 20; i++) {
      c.propose("v" + i, "k" + i);
    }
    c.down.add(n(3));
    c.run(REPLACE_AFTER_MILLIS + 100);
    Step add = p.next(c.r(1), spent);
    assertThat(add.member().id()).isEqualTo(n(4));
    c.dropIf = m -> m.to().equals(n(4)) && m instanceof Message.AppendEntries a
        && !a.entries().isEmpty();
    take(c, c.r(1), add);
    c.run(2 * REPLACE_AFTER_MILLIS);
    assertThat(p.next(c.r(1), spent)).as("answers, so not silent; not caught up yet").isNull();
    assertThat(c.r(1).peerHeardWithin(n(4), 500 * MS)).isTrue();
    c.run(MemberReplacement.CATCH_UP_BOUNDS_MAX * REPLACE_AFTER_MILLIS);
    Step remove = p.next(c.r(1), spent);
    c.dropIf = m -> false;
    assertThat(remove.op()).isEqualTo(Op.REMOVE);
    assertThat(remove.member().id()).isEqualTo(n(4));
    assertThat(remove.why()).contains("did not catch up");
  }

  /**
   * A silent backup: its stand-in keeps writes going; the spare backup is added, then promoted in
   * the silent backup's place (the stand-in ends with it) and writes commit on the spare.
   */
  @Test
  void aBackupLostForGoodIsReplacedByTheSpareBackup() {
    Cluster c = Cluster.ledByNodeOne(new Cluster(Cluster.shape(1, 1),
        b -> b.standInAfterMillis(300)));
    Membership start = c.r(1).membership();
    add(c, 5, Role.BACKUP, start);
    MemberReplacement p = policy(Variant.CORRECT);
    Replica l = c.r(1);
    c.down.add(n(2));
    c.propose("v", "k");
    c.run(REPLACE_AFTER_MILLIS + 100);
    assertThat(l.standIns()).containsKey(n(2));
    Step add = p.next(l, spent);
    assertThat(add.member().id()).isEqualTo(n(5));
    take(c, l, add);
    Step replace = p.next(l, spent);
    assertThat(replace.op()).isEqualTo(Op.REPLACE);
    assertThat(replace.replaced().id()).isEqualTo(n(2));
    take(c, l, replace);
    assertThat(l.membership().isVoter(n(5))).isTrue();
    assertThat(l.membership().contains(n(2))).isFalse();
    assertThat(l.standIns()).isEmpty();
    long after = c.propose("after", "k2");
    c.run(300);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(after);
    assertThat(c.r(5).log().entry(after).isElided()).as("the new backup holds it").isFalse();
    c.checkSafety();
  }

  /**
   * A witness whose answers are lost for three heartbeat intervals is not replaced; with
   * REPLACE_AFTER_ONE_HEARTBEAT the spare is added for it and then promoted in its place,
   * although it was up all along.
   */
  @Test
  void aMemberSilentForLessThanTheBoundIsKeptAndTheBrokenVariantReplacesIt() {
    for (Variant v : List.of(Variant.CORRECT, Variant.REPLACE_AFTER_ONE_HEARTBEAT)) {
      spent.clear();
      Cluster c = shard();
      MemberReplacement p = policy(v);
      c.dropIf = m -> m.from().equals(n(3));
      c.run(300);
      Step s = p.next(c.r(1), spent);
      c.dropIf = m -> false;
      if (v == Variant.CORRECT) {
        assertThat(s).isNull();
        continue;
      }
      assertThat(s.op()).isEqualTo(Op.ADD);
      take(c, c.r(1), s);
      c.dropIf = m -> m.from().equals(n(3));
      c.run(300);
      Step replace = p.next(c.r(1), spent);
      c.dropIf = m -> false;
      assertThat(replace.op()).isEqualTo(Op.REPLACE);
      assertThat(replace.replaced().id()).isEqualTo(n(3));
    }
  }

  /** The shard of {@link #shard()} with a spare primary n6 too (after the witness n4). */
  private static Cluster shardWithSparePrimary() {
    Cluster c = shard();
    add(c, 6, Role.PRIMARY, c.r(1).membership());
    return c;
  }

  private static MemberReplacement policyWithSparePrimary(Variant variant) {
    return new MemberReplacement(new Targets(2, 1), List.of(Member.learner(4, Role.WITNESS),
        Member.learner(5, Role.BACKUP), Member.learner(6, Role.PRIMARY)),
        REPLACE_AFTER_MILLIS * MS, variant);
  }

  /**
   * Primary n1 dies for good; witness n3 takes over and, once n1 has been silent for the bound,
   * the policy adds spare primary n6 (not the spare witness listed before it). Returns n3.
   */
  private Replica primaryLostAndSparePrimaryAdded(Cluster c, MemberReplacement p) {
    c.propose("v", "k");
    c.run(300);
    c.down.add(n(1));
    c.run(3_000 + REPLACE_AFTER_MILLIS);
    Replica w = c.leader();
    assertThat(w.id()).isEqualTo(n(3));
    Step add = p.next(w, spent);
    assertThat(add.op()).isEqualTo(Op.ADD);
    assertThat(add.member().id()).as(add.why()).isEqualTo(n(6));
    take(c, w, add);
    return w;
  }

  private static int primaryVoters(Membership m) {
    int n = 0;
    for (Member x : m.incoming()) {
      n += x.voting() && x.role() == Role.PRIMARY ? 1 : 0;
    }
    return n;
  }

  /**
   * The primary dies for good; the witness takes over. The spare primary n6 is added rather than
   * the spare witness listed before it, and once caught up takes n1's place: the shard has a
   * voter of role primary again (one), the witness still leads, and a write commits on n6 with
   * its value (a primary holds values). The leader can hand leadership to n6, which then leads.
   */
  @Test
  void aPrimaryLostForGoodIsReplacedByTheSparePrimaryBeforeTheSpareWitness() {
    Cluster c = shardWithSparePrimary();
    MemberReplacement p = policyWithSparePrimary(Variant.CORRECT);
    Replica w = primaryLostAndSparePrimaryAdded(c, p);
    Step replace = p.next(w, spent);
    assertThat(replace.op()).as("caught up: " + w.matchIndex(n(6))).isEqualTo(Op.REPLACE);
    assertThat(replace.replaced().id()).isEqualTo(n(1));
    take(c, w, replace);
    assertThat(p.next(w, spent)).as("done: the primary's place is taken").isNull();
    assertThat(primaryVoters(w.membership())).isEqualTo(1);
    assertThat(w.membership().role(n(6))).isEqualTo(Role.PRIMARY);
    long after = c.propose("after", "k2");
    c.run(300);
    assertThat(w.commitIndex()).isGreaterThanOrEqualTo(after);
    assertThat(c.r(6).log().entry(after).isElided()).as("the new primary holds it").isFalse();
    assertThat(w.transferLeadership(n(6), c.now(w.id()))).isTrue();
    c.handle(w.id(), w.ready());
    c.run(1_000);
    assertThat(c.leader().id()).as("the spare primary leads once handed leadership")
        .isEqualTo(n(6));
    c.checkSafety();
  }

  /**
   * A spare primary is not added for a silent witness (the spare witness is), and one still
   * catching up when the primary answers again is removed rather than promoted beside it. With
   * PRIMARY_SPARE_BESIDE_PRIMARY it is added for the witness and takes its place: two voters of
   * role primary.
   */
  @Test
  void aSparePrimaryNeverStandsBesideAPrimaryButTheBrokenVariantPutsItThere() {
    for (Variant v : List.of(Variant.CORRECT, Variant.PRIMARY_SPARE_BESIDE_PRIMARY)) {
      spent.clear();
      Cluster c = shard();
      add(c, 6, Role.PRIMARY, c.r(1).membership());
      MemberReplacement p = new MemberReplacement(new Targets(2, 1),
          List.of(Member.learner(6, Role.PRIMARY)), REPLACE_AFTER_MILLIS * MS, v);
      c.down.add(n(3));
      c.run(REPLACE_AFTER_MILLIS + 100);
      Step s = p.next(c.r(1), spent);
      if (v == Variant.CORRECT) {
        assertThat(s).as("no spare witness left; the primary answers").isNull();
        continue;
      }
      assertThat(s.op()).isEqualTo(Op.ADD);
      take(c, c.r(1), s);
      Step replace = p.next(c.r(1), spent);
      assertThat(replace.op()).isEqualTo(Op.REPLACE);
      assertThat(replace.replaced().id()).isEqualTo(n(3));
      take(c, c.r(1), replace);
      assertThat(primaryVoters(c.r(1).membership())).isEqualTo(2);
    }
  }

  /**
   * The leader pauses while the spare primary catches up: on its return silence counts afresh,
   * so the dead primary is not silent for the bound yet, but it does not answer either. The
   * policy waits rather than throw the spare away, and replaces the primary once the bound has
   * passed again.
   */
  @Test
  void aSparePrimaryWaitsOutALeaderPauseInsteadOfBeingRemoved() {
    Cluster c = shardWithSparePrimary();
    MemberReplacement p = policyWithSparePrimary(Variant.CORRECT);
    Replica w = primaryLostAndSparePrimaryAdded(c, p);
    c.down.add(n(3));
    c.run(1_000);
    c.down.remove(n(3));
    c.run(300);
    assertThat(c.leader()).isSameAs(w);
    assertThat(p.next(w, spent)).as("the primary neither silent for the bound nor answering")
        .isNull();
    c.run(REPLACE_AFTER_MILLIS);
    Step replace = p.next(w, spent);
    assertThat(replace.op()).isEqualTo(Op.REPLACE);
    assertThat(replace.replaced().id()).isEqualTo(n(1));
  }

  /** The primary that was silent answers again while the spare primary catches up: removed. */
  @Test
  void aSparePrimaryIsRemovedWhenThePrimaryItWasToReplaceAnswersAgain() {
    Cluster c = shardWithSparePrimary();
    MemberReplacement p = policyWithSparePrimary(Variant.CORRECT);
    c.dropIf = m -> m.from().equals(n(1)) || m.to().equals(n(1));
    c.run(3_000 + REPLACE_AFTER_MILLIS);
    Replica w = c.leader();
    assertThat(w.id()).isEqualTo(n(3));
    Step add = p.next(w, spent);
    assertThat(add.member().id()).isEqualTo(n(6));
    take(c, w, add);
    c.dropIf = m -> false;
    c.run(1_000);
    Step s = p.next(w, spent);
    assertThat(s.op()).as(s.why()).isEqualTo(Op.REMOVE);
    assertThat(s.member().id()).isEqualTo(n(6));
    take(c, w, s);
    assertThat(primaryVoters(w.membership())).isEqualTo(1);
    assertThat(w.membership().isVoter(n(1))).isTrue();
  }
}
