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

  /**
   * A loop silent for more than {@link LoopWatchdog#HICCUP_NANOS} has its stack sampled during
   * the silence and one line logged when it moves again, saying whether the watchdog itself was
   * held up too; a silence shorter than that is no hiccup.
   */
  @Test
  void aShortStallIsLoggedOnceWithTheLoopsStackWhenTheLoopMovesAgain() throws Exception {
    CountDownLatch release = new CountDownLatch(1);
    Thread loop = new Thread(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "test-busy-loop");
    loop.setDaemon(true);
    loop.start();
    while (loop.getState() != Thread.State.WAITING) {
      Thread.sleep(5);
    }
    long ms = 1_000_000L;
    AtomicLong lastPass = new AtomicLong(SECOND);
    try (LoopWatchdog dog = new LoopWatchdog(() -> loop, lastPass::get, 5 * SECOND)) {
      assertThat(dog.checkHiccup(SECOND + 15 * ms, 0)).as("15 ms: no hiccup").isNull();
      lastPass.set(SECOND + 16 * ms);
      assertThat(dog.checkHiccup(SECOND + 30 * ms, 0)).isNull();
      assertThat(dog.checkHiccup(SECOND + 40 * ms, 1 * ms)).as("in it, sampled").isNull();
      assertThat(dog.checkHiccup(SECOND + 90 * ms, 2 * ms)).as("still in it").isNull();
      lastPass.set(SECOND + 95 * ms);
      String line = dog.checkHiccup(SECOND + 96 * ms, 0);
      assertThat(line).contains("ended no pass for 79 ms").contains("2 ms late")
          .contains("the loop itself was busy or blocked").contains("stack 24 ms in")
          .contains("CountDownLatch.await");
      assertThat(dog.hiccups()).isEqualTo(1);

      lastPass.set(2 * SECOND);
      assertThat(dog.checkHiccup(2 * SECOND + 25 * ms, 0)).isNull();
      lastPass.set(2 * SECOND + 60 * ms);
      assertThat(dog.checkHiccup(2 * SECOND + 61 * ms, 55 * ms))
          .contains("the whole process or the machine stood still");
      assertThat(dog.hiccups()).isEqualTo(2);

      // A process starved of CPU: every look woke late, so no stack is taken (a handshake with
      // a loop that only waits for a core costs CPU and says nothing).
      lastPass.set(3 * SECOND);
      assertThat(dog.checkHiccup(3 * SECOND + 30 * ms, 12 * ms)).isNull();
      assertThat(dog.checkHiccup(3 * SECOND + 50 * ms, 15 * ms)).isNull();
      lastPass.set(3 * SECOND + 55 * ms);
      assertThat(dog.checkHiccup(3 * SECOND + 56 * ms, 6 * ms))
          .contains("ended no pass for 55 ms").contains("stack was not sampled")
          .doesNotContain("CountDownLatch.await");
      assertThat(dog.hiccups()).isEqualTo(3);
    } finally {
      release.countDown();
    }
  }

  /**
   * The watchdog looks when the loop would have been silent for a hiccup's length, not every 5
   * ms; every 5 ms during a hiccup; never later than the stall check.
   */
  @Test
  void itLooksWhenAHiccupWouldBeginAndOftenOnlyDuringOne() throws Exception {
    long ms = 1_000_000L;
    Thread loop = Thread.currentThread();
    AtomicLong lastPass = new AtomicLong(SECOND);
    try (LoopWatchdog dog = new LoopWatchdog(() -> loop, lastPass::get, 5 * SECOND)) {
      assertThat(dog.nextLookNanos(SECOND + 2 * ms, 2 * SECOND))
          .as("a healthy loop: when 20 ms of silence would have passed")
          .isEqualTo(SECOND + LoopWatchdog.HICCUP_NANOS);
      lastPass.set(SECOND + 18 * ms);
      assertThat(dog.nextLookNanos(SECOND + 20 * ms, 2 * SECOND))
          .isEqualTo(SECOND + 18 * ms + LoopWatchdog.HICCUP_NANOS);
      assertThat(dog.nextLookNanos(SECOND + 20 * ms, SECOND + 25 * ms))
          .as("the stall check first").isEqualTo(SECOND + 25 * ms);
      assertThat(dog.nextLookNanos(SECOND + 50 * ms, 2 * SECOND))
          .as("overdue: at once").isEqualTo(SECOND + 50 * ms);
      assertThat(dog.checkHiccup(SECOND + 50 * ms, 0)).isNull(); // a hiccup begins
      assertThat(dog.nextLookNanos(SECOND + 50 * ms, 2 * SECOND))
          .as("during a hiccup: every 5 ms").isEqualTo(SECOND + 55 * ms);
      lastPass.set(SECOND + 60 * ms);
      assertThat(dog.checkHiccup(SECOND + 61 * ms, 0)).contains("ended no pass for 42 ms");
      assertThat(dog.nextLookNanos(SECOND + 61 * ms, 2 * SECOND))
          .isEqualTo(SECOND + 60 * ms + LoopWatchdog.HICCUP_NANOS);
    }
    try (LoopWatchdog dog = new LoopWatchdog(() -> null, () -> 0, 5 * SECOND)) {
      assertThat(dog.nextLookNanos(SECOND, 2 * SECOND)).as("before the loop's first pass")
          .isEqualTo(SECOND + 5 * ms);
    }
  }

  @Test
  void nothingIsReportedBeforeTheLoopRan() {
    try (LoopWatchdog dog = new LoopWatchdog(() -> null, () -> 0, 5 * SECOND)) {
      assertThat(dog.check(60 * SECOND)).isFalse();
    }
  }
}
