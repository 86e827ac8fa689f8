package io.respawn.node.recovery;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.FailureDetector.Suspicion;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.node.recovery.ValuePull.BatchPull;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.node.recovery.ValuePull.PulledValue;
import io.respawn.storage.backup.BatchPullCursor;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Where a new primary pulls its values from, and how the BatchPull scan moves on when its source
 * goes away: the choices the simulator's sweep found wanting (a configuration without voting
 * backups, a source removed or silent for a whole request timeout).
 */
class ValueRecoverySourcesTest {

  private static final NodeId SELF = NodeId.of(1);
  private static final NodeId A = NodeId.of(2);
  private static final NodeId B = NodeId.of(3);

  private final List<PullMessage> sent = new ArrayList<>();
  private final long[] clock = {0};
  private final ValueRecovery recovery = new ValueRecovery(SELF, new OneUnknownKey(), sent::add,
      RecoveryMode.ONLINE, () -> clock[0]);

  @Test
  void theSourcesAreTheVotingBackupsOrElseEveryOtherMember() {
    Membership withBackups = Membership.of(Member.voter(1, Role.WITNESS),
        Member.voter(4, Role.PRIMARY), Member.voter(3, Role.BACKUP), Member.voter(2, Role.BACKUP),
        Member.learner(5, Role.BACKUP));
    assertThat(ValueRecovery.sourcesIn(withBackups, SELF)).containsExactly(A, B);
    // a dead backup removed while a witness stands in, its replacement still a learner: the
    // values are on the old primary, the stand-in and the learner
    Membership without = Membership.of(Member.voter(1, Role.WITNESS),
        Member.voter(4, Role.PRIMARY), Member.voter(2, Role.WITNESS),
        Member.learner(3, Role.BACKUP));
    assertThat(ValueRecovery.sourcesIn(without, SELF))
        .containsExactly(A, B, NodeId.of(4));
  }

  @Test
  void aSourceThatBecomesUnreachableHandsTheScanToTheNextAtOnceFromTheStart() {
    recovery.start(List.of(A, B), 2, 0);
    recovery.tick(0);
    BatchPull first = lastBatchPull();
    assertThat(first.to()).isEqualTo(A);
    recovery.onBatchReply(new ValuePull.BatchPullReply(A, SELF, first.requestId(), 5,
        new BatchPullCursor(BatchPullCursor.Phase.HOT, 7, 4096), false, List.of()), 1_000);
    clock[0] = 2_000_000;
    recovery.tick(clock[0]);
    assertThat(sent).as("waiting for the request's other chunks").hasSize(1);
    recovery.onPeerUnreachable(A);
    recovery.tick(clock[0]);
    BatchPull next = lastBatchPull();
    assertThat(next.to()).isEqualTo(B);
    assertThat(next.cursor()).as("A's cursor means nothing in B's logs")
        .isEqualTo(BatchPullCursor.START);
    BatchPull cancel = (BatchPull) sent.get(1);
    assertThat(cancel.to()).as("A's scan is ended: its GC resumes").isEqualTo(A);
    assertThat(cancel.term()).isZero();
  }

  @Test
  void aSourceLostBetweenTwoRequestsIsNotAskedAgain() {
    recovery.start(List.of(A, B), 2, 0);
    recovery.tick(0);
    BatchPull first = lastBatchPull();
    recovery.onBatchReply(new ValuePull.BatchPullReply(A, SELF, first.requestId(), 5,
        new BatchPullCursor(BatchPullCursor.Phase.HOT, 7, 4096), true, List.of()), 1_000);
    recovery.onPeerUnreachable(A); // between requests: none is waiting
    clock[0] = 1_000_000_000L; // well past the paced gap
    recovery.tick(clock[0]);
    assertThat(lastBatchPull().to()).isEqualTo(B);
    assertThat(lastBatchPull().term()).isEqualTo(2);
  }

  @Test
  void aReconnectedSourceIsAskedAgainFromItsCursor() {
    recovery.start(List.of(A, B), 2, 0);
    recovery.tick(0);
    BatchPull first = lastBatchPull();
    BatchPullCursor at = new BatchPullCursor(BatchPullCursor.Phase.HOT, 7, 4096);
    recovery.onBatchReply(new ValuePull.BatchPullReply(A, SELF, first.requestId(), 5, at, false,
        List.of()), 1_000);
    recovery.onPeerReachable(A); // a new connection: the request or its chunks may be lost
    recovery.tick(2_000);
    BatchPull again = lastBatchPull();
    assertThat(again.to()).isEqualTo(A);
    assertThat(again.requestId()).isGreaterThan(first.requestId());
    assertThat(again.cursor()).isEqualTo(at);
  }

  @Test
  void aSilentSourceIsGivenUpAfterTheTimeoutAndTheNextTakesOver() {
    recovery.start(List.of(A, B), 2, 0);
    recovery.tick(0);
    recovery.tick(ValueRecovery.BATCH_TIMEOUT_NANOS - 1);
    assertThat(sent).hasSize(1);
    recovery.tick(ValueRecovery.BATCH_TIMEOUT_NANOS);
    assertThat(lastBatchPull().to()).isEqualTo(B);
    recovery.tick(2 * ValueRecovery.BATCH_TIMEOUT_NANOS);
    assertThat(lastBatchPull().to()).as("in turn").isEqualTo(A);
  }

  @Test
  void aMemberOutsideTheConfigurationItKnowsNeitherWarmsUpNorFails() {
    // role is null until a member being added hears of its addition
    recovery.followSuspicion(Suspicion.SOFT, Status.FOLLOWER, null, 1, 1, List.of(A), 0);
    recovery.followSuspicion(Suspicion.HARD, Status.PRE_CANDIDATE, null, 1, 1, List.of(A), 0);
    assertThat(sent).isEmpty();
  }

  private BatchPull lastBatchPull() {
    return (BatchPull) sent.getLast();
  }

  /** One key, "k", held only as a timestamp at index 3. */
  private static final class OneUnknownKey implements RecoverableStore {
    @Override
    public long appliedIndex() {
      return 3;
    }

    @Override
    public long witnessFormIndex() {
      return 3;
    }

    @Override
    public long unknownKeyCount() {
      return 1;
    }

    @Override
    public boolean isUnknown(byte[] key) {
      return true;
    }

    @Override
    public long newestUnknownIndex(List<byte[]> keys) {
      return 3;
    }

    @Override
    public List<byte[]> unknownKeys(int max) {
      return List.of("k".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    }

    @Override
    public List<PulledValue> installPulled(List<PulledValue> values, long sourceAppliedIndex) {
      return List.of();
    }

    @Override
    public PulledValue answerPull(byte[] key) {
      return null;
    }

    @Override
    public void finishDrain() {}

    @Override
    public void expectPulledValues(boolean begins) {}

    @Override
    public boolean hasRoomWithoutFaulting(long bytes) {
      return true;
    }
  }
}
