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
}
