package io.respawn.sim.clock;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SimClockTest {

  @Test
  void runsFastOrSlowByItsDrift() {
    SimClock fast = new SimClock(10_000, 0); // +1%
    SimClock slow = new SimClock(-10_000, 0);
    long second = 1_000_000_000L;
    assertThat(fast.localNanos(second)).isEqualTo(1_010_000_000L);
    assertThat(slow.localNanos(second)).isEqualTo(990_000_000L);
  }

  @Test
  void isMonotonicAndHonoursItsOffset() {
    SimClock c = new SimClock(-3_333, 777);
    long previous = Long.MIN_VALUE;
    for (long v = 0; v < 5_000_000; v += 997) {
      long local = c.localNanos(v);
      assertThat(local).isGreaterThanOrEqualTo(previous);
      previous = local;
    }
    assertThat(c.localNanos(0)).isEqualTo(777);
  }

  @Test
  void virtualDurationInvertsTheRate() {
    SimClock fast = new SimClock(10_000, 0);
    long v = fast.virtualDurationFor(1_010_000_000L);
    assertThat(v).isEqualTo(1_000_000_000L);
  }
}
