package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.server.peer.ValuePull.PullKeys;
import io.respawn.server.peer.ValuePull.PullKeysReply;
import io.respawn.server.peer.ValuePull.PullMessage;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupKvStore;
import io.respawn.storage.backup.BackupStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A priority pull held up on its way (a page read hanging on the device, here its send) holds
 * only itself: the next one is answered meanwhile by another reader.
 */
class PriorityPullReadersTest {
  private static final NodeId BACKUP = NodeId.of(2);
  private static final NodeId PRIMARY = NodeId.of(3);

  @TempDir
  Path tmp;

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void aStuckPriorityPullDoesNotHoldTheNextOne() throws Exception {
    BackupKvStore store = new BackupKvStore(BackupStore.open(tmp.resolve("backup"),
        BackupConfig.defaults().toBuilder().bufferBytes(4L << 20).valueBytesMax(512 << 10)
            .build()));
    EngineStateMachine backup = new EngineStateMachine(store);
    for (int i = 1; i <= 10; i++) {
      backup.apply(Entry.normal(1, i, Command.of(MutationBatchCodec.encode(
          List.of(Mutation.put(b("k" + i), b("v" + i)))), b("k" + i))));
    }
    CountDownLatch firstMayGo = new CountDownLatch(1);
    BlockingQueue<PullKeysReply> replies = new LinkedBlockingQueue<>();
    java.util.function.Consumer<PullMessage> send = m -> {
      PullKeysReply r = (PullKeysReply) m;
      if (r.requestId() == 1) {
        try {
          firstMayGo.await(); // the first answer hangs on its way
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      replies.add(r);
    };
    try (PullAnswers answers = new PullAnswers(BACKUP, store.backup(), send).start()) {
      answers.offer(new PullKeys(PRIMARY, BACKUP, 1, 0, List.of(b("k1")), true));
      answers.offer(new PullKeys(PRIMARY, BACKUP, 2, 0, List.of(b("k2")), true));
      PullKeysReply second = replies.poll(10, TimeUnit.SECONDS);
      assertThat(second).as("the second pull, answered while the first hangs").isNotNull();
      assertThat(second.requestId()).isEqualTo(2);
      assertThat(second.values().getFirst().value()).isEqualTo(b("v2"));
      firstMayGo.countDown();
      PullKeysReply first = replies.poll(10, TimeUnit.SECONDS);
      assertThat(first).isNotNull();
      assertThat(first.requestId()).isEqualTo(1);
    } finally {
      firstMayGo.countDown();
      backup.close();
      store.close();
    }
  }
}
