package io.respawn.server.mirror;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class KernelUdpDropsTest {

  @Test
  void sumsTheDropsColumnOfTheSocketsBoundToThePort() {
    List<String> table = List.of(
        "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid"
            + "  timeout inode ref pointer drops            ",
        "  130: 0100007F:A1B2 00000000:0000 07 00000000:00000000 00:00000000 00000000     0"
            + "        0 812345 2 0000000000000000 17     ",
        "  131: 0100007F:A1B3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0"
            + "        0 812346 2 0000000000000000 5      ",
        "  not a socket line");
    assertThat(KernelUdpDrops.parse(table, 0xA1B2)).isEqualTo(17);
    assertThat(KernelUdpDrops.parse(table, 0xA1B3)).isEqualTo(5);
    assertThat(KernelUdpDrops.parse(table, 0xA1B4)).isZero();
    List<String> v6 = List.of(
        "  5: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 07"
            + " 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 3");
    assertThat(KernelUdpDrops.parse(v6, 0x1F90)).isEqualTo(3);
  }

  @Test
  void aSocketWhoseReaderFallsBehindShowsTheKernelsDrops() throws Exception {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    try (DatagramSocket reader = new DatagramSocket(new InetSocketAddress(loopback, 0));
        DatagramSocket sender = new DatagramSocket(new InetSocketAddress(loopback, 0))) {
      int port = reader.getLocalPort();
      assumeThat(KernelUdpDrops.of(port)).as("/proc/net/udp (Linux)").isZero();
      reader.setReceiveBufferSize(4096); // the kernel rounds it up to its minimum
      byte[] payload = new byte[1200];
      for (int i = 0; i < 2000; i++) { // ~2.4 MB, never read
        sender.send(new DatagramPacket(payload, payload.length, reader.getLocalSocketAddress()));
      }
      assertThat(KernelUdpDrops.of(port)).isPositive();
    }
  }
}
