package io.respawn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** propose returns the (term, index) it assigned; Ready.mustSync tells when an fsync is due. */
class ProposeTest {

  private static Command cmd(String v) {
    return Command.of(v.getBytes(StandardCharsets.UTF_8), ("k" + v).getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void batchIsAppendedInOrderAndSentAsOneAppendPerFollower() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    Replica l = c.r(1);
    long last = l.lastIndex();
    Proposal p = l.propose(List.of(cmd("a"), cmd("b"), cmd("c")), c.now(l.id()));
    assertThat(p.accepted()).isTrue();
    assertThat(p.term()).isEqualTo(l.term());
    assertThat(p.firstIndex()).isEqualTo(last + 1);
    assertThat(p.lastIndex()).isEqualTo(last + 3).isEqualTo(l.lastIndex());
    Ready rd = p.ready();
    assertThat(rd.entriesToPersist()).extracting(Entry::index)
        .containsExactly(last + 1, last + 2, last + 3);
    assertThat(rd.mustSync()).isTrue();
    for (int i = 0; i < 3; i++) {
      assertThat(l.log().entry(p.index(i)).command()).isEqualTo(cmd(String.valueOf((char) ('a' + i))));
    }
    List<Message> appends = new ArrayList<>();
    for (Message m : rd.messages()) {
      if (m instanceof Message.AppendEntries a && !a.entries().isEmpty()) {
        appends.add(a);
      }
    }
    // one message to the backup with all three; the witness gets keys once the backup holds them
    assertThat(appends).hasSize(1);
    assertThat(((Message.AppendEntries) appends.get(0)).entries()).hasSize(3);
    c.handle(l.id(), rd);
    c.run(300);
    assertThat(l.commitIndex()).isGreaterThanOrEqualTo(p.lastIndex());
    assertThat(c.applied.get(Cluster.n(2))).extracting(Entry::index).contains(p.lastIndex());
  }

  @Test
  void followerRefusesAndAppendsNothing() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    Replica f = c.r(2);
    long last = f.lastIndex();
    Proposal p = f.propose(cmd("x"), c.now(f.id()));
    assertThat(p.accepted()).isFalse();
    assertThat(p.count()).isZero();
    assertThat(p.firstIndex()).isZero();
    assertThat(p.term()).isEqualTo(f.term());
    assertThat(f.lastIndex()).isEqualTo(last);
    assertThat(p.ready().entriesToPersist()).isEmpty();
    assertThatThrownBy(() -> p.index(0)).isInstanceOf(IndexOutOfBoundsException.class);
  }

  @Test
  void elidedCommandsAreRefusedBeforeAnythingIsAppended() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    Replica l = c.r(1);
    long last = l.lastIndex();
    List<Command> batch = List.of(cmd("ok"), cmd("elided").elide());
    assertThatThrownBy(() -> l.propose(batch, c.now(l.id())))
        .isInstanceOf(IllegalArgumentException.class);
    assertThat(l.lastIndex()).isEqualTo(last);
  }

  @Test
  void commitIndexOnlyChangeNeedsNoSyncButAVoteDoes() {
    Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1));
    Replica l = c.r(1);
    Replica backup = c.r(2);
    Proposal p = l.propose(cmd("v"), c.now(l.id()));
    c.handle(l.id(), p.ready());
    // deliver to the backup: it persists the entry (must sync) and acks
    List<Ready> seen = new ArrayList<>();
    for (int round = 0; round < 20 && backup.commitIndex() < p.index(0); round++) {
      List<Message> batch = new ArrayList<>(c.queue);
      c.queue.clear();
      for (Message m : batch) {
        Ready rd = c.replicas.get(m.to()).step(m, c.now(m.to()));
        if (m.to().equals(backup.id())) {
          seen.add(rd);
        }
        c.handle(m.to(), rd);
      }
      c.globalNanos += 10 * Cluster.MS;
      c.tick(1); // heartbeats carry the new commit index
    }
    assertThat(backup.commitIndex()).isGreaterThanOrEqualTo(p.index(0));
    Ready withEntry = seen.stream().filter(r -> !r.entriesToPersist().isEmpty()).findFirst()
        .orElseThrow();
    assertThat(withEntry.mustSync()).isTrue();
    Ready commitOnly = seen.stream()
        .filter(r -> r.entriesToPersist().isEmpty() && r.hardState() != null).findFirst()
        .orElseThrow();
    assertThat(commitOnly.termOrVoteChanged()).isFalse();
    assertThat(commitOnly.mustSync()).isFalse();

    // a vote (new term, votedFor) must be synced before the response goes out
    Cluster fresh = new Cluster(Cluster.shape(1, 1));
    Replica voter = fresh.r(2);
    fresh.tick(2); // first sight of time: a restarted voter refuses votes for one promise period
    fresh.globalNanos += voter.votePromiseNanos() + Cluster.MS;
    fresh.tick(2);
    Ready vote = voter.step(new Message.RequestVote(Cluster.n(3), voter.id(), voter.term() + 1,
        voter.lastIndex(), voter.lastTerm(), false), fresh.now(voter.id()));
    assertThat(vote.messages()).singleElement()
        .matches(m -> ((Message.RequestVoteResponse) m).granted());
    assertThat(vote.termOrVoteChanged()).isTrue();
    assertThat(vote.mustSync()).isTrue();
    assertThat(vote.hardState().votedFor()).isEqualTo(Cluster.n(3));
  }

  @Test
  void readyRefusesTermOrVoteChangeWithoutHardState() {
    assertThatThrownBy(() -> new Ready(null, true, List.of(), List.of(), List.of(), List.of(),
        List.of(), null)).isInstanceOf(IllegalArgumentException.class);
    assertThat(Ready.EMPTY.mustSync()).isFalse();
  }
}
