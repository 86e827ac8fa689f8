package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.server.peer.ValuePull.PullKeys;
import io.respawn.server.peer.ValuePull.PullKeysReply;
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
    h.recovery.start(List.of(NodeId.of(2)), 601);
    h.recovery.tick(0);
    assertThat(h.replies).hasSize(1);
    assertThat(h.replies.get(0).values()).isEmpty(); // "not yet": applied 300 < 601
    h.recovery.onReply(h.replies.remove(0), 1);
    for (Entry e : log.subList(300, log.size())) {
      backup.apply(e);
    }
    long now = 10_000_000;
    while (h.recovery.active()) {
      h.recovery.tick(now);
      h.recovery.onReply(h.replies.remove(0), now);
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

  /** Delivers pulls straight to the backup's answerer. */
  private static final class ValueRecoveryHarness {
    final List<PullKeysReply> replies = new ArrayList<>();
    final ValueRecovery recovery;

    ValueRecoveryHarness(EngineStateMachine witness, EngineStateMachine backup) {
      ValueRecovery answerer = new ValueRecovery(NodeId.of(2), backup, m -> { });
      recovery = new ValueRecovery(NodeId.of(3), witness,
          m -> replies.add(answerer.answer((PullKeys) m)));
    }
  }
}
