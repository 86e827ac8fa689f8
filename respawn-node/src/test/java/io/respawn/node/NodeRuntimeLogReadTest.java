package io.respawn.node;

import static io.respawn.node.TestShard.cmd;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Entry;
import io.respawn.core.Role;
import io.respawn.node.log.ReplicaLogConfig;
import io.respawn.node.log.SegmentedReplicaLog;
import io.respawn.node.snapshot.SnapshotPolicy;
import io.respawn.storage.Durability;
import io.respawn.storage.FileChannelDisk;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runtimes over real {@link SegmentedReplicaLog}s on files, whose cores keep a cache of a few
 * entries: a member that was down catches up from entries its leader reads back from its
 * replica log (the core's {@link io.respawn.core.LogReader}), values and all.
 */
class NodeRuntimeLogReadTest {
  private static final int WRITES = 300;

  /** Counts what the core reads back through each node's replica log. */
  static final class CountingLog extends ForwardingLog {
    long entriesRead;

    CountingLog(ReplicaLog inner) {
      super(inner);
    }

    @Override
    public List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax) {
      List<Entry> read = super.read(fromIndex, toIndexInclusive, bytesMax);
      entriesRead += read.size();
      return read;
    }
  }

  @Test
  void aBackupThatWasDownCatchesUpFromEntriesReadBackFromTheLeadersLog(@TempDir Path dir) {
    Map<Integer, CountingLog> ports = new HashMap<>();
    int[] next = {0};
    TestShard s = new TestShard(RuntimeConfig.defaults(), memory -> {
      int id = next[0]++;
      try {
        Path nodeDir = Files.createDirectories(dir.resolve("n" + id));
        SegmentedReplicaLog log = SegmentedReplicaLog.open(new FileChannelDisk(nodeDir),
            new ReplicaLogConfig(64 << 10, 8 << 10, true));
        CountingLog port = new CountingLog(log);
        ports.put(id, port);
        return port;
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, SnapshotPolicy.OFF, b -> b.logCacheBytesMax(2_048), Role.PRIMARY, Role.BACKUP,
        Role.WITNESS);
    NodeRuntime<Long> leader = s.electNode(0);
    s.down.add(1);
    assertThat(leader.standIn(io.respawn.core.NodeId.of(1), io.respawn.core.NodeId.of(2)))
        .isTrue();
    ProposalHandle<Long> last = null;
    for (int i = 0; i < WRITES; i++) {
      last = leader.propose(cmd("k" + (i % 50), "v" + i + "-".repeat(80)), Durability.ORDERED);
      leader.processQueued();
      s.deliverAll();
    }
    s.run(50);
    assertThat(last.ordered()).isDone();
    long commit = leader.replica().commitIndex();
    long backupLast = s.n(1).replica().lastIndex();
    assertThat(backupLast).isLessThan(commit - WRITES + 10);
    long readBefore = ports.get(0).entriesRead;

    s.down.remove(Integer.valueOf(1));
    s.run(2_000);

    NodeRuntime<Long> backup = s.n(1);
    assertThat(backup.replica().commitIndex()).isEqualTo(commit);
    assertThat(s.stores.get(1).applied).isEqualTo(commit);
    assertThat(ports.get(0).entriesRead - readBefore)
        .as("entries the leader read back for the backup")
        .isGreaterThanOrEqualTo(commit - backupLast - 64);
    for (int k = 0; k < 50; k++) {
      assertThat(s.stores.get(1).values).containsEntry("k" + k,
          s.stores.get(0).values.get("k" + k));
    }
    assertThat(s.stores.get(1).values.get("k49")).isEqualTo("v" + (WRITES - 1) + "-".repeat(80));
    assertThat(backup.stoppedBy()).isNull();
    assertThat(leader.stoppedBy()).isNull();
  }
}
