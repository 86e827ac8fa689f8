package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A member counts as removed only when it is a voter in its own view and a majority of that
 * view's voters have refused it as a non-member for the whole bound.
 */
class RemovalWatchTest {
  private static final long S = 1_000_000_000L;
  private static final Membership SHARD = Membership.of(List.of(Member.voter(1, Role.PRIMARY),
      Member.voter(2, Role.BACKUP), Member.voter(3, Role.WITNESS)));
  private final Map<NodeId, Long> since = new HashMap<>();

  @Test
  void aMajorityRefusingForTheBoundRemovesAVoter() {
    long now = 100 * S;
    since.put(NodeId.of(2), now - RemovalWatch.REFUSED_FOR_NANOS_MIN);
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, since, now)).as("one of three")
        .isNull();
    since.put(NodeId.of(3), now - RemovalWatch.REFUSED_FOR_NANOS_MIN + 1);
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, since, now))
        .as("the second for one nanosecond less than the bound").isNull();
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, since, now + 1))
        .contains("members 2, 3 of 3 voters");
  }

  @Test
  void aRunBrokenByAnAcceptedHandshakeOrAJoiningLearnerIsNeverRemoved() {
    long now = 100 * S;
    since.put(NodeId.of(2), now - 20 * S);
    since.put(NodeId.of(3), Long.MIN_VALUE); // its last handshake succeeded
    assertThat(RemovalWatch.removedWhy(NodeId.of(1), SHARD, since, now)).isNull();
    since.put(NodeId.of(3), now - 20 * S);
    Membership joining = Membership.of(List.of(Member.voter(2, Role.BACKUP),
        Member.voter(3, Role.WITNESS), Member.learner(4, Role.PRIMARY)));
    assertThat(RemovalWatch.removedWhy(NodeId.of(4), joining, since, now))
        .as("a spare waits as a learner and is refused until it is added").isNull();
  }
}
