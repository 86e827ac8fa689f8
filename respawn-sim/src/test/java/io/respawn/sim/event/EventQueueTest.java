package io.respawn.sim.event;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class EventQueueTest {

  @Test
  void runsByTimeThenBySchedulingOrder() {
    EventQueue q = new EventQueue();
    List<String> ran = new ArrayList<>();
    q.at(20, () -> ran.add("b@20"));
    q.at(10, () -> ran.add("a@10"));
    q.at(20, () -> ran.add("c@20"));
    q.at(10, () -> q.after(5, () -> ran.add("d@15")));
    while (q.runNext()) {
      ran.add("now=" + q.nowNanos());
    }
    assertThat(ran).containsExactly("a@10", "now=10", "now=10", "d@15", "now=15", "b@20",
        "now=20", "c@20", "now=20");
    assertThat(q.eventsRun()).isEqualTo(5);
  }

  @Test
  void refusesThePast() {
    EventQueue q = new EventQueue();
    q.at(100, () -> {});
    q.runNext();
    assertThatThrownBy(() -> q.at(99, () -> {})).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("now is 100");
  }
}
