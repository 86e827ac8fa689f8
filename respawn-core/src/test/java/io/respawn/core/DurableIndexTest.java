package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * ORDERED vs DURABLE in the core: an entry commits once a write quorum has written it; it is
 * durable once a write quorum has flushed it, which followers report with their flushed index.
 */
class DurableIndexTest {

  private static long propose(Cluster c, String v) {
    return c.propose(v, "k" + v);
  }

  private static void flushed(Cluster c, int node) {
    Replica r = c.r(node);
    c.handle(n(node), r.logFlushed(r.persistedIndex(), c.now(n(node))));
  }

  @Test
  void committedEntryBecomesDurableOnlyWhenPrimaryAndBackupFlushedIt() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    c.reportFlushes = false;
    Replica l = c.r(1);
    long idx = propose(c, "a");
    c.run(200);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(idx);
    assertThat(l.durableIndex()).isLessThan(idx);

    flushed(c, 1);
    c.run(100);
    assertThat(l.durableIndex()).as("the backup has not flushed").isLessThan(idx);

    flushed(c, 3); // the witness is not in the write quorum: changes nothing
    c.run(100);
    assertThat(l.durableIndex()).isLessThan(idx);

    flushed(c, 2); // the backup reports at once, without waiting for a heartbeat
    c.deliverAll();
    assertThat(l.durableIndex()).isGreaterThanOrEqualTo(idx).isLessThanOrEqualTo(l.commitIndex());
    assertThat(c.r(2).durableIndex()).as("only a leader knows").isEqualTo(-1);
  }

  /** A DURABLE proposal on the leader: its followers are asked to flush it at once. */
  private static long proposeDurable(Cluster c, String v) {
    Replica l = c.leader();
    Proposal p = l.propose(List.of(Command.of(v.getBytes(StandardCharsets.UTF_8),
        ("k" + v).getBytes(StandardCharsets.UTF_8))), true, c.now(l.id()));
    assertThat(p.accepted()).isTrue();
    c.handle(l.id(), p.ready());
    return p.index(0);
  }

  /**
   * In a 1+1+1 shard the primary and the backup are a write quorum by themselves, so a DURABLE
   * write never needs the witness's flush: the witness is not asked to flush at once (its fsync
   * would follow every DURABLE batch and compete with theirs for the disk) and the write still
   * becomes durable. Once the backup is down and the witness stands in for it, its flush counts,
   * and it is asked.
   */
  @Test
  void aWitnessIsAskedToFlushAtOnceOnlyWhenItsFlushCanMakeAWriteDurable() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1)); // P1 B2 W3
    Replica l = c.r(1);
    List<Message.AppendEntries> sent = new ArrayList<>();
    c.dropIf = m -> {
      if (m instanceof Message.AppendEntries ae) {
        sent.add(ae);
      }
      return false;
    };
    long idx = proposeDurable(c, "d");
    c.run(300);
    assertThat(l.durableIndex()).isGreaterThanOrEqualTo(idx);
    assertThat(sent).filteredOn(ae -> ae.to().equals(n(2)))
        .anyMatch(ae -> ae.flushWanted() >= idx);
    assertThat(sent).filteredOn(ae -> ae.to().equals(n(3)) && !ae.entries().isEmpty())
        .isNotEmpty().allMatch(ae -> ae.flushWanted() < idx);

    c.down.add(n(2));
    assertThat(l.standIn(n(2), n(3))).isTrue();
    c.handle(n(1), l.ready());
    c.run(300);
    sent.clear();
    long idx2 = proposeDurable(c, "e");
    c.run(300);
    assertThat(sent).filteredOn(ae -> ae.to().equals(n(3)))
        .anyMatch(ae -> ae.flushWanted() >= idx2);
    assertThat(l.durableIndex()).isGreaterThanOrEqualTo(idx2);
    c.checkSafety();
  }

  @Test
  void aWitnessReceivesAnEntryOnlyOnceTheBackupHasFlushedIt() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    c.reportFlushes = false;
    long idx = propose(c, "w");
    c.run(200);
    assertThat(c.r(2).lastIndex()).isGreaterThanOrEqualTo(idx);
    assertThat(c.r(3).lastIndex()).as("the backup wrote it but has not flushed it").isLessThan(idx);
    flushed(c, 2);
    c.deliverAll();
    c.run(200); // the next heartbeat carries it to the witness
    assertThat(c.r(3).lastIndex()).isGreaterThanOrEqualTo(idx);
    assertThat(c.r(3).log().entry(idx).isElided()).isTrue();
  }

  @Test
  void aFlushReportOnlyCountsWhatTheLogHoldsAndNeverExceedsTheMatch() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    c.reportFlushes = false;
    Replica backup = c.r(2);
    long idx = propose(c, "b");
    c.run(200);
    // a report beyond what the backup persisted is capped
    c.handle(n(2), backup.logFlushed(idx + 100, c.now(n(2))));
    assertThat(backup.flushedIndex()).isEqualTo(backup.persistedIndex());
    for (Message m : c.queue) {
      if (m instanceof Message.AppendEntriesResponse r) {
        assertThat(r.flushedIndex()).isLessThanOrEqualTo(r.matchIndex());
      }
    }
  }

  @Test
  void aTruncatedSuffixIsNoLongerFlushed() {
    RaftLog log = new RaftLog(SnapshotMeta.NONE, java.util.List.of());
    Command cmd = Command.of("x".getBytes(StandardCharsets.UTF_8), "k".getBytes(StandardCharsets.UTF_8));
    for (long i = 1; i <= 5; i++) {
      log.append(Entry.normal(1, i, cmd));
    }
    java.util.List<Entry> unstable = log.takeUnstable();
    log.persistedTo(unstable.get(unstable.size() - 1));
    assertThat(log.flushedTo(5)).isTrue();
    log.truncateFrom(4);
    assertThat(log.flushedIndex()).isEqualTo(3);
    log.append(Entry.normal(2, 4, cmd));
    assertThat(log.flushedTo(4)).as("index 4 is not persisted yet").isFalse();
    log.checkInvariants();
  }
  /**
   * F3 of respawn-sim/FINDINGS.md (seed 17957): a witness leads 1+1+1 and stands in for its
   * failed backup; the majority then needs the primary, which durability statement 2 does not
   * name. Its acknowledgement counts once it has flushed the entry, so its machine crash alone
   * cannot take back a committed entry.
   */
  @Test
  void aCommitCountsAMemberTheStatementDoesNotNameOnlyOnceItFlushed() {
    Cluster c = new Cluster(Cluster.shape(1, 1)); // P1 B2 W3
    c.run(3_000);
    if (c.leader().id().equals(n(1))) {
      assertThat(c.r(1).transferLeadership(n(3), c.now(n(1)))).isTrue();
      c.handle(n(1), c.r(1).ready());
      c.run(2_000);
    }
    Replica w = c.r(3);
    assertThat(c.leader()).isSameAs(w);
    c.down.add(n(2));
    assertThat(w.standIn(n(2), n(3))).isTrue();
    c.handle(n(3), w.ready());
    c.run(300);
    c.reportFlushes = false;
    long idx = propose(c, "s");
    c.run(300);
    assertThat(c.r(1).lastIndex()).as("the primary wrote it").isGreaterThanOrEqualTo(idx);
    assertThat(w.commitIndex()).as("but has not flushed it").isLessThan(idx);
    flushed(c, 1);
    c.deliverAll();
    c.run(100);
    assertThat(w.commitIndex()).isGreaterThanOrEqualTo(idx);
    c.checkSafety();
  }

  /** While the primary leads, the named members are a majority: no flush is waited for. */
  @Test
  void aPrimaryLeaderCommitsOnWrittenCopiesAsBefore() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(2, 2)); // P1 B2 B3 W4 W5
    c.reportFlushes = false;
    long idx = propose(c, "p");
    c.run(200);
    assertThat(c.r(1).commitIndex()).isGreaterThanOrEqualTo(idx);
    assertThat(c.r(1).durableIndex()).isLessThan(idx);
  }
}
