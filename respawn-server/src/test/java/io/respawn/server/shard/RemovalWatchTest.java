package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import io.respawn.server.shard.RemovalWatch.Refusals;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A member counts as removed only when it is a voter in its own view and a majority of that
 * view's voters have refused it as a non-member, lately, for the whole bound since it became a
 * voter in this process.
 */
class RemovalWatchTest {
  private static final long S = 1_000_000_000L;
  private static final long BOUND = RemovalWatch.REFUSED_FOR_NANOS_MIN;
  private static final Membership SHARD = Membership.of(List.of(Member.voter(1, Role.PRIMARY),
      Member.voter(2, Role.BACKUP), Member.voter(3, Role.WITNESS)));
  private static final Membership FIVE = Membership.of(List.of(Member.voter(1, Role.PRIMARY),
      Member.voter(2, Role.BACKUP), Member.voter(3, Role.WITNESS), Member.voter(4, Role.BACKUP),
      Member.voter(5, Role.WITNESS)));
  private final Map<NodeId, Refusals> refusals = new HashMap<>();
  private final long now = 1_000 * S;

  private void refused(int peer, long sinceNanos, long lastNanos) {
    refusals.put(NodeId.of(peer), new Refusals(sinceNanos, lastNanos));
  }

  @Test
  void aMajorityRefusingForTheBoundRemovesAVoter() {
    long voterSince = now - 100 * S;
    refused(2, now - BOUND, now - S);
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, voterSince, refusals, now))
        .as("one of three").isNull();
    refused(3, now - BOUND + 1, now - S);
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, voterSince, refusals, now))
        .as("the second for one nanosecond less than the bound").isNull();
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, voterSince, refusals, now + 1))
        .contains("members 2, 3 of 3 voters");
  }

  @Test
  void aRunBrokenByAnAcceptedHandshakeOrAJoiningLearnerIsNeverRemoved() {
    long voterSince = now - 100 * S;
    refused(2, now - 20 * S, now - S);
    refusals.put(NodeId.of(3), Refusals.NONE); // its last handshake succeeded
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, voterSince, refusals, now)).isNull();
    refused(3, now - 20 * S, now - S);
    Membership joining = Membership.of(List.of(Member.voter(2, Role.BACKUP),
        Member.voter(3, Role.WITNESS), Member.learner(4, Role.PRIMARY)));
    assertThat(RemovalWatch.removedWhy(NodeId.of(4), joining, voterSince, refusals, now))
        .as("a spare waits as a learner and is refused until it is added").isNull();
  }

  /**
   * A spare refused for hours before it was added, just promoted (a voter in its own view for
   * less than the bound) while its links still carry those refusals: not removed. Nor is a voter
   * whose refusing peers have stopped answering (their last refusal is old: a dead member keeps
   * the run it had), even in a five-voter view with three such runs.
   */
  @Test
  void aSpareJustPromotedAndPeersThatStoppedAnsweringDoNotCount() {
    refused(2, now - 3_600 * S, now - S);
    refused(3, now - 3_600 * S, now - S);
    refused(4, now - 3_600 * S, now - S);
    assertThat(RemovalWatch.removedWhy(NodeId.of(5), FIVE, now - BOUND + S, refusals, now))
        .as("a voter for less than the bound").isNull();
    assertThat(RemovalWatch.removedWhy(NodeId.of(5), FIVE, now - BOUND, refusals, now))
        .as("a voter for the bound, refused lately by three of five")
        .contains("members 2, 3, 4 of 5 voters");
    refused(3, now - 3_600 * S, now - RemovalWatch.REFUSED_LATELY_NANOS - 1);
    assertThat(RemovalWatch.removedWhy(NodeId.of(5), FIVE, now - 100 * S, refusals, now))
        .as("member 3's last refusal is old: it stopped answering").isNull();
  }
}
