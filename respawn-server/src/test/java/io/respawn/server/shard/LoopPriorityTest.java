package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A loop that follows a recovery runs under SCHED_FIFO while it lasts and under the normal policy
 * before and after it (where this process may use the real-time policy; elsewhere it never
 * leaves the normal one).
 */
class LoopPriorityTest {

  /**
   * The calling thread's scheduling policy, proc(5) field 41 (0 normal, 1 SCHED_FIFO, 5
   * SCHED_IDLE).
   */
  static int policyOfCurrentThread() throws Exception {
    String stat = Files.readString(Path.of("/proc/thread-self/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return Integer.parseInt(fields[41 - 3]);
  }

  @Test
  void theLoopIsRealtimeExactlyWhileARecoveryIsUnderWay() throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    List<Integer> policies = new ArrayList<>();
    List<Boolean> reported = new ArrayList<>();
    Thread loop = new Thread(() -> {
      LoopPriority p = new LoopPriority("n1");
      try {
        for (boolean recovering : new boolean[] {false, true, true, false, false, true, false}) {
          p.follow(recovering, false);
          policies.add(policyOfCurrentThread());
          reported.add(p.realtime());
        }
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    loop.start();
    loop.join();
    assertThat(policies).hasSize(7);
    if (reported.get(1)) {
      assertThat(policies).containsExactly(0, 1, 1, 0, 0, 1, 0);
      assertThat(reported).containsExactly(false, true, true, false, false, true, false);
    } else {
      // Not permitted here, or turned off: the loop never leaves the normal policy.
      assertThat(policies).containsOnly(0);
      assertThat(reported).containsOnly(false);
    }
  }

  @Test
  void theLoopIsRealtimeWhileTheMachineHasRoomAndThroughARecoveryThatEndsWhenItHasNone()
      throws Exception {
    assumeTrue(System.getProperty("os.name", "").startsWith("Linux"), "Linux only");
    List<Integer> policies = new ArrayList<>();
    List<Boolean> forRecovery = new ArrayList<>();
    boolean[][] steps = {
        {false, false}, {false, true}, {true, true}, {true, false}, {false, false},
        {false, true}, {false, false}};
    Thread loop = new Thread(() -> {
      LoopPriority p = new LoopPriority("n1");
      try {
        for (boolean[] step : steps) {
          p.follow(step[0], step[1]);
          policies.add(policyOfCurrentThread());
          forRecovery.add(p.realtimeForRecovery());
        }
        assertThat(p.idleMoves()).isEqualTo(policies.get(1) == 1 ? 3 : 0);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    loop.start();
    loop.join();
    assertThat(policies).hasSize(steps.length);
    if (policies.get(1) == 1) {
      assertThat(policies).containsExactly(0, 1, 1, 1, 0, 1, 0);
      assertThat(forRecovery).containsExactly(false, false, true, true, false, false, false);
    } else {
      assertThat(policies).containsOnly(0);
    }
  }
}
