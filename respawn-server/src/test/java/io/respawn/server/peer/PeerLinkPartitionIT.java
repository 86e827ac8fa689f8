package io.respawn.server.peer;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Message;
import io.respawn.core.Message.AppendEntriesResponse;
import io.respawn.core.NodeId;
import io.respawn.server.shard.LoopbackPorts;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * A link silenced by a network partition longer than TCP's retransmission backoff is back soon
 * after the network heals. Packets from member 1's link to member 2's peer port are dropped on
 * the way in (iptables: marked in OUTPUT, dropped in INPUT, so the sender's kernel believes they
 * left and backs off as on a real network) for {@link #CUT_MILLIS}; TCP alone would then wait
 * for its next retransmission, ~10 s after the heal (they come about 0.2, 0.6, 1.4, 3.0, 6.2,
 * 12.6 and 25.4 s into the cut: a cut that ends just after one of them would not tell). The link gives a connection up once what it sent stays unacknowledged
 * for {@link PeerLink#UNACKNOWLEDGED_CLOSE_MILLIS} and redials, so a message sent right after
 * the heal arrives within the redial delay and a SYN retransmission. Needs root and iptables
 * (skipped otherwise, with the reason).
 */
class PeerLinkPartitionIT {
  private static final long CUT_MILLIS = 15_000;
  /** Redial backoff (at most 2 s), a connect attempt's SYN retransmission, and slack. */
  private static final long BACK_WITHIN_MILLIS = 6_000;

  @Test
  void aLinkCutLongerThanTheRetransmitBackoffIsBackSoonAfterTheHeal() throws Exception {
    Assumptions.assumeTrue(Integer.valueOf(0).equals(
        Files.getAttribute(Path.of("/proc/self"), "unix:uid")), "needs root for iptables");
    Assumptions.assumeTrue(run("iptables", "-V") == 0, "needs iptables (Debian package)");
    InetSocketAddress a1 = new InetSocketAddress("127.0.0.1", LoopbackPorts.free());
    InetSocketAddress a2 = new InetSocketAddress("127.0.0.1", LoopbackPorts.free());
    ConcurrentLinkedQueue<Message> in2 = new ConcurrentLinkedQueue<>();
    String mark = "0x5e" + String.format("%06x", ProcessHandle.current().pid() & 0xffffff);
    List<String> markRule = List.of("OUTPUT", "-o", "lo", "-p", "tcp", "--dport",
        Integer.toString(a2.getPort()), "-j", "MARK", "--set-mark", mark);
    List<String> dropRule = List.of("INPUT", "-i", "lo", "-m", "mark", "--mark", mark, "-j",
        "DROP");
    try (PeerTransport t1 = new PeerTransport(PeerConfig.of("cut", NodeId.of(1), a1,
            Map.of(NodeId.of(2), a2), null), m -> { }).start();
        PeerTransport t2 = new PeerTransport(PeerConfig.of("cut", NodeId.of(2), a2,
            Map.of(NodeId.of(1), a1), null), in2::add).start()) {
      awaitDelivered(t1, in2, 1, 10_000);
      iptables("-I", dropRule);
      iptables("-I", markRule);
      int deliveredBeforeCut = in2.size();
      long cutUntil = System.nanoTime() + CUT_MILLIS * 1_000_000;
      long seq = 2;
      while (System.nanoTime() < cutUntil) { // heartbeats keep the connection busy, as a leader's
        t1.send(msg(seq++));
        Thread.sleep(50);
      }
      assertThat(in2.size()).as("nothing delivered through the cut")
          .isEqualTo(deliveredBeforeCut);
      iptables("-D", markRule);
      iptables("-D", dropRule);
      long healed = System.nanoTime();
      long last = seq;
      while (in2.stream().noneMatch(m -> ((AppendEntriesResponse) m).matchIndex() == last)
          && System.nanoTime() - healed < 30_000_000_000L) {
        t1.send(msg(last));
        Thread.sleep(50);
      }
      long backMillis = (System.nanoTime() - healed) / 1_000_000;
      assertThat(backMillis).as("ms from the heal to a message delivered")
          .isLessThan(BACK_WITHIN_MILLIS);
      assertThat(t2.stats().framesCorrupt()).as("frames after the redial").isZero();
    } finally {
      run(withAction("-D", markRule));
      run(withAction("-D", dropRule));
    }
  }

  private static void awaitDelivered(PeerTransport t1, ConcurrentLinkedQueue<Message> in2,
      long seq, long timeoutMillis) throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (in2.stream().noneMatch(m -> ((AppendEntriesResponse) m).matchIndex() == seq)) {
      assertThat(System.currentTimeMillis()).as("delivered before the cut").isLessThan(deadline);
      t1.send(msg(seq));
      Thread.sleep(50);
    }
  }

  private static Message msg(long seq) {
    return new AppendEntriesResponse(NodeId.of(1), NodeId.of(2), 3, true, seq, 0, seq);
  }

  private static void iptables(String action, List<String> rule) throws Exception {
    assertThat(run(withAction(action, rule))).as("iptables " + action + " " + rule).isZero();
  }

  private static String[] withAction(String action, List<String> rule) {
    List<String> cmd = new ArrayList<>(List.of("iptables", "-w", action));
    cmd.addAll(rule);
    return cmd.toArray(String[]::new);
  }

  private static int run(String... cmd) throws InterruptedException {
    try {
      return new ProcessBuilder(cmd).redirectErrorStream(true)
          .redirectOutput(ProcessBuilder.Redirect.DISCARD).start().waitFor();
    } catch (java.io.IOException e) {
      return -1;
    }
  }
}
