package io.respawn.server.shard;

import io.respawn.node.recovery.RecoveryMode;
import io.respawn.node.recovery.ValueRecovery;
import static io.respawn.server.shard.ShardEntries.b;
import static io.respawn.server.shard.ShardEntries.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.node.log.ReplicaLogConfig;
import io.respawn.node.log.SegmentedReplicaLog;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupKvStore;
import io.respawn.storage.backup.BackupStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup member's state machine over a {@link BackupKvStore}: committed entries land in the
 * backup store with their (term, index); reads and other members' pulls are answered from it; on
 * restart it resumes after the newest entry the store recovered only when the replica log holds
 * that entry.
 */
class BackupStateMachineTest {
  @TempDir Path tmp;

  private static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static BackupConfig config() {
    return BackupConfig.defaults().toBuilder().bufferBytes(4L << 20).valueBytesMax(512 << 10)
        .build();
  }

  @Test
  void entriesLandInTheBackupStoreAndPullsAreAnsweredFromIt() throws Exception {
    Path dir = tmp.resolve("backup");
    try (BackupKvStore store = new BackupKvStore(BackupStore.open(dir, config()));
        EngineStateMachine backup = new EngineStateMachine(store)) {
      for (int i = 1; i <= 500; i++) {
        backup.apply(write(1, i, Mutation.put(b("k" + i), b("v" + i))));
      }
      backup.apply(Entry.noop(2, 501));
      backup.apply(write(2, 502, Mutation.delete(b("k7")), Mutation.put(b("k8"), b("eight"))));
      assertThat(backup.appliedIndex()).isEqualTo(502);
      assertThat(store.lastApplied()).isEqualTo(new BackupStore.Timestamp(2, 502));
      assertThat(store.keyCount()).isEqualTo(499);
      assertThat(s(backup.read(b("k8")).value().value())).isEqualTo("eight");
      assertThat(backup.read(b("k7")).value()).isNull();
      assertThat(backup.read(b("k7")).unknown()).isFalse();
      // A witness that leads now asks for values: answered from the backup store.
      ValueRecovery answering = new ValueRecovery(new NodeId(2), backup, m -> {}, RecoveryMode.ONLINE,
          System::nanoTime);
      PullKeysReply reply = answering.answer(new PullKeys(new NodeId(3), new NodeId(2), 1, 502,
          List.of(b("k1"), b("k7"), b("k8"), b("never"))));
      assertThat(reply.appliedIndex()).isEqualTo(502);
      assertThat(reply.values()).hasSize(4);
      assertThat(s(reply.values().get(0).value())).isEqualTo("v1");
      assertThat(reply.values().get(1).found()).as("deleted").isFalse();
      assertThat(s(reply.values().get(2).value())).isEqualTo("eight");
      assertThat(reply.values().get(3).found()).isFalse();
      // SCAN over the backup store returns every live key once (no rebuild happened).
      Set<String> seen = new HashSet<>();
      long cursor = 0;
      do {
        ScanPage page = store.scan(cursor, 37);
        page.keys().forEach(k -> assertThat(seen.add(s(k))).as("once").isTrue());
        cursor = page.nextCursor();
      } while (cursor != 0);
      assertThat(seen).hasSize(499).contains("k8").doesNotContain("k7");
      store.flushAll().get();
    }
  }

  @Test
  void anEntryInWitnessFormIsRefusedRatherThanLeaveAStoreThatWouldLieAfterARestart()
      throws Exception {
    try (BackupKvStore store = new BackupKvStore(BackupStore.open(tmp.resolve("b"), config()));
        EngineStateMachine backup = new EngineStateMachine(store)) {
      assertThatThrownBy(() -> backup.apply(write(1, 1, Mutation.put(b("a"), b("1"))).elide()))
          .isInstanceOf(IllegalStateException.class).hasMessageContaining("witness form");
      assertThatThrownBy(() -> store.apply(List.of(Mutation.put(b("a"), b("1")))))
          .isInstanceOf(UnsupportedOperationException.class);
    }
  }

  @Test
  void aRestartResumesAfterTheRecoveredEntryWhenTheReplicaLogHoldsIt() throws Exception {
    Path backupDir = tmp.resolve("backup");
    Path logDir = Files.createDirectories(tmp.resolve("replica"));
    List<Entry> entries = new ArrayList<>();
    for (int i = 1; i <= 300; i++) {
      entries.add(write(1 + i / 100, i, Mutation.put(b("k" + i), b("v" + i))));
    }
    try (SegmentedReplicaLog log = SegmentedReplicaLog.open(new FileChannelDisk(logDir),
        ReplicaLogConfig.defaults())) {
      log.append(entries);
      log.flush();
      try (BackupKvStore store = ShardMember.openBackup(backupDir, config(), log);
          EngineStateMachine backup = EngineStateMachine.resumingAt(store,
              store.lastApplied().index())) {
        entries.forEach(backup::apply);
      }
      // Reopened with the same log: resumes after 300, keeps every value.
      try (BackupKvStore store = ShardMember.openBackup(backupDir, config(), log);
          EngineStateMachine backup = EngineStateMachine.resumingAt(store,
              store.lastApplied().index())) {
        assertThat(backup.appliedIndex()).isEqualTo(300);
        assertThat(store.keyCount()).isEqualTo(300);
        assertThat(s(backup.read(b("k299")).value().value())).isEqualTo("v299");
      }
      // The log lost its tail (a machine crash cut what it had not flushed) while the store kept
      // it: the store would be ahead of the log, so it is rebuilt from the start.
      log.truncateSuffix(251);
      log.flush();
      try (BackupKvStore store = ShardMember.openBackup(backupDir, config(), log);
          EngineStateMachine backup = EngineStateMachine.resumingAt(store,
              store.lastApplied().index())) {
        assertThat(backup.appliedIndex()).isZero();
        assertThat(store.keyCount()).isZero();
      }
    }
  }
}
