package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/**
 * A thread under SCHED_IDLE holds a {@link CeilingLock} at normal priority, so a thread that
 * waits for the lock while every CPU is busy waits for the holder's work, not for the machine to
 * become idle; with a plain lock it waits until the CPUs are free (the priority inversion a
 * backup's BatchPull stream caused).
 */
class CeilingLockTest {
  /** CPU time the holder spends inside the lock. */
  private static final long HELD_CPU_NANOS = TimeUnit.MILLISECONDS.toNanos(30);
  /** How long the busy threads keep every CPU busy at most. */
  private static final long BUSY_NANOS_MAX = TimeUnit.SECONDS.toNanos(3);

  private static void assumeIdlePolicyUsable() {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    assumeTrue(BackgroundPriority.IDLE_POLICY, "SCHED_IDLE turned off for this run");
    assumeTrue(BackgroundPriority.idleReversible(),
        "this process may not leave SCHED_IDLE (no CAP_SYS_NICE, RLIMIT_NICE 0)");
  }

  @Test
  void anIdleThreadRunsUnderTheNormalPolicyWhileItHoldsTheLockNestedOrNot() throws Exception {
    assumeIdlePolicyUsable();
    CeilingLock lock = new CeilingLock();
    AtomicIntegerArray policies = new AtomicIntegerArray(5);
    Thread t = new Thread(() -> {
      try {
        BackgroundPriority.idleCurrentThread();
        policies.set(0, BackgroundPriorityTest.policyOfCurrentThread());
        lock.lock();
        try {
          policies.set(1, BackgroundPriorityTest.policyOfCurrentThread());
          lock.lock();
          lock.unlock();
          policies.set(2, BackgroundPriorityTest.policyOfCurrentThread());
        } finally {
          lock.unlock();
        }
        policies.set(3, BackgroundPriorityTest.policyOfCurrentThread());
        policies.set(4, 1);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    t.start();
    t.join();
    assertThat(policies.get(4)).as("finished").isEqualTo(1);
    assertThat(policies.get(0)).as("before the lock: SCHED_IDLE").isEqualTo(5);
    assertThat(policies.get(1)).as("holding it: normal").isEqualTo(0);
    assertThat(policies.get(2)).as("still holding it after a nested hold: normal").isEqualTo(0);
    assertThat(policies.get(3)).as("released: SCHED_IDLE again").isEqualTo(5);
    // A thread of normal priority is left as it is.
    lock.lock();
    try {
      assertThat(BackgroundPriorityTest.policyOfCurrentThread()).isEqualTo(0);
    } finally {
      lock.unlock();
    }
    assertThat(BackgroundPriorityTest.policyOfCurrentThread()).isEqualTo(0);
  }

  @Test
  void aWaiterWaitsForTheHoldersWorkNotForTheMachineToBeIdle() throws Exception {
    assumeIdlePolicyUsable();
    long plain = waitBehindIdleHolderMillis(new ReentrantLock());
    long ceiling = waitBehindIdleHolderMillis(new CeilingLock());
    System.out.printf("waited behind an idle holder: plain lock %d ms, ceiling lock %d ms%n",
        plain, ceiling);
    // The plain lock shows the inversion this set-up produces: its holder ran only once the busy
    // threads stopped. If it did not, this machine cannot show the difference.
    assumeTrue(plain >= TimeUnit.NANOSECONDS.toMillis(BUSY_NANOS_MAX) / 2,
        "no inversion with a plain lock here (" + plain + " ms)");
    assertThat(ceiling).as("wait behind a ceiling lock's idle holder (plain: %d ms)", plain)
        .isLessThan(TimeUnit.NANOSECONDS.toMillis(BUSY_NANOS_MAX) / 4);
  }

  /**
   * An idle thread takes {@code lock}, then twice as many busy threads as CPUs start, then the
   * idle thread works {@link #HELD_CPU_NANOS} of CPU time inside the lock while this thread waits
   * for it. Returns how long this thread waited, in ms.
   */
  private static long waitBehindIdleHolderMillis(ReentrantLock lock) throws Exception {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    CountDownLatch held = new CountDownLatch(1);
    CountDownLatch busyStarted = new CountDownLatch(1);
    AtomicBoolean stop = new AtomicBoolean();
    Thread holder = new Thread(() -> {
      BackgroundPriority.idleCurrentThread();
      lock.lock();
      try {
        held.countDown();
        busyStarted.await();
        long start = mx.getCurrentThreadCpuTime();
        while (mx.getCurrentThreadCpuTime() - start < HELD_CPU_NANOS) {
          Thread.onSpinWait();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        lock.unlock();
      }
    }, "idle-holder");
    holder.setDaemon(true);
    holder.start();
    assertThat(held.await(10, TimeUnit.SECONDS)).as("the holder took the lock").isTrue();
    List<Thread> busy = new ArrayList<>();
    long busyUntil = System.nanoTime() + BUSY_NANOS_MAX;
    for (int i = 0; i < 2 * Runtime.getRuntime().availableProcessors(); i++) {
      Thread b = new Thread(() -> {
        while (!stop.get() && System.nanoTime() < busyUntil) {
          Thread.onSpinWait();
        }
      }, "busy-" + i);
      b.setDaemon(true);
      busy.add(b);
      b.start();
    }
    busyStarted.countDown();
    long start = System.nanoTime();
    lock.lock();
    long waited = System.nanoTime() - start;
    lock.unlock();
    stop.set(true);
    for (Thread b : busy) {
      b.join();
    }
    holder.join();
    return TimeUnit.NANOSECONDS.toMillis(waited);
  }
}
