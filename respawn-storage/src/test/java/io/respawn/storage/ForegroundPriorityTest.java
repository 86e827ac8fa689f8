package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A thread that asks for the real-time policy runs under SCHED_FIFO at the lowest priority where
 * the process may (and is unchanged where it may not), knows it, and returns to the normal policy
 * when it asks; the threads it creates, and every other thread, keep the normal policy.
 */
class ForegroundPriorityTest {
  /** proc(5) field 40: real-time priority; 41: policy (0 normal, 1 SCHED_FIFO). */
  private static final int RT_PRIORITY = 40;
  private static final int POLICY = 41;

  @Test
  void aThreadThatAsksRunsUnderSchedFifoAndItsChildrenDoNot() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    assumeTrue(ForegroundPriority.ENABLED, "turned off for this run");
    int before = BackgroundPriorityTest.policyOfCurrentThread();
    assumeTrue(before == 0, "runs under policy " + before + " already");
    AtomicReference<Boolean> did = new AtomicReference<>();
    AtomicInteger policy = new AtomicInteger(-1);
    AtomicInteger priority = new AtomicInteger(-1);
    AtomicInteger childPolicy = new AtomicInteger(-1);
    AtomicReference<Boolean> knownRealtime = new AtomicReference<>();
    AtomicInteger policyAfter = new AtomicInteger(-1);
    AtomicReference<Boolean> knownRealtimeAfter = new AtomicReference<>();
    Thread t = new Thread(() -> {
      did.set(ForegroundPriority.realtimeCurrentThread());
      knownRealtime.set(ForegroundPriority.currentThreadRealtime());
      try {
        policy.set(BackgroundPriorityTest.statFieldOfCurrentThread(POLICY));
        priority.set(BackgroundPriorityTest.statFieldOfCurrentThread(RT_PRIORITY));
        Thread child = new Thread(() -> {
          try {
            childPolicy.set(BackgroundPriorityTest.policyOfCurrentThread());
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
        child.start();
        child.join();
        ForegroundPriority.normalCurrentThread();
        policyAfter.set(BackgroundPriorityTest.policyOfCurrentThread());
        knownRealtimeAfter.set(ForegroundPriority.currentThreadRealtime());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    t.start();
    t.join();
    assertThat(knownRealtime.get()).as("known to the thread").isEqualTo(did.get());
    assertThat(policyAfter.get()).as("back to normal").isEqualTo(0);
    assertThat(knownRealtimeAfter.get()).isFalse();
    if (did.get()) {
      assertThat(policy.get()).as("SCHED_FIFO").isEqualTo(1);
      assertThat(priority.get()).as("real-time priority").isEqualTo(ForegroundPriority.PRIORITY);
    } else {
      // Not permitted here (no CAP_SYS_NICE, RLIMIT_RTPRIO 0): nothing changed.
      assertThat(policy.get()).as("normal policy").isEqualTo(0);
    }
    assertThat(childPolicy.get()).as("a thread it creates starts normal").isEqualTo(0);
    assertThat(BackgroundPriorityTest.policyOfCurrentThread()).as("the caller is untouched")
        .isEqualTo(0);
  }
}
