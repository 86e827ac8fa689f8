package io.respawn.server.mirror;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.mirror.LinkConfig;
import io.respawn.mirror.WanLink;
import io.respawn.mirror.Wire;
import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.server.resp.RespLimits;
import io.respawn.server.shard.LoopbackPorts;
import io.respawn.storage.Durability;
import io.respawn.storage.StorageConfig;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A primary site and its mirror, in-process, over the WAN relay on loopback: acknowledgement
 * modes, group-consistent apply, promotion, and the mirror port's refusal of strangers.
 */
class MirrorSitesTest {
  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  static final int LINK_ID = 4242;

  @TempDir Path tmp;
  WanRelay relay;
  RespawnServer mirror;
  RespawnServer primary;
  ReceivingSite mirrorSite;
  Jedis p;
  Jedis m;

  @BeforeEach
  void start() throws Exception {
    int udpPort = LoopbackPorts.freeUdp();
    relay = WanRelay.start(new InetSocketAddress(LOOPBACK, 0),
        new InetSocketAddress(LOOPBACK, udpPort), WanLink.Settings.delay(5_000_000), 7,
        new InetSocketAddress(LOOPBACK, 0));
    LinkConfig link = LinkConfig.defaults(LINK_ID);
    mirrorSite = (ReceivingSite) new MirrorSettings(null, relay.farAddress(),
        new InetSocketAddress(LOOPBACK, udpPort), MirrorAck.LOCAL, link).newSite();
    mirror = RespawnServer.start(config("mirror"), mirrorSite);
    primary = RespawnServer.start(config("primary"), new MirrorSettings(relay.listenAddress(),
        null, new InetSocketAddress(LOOPBACK, 0), MirrorAck.LOCAL, link).newSite());
    p = new Jedis("127.0.0.1", primary.port(), 10_000);
    m = new Jedis("127.0.0.1", mirror.port(), 10_000);
  }

  private ServerConfig config(String name) {
    return new ServerConfig("127.0.0.1", 0, tmp.resolve(name), Durability.ORDERED, null,
        RespLimits.DEFAULTS, 1, StorageConfig.defaults());
  }

  @AfterEach
  void stop() {
    for (AutoCloseable c : new AutoCloseable[] {p, m, primary, mirror, relay}) {
      try {
        if (c != null) {
          c.close();
        }
      } catch (Exception e) {
        // best effort
      }
    }
  }

  @Test
  void remoteWritesAreAppliedAtTheMirrorWhenAcknowledgedEvenOverALossyLink() {
    assertThat(relay.controlNow("loss 0.05")).startsWith("OK");
    assertThat(send(p, "RESPAWN", "MIRROR")).isEqualTo("LOCAL");
    assertThat(send(p, "RESPAWN", "MIRROR", "REMOTE")).isEqualTo("OK");
    for (int i = 0; i < 300; i++) {
      p.set("k" + i, "v" + i);
      assertThat(m.get("k" + i)).as("write %d, acknowledged REMOTE", i).isEqualTo("v" + i);
    }
    Map<String, String> status = status(m);
    assertThat(status.get("role")).isEqualTo("mirror");
    assertThat(Long.parseLong(status.get("applied_position"))).isGreaterThanOrEqualTo(300);
    assertThat(Long.parseLong(status.get("recovered_by_fec"))
        + Long.parseLong(status.get("packets_nacked"))).isPositive();
    Map<String, String> primaryStatus = status(p);
    assertThat(primaryStatus.get("role")).isEqualTo("primary");
    assertThat(primaryStatus.get("lag_writes")).isEqualTo("0");
  }

  @Test
  void theMirrorRefusesWritesUntilPromotedAndIsThenAPrefixOfThePrimaryNeverHalfAGroup()
      throws Exception {
    assertThatThrownBy(() -> m.set("x", "1")).isInstanceOf(JedisDataException.class)
        .hasMessageContaining("READONLY");
    assertThat(send(p, "RESPAWN", "MIRROR", "NETWORK")).isEqualTo("OK");
    Random rnd = new Random(3);
    List<Map<String, String>> groups = new ArrayList<>(); // each command's writes, in order
    for (int i = 0; i < 400; i++) {
      Map<String, String> g = new HashMap<>();
      switch (rnd.nextInt(3)) {
        case 0 -> { // MSET over all ten group keys: a torn group would show mixed values
          String[] kv = new String[20];
          for (int k = 0; k < 10; k++) {
            kv[2 * k] = "g" + k;
            kv[2 * k + 1] = "mset" + i;
            g.put("g" + k, "mset" + i);
          }
          p.mset(kv);
        }
        case 1 -> {
          Transaction t = p.multi();
          for (int k = 0; k < 10; k += 2) {
            t.set("g" + k, "tx" + i);
            g.put("g" + k, "tx" + i);
          }
          t.set("solo" + i, "s");
          g.put("solo" + i, "s");
          t.exec();
        }
        default -> {
          p.set("solo" + i, "single" + i);
          g.put("solo" + i, "single" + i);
        }
      }
      groups.add(g);
      if (i == 250) {
        relay.controlNow("loss 0.02");
      }
    }
    // The link is cut at once, the primary stops; the mirror is promoted.
    assertThat(relay.controlNow("cut")).contains("cut=true");
    primary.close();
    // What was inside the link at the cut (5 ms of delay, repairs for its losses) still arrives:
    // promote once the mirror has gone quiet, as an operator would after the primary site is lost.
    awaitMirrorQuiet();
    String promoted = send(m, "RESPAWN", "MIRROR", "PROMOTE");
    assertThat(promoted).startsWith("promoted at applied position");
    long position = Long.parseLong(promoted.split(" ")[4]);
    // One client, one command per pass: group position i+1 is command i.
    Map<String, String> model = new HashMap<>();
    for (int i = 0; i < position; i++) {
      model.putAll(groups.get(i));
    }
    TreeSet<String> keys = new TreeSet<>();
    groups.forEach(g -> keys.addAll(g.keySet()));
    for (String k : keys) {
      assertThat(m.get(k)).as("key %s at position %d", k, position).isEqualTo(model.get(k));
    }
    assertThat(position).as("every NETWORK write on the wire before the cut arrives")
        .isEqualTo(groups.size());
    assertThat(m.set("x", "1")).isEqualTo("OK");
    assertThat(status(m).get("role")).isEqualTo("promoted");
  }

  @Test
  void datagramsFromAStrangerAreDroppedCountedAndNeverApplied() throws Exception {
    p.set("a", "1");
    awaitApplied(1);
    // Copies of real-looking traffic and junk, from an address that is not the configured peer.
    try (DatagramSocket stranger = new DatagramSocket(new InetSocketAddress(LOOPBACK, 0))) {
      byte[] frame = new byte[30];
      ByteBuffer entry = ByteBuffer.wrap(frame);
      io.respawn.mirror.Frames.put(entry, 3, 2, new byte[19], 0, 19);
      ByteBuffer forged = Wire.data(LINK_ID, 1, io.respawn.mirror.FecDecoder.crc32c(frame), frame,
          30);
      byte[] bytes = new byte[forged.remaining()];
      forged.get(bytes);
      InetSocketAddress target = new InetSocketAddress(LOOPBACK, mirrorSite.udpPort());
      for (int i = 0; i < 20; i++) {
        stranger.send(new DatagramPacket(bytes, bytes.length, target));
        stranger.send(new DatagramPacket(new byte[] {1, 2, 3}, 3, target));
      }
      long deadline = System.nanoTime() + 5_000_000_000L;
      while (Long.parseLong(status(m).get("dropped_wrong_source")) < 40
          && System.nanoTime() < deadline) {
        Thread.sleep(20);
      }
    }
    Map<String, String> status = status(m);
    assertThat(status.get("dropped_wrong_source")).isEqualTo("40");
    assertThat(status.get("applied_position")).isEqualTo("1");
    assertThat(m.dbSize()).isEqualTo(1);
  }

  /** Waits until the mirror's applied position has not moved for 300 ms and nothing lags. */
  private void awaitMirrorQuiet() throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    String before = "";
    for (Map<String, String> now = status(m); System.nanoTime() < deadline; now = status(m)) {
      String applied = now.get("applied_position");
      if (applied.equals(before) && "0".equals(now.get("lag_writes"))) {
        return;
      }
      before = applied;
      Thread.sleep(300);
    }
  }

  private void awaitApplied(long position) throws InterruptedException {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (Long.parseLong(status(m).get("applied_position")) < position) {
      assertThat(System.nanoTime()).isLessThan(deadline);
      Thread.sleep(10);
    }
  }

  static Map<String, String> status(Jedis j) {
    Map<String, String> map = new HashMap<>();
    for (String line : send(j, "RESPAWN", "MIRROR", "STATUS").split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        map.put(line.substring(0, colon), line.substring(colon + 1));
      }
    }
    return map;
  }

  static String send(Jedis j, String... args) {
    Object reply = j.sendCommand(() -> redis.clients.jedis.util.SafeEncoder.encode(args[0]),
        java.util.Arrays.copyOfRange(args, 1, args.length));
    return reply instanceof byte[] b ? new String(b, java.nio.charset.StandardCharsets.UTF_8)
        : String.valueOf(reply);
  }
}
