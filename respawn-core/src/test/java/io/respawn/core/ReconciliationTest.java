package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The route chosen for DESIGN §5.3 step 3: a witness catches its log up (RequestLog) from its
 * peers before it campaigns, adopting any log at least as up to date by (term, index); then the
 * unmodified Raft vote rule applies.
 */
class ReconciliationTest {

  private static Entry full(long term, long index) {
    return Entry.normal(term, index, Command.of(("v" + term + "/" + index).getBytes(),
        ("k" + index).getBytes()));
  }

  private static Entry elided(long term, long index) {
    return full(term, index).elide();
  }

  /** Replaces node {@code i} by one restored from the given state. */
  private static void restore(Cluster c, int i, long term, long commit, List<Entry> log) {
    c.hardStates.put(n(i), new HardState(term, null, commit));
    c.disks.put(n(i), new ArrayList<>(log));
    c.restart(i);
  }

  @Test
  void laggingWitnessCatchesUpFromTheBackupAndLeadsWithEveryCommittedEntry() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    c.dropIf = m -> m.to().equals(n(3)) && m instanceof Message.AppendEntries;
    for (int i = 0; i < 30; i++) {
      c.propose("v" + i, "k" + i);
      c.run(20);
    }
    long committed = c.r(1).commitIndex();
    assertThat(committed).isGreaterThan(30);
    assertThat(c.r(3).lastIndex()).isLessThan(committed);
    c.heal();
    c.down.add(n(1));
    c.run(5_000);
    Replica w = c.r(3);
    assertThat(w.status()).isEqualTo(Status.LEADER);
    for (long i = 1; i <= committed; i++) {
      assertThat(w.log().entry(i).sameId(c.r(2).log().entry(i))).isTrue();
    }
    // what it adopted came from the backup, values included
    assertThat(w.log().entry(committed).isElided()).isFalse();
    assertThat(w.commitIndex()).isGreaterThan(committed);
    c.checkSafety();
  }

  @Test
  void withoutCatchUpTheBackupRefusesALaggingWitness() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    c.dropIf = m -> m.to().equals(n(3)) && m instanceof Message.AppendEntries;
    for (int i = 0; i < 10; i++) {
      c.propose("v" + i, "k" + i);
      c.run(20);
    }
    // the catch-up answers never arrive: the witness campaigns with its short log and loses
    c.dropIf = m -> m instanceof Message.RequestLogResponse;
    c.down.add(n(1));
    c.run(5_000);
    assertThat(c.r(3).status()).isNotEqualTo(Status.LEADER);
    assertThat(c.leader()).isNull();
    assertThat(c.r(3).term()).as("pre-votes failed, so no term was burnt").isEqualTo(c.r(1).term());
  }

  @Test
  void voteStaleLogVariantElectsALaggingWitnessAndLosesCommittedEntries() {
    Cluster c = new Cluster(Cluster.shape(1, 1), b -> b.variant(Variant.VOTE_STALE_LOG));
    c.tickAll();
    for (int i = 0; i < 800 && c.r(1).status() != Status.LEADER; i++) {
      c.globalNanos += 10 * Cluster.MS;
      c.tick(1);
      c.deliverAll();
    }
    c.run(300);
    c.dropIf = m -> m.to().equals(n(3)) && m instanceof Message.AppendEntries;
    for (int i = 0; i < 10; i++) {
      c.propose("v" + i, "k" + i);
      c.run(20);
    }
    long committed = c.r(1).commitIndex();
    c.dropIf = m -> m instanceof Message.RequestLogResponse;
    c.down.add(n(1));
    c.run(5_000);
    assertThat(c.r(3).status()).isEqualTo(Status.LEADER);
    c.heal();
    c.run(1_000);
    // the backup's committed suffix was overwritten by the stale leader
    Replica b = c.r(2);
    assertThat(b.lastIndex() < committed || b.log().term(committed) != c.r(1).log().term(committed))
        .isTrue();
  }

  /**
   * DESIGN §5.3's pitfall: a witness holding a longer suffix from a deposed leader (term 2) must
   * not win over the backups' shorter but newer log (term 3). Comparing by index alone would keep
   * the stale suffix; comparing by (term, index) replaces it.
   */
  @Test
  void staleLongerWitnessSuffixIsReplacedByTheBackupsNewerLog() {
    Cluster c = new Cluster(Cluster.shape(1, 2)); // P1 B2 W3 W4
    List<Entry> common = List.of(Entry.noop(1, 1), full(1, 2), full(1, 3));
    List<Entry> backup = new ArrayList<>(common);
    backup.add(Entry.noop(3, 4));
    backup.add(full(3, 5));
    List<Entry> staleWitness = new ArrayList<>(List.of(Entry.noop(1, 1), elided(1, 2), elided(1, 3)));
    staleWitness.add(Entry.noop(2, 4));
    staleWitness.add(elided(2, 5));
    staleWitness.add(elided(2, 6));
    List<Entry> shortWitness = List.of(Entry.noop(1, 1), elided(1, 2), elided(1, 3));
    c.down.add(n(1));
    restore(c, 2, 3, 3, backup);
    restore(c, 3, 2, 3, staleWitness);
    restore(c, 4, 1, 3, shortWitness);
    c.down.add(n(1));
    c.run(6_000);
    Replica leader = c.leader();
    assertThat(leader).isNotNull();
    assertThat(leader.term()).isGreaterThan(3);
    assertThat(leader.log().term(4)).isEqualTo(3);
    assertThat(leader.log().term(5)).isEqualTo(3);
    assertThat(leader.log().entry(5).isElided()).as("adopted with its value").isFalse();
    c.run(1_000);
    for (int i = 2; i <= 4; i++) {
      assertThat(c.r(i).log().term(5)).as("node %d", i).isEqualTo(3);
      assertThat(c.r(i).commitIndex()).isGreaterThanOrEqualTo(5);
    }
    c.checkSafety();
  }

  /**
   * A witness leads holding entries only in elided form. A backup that already has them is
   * detected by a probe (no values sent); a backup that lacks them gets them only after the
   * primary fetched the values from a peer that keeps them (RequestLog), never elided.
   */
  @Test
  void witnessLedPrimaryProbesThenFetchesValuesItHoldsOnlyElided() {
    Cluster c = new Cluster(Cluster.shape(2, 1)); // P1 B2 B3 W4
    List<Entry> fullLog = List.of(Entry.noop(1, 1), full(1, 2), full(1, 3));
    restore(c, 1, 1, 1, fullLog);
    restore(c, 2, 1, 1, fullLog);
    restore(c, 3, 1, 1, List.of(Entry.noop(1, 1), full(1, 2)));
    restore(c, 4, 1, 1, List.of(Entry.noop(1, 1), elided(1, 2), elided(1, 3)));
    // the witness must lead without having adopted any values: catch-up answers are lost,
    // and the primary-role node 1 stays quiet until then
    c.dropIf = m -> m instanceof Message.RequestLogResponse;
    c.tickAll();
    for (int i = 0; i < 800 && c.r(4).status() != Status.LEADER; i++) {
      c.globalNanos += 10 * Cluster.MS;
      c.tick(4);
      c.deliverAll();
    }
    Replica w = c.r(4);
    assertThat(w.status()).isEqualTo(Status.LEADER);
    assertThat(w.log().entry(3).isElided()).isTrue();
    c.heal();
    c.run(2_000);
    // backup 2 had (1,3): matched by probing; backup 3 lacked it and got the value
    assertThat(c.r(3).log().entry(3).isElided()).isFalse();
    assertThat(c.r(3).log().entry(3).command().data()).isEqualTo("v1/3".getBytes());
    assertThat(w.log().entry(3).isElided()).as("filled on the primary").isFalse();
    assertThat(w.commitIndex()).isEqualTo(w.lastIndex());
    for (int i = 1; i <= 3; i++) {
      for (long j = 1; j <= w.lastIndex(); j++) {
        assertThat(c.r(i).log().entry(j).isElided()).as("node %d entry %d", i, j).isFalse();
      }
    }
    c.checkSafety();
  }

  /**
   * F8 of respawn-sim/FINDINGS.md, seed 17964: the primary lost its unflushed suffix in a machine
   * crash and came back with its commit index at its base (the commit index is not persisted);
   * the backup held the lost entries and had compacted its log past that index (durable on the
   * shard). The primary's catch-up asked the backup for its log after the primary's commit
   * index, the backup refused (compacted), the primary campaigned with its shorter log, and the
   * backup, holding more, refused its vote: with the witness down and a backup that never
   * campaigns, nobody was ever elected. The catch-up now asks again from just after the backup's
   * base, naming the primary's term there, and adopts what follows.
   */
  @Test
  void aCampaignerCatchesUpFromAPeerThatCompactedPastItsCommitIndex() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    for (int i = 0; i < 6; i++) {
      c.propose("v" + i, "k" + i);
      c.run(20);
    }
    c.run(300);
    long flushed = c.r(1).flushedIndex();
    assertThat(flushed).isEqualTo(c.r(1).commitIndex());
    c.noFlushReports.add(n(1)); // the primary writes the next entries but never flushes them
    for (int i = 0; i < 4; i++) {
      c.propose("w" + i, "k" + i);
      c.run(20);
    }
    c.run(300);
    long committed = c.r(1).commitIndex();
    assertThat(committed).isEqualTo(flushed + 4);
    assertThat(c.r(2).lastIndex()).isEqualTo(committed);
    // the backup compacts as far as is durable on the shard: the primary's flushed index
    assertThat(c.r(2).compactableIndex()).isEqualTo(flushed);
    assertThat(c.r(2).compact(flushed)).isNotNull();

    // the witness is down; the primary loses power and its unflushed entries
    c.down.add(n(3));
    List<Entry> disk = c.disks.get(n(1));
    while (disk.size() > flushed) {
      disk.remove(disk.size() - 1);
    }
    HardState hs = c.hardStates.get(n(1));
    c.hardStates.put(n(1), new HardState(hs.term(), hs.votedFor(), 0));
    c.noFlushReports.remove(n(1));
    c.restart(1);
    assertThat(c.r(1).lastIndex()).isEqualTo(flushed);
    c.run(5_000);
    assertThat(c.leader()).as("the primary catches up from the backup and is elected")
        .isSameAs(c.r(1));
    assertThat(c.r(1).commitIndex()).isGreaterThanOrEqualTo(committed);
    c.checkSafety();
  }
}
