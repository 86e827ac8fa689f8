package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** A loop that ends no pass has its threads' stacks logged once per stall, and only then. */
class LoopWatchdogTest {
  static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  @Test
  void aLoopSilentPastTheBoundIsReportedOncePerStallWithItsStack() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Thread loop = new Thread(() -> {
      try {
        release.await(); // a loop blocked on something that never comes
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "test-blocked-loop");
    loop.setDaemon(true);
    loop.start();
    AtomicLong lastPass = new AtomicLong(0);
    try (LoopWatchdog dog = new LoopWatchdog(() -> loop, lastPass::get, 5 * SECOND)) {
      assertThat(dog.check(4 * SECOND)).as("4 s of silence").isFalse();
      lastPass.set(4 * SECOND);
      assertThat(dog.check(8 * SECOND)).as("passes still end").isFalse();
      assertThat(dog.check(9 * SECOND)).as("5 s of silence").isTrue();
      assertThat(dog.check(10 * SECOND)).as("once per stall").isFalse();
      lastPass.set(11 * SECOND);
      assertThat(dog.check(12 * SECOND)).as("moving again").isFalse();
      assertThat(dog.check(17 * SECOND)).as("a second stall").isTrue();
      assertThat(dog.stallsLogged()).isEqualTo(2);
      while (loop.getState() != Thread.State.WAITING) {
        Thread.sleep(5);
      }
      assertThat(LoopWatchdog.dump(loop)).startsWith("\"test-blocked-loop\" WAITING")
          .contains("CountDownLatch.await");
    } finally {
      release.countDown();
    }
  }

  @Test
  void nothingIsReportedBeforeTheLoopRan() {
    try (LoopWatchdog dog = new LoopWatchdog(() -> null, () -> 0, 5 * SECOND)) {
      assertThat(dog.check(60 * SECOND)).isFalse();
    }
  }
}
