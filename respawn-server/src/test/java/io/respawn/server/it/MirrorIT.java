package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.mirror.WanLink;
import io.respawn.server.mirror.WanRelay;
import io.respawn.server.shard.LoopbackPorts;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import redis.clients.jedis.Jedis;

/**
 * A rolling disaster with real processes: a primary site mirrors through the WAN relay (20 ms
 * one way) to a mirror site; one client writes (SETs and three-key MSETs, each its own group)
 * and records what was acknowledged; after a 0.5 s loss burst the primary is killed with SIGKILL
 * and the link cut (once the relay has read what the dead site had handed over); the mirror is
 * promoted. The mirror must hold exactly a prefix of the writes — each MSET whole or absent —
 * ending at the position it reports; with NETWORK and REMOTE acknowledgement that prefix
 * includes every acknowledged write.
 */
class MirrorIT {
  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  @TempDir Path tmp;

  private static String status(Jedis m) {
    String text = new String((byte[]) m.sendCommand(
        () -> "RESPAWN".getBytes(StandardCharsets.UTF_8), "MIRROR", "STATUS"),
        StandardCharsets.UTF_8);
    for (String line : text.split("\r\n")) {
      if (line.startsWith("applied_position:")) {
        return line;
      }
    }
    throw new AssertionError("no applied_position in " + text);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"network", "remote", "local"})
  void afterARollingDisasterThePromotedMirrorHoldsAPrefixWithEveryAcknowledgedWrite(String mode)
      throws Exception {
    int mirrorUdp = LoopbackPorts.freeUdp();
    try (WanRelay relay = WanRelay.start(new InetSocketAddress(LOOPBACK, 0),
            new InetSocketAddress(LOOPBACK, mirrorUdp), WanLink.Settings.delay(20_000_000), 11,
            new InetSocketAddress(LOOPBACK, 0));
        ServerProcess mirror = ServerProcess.start(tmp.resolve("mirror"),
            ServerProcess.freePort(), "--mirror-of", "127.0.0.1:" + relay.farAddress().getPort(),
            "--mirror-port", Integer.toString(mirrorUdp), "--mirror-link-id", "9");
        ServerProcess primary = ServerProcess.start(tmp.resolve("primary"),
            ServerProcess.freePort(), "--mirror-to",
            "127.0.0.1:" + relay.listenAddress().getPort(), "--mirror-ack", mode,
            "--mirror-link-id", "9")) {
      AtomicLong acked = new AtomicLong(-1);
      AtomicLong attempted = new AtomicLong(-1);
      AtomicBoolean stop = new AtomicBoolean();
      Thread writer = new Thread(() -> {
        try (Jedis j = new Jedis("127.0.0.1", primary.port(), 5000)) {
          for (long i = 0; !stop.get(); i++) {
            attempted.set(i);
            if (i % 3 == 0) {
              String v = Long.toString(i);
              j.mset("m" + i + "a", v, "m" + i + "b", v, "m" + i + "c", v);
            } else {
              j.set("w" + i, Long.toString(i));
            }
            acked.set(i);
          }
        } catch (RuntimeException e) {
          // the primary died
        }
      }, "mirror-it-writer");
      writer.start();
      // Warm up first (a loaded machine can take seconds to answer the first REMOTE write).
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (acked.get() < 20 && writer.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
      Thread.sleep(1000);
      assertThat(relay.controlNow("loss 0.01")).startsWith("OK");
      Thread.sleep(500);
      // The disaster: the primary dies; what it handed to the network before is inside the
      // link once the relay has read it from its socket; then the link is cut.
      primary.kill9();
      // Only the forward direction (from the dead primary) must go quiet: the mirror keeps
      // sending acks and NACKs backward, so the whole stats line may never stop changing.
      String seen = forwardStats(relay.controlNow("stats"));
      long quietDeadline = System.nanoTime() + 10_000_000_000L;
      for (String now = ""; !now.equals(seen) && System.nanoTime() < quietDeadline; ) {
        Thread.sleep(100);
        now = seen;
        seen = forwardStats(relay.controlNow("stats"));
      }
      assertThat(relay.controlNow("cut")).contains("cut=true");
      stop.set(true);
      writer.join(10_000);

      try (Jedis m = new Jedis("127.0.0.1", mirror.port(), 10_000)) {
        // What was inside the link when it was cut still arrives: promote once quiet.
        String applied = "";
        for (String now = status(m); !now.equals(applied); now = status(m)) {
          applied = now;
          Thread.sleep(300);
        }
        String promoted = new String((byte[]) m.sendCommand(
            () -> "RESPAWN".getBytes(StandardCharsets.UTF_8), "MIRROR", "PROMOTE"),
            StandardCharsets.UTF_8);
        long position = Long.parseLong(promoted.split(" ")[4]);
        long prefix = 0;
        boolean gap = false;
        for (long i = 0; i <= attempted.get(); i++) {
          boolean present;
          if (i % 3 == 0) {
            String a = m.get("m" + i + "a");
            String b = m.get("m" + i + "b");
            String c = m.get("m" + i + "c");
            assertThat(a == null ? b == null && c == null : a.equals(b) && a.equals(c))
                .as("%s: MSET %d half applied: %s %s %s", mode, i, a, b, c).isTrue();
            present = a != null;
          } else {
            present = m.get("w" + i) != null;
          }
          if (present) {
            assertThat(gap).as("%s: write %d present after a missing one", mode, i).isFalse();
            prefix++;
          } else {
            gap = true;
          }
        }
        System.out.printf("MirrorIT %s: %d acknowledged, %d attempted, mirror holds %d (position"
            + " %d)%n", mode, acked.get() + 1, attempted.get() + 1, prefix, position);
        assertThat(prefix).as("%s: the prefix ends at the reported position", mode)
            .isEqualTo(position);
        assertThat(acked.get()).as("%s: the workload made progress", mode)
            .isGreaterThanOrEqualTo(20);
        if (!mode.equals("local")) {
          assertThat(prefix).as("%s: every acknowledged write is at the mirror", mode)
              .isGreaterThanOrEqualTo(acked.get() + 1);
        }
        assertThat(m.set("after", "promotion")).isEqualTo("OK");
      }
      mirror.terminate();
    }
  }

  /** The forward (primary to mirror) part of the relay's stats line. */
  private static String forwardStats(String stats) {
    int backward = stats.indexOf(" backward ");
    return backward < 0 ? stats : stats.substring(0, backward);
  }
}
