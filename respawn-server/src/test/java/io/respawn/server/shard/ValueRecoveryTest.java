package io.respawn.server.shard;

import io.respawn.node.recovery.ValueRecovery;
import io.respawn.node.recovery.RecoveryMode;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.node.recovery.ValuePull;
import io.respawn.node.recovery.ValuePull.BatchPull;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A witness-turned-primary pulls the values it holds only as timestamps from a backup. */
class ValueRecoveryTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static Entry put(long index, String key, String value) {
    List<Mutation> batch = List.of(Mutation.put(b(key), b(value)));
    return Entry.normal(1, index, Command.of(MutationBatchCodec.encode(batch), b(key)));
  }

  @Test
  void unknownKeysArePulledOnlyFromABackupThatAppliedTheCommit() {
    EngineStateMachine backup = new EngineStateMachine(new MapKvStore());
    EngineStateMachine witness = new EngineStateMachine(new MapKvStore());
    List<Entry> log = new ArrayList<>();
    for (int i = 1; i <= 600; i++) {
      log.add(put(i, "k" + (i % 500), "v" + i));
    }
    log.add(Entry.normal(1, 601, Command.of(MutationBatchCodec.encode(
        List.of(Mutation.delete(b("k7")))), b("k7"))));
    for (Entry e : log) {
      witness.apply(e.elide());
    }
    assertThat(witness.unknownKeyCount()).isEqualTo(500);
    assertThat(witness.read(b("k3")).unknown()).isTrue();
    // The backup has applied only part of the log when the first pull arrives.
    for (Entry e : log.subList(0, 300)) {
      backup.apply(e);
    }
    ValueRecoveryHarness h = new ValueRecoveryHarness(witness, backup);
    h.recovery.start(List.of(NodeId.of(2)));
    h.recovery.tick(0);
    // Two pulls of different keys (256 + 244), both answered "not yet": applied 300 < 601.
    assertThat(h.replies).hasSize(2);
    assertThat(h.replies).allSatisfy(r -> assertThat(r.values()).isEmpty());
    while (!h.replies.isEmpty()) {
      h.recovery.onReply(h.replies.remove(0), 1);
    }
    for (Entry e : log.subList(300, log.size())) {
      backup.apply(e);
    }
    long now = 10_000_000;
    while (h.recovery.active()) {
      h.recovery.tick(now);
      while (!h.replies.isEmpty()) {
        h.recovery.onReply(h.replies.remove(0), now);
      }
      now += 1_000_000;
    }
    assertThat(witness.unknownKeyCount()).isZero();
    assertThat(new String(witness.read(b("k3")).value().value(), StandardCharsets.UTF_8))
        .isEqualTo("v503");
    assertThat(new String(witness.read(b("k499")).value().value(), StandardCharsets.UTF_8))
        .isEqualTo("v499");
    assertThat(witness.read(b("k7")).value()).isNull();
    assertThat(witness.read(b("k7")).unknown()).isFalse();
    assertThat(h.recovery.keysPulled()).isEqualTo(500);
  }

  /**
   * Elected with its log ahead of the commit index: the earlier term's entries commit (and are
   * applied in witness form) after the election, with the new term's first entry. Recovery must
   * cover those keys too, and ask for a backup that applied them, not for the commit index the
   * member knew when it was elected (found by a fault campaign: a GET after a failover answered
   * nil for a key the old primary had written).
   */
  @Test
  void keysThatBecomeUnknownAfterTheElectionArePulledFromABackupThatAppliedThem() {
    EngineStateMachine backup = new EngineStateMachine(new MapKvStore());
    EngineStateMachine witness = new EngineStateMachine(new MapKvStore());
    ValueRecoveryHarness h = new ValueRecoveryHarness(witness, backup);
    h.recovery.start(List.of(NodeId.of(2))); // elected with nothing applied yet
    assertThat(h.recovery.active()).as("nothing unknown yet").isFalse();
    Entry first = put(1, "a", "old");
    Entry second = put(2, "a", "new");
    witness.apply(first.elide());
    witness.apply(second.elide());
    assertThat(h.recovery.active()).as("keys became unknown while leading").isTrue();
    backup.apply(first); // the backup has applied only the first write so far
    h.recovery.tick(0);
    h.recovery.onReply(h.replies.remove(0), 1);
    assertThat(witness.read(b("a")).unknown()).as("no stale value installed").isTrue();
    backup.apply(second);
    h.recovery.tick(10_000_000);
    h.recovery.onReply(h.replies.remove(0), 10_000_001);
    assertThat(h.recovery.active()).isFalse();
    assertThat(new String(witness.read(b("a")).value().value(), StandardCharsets.UTF_8))
        .isEqualTo("new");
    h.recovery.stop();
    witness.apply(put(3, "b", "x").elide());
    assertThat(h.recovery.active()).as("a member that does not lead pulls nothing").isFalse();
  }

  /**
   * A key written again (in witness form) after a pull for it was sent: a backup that applied the
   * pull's index but not the newer write answers with the older value, which must not be installed
   * (a read would return it as current); the key stays unknown and is pulled again.
   */
  @Test
  void aValueOlderThanAWriteAppliedAfterThePullWasSentIsPulledAgain() {
    EngineStateMachine backup = new EngineStateMachine(new MapKvStore());
    EngineStateMachine witness = new EngineStateMachine(new MapKvStore());
    ValueRecoveryHarness h = new ValueRecoveryHarness(witness, backup);
    Entry first = put(1, "a", "old");
    Entry second = put(2, "a", "new");
    witness.apply(first.elide());
    backup.apply(first);
    h.recovery.start(List.of(NodeId.of(2)));
    h.recovery.tick(0); // asks for "a" with min applied index 1; the backup answers "old"
    witness.apply(second.elide()); // committed while the pull is on its way
    h.recovery.onReply(h.replies.remove(0), 1);
    assertThat(witness.read(b("a")).unknown()).as("the older value is not installed").isTrue();
    assertThat(h.recovery.active()).isTrue();
    backup.apply(second);
    h.recovery.tick(2);
    h.recovery.onReply(h.replies.remove(0), 3);
    assertThat(h.recovery.active()).isFalse();
    assertThat(new String(witness.read(b("a")).value().value(), StandardCharsets.UTF_8))
        .isEqualTo("new");
  }

  /**
   * Online recovery: the keys commands need now go out together in one priority pull at the next
   * tick, before the background pull; a key asked for twice is asked of the backup once, and both
   * waiters are released when its value is installed. A reply from a backup that had not applied
   * far enough installs nothing but still releases the waiters (they ask again).
   */
  @Test
  void priorityPullsShareOneRequestPerKeyAndReleaseTheirWaiters() {
    EngineStateMachine backup = new EngineStateMachine(new MapKvStore());
    EngineStateMachine witness = new EngineStateMachine(new MapKvStore());
    for (int i = 1; i <= 1000; i++) {
      Entry e = put(i, "k" + i, "v" + i);
      witness.apply(e.elide());
      backup.apply(e);
    }
    List<PullKeys> sent = new ArrayList<>();
    List<BatchPull> batches = new ArrayList<>();
    long[] clock = {0};
    ValueRecovery answerer = new ValueRecovery(NodeId.of(2), backup, m -> { }, RecoveryMode.ONLINE,
        System::nanoTime);
    ValueRecovery recovery = new ValueRecovery(NodeId.of(3), witness, m -> {
      if (m instanceof BatchPull p) {
        batches.add(p);
      } else {
        sent.add((PullKeys) m);
      }
    }, RecoveryMode.ONLINE, () -> clock[0]);
    recovery.start(List.of(NodeId.of(2)), 0);
    var first = recovery.pullNow(List.of(b("k10"), b("k20")));
    var second = recovery.pullNow(List.of(b("k20")));
    var known = recovery.pullNow(List.of(b("absent-everywhere")));
    assertThat(known).isDone(); // not unknown here: nothing to wait for
    assertThat(first).isNotDone();
    // Sent at once, from the caller's thread, before any tick; k20 asked for once.
    assertThat(sent).hasSize(1);
    assertThat(sent.get(0).priority()).isTrue();
    // Its answer is one the node loop handles ahead of its other input; no other id is.
    assertThat(recovery.awaitsPriorityReply(sent.get(0).requestId())).isTrue();
    assertThat(recovery.awaitsPriorityReply(sent.get(0).requestId() + 1)).isFalse();
    assertThat(sent.get(0).keys()).map(k -> new String(k, StandardCharsets.UTF_8))
        .containsExactly("k10", "k20");
    recovery.tick(1_000);
    // No priority latency measured yet: the background copy asks for its usual chunks.
    assertThat(batches).hasSize(1);
    assertThat(batches.get(0).chunksMax()).isEqualTo(ValueRecovery.BATCH_CHUNKS_IN_FLIGHT);
    assertThat(batches.get(0).term()).isEqualTo(1);
    // An answer slower than the target (sent at 0, here 50 ms later)...
    recovery.onReply(answerer.answer(sent.get(0)), 50_000_000);
    assertThat(recovery.awaitsPriorityReply(sent.get(0).requestId())).isFalse();
    assertThat(first).isDone();
    assertThat(second).isDone();
    assertThat(new String(witness.read(b("k20")).value().value(), StandardCharsets.UTF_8))
        .isEqualTo("v20");
    assertThat(recovery.info()).containsEntry("respawn_recovery_priority_pulls", 1L)
        .containsEntry("respawn_recovery_priority_keys", 2L);

    // ... and a command waiting again: the next BatchPull request backs off to one chunk.
    clock[0] = 50_000_000;
    var third = recovery.pullNow(List.of(b("k30")));
    recovery.onBatchReply(new ValuePull.BatchPullReply(NodeId.of(2), NodeId.of(3),
        batches.get(0).requestId(), 1000, new io.respawn.storage.backup.BatchPullCursor(
            io.respawn.storage.backup.LogKind.HOT, 1, 4096), true, List.of()), 50_000_001);
    recovery.tick(50_000_002);
    assertThat(batches).hasSize(2);
    assertThat(batches.get(1).chunksMax()).isEqualTo(1);
    // A backup that has not applied what the pull asks for: nothing installed, waiter released.
    PullKeys p = sent.get(sent.size() - 1);
    assertThat(p.keys()).hasSize(1);
    recovery.onReply(new PullKeysReply(NodeId.of(2), NodeId.of(3), p.requestId(),
        p.minAppliedIndex() - 1, List.of()), 4_000);
    assertThat(third).isDone();
    assertThat(witness.read(b("k30")).unknown()).isTrue();
    // Lost replies time out: the waiter is released after PULL_TIMEOUT_NANOS.
    clock[0] = 60_000_000;
    var fourth = recovery.pullNow(List.of(b("k40")));
    recovery.tick(60_000_000);
    assertThat(fourth).isNotDone();
    recovery.tick(60_000_000 + ValueRecovery.PULL_TIMEOUT_NANOS);
    assertThat(fourth).isDone();
    // Losing leadership releases everyone still waiting.
    var fifth = recovery.pullNow(List.of(b("k50")));
    recovery.stop();
    assertThat(fifth).isDone();
    assertThat(recovery.holdsServing()).isFalse();
  }

  @Test
  void offlineRecoveryHoldsServingUntilEveryValueIsHere() {
    EngineStateMachine backup = new EngineStateMachine(new MapKvStore());
    EngineStateMachine witness = new EngineStateMachine(new MapKvStore());
    for (int i = 1; i <= 300; i++) {
      Entry e = put(i, "k" + i, "v" + i);
      witness.apply(e.elide());
      backup.apply(e);
    }
    ValueRecovery answerer = new ValueRecovery(NodeId.of(2), backup, m -> { }, RecoveryMode.ONLINE,
        System::nanoTime);
    List<PullKeysReply> replies = new ArrayList<>();
    ValueRecovery[] self = new ValueRecovery[1];
    ValueRecovery recovery = new ValueRecovery(NodeId.of(3), witness, m -> {
      if (m instanceof BatchPull p) { // a backup without logs: "done" at once
        self[0].onBatchReply(answerer.answerWithoutLogs(p), 0);
      } else {
        replies.add(answerer.answer((PullKeys) m));
      }
    }, RecoveryMode.OFFLINE, System::nanoTime);
    self[0] = recovery;
    assertThat(recovery.holdsServing()).isFalse(); // not leading
    recovery.start(List.of(NodeId.of(2)), 0);
    long now = 0;
    while (recovery.active()) {
      assertThat(recovery.holdsServing()).isTrue();
      recovery.tick(now);
      recovery.onReply(replies.remove(0), now);
      now += 1_000_000;
    }
    assertThat(recovery.holdsServing()).isFalse();
    assertThat(witness.unknownKeyCount()).isZero();
  }

  /**
   * Delivers pulls straight to the backup's answerer; a BatchPull is answered "done" at once, as
   * a backup without hot and cold logs does, so these tests exercise the pulls by name.
   */
  private static final class ValueRecoveryHarness {
    final List<PullKeysReply> replies = new ArrayList<>();
    final ValueRecovery recovery;

    ValueRecoveryHarness(EngineStateMachine witness, EngineStateMachine backup) {
      ValueRecovery answerer = new ValueRecovery(NodeId.of(2), backup, m -> { }, RecoveryMode.ONLINE,
        System::nanoTime);
      ValueRecovery[] self = new ValueRecovery[1];
      recovery = new ValueRecovery(NodeId.of(3), witness, m -> {
        if (m instanceof BatchPull p) {
          self[0].onBatchReply(answerer.answerWithoutLogs(p), 0);
        } else {
          replies.add(answerer.answer((PullKeys) m));
        }
      }, RecoveryMode.ONLINE, System::nanoTime);
      self[0] = recovery;
    }
  }
}
