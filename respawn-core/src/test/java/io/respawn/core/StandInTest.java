package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A leader that stands in for a silent backup by itself ({@link
 * ReplicaConfig#standInAfterMillis()}, DESIGN §5.4): writes and the lease go on with a witness
 * in the backup's place, and the stand-in ends once the backup is back and holds, flushed,
 * everything committed.
 */
class StandInTest {

  private static final long STAND_IN_AFTER_MILLIS = 300;

  private static Cluster shard(long standInAfterMillis) {
    return Cluster.ledByNodeOne(new Cluster(Cluster.shape(1, 1), // P1 B2 W3
        b -> b.standInAfterMillis(standInAfterMillis)));
  }

  /** A shard whose backup (n2) is down, with a write committed while the witness stands in. */
  private static Cluster shardWithBackupStoodIn() {
    Cluster c = shard(STAND_IN_AFTER_MILLIS);
    c.down.add(n(2));
    c.propose("v", "k");
    c.run(STAND_IN_AFTER_MILLIS + 300);
    assertThat(c.r(1).standIns()).containsEntry(n(2), n(3));
    return c;
  }

  @Test
  void writesCommitWithoutASilentBackupOnceTheWitnessStandsInAndTheLeaseHolds() {
    Cluster c = shard(STAND_IN_AFTER_MILLIS);
    Replica l = c.r(1);
    c.propose("before", "k0");
    c.run(300);
    c.down.add(n(2));
    long blocked = c.propose("blocked", "k1");
    c.run(STAND_IN_AFTER_MILLIS / 2);
    assertThat(l.commitIndex()).as("not yet: the backup is silent for less than the bound")
        .isLessThan(blocked);
    assertThat(l.standIns()).isEmpty();
    c.run(STAND_IN_AFTER_MILLIS + 200);
    assertThat(l.standIns()).containsEntry(n(2), n(3));
    assertThat(l.standInsStarted()).isEqualTo(1);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(blocked);
    assertThat(c.r(3).log().entry(blocked).isElided()).as("the stand-in holds it in full")
        .isFalse();
    assertThat(l.leaseExpiryNanos()).as("the lease rests on the stand-in's answers")
        .isGreaterThan(c.now(n(1)));
    c.checkSafety();
  }

  /**
   * 1+2+2 (n2 and n3 backups, n4 and n5 witnesses): backup n2 goes silent and n4 stands in; then
   * n4 goes silent too. Writes would wait for it as they waited for the backup: the stand-in
   * moves to n5, which gets the entries in full, and writes commit again (the primary, n3 and n5
   * are a majority). When n2 returns, it catches up and the stand-in ends as usual. Left with n4
   * (STAND_IN_STAYS_WITH_SILENT_WITNESS) nothing commits.
   */
  @Test
  void aStandInMovesToAnotherWitnessWhenItsWitnessFallsSilentToo() {
    Cluster c = shardWithTwoWitnesses(Variant.CORRECT);
    Replica l = c.r(1);
    c.down.add(n(4));
    long blocked = c.propose("b", "k1");
    c.run(STAND_IN_AFTER_MILLIS / 2);
    assertThat(l.commitIndex()).as("not yet: the stand-in is silent for less than the bound")
        .isLessThan(blocked);
    c.run(STAND_IN_AFTER_MILLIS + 300);
    assertThat(l.standIns()).containsEntry(n(2), n(5));
    assertThat(l.standInsMoved()).isEqualTo(1);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(blocked);
    assertThat(c.r(5).log().entry(blocked).isElided()).as("the new stand-in holds it in full")
        .isFalse();
    c.down.remove(n(2));
    c.down.remove(n(4));
    c.propose("c", "k2");
    c.run(2_000);
    assertThat(l.standIns()).as("the backup is back and caught up").isEmpty();
    assertThat(c.r(2).log().lastIndex()).isEqualTo(l.log().lastIndex());
    c.checkSafety();

    Cluster stays = shardWithTwoWitnesses(Variant.STAND_IN_STAYS_WITH_SILENT_WITNESS);
    stays.down.add(n(4));
    long waits = stays.propose("b", "k1");
    stays.run(2 * STAND_IN_AFTER_MILLIS + 300);
    assertThat(stays.r(1).standIns()).containsEntry(n(2), n(4));
    assertThat(stays.r(1).commitIndex()).isLessThan(waits);
  }

  /** 1+2+2 led by n1 whose backup n2 is down, witness n4 standing in for it. */
  private static Cluster shardWithTwoWitnesses(Variant variant) {
    Cluster c = Cluster.ledByNodeOne(new Cluster(Cluster.shape(2, 2),
        b -> b.standInAfterMillis(STAND_IN_AFTER_MILLIS).variant(variant)));
    c.down.add(n(2));
    c.propose("a", "k0");
    c.run(STAND_IN_AFTER_MILLIS + 300);
    assertThat(c.r(1).standIns()).containsEntry(n(2), n(4));
    return c;
  }

  @Test
  void theStandInEndsOnceTheBackupHoldsEverythingCommittedAndTheWitnessGetsKeysOnlyAgain() {
    Cluster c = shard(STAND_IN_AFTER_MILLIS);
    Replica l = c.r(1);
    c.down.add(n(2));
    for (int i = 0; i < 10; i++) {
      c.propose("v" + i, "k" + i);
    }
    c.run(STAND_IN_AFTER_MILLIS + 300);
    assertThat(l.standIns()).containsKey(n(2));
    long committedWithout = l.commitIndex();
    c.down.remove(n(2));
    c.run(600);
    assertThat(l.standIns()).as("ended: the backup caught up").isEmpty();
    assertThat(l.standInsEnded()).isEqualTo(1);
    assertThat(l.flushedIndex(n(2))).isGreaterThanOrEqualTo(committedWithout);
    assertThat(c.r(2).log().entry(committedWithout).isElided()).isFalse();
    long after = c.propose("after", "k-after");
    c.run(300);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(after);
    assertThat(c.r(3).log().entry(after).isElided()).as("a witness again").isTrue();
    c.checkSafety();
  }

  @Test
  void aBackupThatKeepsAnsweringIsNeverStoodInFor() {
    Cluster c = shard(STAND_IN_AFTER_MILLIS);
    Replica l = c.r(1);
    for (int i = 0; i < 5; i++) {
      c.propose("v" + i, "k" + i);
      c.run(STAND_IN_AFTER_MILLIS);
    }
    assertThat(l.standInsStarted()).isZero();
    assertThat(c.r(3).log().entry(l.commitIndex()).isElided()).isTrue();
  }

  @Test
  void withoutTheSettingWritesWaitForTheBackupAsBefore() {
    Cluster c = shard(0);
    Replica l = c.r(1);
    c.down.add(n(2));
    long blocked = c.propose("blocked", "k1");
    c.run(3_000);
    assertThat(l.standIns()).isEmpty();
    assertThat(l.commitIndex()).isLessThan(blocked);
  }

  @Test
  void aChangeThatDropsAStandingInWitnessIsRefusedUntilTheStandInEnds() {
    Cluster c = Cluster.ledByNodeOne(new Cluster(Cluster.shape(1, 2), // P1 B2 W3 W4
        b -> b.standInAfterMillis(STAND_IN_AFTER_MILLIS)));
    Replica l = c.r(1);
    c.down.add(n(2));
    long blocked = c.propose("blocked", "k1");
    c.run(STAND_IN_AFTER_MILLIS + 300);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(blocked);
    NodeId witness = l.standIns().get(n(2));
    assertThat(witness).isNotNull();
    java.util.List<Membership.Member> rest = new java.util.ArrayList<>(l.membership().incoming());
    rest.removeIf(m -> m.id().equals(witness));
    Membership withoutWitness = Membership.of(rest);
    assertThat(l.proposeMembership(withoutWitness, c.now(n(1))))
        .as("it may hold in full what the backup lacks").isFalse();
    c.down.remove(n(2));
    c.run(600);
    assertThat(l.standIns()).isEmpty();
    assertThat(l.proposeMembership(withoutWitness, c.now(n(1)))).isTrue();
    c.handle(n(1), l.ready());
    c.run(1_000);
    assertThat(l.membership()).isEqualTo(withoutWitness);
    c.checkSafety();
  }

  /**
   * Only a leader that keeps values stands in by itself: a witness leading after a failover
   * (1+2+2 here, so another witness could stand in) leaves writes waiting for a silent backup
   * (FINDINGS.md F9, seed 14415: a witness leader naming itself wedged a shard).
   */
  @Test
  void aWitnessThatLeadsDoesNotStandInByItself() {
    Cluster c = Cluster.ledByNodeOne(new Cluster(Cluster.shape(2, 2), // P1 B2 B3 W4 W5
        b -> b.standInAfterMillis(STAND_IN_AFTER_MILLIS)));
    c.propose("before", "k0");
    c.run(300);
    c.down.add(n(1));
    Replica w = null;
    for (int ms = 0; ms < 5_000 && w == null; ms += 10) {
      c.run(10);
      Replica l = c.leader();
      w = l != null && !l.id().equals(n(1)) ? l : null;
    }
    assertThat(w).as("a witness took over").isNotNull();
    assertThat(w.role()).isEqualTo(Role.WITNESS);
    c.down.add(n(2));
    long blocked = c.propose("blocked", "k1");
    c.run(STAND_IN_AFTER_MILLIS * 4);
    assertThat(w.standIns()).isEmpty();
    assertThat(w.standInsStarted()).isZero();
    assertThat(w.commitIndex()).as("the write waits for backup n2").isLessThan(blocked);
  }

  /**
   * A witness sent a full copy of an entry it holds keys-only keeps its copy at or below the
   * leader's commit index (decided; filling it in would truncate its log there and rewrite every
   * later entry, taking back flushes it reported: FINDINGS.md F9, seed 12465), and fills it in
   * above.
   */
  @Test
  void aWitnessKeepsADecidedKeysOnlyCopyAndFillsInAnUndecidedOne() {
    Cluster c = shard(STAND_IN_AFTER_MILLIS);
    Replica l = c.r(1);
    Replica w = c.r(3);
    long first = c.propose("a", "k1");
    long second = c.propose("b", "k2");
    c.run(300);
    assertThat(w.log().entry(first).isElided()).isTrue();
    assertThat(w.log().entry(second).isElided()).isTrue();
    java.util.List<Entry> full = java.util.List.of(l.log().entry(first), l.log().entry(second));
    assertThat(full).noneMatch(Entry::isElided);
    long prev = first - 1;
    c.handle(n(3), w.step(new Message.AppendEntries(n(1), n(3), l.term(), prev,
        l.log().term(prev), full, second, 0, 0, 0, 0), c.now(n(3))));
    assertThat(w.log().entry(first).isElided()).as("decided: kept keys-only").isTrue();
    assertThat(w.log().entry(second).isElided()).isTrue();
    c.handle(n(3), w.step(new Message.AppendEntries(n(1), n(3), l.term(), prev,
        l.log().term(prev), full, first, 0, 0, 0, 0), c.now(n(3))));
    assertThat(w.log().entry(first).isElided()).isTrue();
    assertThat(w.log().entry(second).isElided()).as("above the commit index: filled in")
        .isFalse();
  }

  @Test
  void noStandInWhenTheWitnessIsSilentToo() {
    Cluster c = shard(STAND_IN_AFTER_MILLIS);
    Replica l = c.r(1);
    c.down.add(n(2));
    c.down.add(n(3));
    long blocked = c.propose("blocked", "k1");
    c.run(STAND_IN_AFTER_MILLIS * 3);
    assertThat(l.standIns()).isEmpty();
    assertThat(l.commitIndex()).isLessThan(blocked);
    c.down.remove(n(3));
    c.run(STAND_IN_AFTER_MILLIS * 3);
    assertThat(l.standIns()).as("once the witness answers again").containsEntry(n(2), n(3));
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(blocked);
  }
  /**
   * Under a steady write load the backup's flushed index trails the commit index of the moment
   * it reports it (here: its flushes reach what it had one write round earlier), so a stand-in
   * waiting for the backup to flush what is committed never ended while writes went on. Once
   * the backup has received what is committed, the stand-in is handed back: writes need the
   * backup again, and the stand-in ends once the backup flushed what was committed then.
   */
  @Test
  void underASteadyWriteLoadAStandInIsHandedBackAndEndsThoughTheBackupFlushesBehind() {
    Cluster c = shardWithBackupStoodIn();
    Replica l = c.r(1);
    Replica b = c.r(2);
    c.noFlushReports.add(n(2)); // its flushes are reported a round late, below
    c.down.remove(n(2));
    long flushable = b.persistedIndex();
    boolean sawLag = false;
    for (int round = 0; round < 100 && !l.standIns().isEmpty(); round++) {
      c.propose("w" + round, "k" + round);
      c.run(10);
      c.handle(n(2), b.logFlushed(flushable, c.now(n(2))));
      c.deliverAll();
      sawLag |= l.flushedIndex(n(2)) < l.commitIndex();
      flushable = b.persistedIndex();
    }
    assertThat(sawLag).as("the backup's flush trailed the commit index").isTrue();
    assertThat(l.standIns()).as("ended while the writes went on").isEmpty();
    assertThat(l.handBacksStarted()).isEqualTo(1);
    assertThat(l.standInsEnded()).isEqualTo(1);
    c.noFlushReports.remove(n(2));
    long after = c.propose("after", "k-after");
    c.run(10);
    c.handle(n(2), b.logFlushed(b.persistedIndex(), c.now(n(2))));
    c.run(10);
    assertThat(c.r(3).log().entry(after).isElided()).as("a witness again").isTrue();
    c.checkSafety();
  }

  /**
   * While a stand-in is handed back a write needs the backup as well as the witness; a backup
   * that falls silent again for the bound gets the witness standing in alone again, and the
   * write commits.
   */
  @Test
  void whileHandedBackAWriteNeedsTheBackupUntilItFallsSilentAgain() {
    Cluster c = shardWithBackupStoodIn();
    Replica l = c.r(1);
    c.noFlushReports.add(n(2)); // it never flushes: the stand-in cannot end
    c.down.remove(n(2));
    c.propose("back", "k-back");
    c.run(200);
    assertThat(l.handBacks()).containsKey(n(2));
    assertThat(l.standIns()).containsKey(n(2));
    long withBoth = c.propose("both", "k-both");
    c.run(10);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(withBoth);
    c.down.add(n(2));
    long blocked = c.propose("blocked", "k-blocked");
    c.run(STAND_IN_AFTER_MILLIS / 2);
    assertThat(l.commitIndex()).as("the write needs the backup as well").isLessThan(blocked);
    c.run(STAND_IN_AFTER_MILLIS + 200);
    assertThat(l.handBacks()).isEmpty();
    assertThat(l.handBacksCancelled()).isEqualTo(1);
    assertThat(l.standIns()).containsEntry(n(2), n(3));
    assertThat(l.commitIndex()).as("the witness alone again").isGreaterThanOrEqualTo(blocked);
    c.checkSafety();
  }
}
