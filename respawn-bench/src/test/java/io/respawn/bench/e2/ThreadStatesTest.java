package io.respawn.bench.e2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The state letter is read after the thread's name, whatever the name holds; blocked time sums
 * per period, thread and wait channel, relative to the kill; a live sampler of an idle process
 * reports nothing blocked.
 */
class ThreadStatesTest {

  @Test
  void theStateIsReadAfterTheLastParenthesis() {
    assertThat(ThreadStates.stateOf("4242 (respawn-io-2-1) D 1 2 3")).isEqualTo('D');
    assertThat(ThreadStates.stateOf("4242 (odd) name) S 1 2 3")).isEqualTo('S');
    assertThat(ThreadStates.stateOf("4242 (cut")).isEqualTo('?');
  }

  @Test
  void blockedTimeSumsPerPeriodThreadAndWaitChannel() {
    try (ThreadStates s = new ThreadStates()) {
      s.blocked("witness", "respawn-io-2-1", "vm_mmap_pgoff", 1_000_000);
      s.blocked("witness", "respawn-io-2-1", "vm_mmap_pgoff", 1_500_000);
      s.blocked("witness", "respawn-io-2-1", "madvise_lock", 500_000);
      s.endPeriod(1_100_000_000L);
      s.blocked("backup", "respawn-pull-an", "__iomap_dio_rw", 2_000_000);
      s.endPeriod(1_200_000_000L);
      s.blocked("backup", "respawn-pull-an", "__iomap_dio_rw", 9_000_000);
      // not closed by endPeriod: not reported

      List<String> rows = s.rows("online", 1, 1_000_000_000L, 0);

      assertThat(rows).containsExactly(
          "online,1,100,witness,respawn-io-2-1,madvise_lock,0.5",
          "online,1,100,witness,respawn-io-2-1,vm_mmap_pgoff,2.5",
          "online,1,200,backup,respawn-pull-an,__iomap_dio_rw,2.0");
      assertThat(s.rows("online", 1, 1_000_000_000L, 1_150_000_000L)).hasSize(1);
    }
  }

  @Test
  void aSleepingWatchedThreadIsWatchedAndNotBlocked() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux /proc only");
    Thread loop = new Thread(() -> {
      try {
        Thread.sleep(60_000); // sleeping (S), not blocked in the kernel (D)
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "respawn-io-test");
    loop.start();
    List<String> rows;
    int watched;
    try (ThreadStates s = new ThreadStates(Map.of("self", ProcessHandle.current().pid()))) {
      Thread.sleep(250);
      watched = s.watched();
      rows = s.rows("online", 1, 0, 0);
    } finally {
      loop.interrupt();
      loop.join();
    }
    assertThat(watched).as("threads named like an event loop").isEqualTo(1);
    assertThat(rows).isEmpty();
  }
}
