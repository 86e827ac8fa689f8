package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The two takeover modes (TakeoverMode) with the phi-accrual detector, in a 1+1+1 shard (n1
 * primary, n2 backup, n3 witness), heartbeat 100 ms, lease 500 ms (follower promise ~510 ms).
 */
class TakeoverTest {
  /** Soft at ~253 ms of silence, hard at ~361 ms: the lease, not phi, bounds a takeover. */
  private static final PhiAccrualDetector.Settings QUICK =
      PhiAccrualDetector.Settings.defaults(100).withAcceptablePauseMillis(0);
  /** Soft at ~1753 ms, hard at ~1861 ms: a long hard timeout. */
  private static final PhiAccrualDetector.Settings SLOW =
      PhiAccrualDetector.Settings.defaults(100).withAcceptablePauseMillis(1_500);

  private static UnaryOperator<ReplicaConfig.Builder> mode(TakeoverMode m,
      PhiAccrualDetector.Settings phi) {
    return b -> b.takeover(m).phi(phi);
  }

  private static Cluster ledByNodeOne(UnaryOperator<ReplicaConfig.Builder> tweak) {
    return ledByNodeOne(tweak, false);
  }

  /** {@link #ledByNodeOne}, its nodes ticked only when due if {@code ticksWhenDue}. */
  private static Cluster ledByNodeOne(UnaryOperator<ReplicaConfig.Builder> tweak,
      boolean ticksWhenDue) {
    Cluster c = new Cluster(Cluster.shape(1, 1), tweak);
    c.ticksWhenDue = ticksWhenDue;
    c.tickAll();
    for (int i = 0; i < 800 && c.r(1).status() != Status.LEADER; i++) {
      c.globalNanos += 10 * Cluster.MS;
      c.tick(1);
      c.deliverAll();
    }
    assertThat(c.r(1).status()).isEqualTo(Status.LEADER);
    c.run(1_000);
    return c;
  }

  /** Stops n1 (the primary) and returns {@link #msUntilNewLeader}. */
  private static long msUntilPrimaryReplaced(Cluster c, long maxMs) {
    c.down.add(n(1));
    return msUntilNewLeader(c, maxMs);
  }

  /** Runs until someone but n1 leads; returns the ms that took, or -1 after {@code maxMs}. */
  private static long msUntilNewLeader(Cluster c, long maxMs) {
    for (long ms = 0; ms < maxMs; ms += 10) {
      c.run(10);
      Replica l = c.leader();
      if (l != null && !l.id().equals(n(1))) {
        return ms + 10;
      }
    }
    return -1;
  }

  /**
   * A driver that ticks only when {@link Replica#tickDueNanos} says something is due (the
   * server's node loop) sees the same takeover as one that ticks every 10 ms: the same
   * suspicions, at the same times, and the same new leader as soon, in both modes, while it
   * skipped most ticks of the steady phase.
   */
  @Test
  void tickingOnlyWhenDueChangesNothing() {
    for (TakeoverMode m : TakeoverMode.values()) {
      Cluster every = ledByNodeOne(mode(m, QUICK));
      long everyMs = msUntilPrimaryReplaced(every, 5_000);
      Cluster due = ledByNodeOne(mode(m, QUICK), true);
      long skippedSteady = due.ticksSkipped;
      long dueMs = msUntilPrimaryReplaced(due, 5_000);
      assertThat(dueMs).as(m + ": failover").isEqualTo(everyMs).isPositive();
      assertThat(due.suspicions).as(m + ": suspicions").isEqualTo(every.suspicions);
      assertThat(due.leader().id()).isEqualTo(every.leader().id());
      // 1 s at 10 ms steps, three nodes: 300 ticks; the leader's fall due every 100 ms
      // (heartbeats), the followers' only past their next soft threshold.
      assertThat(skippedSteady).as(m + ": ticks skipped while steady").isGreaterThan(200);
      due.checkSafety();
    }
  }

  @Test
  void speculativeTakesOverOnceTheLeaseRunsOutNotAfterAHardTimeout() {
    Cluster hard = ledByNodeOne(mode(TakeoverMode.HARD_TIMEOUT, SLOW));
    long hardMs = msUntilPrimaryReplaced(hard, 5_000);
    assertThat(hardMs).as("hard-timeout waits for φ 8 (~1.86 s)").isBetween(1_800L, 2_400L);
    hard.checkSafety();

    Cluster quick = ledByNodeOne(mode(TakeoverMode.SPECULATIVE, QUICK));
    long quickMs = msUntilPrimaryReplaced(quick, 5_000);
    // max(lease promise ~510 ms, soft ~253 ms), then the catch-up round waits its 200 ms timeout
    // for the silent primary's RequestLog reply.
    assertThat(quickMs).as("max(lease promise, soft) + catch-up timeout").isBetween(500L, 800L);
    assertThat(quick.leader().id()).isEqualTo(n(3));
    List<SuspicionChange> seen = quick.suspicions.get(n(3));
    assertThat(seen).isNotEmpty();
    assertThat(seen.get(0).suspicion()).isEqualTo(FailureDetector.Suspicion.SOFT);
    assertThat(seen.get(0).warmUpWanted()).isTrue();
    assertThat(seen.get(0).leader()).isEqualTo(n(1));
    assertThat(seen.get(seen.size() - 1).ended()).as("campaigning ends the episode").isTrue();
    // The backup suspects too (its runtime may start recovery) but is never asked to warm up.
    assertThat(quick.suspicions.get(n(2))).isNotEmpty()
        .allMatch(sc -> !sc.warmUpWanted());
    quick.checkSafety();
  }

  @Test
  void hardTimeoutCampaignsAtHardSuspicionNotAtSoft() {
    Cluster c = ledByNodeOne(mode(TakeoverMode.HARD_TIMEOUT,
        PhiAccrualDetector.Settings.defaults(100).withThresholds(3, 20)));
    // φ 3 at ~353 ms, φ 20 at ~200 + 50 y(20) ≈ 600 ms; promise ~510 ms.
    long ms = msUntilPrimaryReplaced(c, 5_000);
    assertThat(ms).isBetween(600L, 800L);
    List<SuspicionChange> seen = c.suspicions.get(n(3));
    assertThat(seen.get(0).suspicion()).isEqualTo(FailureDetector.Suspicion.SOFT);
    assertThat(seen.get(0).warmUpWanted()).as("no warm-up gate in hard-timeout").isFalse();
    assertThat(seen.get(1).suspicion()).isEqualTo(FailureDetector.Suspicion.HARD);
    c.checkSafety();
  }

  @Test
  void aStallShorterThanTheLeaseCausesNoFailoverUnderSpeculative() {
    Cluster c = ledByNodeOne(mode(TakeoverMode.SPECULATIVE, QUICK));
    long term = c.r(1).term();
    c.down.add(n(1));
    c.run(300);
    c.down.remove(n(1));
    c.run(3_000);
    assertThat(c.leader().id()).isEqualTo(n(1));
    assertThat(c.r(1).term()).isEqualTo(term);
    assertThat(c.r(3).term()).isEqualTo(term);
    List<SuspicionChange> seen = c.suspicions.get(n(3));
    assertThat(seen).as("soft suspicion, then the primary was heard").hasSize(2);
    assertThat(seen.get(0).suspicion()).isEqualTo(FailureDetector.Suspicion.SOFT);
    assertThat(seen.get(1).ended()).isTrue();
    assertThat(seen.get(1).episode()).isEqualTo(seen.get(0).episode());

    c.down.add(n(1));
    c.run(800); // longer than the lease: the witness takes over
    assertThat(c.leader()).isNotNull();
    assertThat(c.leader().id()).isEqualTo(n(3));
    c.checkSafety();
  }

  @Test
  void speculativeWaitsForTheWarmUpAndHasNoHardTimeout() {
    Cluster c = ledByNodeOne(mode(TakeoverMode.SPECULATIVE, QUICK));
    c.warmUpAtOnce = false;
    c.down.add(n(1));
    c.run(5_000);
    assertThat(c.leader()).as("no campaign before the warm-up is done").isNull();
    assertThat(c.r(3).leaderSuspicion()).isEqualTo(FailureDetector.Suspicion.HARD);
    long episode = c.r(3).suspicionEpisode();
    assertThat(episode).isPositive();
    c.handle(n(3), c.r(3).warmUpDone(episode, c.now(n(3))));
    c.run(300); // catch-up (200 ms timeout for the silent primary), pre-vote, vote
    assertThat(c.leader()).isNotNull();
    assertThat(c.leader().id()).isEqualTo(n(3));
    c.checkSafety();
  }

  @Test
  void aPrimaryHeardBeforeTheWarmUpEndsAbortsItAndALateReportChangesNothing() {
    Cluster c = ledByNodeOne(mode(TakeoverMode.SPECULATIVE, QUICK));
    c.warmUpAtOnce = false;
    long term = c.r(1).term();
    c.down.add(n(1));
    c.run(400);
    long episode = c.r(3).suspicionEpisode();
    assertThat(c.r(3).leaderSuspicion()).isNotEqualTo(FailureDetector.Suspicion.NONE);
    c.down.remove(n(1));
    c.run(200);
    assertThat(c.r(3).leaderSuspicion()).isEqualTo(FailureDetector.Suspicion.NONE);
    c.down.add(n(1));
    c.run(400); // a second episode begins
    assertThat(c.r(3).suspicionEpisode()).isEqualTo(episode + 1);
    c.handle(n(3), c.r(3).warmUpDone(episode, c.now(n(3)))); // the aborted one
    assertThat(c.r(3).warmedUp()).isFalse();
    c.run(3_000);
    assertThat(c.leader()).as("the stale report started nothing").isNull();
    assertThat(c.r(3).term()).isEqualTo(term);
  }

  /**
   * The hint that the primary's process is gone (its connections closed, nothing listens) lets a
   * speculative witness take over after its lease promise, with a long φ timeout and a long
   * silence bound alike; hard-timeout (CANDStore's rule) goes by silence alone and waits for φ.
   */
  @Test
  void theReachabilityHintSpeedsUpSpeculativeTakeoverNotHardTimeout() {
    for (TakeoverMode m : TakeoverMode.values()) {
      // φ alone would wait ~1.8 s; a silence bound of 1.5 s would too
      Cluster c = ledByNodeOne(b -> b.takeover(m).phi(SLOW).speculativeSilenceMillis(1_500));
      c.down.add(n(1));
      for (int i : new int[] {2, 3}) {
        c.handle(n(i), c.r(i).peerUnreachable(n(1), c.now(n(i))));
      }
      long ms = msUntilNewLeader(c, 3_000);
      if (m == TakeoverMode.SPECULATIVE) {
        assertThat(ms).as("speculative with the hint: the lease promise bounds it")
            .isBetween(400L, 800L);
      } else {
        assertThat(ms).as("hard-timeout ignores the hint: φ 8 (~1.86 s)")
            .isBetween(1_800L, 2_400L);
      }
      c.checkSafety();
    }
  }

  /**
   * Speculative with a silence bound: a witness warmed up long before still waits until the
   * primary has been silent that long when nothing says its process is gone, so a stall shorter
   * than the bound causes no failover even though it outlasts the lease and the warm-up; a
   * longer silence is taken over right at the bound.
   */
  @Test
  void speculativeWaitsForTheSilenceBoundWhenThePrimaryIsNotKnownGone() {
    UnaryOperator<ReplicaConfig.Builder> tweak =
        b -> b.takeover(TakeoverMode.SPECULATIVE).phi(QUICK).speculativeSilenceMillis(1_200);
    Cluster c = ledByNodeOne(tweak);
    long term = c.r(1).term();
    c.down.add(n(1));
    c.run(1_000); // stalled: past the lease (~510 ms) and soft suspicion, warmed up at once
    assertThat(c.r(3).warmedUp()).isTrue();
    assertThat(c.leader()).as("not before the silence bound").isNull();
    c.down.remove(n(1));
    c.run(3_000);
    assertThat(c.leader().id()).as("a 1 s stall under a 1.2 s bound").isEqualTo(n(1));
    assertThat(c.r(3).term()).isEqualTo(term);
    c.checkSafety();

    Cluster d = ledByNodeOne(tweak);
    long ms = msUntilPrimaryReplaced(d, 5_000);
    // the bound, then the catch-up round waits its 200 ms timeout for the silent primary
    assertThat(ms).as("the silence bound + catch-up").isBetween(1_200L, 1_600L);
    assertThat(d.leader().id()).isEqualTo(n(3));
    d.checkSafety();
  }

  /**
   * The witness's detector starts a fresh window for each leadership: a primary that leads again
   * after a failover and a minute away is suspected as soon as the first time, not after the
   * minute-long gap has been averaged out of its window (without the fix
   * the witness did not suspect it within 10 s).
   */
  @Test
  void aPrimaryLeadingAgainAfterAFailoverIsSuspectedAsSoonAsTheFirstTime() {
    Cluster c = ledByNodeOne(mode(TakeoverMode.HARD_TIMEOUT, QUICK));
    long firstMs = msUntilPrimaryReplaced(c, 5_000);
    assertThat(firstMs).as("first takeover").isBetween(300L, 1_000L);
    assertThat(c.leader().id()).isEqualTo(n(3));
    c.run(60_000); // a minute under the witness, the primary gone
    c.down.remove(n(1));
    c.run(2_000); // it comes back and catches up as a follower
    Replica witness = c.r(3);
    assertThat(witness.status()).isEqualTo(Status.LEADER);
    assertThat(witness.transferLeadership(n(1), c.now(n(3)))).isTrue();
    for (int ms = 0; ms < 3_000 && c.r(1).status() != Status.LEADER; ms += 10) {
      c.run(10);
    }
    assertThat(c.r(1).status()).as("leadership handed back").isEqualTo(Status.LEADER);
    c.run(1_000);
    long secondMs = msUntilPrimaryReplaced(c, 10_000);
    assertThat(secondMs).as("second takeover, first took %d ms", firstMs)
        .isBetween(300L, firstMs + 300);
    c.checkSafety();
  }

  /**
   * A pre-vote refused by the backup's lease promise (the backup heard the primary last a little
   * later than the witness) is asked again within a heartbeat interval instead of after a whole
   * election timeout and a new catch-up round: the witness takes over about when the backup's
   * promise runs out. Here the primary's last heartbeats reach the backup 150 ms after the witness
   * heard from it last.
   */
  @Test
  void aPreVoteRefusedForALeasePromiseIsAskedAgainSoon() {
    Cluster c = ledByNodeOne(mode(TakeoverMode.SPECULATIVE, QUICK));
    c.dropIf = m -> m.from().equals(n(1)) && m.to().equals(n(3));
    c.run(150);
    c.down.add(n(1));
    c.dropIf = m -> false;
    for (int i : new int[] {2, 3}) {
      c.handle(n(i), c.r(i).peerUnreachable(n(1), c.now(n(i))));
    }
    long ms = msUntilNewLeader(c, 3_000);
    // the backup's promise ends ~510 ms after its last heartbeat, within ~100 ms of a retry
    assertThat(ms).as("backup promise + a retry interval").isBetween(350L, 650L);
    c.checkSafety();
  }

  /**
   * Teeth: the witness is cut off from the primary while the backup still hears it. The correct
   * backup refuses to vote while its promise to the primary runs; the broken one
   * ({@link Variant#SPECULATIVE_VOTE_IN_LEASE}) votes, and a second leader is elected while the
   * first still holds its read lease.
   */
  @Test
  void aBackupThatVotesWhileThePrimaryHeartbeatsItElectsASecondLeaderUnderALease() {
    for (Variant v : new Variant[] {Variant.CORRECT, Variant.SPECULATIVE_VOTE_IN_LEASE}) {
      Cluster c = ledByNodeOne(b -> b.takeover(TakeoverMode.SPECULATIVE).phi(QUICK).variant(v));
      c.dropIf = m -> (m.from().equals(n(1)) && m.to().equals(n(3)))
          || (m.from().equals(n(3)) && m.to().equals(n(1)));
      boolean overlap = false;
      for (int i = 0; i < 300 && !overlap; i++) {
        c.run(10);
        Replica one = c.r(1);
        overlap = c.r(3).status() == Status.LEADER && one.status() == Status.LEADER
            && one.leaseExpiryNanos() > c.now(n(1));
      }
      if (v == Variant.CORRECT) {
        assertThat(overlap).isFalse();
        assertThat(c.r(3).status()).isNotEqualTo(Status.LEADER);
        assertThat(c.leader().id()).isEqualTo(n(1));
      } else {
        assertThat(overlap).as("two leaders, the old one under its lease").isTrue();
      }
    }
  }
}
