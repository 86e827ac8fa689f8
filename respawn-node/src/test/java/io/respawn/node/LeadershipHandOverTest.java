package io.respawn.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.NodeId;
import io.respawn.core.Status;
import io.respawn.core.Variant;
import org.junit.jupiter.api.Test;

/**
 * The give-back: a witness that leads hands leadership back to the configured primary once that
 * primary has been reachable and caught up for {@link LeadershipHandOver#GIVE_BACK_AFTER_NANOS},
 * not before, and not while it is unreachable or this leader still recovers values.
 */
class LeadershipHandOverTest {

  private static final long MS = TestShard.MS;

  @Test
  void aLeadingWitnessGivesLeadershipBackToTheCaughtUpPrimaryAfterHalfASecond() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> witness = s.electNode(2);
    LeadershipHandOver handOver = new LeadershipHandOver(NodeId.of(2), Variant.CORRECT);
    handOver.leading(s.nowNanos[0]);
    assertThat(LeadershipHandOver.designatedPrimary(witness.replica(), NodeId.of(2)))
        .isEqualTo(NodeId.of(0));
    long caughtUpFrom = Long.MIN_VALUE;
    boolean started = false;
    for (int step = 0; step < 400 && !started; step++) {
      s.run(5);
      started = handOver.maybeGiveBack(witness, false, p -> true, s.nowNanos[0]);
      if (caughtUpFrom == Long.MIN_VALUE) {
        caughtUpFrom = s.nowNanos[0];
      }
    }
    assertThat(started).isTrue();
    assertThat(s.nowNanos[0] - caughtUpFrom)
        .isGreaterThanOrEqualTo(LeadershipHandOver.GIVE_BACK_AFTER_NANOS);
    assertThat(handOver.draining()).isTrue();
    assertThat(handOver.transferOnceDrained(witness, 1, s.nowNanos[0]))
        .as("a write still unsettled").isEqualTo(LeadershipHandOver.Transfer.NONE);
    assertThat(handOver.transferOnceDrained(witness, 0, s.nowNanos[0]))
        .isEqualTo(LeadershipHandOver.Transfer.STARTED);
    assertThat(handOver.lastTarget()).isEqualTo(NodeId.of(0));
    s.run(200);
    assertThat(s.n(0).replica().status()).isEqualTo(Status.LEADER);
    assertThat(witness.replica().status()).isNotEqualTo(Status.LEADER);
  }

  @Test
  void noGiveBackToAnUnreachablePrimaryNorWhileRecoveringNorInTheBrokenVariant() {
    TestShard s = TestShard.ofThree(RuntimeConfig.defaults());
    NodeRuntime<Long> witness = s.electNode(2);
    LeadershipHandOver unreachable = new LeadershipHandOver(NodeId.of(2), Variant.CORRECT);
    LeadershipHandOver recovering = new LeadershipHandOver(NodeId.of(2), Variant.CORRECT);
    LeadershipHandOver broken = new LeadershipHandOver(NodeId.of(2), Variant.NEVER_GIVE_BACK);
    for (LeadershipHandOver h : new LeadershipHandOver[] {unreachable, recovering, broken}) {
      h.leading(s.nowNanos[0]);
    }
    for (int step = 0; step < 400; step++) { // two seconds
      s.run(5);
      long now = s.nowNanos[0];
      assertThat(unreachable.maybeGiveBack(witness, false, p -> false, now)).isFalse();
      assertThat(recovering.maybeGiveBack(witness, true, p -> true, now)).isFalse();
      assertThat(broken.maybeGiveBack(witness, false, p -> true, now)).isFalse();
    }
    assertThat(witness.replica().status()).isEqualTo(Status.LEADER);
    assertThat(s.nowNanos[0]).isGreaterThan(2_000 * MS);
  }
}
