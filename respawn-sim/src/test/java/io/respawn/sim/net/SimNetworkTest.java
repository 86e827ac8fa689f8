package io.respawn.sim.net;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.sim.event.EventQueue;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class SimNetworkTest {

  private final EventQueue events = new EventQueue();
  private final List<String> delivered = new ArrayList<>();

  private SimNetwork<String> network(NetworkConfig config) {
    return new SimNetwork<>(events, new SplittableRandom(7), config, 3,
        (from, to, m) -> delivered.add(from + ">" + to + ":" + m + "@" + events.nowNanos()));
  }

  private void drain() {
    while (events.runNext()) {
      // run everything
    }
  }

  @Test
  void delaysWithinBoundsAndReorders() {
    SimNetwork<String> net = network(new NetworkConfig(100, 5_000, 0, 0));
    for (int i = 0; i < 50; i++) {
      net.send(0, 1, "m" + i);
    }
    drain();
    assertThat(delivered).hasSize(50);
    List<String> inOrder = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      inOrder.add("m" + i);
    }
    List<String> order = delivered.stream().map(d -> d.substring(4, d.indexOf('@'))).toList();
    assertThat(order).as("random delays reorder").isNotEqualTo(inOrder);
    assertThat(events.nowNanos()).isLessThanOrEqualTo(5_000_000);
  }

  @Test
  void dropsAndDuplicatesAtTheirRates() {
    SimNetwork<String> net = network(new NetworkConfig(1, 2, 100_000, 100_000));
    for (int i = 0; i < 10_000; i++) {
      net.send(0, 1, "x");
    }
    drain();
    assertThat(net.dropped()).isBetween(800L, 1200L);
    assertThat(net.duplicated()).isBetween(700L, 1100L);
    assertThat(delivered).hasSize((int) (10_000 - net.dropped() + net.duplicated()));
  }

  @Test
  void partitionLosesMessagesInFlightAndHealRestores() {
    SimNetwork<String> net = network(new NetworkConfig(1_000, 1_000, 0, 0));
    net.send(0, 1, "inflight");
    net.partition(new int[] {0}, new int[] {1, 2});
    net.send(1, 0, "cut");
    drain();
    assertThat(delivered).isEmpty();
    net.healAll();
    net.send(1, 0, "after");
    drain();
    assertThat(delivered).containsExactly("1>0:after@2000000");
  }

  @Test
  void pausedEndpointGetsMessagesWhenItResumes() {
    SimNetwork<String> net = network(new NetworkConfig(1_000, 1_000, 0, 0));
    net.pauseUntil(1, 50_000_000);
    net.send(0, 1, "held");
    drain();
    assertThat(delivered).containsExactly("0>1:held@50000000");
  }

  @Test
  void downEndpointLosesMessages() {
    SimNetwork<String> net = network(new NetworkConfig(1_000, 1_000, 0, 0));
    net.send(0, 1, "lost");
    net.setDown(1, true);
    drain();
    assertThat(delivered).isEmpty();
  }
}
