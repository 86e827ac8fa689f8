package io.respawn.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A replica whose in-memory log keeps only a small cache reads older entries back through its
 * {@link LogReader}: a lagging member catches up from them, and when the reader cannot serve
 * them the leader falls back to a snapshot, as for a member behind its base.
 */
class LogReaderTest {
  /** About eight entries of {@link #VALUE_BYTES}. */
  private static final long CACHE_BYTES = 8 * (RaftLog.ENTRY_OVERHEAD_BYTES + 100 + 8);
  private static final int VALUE_BYTES = 100;
  private static final int WRITES = 300;

  /** Primary, backup and witness vote; node 4, a backup learner, is down while writes commit. */
  private static Membership shape() {
    return Membership.of(Membership.Member.voter(1, Role.PRIMARY),
        Membership.Member.voter(2, Role.BACKUP), Membership.Member.voter(3, Role.WITNESS),
        Membership.Member.learner(4, Role.BACKUP));
  }

  private static Cluster clusterWithLaggingLearner() {
    Cluster c = Cluster.ledByNodeOne(Cluster.withLogReaders(shape(), CACHE_BYTES));
    c.down.add(Cluster.n(4));
    for (int i = 0; i < WRITES; i++) {
      c.propose(value(i), "key" + (i % 37));
      c.deliverAll();
    }
    c.run(300);
    return c;
  }

  private static String value(int i) {
    return String.format("%0" + VALUE_BYTES + "d", i);
  }

  @Test
  void aLaggingFollowerCatchesUpFromEntriesReadBack() {
    Cluster c = clusterWithLaggingLearner();
    Replica leader = c.r(1);
    RaftLog log = (RaftLog) leader.log();
    assertThat(leader.commitIndex()).isGreaterThan(WRITES);
    // the leader keeps only its cache: the learner's entries are on its disk alone
    assertThat(log.hotFrom()).isGreaterThan(leader.commitIndex() - 20);
    assertThat(log.hotBytes()).isLessThanOrEqualTo(CACHE_BYTES);
    long readWhileDown = c.entriesRead.getOrDefault(Cluster.n(1), 0L);
    long learnerLast = c.r(4).lastIndex();
    assertThat(learnerLast).isLessThan(10);

    c.down.remove(Cluster.n(4));
    c.run(3_000);

    Replica learner = c.r(4);
    assertThat(learner.commitIndex()).isEqualTo(leader.commitIndex());
    assertThat(c.entriesRead.get(Cluster.n(1)) - readWhileDown)
        .isGreaterThanOrEqualTo(leader.commitIndex() - learnerLast - 20);
    assertThat(c.snapshotSends).isEmpty();
    List<Entry> applied = c.applied.get(Cluster.n(4));
    assertThat(applied).hasSize((int) leader.commitIndex());
    for (Entry e : applied) {
      Entry ours = c.disks.get(Cluster.n(1)).get((int) e.index() - 1);
      assertThat(e).isEqualTo(ours);
      assertThat(e.isElided()).isFalse();
    }
    assertThat(new String(applied.get((int) leader.commitIndex() - 1).command().data(),
        StandardCharsets.UTF_8)).isEqualTo(value(WRITES - 1));
    c.checkSafety();
  }

  @Test
  void entriesTheReaderCannotServeAreSentAsASnapshot() {
    Cluster c = clusterWithLaggingLearner();
    long learnerLast = c.r(4).lastIndex();
    c.readsFail = true;
    c.down.remove(Cluster.n(4));
    c.run(500);

    assertThat(c.snapshotSends).extracting(SnapshotSend::to).contains(Cluster.n(4));
    // nothing sent from entries the leader could not read
    assertThat(c.r(4).lastIndex()).isEqualTo(learnerLast);
    assertThat(c.r(1).commitIndex()).isGreaterThan(WRITES);
  }

  @Test
  void theWitnessGetsKeysOnlyAndTheCacheStaysBounded() {
    Cluster c = clusterWithLaggingLearner();
    Replica witness = c.r(3);
    for (long i = 1; i <= witness.commitIndex(); i++) {
      if (c.disks.get(Cluster.n(3)).get((int) i - 1).kind() == EntryKind.NORMAL) {
        assertThat(witness.log().isElided(i)).as("index %d", i).isTrue();
      }
    }
    for (int n = 1; n <= 3; n++) {
      RaftLog log = (RaftLog) c.r(n).log();
      assertThat(log.hotBytes()).as("node %d", n).isLessThanOrEqualTo(CACHE_BYTES);
      log.checkInvariants();
    }
  }
}
