package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class ElectionTest {

  @Test
  void primaryOrWitnessIsElectedAndBackupNeverCampaigns() {
    Cluster c = new Cluster(Cluster.shape(1, 1));
    c.run(3_000);
    Replica leader = c.leader();
    assertThat(leader).isNotNull();
    assertThat(leader.role()).isIn(Role.PRIMARY, Role.WITNESS);
    assertThat(c.r(2).status()).isEqualTo(Status.FOLLOWER);
    assertThat(c.r(2).leader()).isEqualTo(leader.id());
    // the no-op of the new term is committed everywhere that counts
    assertThat(leader.commitIndex()).isEqualTo(1);
    assertThat(leader.log().entry(1).kind()).isEqualTo(EntryKind.NOOP);
    c.checkSafety();
  }

  /**
   * One lost request does not cost a round: the witness's first pre-vote request to the backup
   * is dropped (as a link drops what it holds when its connection breaks); it asks again a
   * heartbeat interval (100 ms) later and leads well before its election timeout (1 s) would
   * have started another round. The same for the vote itself.
   */
  @Test
  void aLostVoteRequestIsSentAgainAfterAHeartbeatNotAfterTheElectionTimeout() {
    for (boolean preVote : new boolean[] {true, false}) {
      Cluster c = Cluster.ledByNodeOne(Cluster.shape(1, 1)); // P1 B2 W3
      c.down.add(n(1));
      int[] dropped = {0};
      c.dropIf = m -> {
        if (m instanceof Message.RequestVote v && v.from().equals(n(3)) && v.to().equals(n(2))
            && v.preVote() == preVote && dropped[0] == 0) {
          dropped[0]++;
          return true;
        }
        return false;
      };
      long campaignAt = -1;
      long ledAt = -1;
      for (int ms = 0; ms < 4_000 && ledAt < 0; ms += 10) {
        c.run(10);
        if (campaignAt < 0 && (c.r(3).status() == Status.PRE_CANDIDATE
            || c.r(3).status() == Status.CANDIDATE)) {
          campaignAt = ms;
        }
        if (c.r(3).status() == Status.LEADER) {
          ledAt = ms;
        }
      }
      assertThat(dropped[0]).as("a request was dropped (pre-vote %s)", preVote).isEqualTo(1);
      assertThat(campaignAt).isNotNegative();
      assertThat(ledAt - campaignAt).as("pre-vote %s: from the first round to leading", preVote)
          .isBetween(90L, 300L);
    }
  }

  @Test
  void backupsAloneNeverElectAnyone() {
    Membership m = Membership.of(
        Membership.Member.voter(1, Role.PRIMARY),
        Membership.Member.voter(2, Role.BACKUP),
        Membership.Member.voter(3, Role.BACKUP));
    Cluster c = new Cluster(m);
    c.down.add(n(1));
    c.run(10_000);
    assertThat(c.r(2).status()).isEqualTo(Status.FOLLOWER);
    assertThat(c.r(3).status()).isEqualTo(Status.FOLLOWER);
    assertThat(c.r(2).term()).isZero();
  }

  @Test
  void witnessTakesOverWhenPrimaryDies() {
    Cluster c = new Cluster(Cluster.shape(1, 1));
    c.run(3_000);
    Replica first = c.leader();
    c.propose("v1", "k1");
    c.run(200);
    c.down.add(first.id());
    c.run(5_000);
    Replica next = c.leader();
    assertThat(next).isNotNull();
    assertThat(next.id()).isNotEqualTo(first.id());
    assertThat(next.term()).isGreaterThan(first.term());
    // the committed write survived
    assertThat(next.log().entry(2).kind()).isEqualTo(EntryKind.NORMAL);
    assertThat(next.commitIndex()).isGreaterThanOrEqualTo(3);
    c.checkSafety();
  }

  @Test
  void preVoteKeepsAPartitionedWitnessFromDisruptingAHealthyLeader() {
    Cluster c = new Cluster(Cluster.shape(1, 2)); // P1 B2 W3 W4
    c.run(3_000);
    Replica leader = c.leader();
    long term = leader.term();
    NodeId isolated = leader.id().equals(n(4)) ? n(3) : n(4);
    c.partition(Set.of(isolated));
    c.run(10_000);
    c.heal();
    c.run(1_000);
    assertThat(c.leader().id()).isEqualTo(leader.id());
    assertThat(c.leader().term()).isEqualTo(term);
    // the isolated witness never bumped its term: pre-votes change nothing
    assertThat(c.replicas.get(isolated).term()).isEqualTo(term);
    c.checkSafety();
  }

  @Test
  void votersRefuseWhileTheirLeasePromiseHolds() {
    Cluster c = new Cluster(Cluster.shape(1, 1));
    c.run(3_000);
    Replica leader = c.leader();
    Replica backup = c.r(2);
    NodeId other = leader.id().equals(n(1)) ? n(3) : n(1);
    // a real vote request for a higher term straight after a heartbeat: refused, term unchanged
    Message.RequestVote rv = new Message.RequestVote(other, n(2), leader.term() + 5,
        100, leader.term() + 5, false);
    Ready rd = backup.step(rv, c.now(n(2)));
    Message.RequestVoteResponse resp = (Message.RequestVoteResponse) rd.messages().get(0);
    assertThat(resp.granted()).isFalse();
    assertThat(backup.term()).isEqualTo(leader.term());
    c.handle(n(2), rd);
  }

  @Test
  void restartedVoterWaitsOutAFullPromiseBeforeVoting() {
    Cluster c = new Cluster(Cluster.shape(1, 1));
    c.run(3_000);
    c.restart(2);
    Replica b = c.r(2);
    Message.RequestVote rv = new Message.RequestVote(n(3), n(2), 50, 100, 49, false);
    Ready rd = b.step(rv, c.now(n(2)));
    assertThat(((Message.RequestVoteResponse) rd.messages().get(0)).granted()).isFalse();
    long after = c.now(n(2)) + b.votePromiseNanos() + 1;
    rd = b.step(rv, after);
    assertThat(((Message.RequestVoteResponse) rd.messages().get(0)).granted()).isTrue();
  }

  /** The FailureDetector seam: with a detector, HARD suspicion (not the timeout) starts a campaign. */
  @Test
  void failureDetectorDecidesWhenAWitnessCampaigns() {
    final FailureDetector.Suspicion[] verdict = {FailureDetector.Suspicion.NONE};
    FailureDetector fd = new FailureDetector() {
      @Override
      public void heartbeat(NodeId peer, long nowNanos) {}

      @Override
      public Suspicion suspicion(NodeId peer, long nowNanos) {
        return verdict[0];
      }
    };
    Cluster c = new Cluster(Cluster.shape(1, 1),
        b -> b.failureDetector(fd).electionTimeoutMillis(1000));
    c.run(3_000);
    Replica first = c.leader();
    assertThat(first).isNotNull();
    c.down.add(first.id());
    c.run(10_000); // far past any election timeout: the detector still says NONE
    assertThat(c.leader()).isNull();
    verdict[0] = FailureDetector.Suspicion.HARD;
    c.run(2_000);
    assertThat(c.leader()).isNotNull();
    assertThat(c.leader().id()).isNotEqualTo(first.id());
  }

  /**
   * The transport's hint that the leader's process is gone (its connections closed): the
   * followers stop waiting out their 1-2 s election timeout; the shard elects once the lease
   * promise (500 ms) has run out. Without the hint the same run elects no one in that time.
   */
  @Test
  void aLeaderKnownGoneIsReplacedOnceItsLeaseRunsOutNotAfterAnElectionTimeout() {
    for (boolean hint : new boolean[] {true, false}) {
      Cluster c = new Cluster(Cluster.shape(1, 1));
      c.run(3_000);
      NodeId gone = c.leader().id();
      NodeId next = gone.equals(Cluster.n(1)) ? Cluster.n(3) : Cluster.n(1);
      long term = c.leader().term();
      c.down.add(gone);
      if (hint) {
        for (NodeId id : java.util.List.of(next, Cluster.n(2))) {
          c.handle(id, c.replicas.get(id).peerUnreachable(gone, c.now(id)));
        }
      }
      c.run(800);
      if (hint) {
        assertThat(c.leader()).as("elected within 800 ms").isNotNull();
        assertThat(c.leader().id()).isEqualTo(next);
        assertThat(c.leader().term()).isGreaterThan(term);
      } else {
        assertThat(c.leader() == null || c.leader().id().equals(gone))
            .as("no election before the timeout without the hint").isTrue();
      }
      c.checkSafety();
    }
  }
}
