package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * On Linux a thread that lowers itself runs at nice 10, one that idles itself under SCHED_IDLE, and
 * the others keep theirs.
 */
class BackgroundPriorityTest {

  /** Field {@code n} (1-based, as proc(5) counts) of {@code /proc/thread-self/stat}. */
  static int statFieldOfCurrentThread(int n) throws Exception {
    String stat = Files.readString(Path.of("/proc/thread-self/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Integer.parseInt(fields[n - 3]); // fields[0] is field 3 (state)
  }

  /** The calling thread's nice value, field 19. */
  static int niceOfCurrentThread() throws Exception {
    return statFieldOfCurrentThread(19);
  }

  /** The calling thread's scheduling policy, field 41 (0 normal, 5 SCHED_IDLE). */
  static int policyOfCurrentThread() throws Exception {
    return statFieldOfCurrentThread(41);
  }

  /** What {@code change} returned on a new thread, and stat field {@code n} there afterwards. */
  private static int[] changedOnNewThread(BooleanSupplier change, int n) throws Exception {
    AtomicInteger field = new AtomicInteger(Integer.MIN_VALUE);
    AtomicReference<Boolean> did = new AtomicReference<>();
    Thread t = new Thread(() -> {
      did.set(change.getAsBoolean());
      try {
        field.set(statFieldOfCurrentThread(n));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    t.start();
    t.join();
    return new int[] {Boolean.TRUE.equals(did.get()) ? 1 : 0, field.get()};
  }

  @Test
  void aThreadThatLowersItselfRunsAtNiceTenAndNoOtherThreadDoes() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    int before = niceOfCurrentThread();
    assumeTrue(before <= BackgroundPriority.NICE, "runs at nice " + before + " already");
    int[] after = changedOnNewThread(BackgroundPriority::lowerCurrentThread, 19);
    assertThat(after[0]).as("lowered").isEqualTo(1);
    assertThat(after[1]).isEqualTo(BackgroundPriority.NICE);
    assertThat(niceOfCurrentThread()).as("the caller's own thread is untouched").isEqualTo(before);
  }

  @Test
  void aThreadThatIdlesItselfRunsUnderSchedIdleAndNoOtherThreadDoes() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    assumeTrue(BackgroundPriority.IDLE_POLICY, "turned off for this run");
    int before = policyOfCurrentThread();
    assumeTrue(before == 0, "runs under policy " + before + " already");
    int[] after = changedOnNewThread(BackgroundPriority::idleCurrentThread, 41);
    assertThat(after[0]).as("idled").isEqualTo(1);
    if (BackgroundPriority.idleReversible()) {
      assertThat(after[1]).as("SCHED_IDLE").isEqualTo(5);
    } else {
      // This process may not leave SCHED_IDLE again: such a thread gets nice 10 instead.
      assertThat(after[1]).as("normal policy").isEqualTo(0);
      assertThat(changedOnNewThread(BackgroundPriority::idleCurrentThread, 19)[1])
          .as("nice").isEqualTo(BackgroundPriority.NICE);
    }
    assertThat(policyOfCurrentThread()).as("the caller's own thread is untouched").isEqualTo(0);
  }

  @Test
  void everyC2CompilerThreadRunsAtNiceTenAfterwards() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    assumeTrue(niceOfCurrentThread() <= BackgroundPriority.NICE, "runs at a high nice already");
    java.util.Map<String, Integer> before = jitThreadNices();
    assumeTrue(!before.isEmpty(), "no C2 compiler threads (interpreter or C1 only)");
    assertThat(BackgroundPriority.lowerJitCompilerThreads()).isEqualTo(before.size());
    assertThat(jitThreadNices()).isNotEmpty()
        .allSatisfy((tid, nice) -> assertThat(nice).as("thread " + tid)
            .isEqualTo(BackgroundPriority.NICE));
    assertThat(niceOfCurrentThread()).as("other threads are untouched")
        .isNotEqualTo(BackgroundPriority.NICE);
  }

  /** tid -> nice value of this JVM's C2 compiler threads. */
  private static java.util.Map<String, Integer> jitThreadNices() throws Exception {
    java.util.Map<String, Integer> out = new java.util.TreeMap<>();
    try (var tasks = Files.newDirectoryStream(Path.of("/proc/self/task"))) {
      for (Path task : tasks) {
        String name = Files.readString(task.resolve("comm")).strip();
        if (name.startsWith("C2 CompilerThre")) {
          String stat = Files.readString(task.resolve("stat"));
          String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
          out.put(task.getFileName().toString(), Integer.parseInt(fields[16]));
        }
      }
    }
    return out;
  }
}
