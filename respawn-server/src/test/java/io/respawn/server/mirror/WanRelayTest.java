package io.respawn.server.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.mirror.WanLink;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The relay over real loopback sockets: delay both ways, loss, the cut switch, the control port. */
class WanRelayTest {
  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  @Test
  void relaysBothWaysWithTheDelayAndObeysTheControlPort() throws Exception {
    try (DatagramSocket target = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        DatagramSocket sender = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0));
        WanRelay relay = WanRelay.start(new InetSocketAddress(LOOPBACK, 0),
            (InetSocketAddress) target.getLocalSocketAddress(),
            WanLink.Settings.delay(30_000_000), 1, new InetSocketAddress(LOOPBACK, 0))) {
      target.setSoTimeout(2000);
      sender.setSoTimeout(2000);
      long start = System.nanoTime();
      send(sender, relay.listenAddress(), "hello");
      DatagramPacket got = receive(target);
      assertThat(text(got)).isEqualTo("hello");
      assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(30_000_000);
      assertThat(got.getSocketAddress()).isEqualTo(relay.farAddress());

      start = System.nanoTime();
      send(target, relay.farAddress(), "back");
      assertThat(text(receive(sender))).isEqualTo("back");
      assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(30_000_000);

      try (Socket control = new Socket(LOOPBACK, relay.controlPort());
          PrintWriter out = new PrintWriter(control.getOutputStream(), true, StandardCharsets.UTF_8);
          BufferedReader in = new BufferedReader(
              new InputStreamReader(control.getInputStream(), StandardCharsets.UTF_8))) {
        out.println("cut");
        assertThat(in.readLine()).startsWith("OK").contains("cut=true");
        send(sender, relay.listenAddress(), "lost");
        target.setSoTimeout(300);
        assertNothing(target);
        out.println("restore");
        assertThat(in.readLine()).contains("cut=false");
        out.println("loss 1");
        assertThat(in.readLine()).contains("loss=1.0");
        send(sender, relay.listenAddress(), "lost too");
        assertNothing(target);
        out.println("loss 0");
        in.readLine();
        out.println("delay-ms 1");
        assertThat(in.readLine()).contains("delay_ms=1.000");
        send(sender, relay.listenAddress(), "again");
        target.setSoTimeout(2000);
        assertThat(text(receive(target))).isEqualTo("again");
        out.println("stats");
        assertThat(in.readLine()).contains("forward passed=2 cut=1 lost_random=1");
        out.println("loss 7");
        assertThat(in.readLine()).startsWith("ERR").contains("loss");
        out.println("fly");
        assertThat(in.readLine()).startsWith("ERR unknown command");
      }
    }
  }

  private static void send(DatagramSocket from, InetSocketAddress to, String text) throws Exception {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    from.send(new DatagramPacket(b, b.length, to));
  }

  private static DatagramPacket receive(DatagramSocket s) throws Exception {
    DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
    s.receive(p);
    return p;
  }

  private static String text(DatagramPacket p) {
    return new String(p.getData(), 0, p.getLength(), StandardCharsets.UTF_8);
  }

  private static void assertNothing(DatagramSocket s) throws Exception {
    try {
      DatagramPacket p = receive(s);
      throw new AssertionError("unexpected datagram: " + text(p));
    } catch (SocketTimeoutException expected) {
      // nothing came through
    }
  }
}
