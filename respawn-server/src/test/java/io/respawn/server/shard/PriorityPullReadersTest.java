package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupKvStore;
import io.respawn.storage.backup.BackupStore;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
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

  private BackupKvStore openStore() throws Exception {
    return new BackupKvStore(BackupStore.open(tmp.resolve("backup"), BackupConfig.defaults()
        .toBuilder().bufferBytes(4L << 20).valueBytesMax(512 << 10).build()));
  }

  /** Applies one write each to keys k1..k{@code keys}, in entries 1..{@code keys}. */
  private static void write(EngineStateMachine backup, int keys,
      java.util.function.IntFunction<String> value) {
    for (int i = 1; i <= keys; i++) {
      backup.apply(Entry.normal(1, i, Command.of(MutationBatchCodec.encode(
          List.of(Mutation.put(b("k" + i), b(value.apply(i))))), b("k" + i))));
    }
  }

  /**
   * The answering thread streams the cold log under SCHED_IDLE and everything else at normal
   * priority: the popular set and the hot log (what a takeover waits for), and the answers after
   * a scan, so that a request finds it waiting at normal priority.
   */
  @Test
  void theStreamRunsIdleForTheColdLogOnly() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    assumeTrue(io.respawn.storage.BackgroundPriority.idleReversible(),
        "this process may not leave SCHED_IDLE again");
    BackupKvStore store = openStore();
    EngineStateMachine backup = new EngineStateMachine(store);
    write(backup, 400, i -> "v".repeat(400));
    store.backup().flush(); // into the cold log
    BlockingQueue<String> seen = new LinkedBlockingQueue<>();
    java.util.function.Consumer<PullMessage> send = m -> {
      try {
        int policy = LoopPriorityTest.policyOfCurrentThread();
        if (m instanceof io.respawn.node.recovery.ValuePull.BatchPullReply r) {
          seen.add((r.values().isEmpty() ? "empty" : "chunk") + " " + policy + " "
              + r.next().isDone());
        } else {
          seen.add("keys " + policy);
        }
      } catch (Exception e) {
        seen.add("error " + e);
      }
    };
    try (PullAnswers answers = new PullAnswers(BACKUP, store.backup(), send).start()) {
      answers.offer(new io.respawn.node.recovery.ValuePull.BatchPull(PRIMARY, BACKUP, 1, 2,
          io.respawn.storage.backup.BatchPullCursor.START, 4, 4096));
      List<String> replies = new ArrayList<>();
      for (int i = 0; i < 4; i++) {
        replies.add(seen.poll(10, TimeUnit.SECONDS));
      }
      assertThat(replies.get(0)).as("the popular set (none): normal priority")
          .startsWith("empty 0");
      assertThat(replies.get(1)).as("asked from the hot log (empty here: the chunk goes on into "
          + "the cold log): normal priority").startsWith("chunk 0");
      assertThat(replies.subList(2, 4)).as("asked from the cold log: SCHED_IDLE")
          .allSatisfy(r -> assertThat(r).startsWith("chunk 5"));
      Thread.sleep(300); // the thread waits for the next request, back at normal priority
      answers.offer(new PullKeys(PRIMARY, BACKUP, 2, 0, List.of(b("k1"))));
      assertThat(seen.poll(10, TimeUnit.SECONDS)).isEqualTo("keys 0");
    } finally {
      backup.close();
      store.close();
    }
  }

  @Test
  void aStuckPriorityPullDoesNotHoldTheNextOne() throws Exception {
    BackupKvStore store = openStore();
    EngineStateMachine backup = new EngineStateMachine(store);
    write(backup, 10, i -> "v" + i);
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
