package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** On Linux a thread that lowers itself runs at nice 10 and the others keep theirs. */
class BackgroundPriorityTest {

  /** The calling thread's nice value, from field 19 of {@code /proc/thread-self/stat}. */
  static int niceOfCurrentThread() throws Exception {
    String stat = Files.readString(Path.of("/proc/thread-self/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Integer.parseInt(fields[16]); // field 19 overall; fields[0] is field 3 (state)
  }

  @Test
  void aThreadThatLowersItselfRunsAtNiceTenAndNoOtherThreadDoes() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    int before = niceOfCurrentThread();
    assumeTrue(before <= BackgroundPriority.NICE, "runs at nice " + before + " already");
    AtomicInteger lowered = new AtomicInteger(Integer.MIN_VALUE);
    AtomicReference<Boolean> did = new AtomicReference<>();
    Thread t = new Thread(() -> {
      did.set(BackgroundPriority.lowerCurrentThread());
      try {
        lowered.set(niceOfCurrentThread());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    t.start();
    t.join();
    assertThat(did.get()).isTrue();
    assertThat(lowered.get()).isEqualTo(BackgroundPriority.NICE);
    assertThat(niceOfCurrentThread()).as("the caller's own thread is untouched").isEqualTo(before);
  }

  /** The calling thread's scheduling policy, field 41 of {@code /proc/thread-self/stat}. */
  static int policyOfCurrentThread() throws Exception {
    String stat = Files.readString(Path.of("/proc/thread-self/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Integer.parseInt(fields[38]); // field 41 overall
  }

  @Test
  void aThreadThatIdlesItselfRunsUnderSchedIdleAndNoOtherThreadDoes() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    assumeTrue(BackgroundPriority.IDLE_POLICY, "turned off for this run");
    int before = policyOfCurrentThread();
    assumeTrue(before == 0, "runs under policy " + before + " already");
    AtomicInteger policy = new AtomicInteger(Integer.MIN_VALUE);
    AtomicReference<Boolean> did = new AtomicReference<>();
    Thread t = new Thread(() -> {
      did.set(BackgroundPriority.idleCurrentThread());
      try {
        policy.set(policyOfCurrentThread());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    t.start();
    t.join();
    assertThat(did.get()).isTrue();
    assertThat(policy.get()).as("SCHED_IDLE").isEqualTo(5);
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
