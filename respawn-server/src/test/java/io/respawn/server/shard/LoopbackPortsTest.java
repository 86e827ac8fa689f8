package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {
  @Test
  void aRangeAndItsPeerCopyLieBelowTheEphemeralRangeAndCanBeBound() throws Exception {
    int low = LoopbackPorts.ephemeralLow();
    for (int round = 0; round < 20; round++) {
      int base = LoopbackPorts.freeRange(4, ShardLayout.PEER_PORT_OFFSET);
      assertThat(base).isGreaterThanOrEqualTo(LoopbackPorts.BASE_MIN);
      assertThat(base + ShardLayout.PEER_PORT_OFFSET + 3).isLessThan(low);
      for (int i = 0; i < 4; i++) {
        for (int port : new int[] {base + i, base + ShardLayout.PEER_PORT_OFFSET + i}) {
          try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
            assertThat(s.getLocalPort()).isEqualTo(port);
          }
        }
      }
    }
  }

  @Test
  void aUdpPortLiesBelowTheEphemeralRangeAndCanBeBound() throws Exception {
    for (int round = 0; round < 20; round++) {
      int port = LoopbackPorts.freeUdp();
      assertThat(port).isBetween(LoopbackPorts.BASE_MIN, LoopbackPorts.ephemeralLow() - 1);
      try (java.net.DatagramSocket s = new java.net.DatagramSocket(
          new java.net.InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
        assertThat(s.getLocalPort()).isEqualTo(port);
      }
    }
  }

  @Test
  void aPortAlreadyBoundIsNeverHandedOut() throws Exception {
    int port = LoopbackPorts.free();
    try (ServerSocket taken = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      for (int round = 0; round < 2_000; round++) {
        assertThat(LoopbackPorts.free()).isNotEqualTo(port);
      }
    }
  }

  @Test
  void boundsFallBackToTheWholeSpaceOnlyWhenTheRangeCannotFitBelowTheEphemeralOnes() {
    // The highest base (exclusive bound - 1) puts its last port at 32,767: base 22,765, peer
    // copy 32,765..32,767.
    assertThat(LoopbackPorts.baseBounds(3, 10_000, 32_768)).containsExactly(10_000, 22_766);
    assertThat(LoopbackPorts.baseBounds(1, 0, 32_768)).containsExactly(10_000, 32_768);
    // A kernel whose ephemeral range starts low leaves no room below it: the last port is 65,535.
    assertThat(LoopbackPorts.baseBounds(3, 10_000, 15_000)).containsExactly(1_024, 55_534);
    assertThatThrownBy(() -> LoopbackPorts.freeRange(0, 0))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> LoopbackPorts.freeRange(3, 64_000))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
