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
}
