package io.respawn.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.channel.SelectStrategy;
import org.junit.jupiter.api.Test;

class SpinningSelectStrategyTest {
  @Test
  void pendingTasksOrReadyEventsNeverBlock() throws Exception {
    SelectStrategy s = SpinningSelectStrategy.factory(1_000_000).newSelectStrategy();
    assertThat(s.calculateStrategy(() -> 3, true)).isEqualTo(3);
    int[] calls = {0};
    assertThat(s.calculateStrategy(() -> ++calls[0] < 5 ? 0 : 2, false)).isEqualTo(2);
    assertThat(calls[0]).isEqualTo(5);
  }

  @Test
  void blocksAfterTheSpinFindsNothing() throws Exception {
    assertThat(SpinningSelectStrategy.factory(0).newSelectStrategy()
        .calculateStrategy(() -> 0, false)).isEqualTo(SelectStrategy.SELECT);
    assertThat(SpinningSelectStrategy.factory(10_000).newSelectStrategy()
        .calculateStrategy(() -> 0, false)).isEqualTo(SelectStrategy.SELECT);
  }

  @Test
  void aLoopThatNeverFindsWorkStopsSpinning() throws Exception {
    SpinningSelectStrategy s =
        (SpinningSelectStrategy) SpinningSelectStrategy.factory(1_000).newSelectStrategy();
    int[] polls = {0};
    for (int i = 0; i < 1_600; i++) {
      assertThat(s.calculateStrategy(() -> {
        polls[0]++;
        return 0;
      }, false)).isEqualTo(SelectStrategy.SELECT);
    }
    if (SpinningSelectStrategy.ADAPTIVE) {
      // once shut, only the probes poll: about one idle spell in PROBE_EVERY_PASSES
      assertThat(s.gate().spins()).isLessThan(1_600 / SpinGate.PROBE_EVERY_PASSES + 40);
      assertThat(s.gate().spellsWithoutSpin()).isEqualTo(1_600 - s.gate().spins());
    }
  }
}
