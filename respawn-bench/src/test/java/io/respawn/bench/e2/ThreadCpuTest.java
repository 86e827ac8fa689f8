package io.respawn.bench.e2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** A thread that spins shows up by name with the CPU time it ran; an idle one does not. */
class ThreadCpuTest {

  @Test
  void aSpinningThreadIsSeenWithItsCpuTime() throws Exception {
    assumeTrue(Files.isDirectory(Path.of("/proc/self/task")), "Linux /proc only");
    Thread spinner = new Thread(() -> {
      long end = System.nanoTime() + 600_000_000L;
      long x = 0;
      while (System.nanoTime() < end) {
        x += System.nanoTime() % 7;
      }
      if (x == 42) {
        System.out.print("");
      }
    }, "cpu-spinner");
    // Asleep through the whole measurement (started before it, woken only after it): a thread
    // that ran or woke meanwhile could wait over a millisecond for a CPU on a busy machine and be
    // reported for that wait.
    Thread sleeper = new Thread(() -> {
      try {
        Thread.sleep(60_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "cpu-sleeper");
    sleeper.start(); // asleep before the first sample: its start is not measured either
    Thread.sleep(50);
    List<String> rows;
    try (ThreadCpu cpu = new ThreadCpu(Map.of("self", ProcessHandle.current().pid()))) {
      Thread.sleep(150); // a first sample of every thread
      spinner.start();
      spinner.join();
      Thread.sleep(150);
      rows = cpu.rows("online", 1, 0, 0);
    }
    sleeper.interrupt();
    sleeper.join();
    double ran = rows.stream().filter(r -> r.contains(",self,cpu-spinner,"))
        .mapToDouble(r -> Double.parseDouble(r.split(",")[5])).sum();
    assertThat(ran).as("ms the spinner ran, summed over periods: " + rows).isGreaterThan(200);
    assertThat(rows).noneMatch(r -> r.contains(",cpu-sleeper,"));
    assertThat(rows.getFirst()).startsWith("online,1,");
  }

  @Test
  void theMachinesStealIsTheEighthNumberOfTheCpuLine() {
    assertThat(ThreadCpu.stealTicks("cpu  2350976 385927 871048 3281636 144800 0 201796 2392 0 0"))
        .isEqualTo(2392);
    assertThat(ThreadCpu.stealTicks("cpu0 995859 121460 329110 1576352 27241 0 78617 967 0 0"))
        .as("a single CPU's line is not the machine's").isEqualTo(-1);
    assertThat(ThreadCpu.stealTicks("cpu 1 2 3")).as("too short").isEqualTo(-1);
  }
}
