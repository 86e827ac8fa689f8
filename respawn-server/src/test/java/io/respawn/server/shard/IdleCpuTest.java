package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The machine's idle share from /proc/stat, and when it counts as room to spare. */
class IdleCpuTest {

  @Test
  void theFirstLineGivesIdlePlusIowaitAndTheTotalOfEveryState() {
    long[] t = IdleCpu.parseCpuLine(
        "cpu  100 5 50 800 20 3 2 20 7 0\ncpu0 50 2 25 400 10 1 1 10 3 0\nintr 1 2 3\n");
    assertThat(t).containsExactly(820L, 1000L);
    assertThat(IdleCpu.parseCpuLine("cpu0 1 2 3 4 5 6 7 8 9 10")).isNull();
    assertThat(IdleCpu.parseCpuLine("cpu  1 2 x 4 5 6 7 8")).isNull();
    assertThat(IdleCpu.parseCpuLine("")).isNull();
  }

  @Test
  void roomNeedsTwoIdleSamplesInARowAndOneBusySampleTakesItAway() {
    try (IdleCpu c = new IdleCpu(Path.of("/nonexistent/stat"))) {
      c.onSample(0, 0);
      c.onSample(50, 100); // 50 % idle: one sample
      assertThat(c.roomy()).isFalse();
      c.onSample(100, 200); // 50 % again: room
      assertThat(c.roomy()).isTrue();
      c.onSample(135, 300); // 35 %: between the bounds, stays
      assertThat(c.roomy()).isTrue();
      assertThat(c.lastIdleShare()).isEqualTo(0.35);
      c.onSample(155, 400); // 20 %: busy
      assertThat(c.roomy()).isFalse();
      c.onSample(200, 500); // 45 %
      c.onSample(235, 600); // 35 %: the run of idle samples is broken
      c.onSample(280, 700); // 45 %
      assertThat(c.roomy()).isFalse();
      c.onSample(330, 800); // 50 %: two in a row
      assertThat(c.roomy()).isTrue();
      c.onSample(330, 800); // no ticks passed (a second read in the same tick): nothing changes
      assertThat(c.roomy()).isTrue();
    }
  }

  @Test
  void aMachineWithoutTheFileNeverHasRoom() {
    try (IdleCpu c = new IdleCpu(Path.of("/nonexistent/stat"))) {
      assertThat(c.poll(0)).isFalse();
      assertThat(c.poll(IdleCpu.SAMPLE_NANOS * 10)).isFalse();
    }
  }

  @Test
  void pollReadsTheFileAtMostOncePerSampleInterval(@TempDir Path dir) throws Exception {
    Path stat = dir.resolve("stat");
    Files.writeString(stat, "cpu  0 0 0 0 0 0 0 0 0 0\n");
    try (IdleCpu c = new IdleCpu(stat)) {
      c.poll(0);
      Files.writeString(stat, "cpu  10 0 0 90 0 0 0 0 0 0\n");
      c.poll(IdleCpu.SAMPLE_NANOS / 2); // too soon: not read
      assertThat(c.lastIdleShare()).isEqualTo(-1.0);
      c.poll(IdleCpu.SAMPLE_NANOS);
      assertThat(c.lastIdleShare()).isEqualTo(0.9);
      Files.writeString(stat, "cpu  20 0 0 180 0 0 0 0 0 0\n");
      assertThat(c.poll(2 * IdleCpu.SAMPLE_NANOS)).isTrue();
    }
  }

  @Test
  void thisMachinesFileParses() {
    Path proc = Path.of("/proc/stat");
    if (Files.isReadable(proc)) {
      try (IdleCpu c = new IdleCpu(proc)) {
        c.poll(0);
        c.poll(IdleCpu.SAMPLE_NANOS);
        // two readings a moment apart: a share in [0, 1] or none if no tick passed between them
        assertThat(c.lastIdleShare()).isBetween(-1.0, 1.0);
      }
    }
  }
}
