package io.respawn.storage;

import static io.respawn.storage.TestSupport.b;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.crash.RecordingDisk;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class GroupCommitTest {

  @Test
  void concurrentDurableWritersShareFsyncs() throws Exception {
    SlowFlushDisk disk = new SlowFlushDisk(new RecordingDisk(), 2_000);
    StorageConfig config = TestSupport.smallConfig().withSizes(16 << 20, 1 << 20, 256, 1024)
        .withFlushIntervalMillis(100);
    int writers = 50;
    int writesEach = 40;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    try (LogEngine store = LogEngine.open(disk, config)) {
      long flushesBefore = disk.flushes.get();
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < writers; w++) {
        int writer = w;
        done.add(pool.submit(() -> {
          for (int i = 0; i < writesEach; i++) {
            WriteTicket t = store.apply(
                List.of(Mutation.put(b("w" + writer + "-" + i), new byte[100])), Durability.DURABLE);
            t.durable().get(10, TimeUnit.SECONDS);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
      long fsyncs = disk.flushes.get() - flushesBefore;
      int total = writers * writesEach;
      System.out.printf("group commit: %d durable writes, %d fsyncs, %d file writes%n",
          total, fsyncs, disk.writes.get());
      assertThat(store.keyCount()).isEqualTo(total);
      assertThat(fsyncs).as("fsyncs for %d durable writes", total).isLessThanOrEqualTo(total / 5);
    } finally {
      pool.shutdownNow();
      assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }
  }

  @Test
  void ticketsCompleteInSequenceOrder() throws Exception {
    try (LogEngine store = LogEngine.open(new RecordingDisk(), TestSupport.smallConfig())) {
      List<WriteTicket> tickets = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        tickets.add(TestSupport.put(store, "k" + i, "v"));
      }
      for (int i = 1; i < tickets.size(); i++) {
        assertThat(tickets.get(i).sequence()).isGreaterThan(tickets.get(i - 1).sequence());
      }
      tickets.get(10).durable().get(5, TimeUnit.SECONDS);
      for (int i = 0; i <= 10; i++) {
        assertThat(tickets.get(i).durable()).isCompleted();
      }
      store.flushAll().get(5, TimeUnit.SECONDS);
      assertThat(tickets).allMatch(t -> t.durable().isDone());
    }
  }
}
