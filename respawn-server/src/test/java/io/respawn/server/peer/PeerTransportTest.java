package io.respawn.server.peer;

import io.respawn.node.recovery.ValuePull;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.respawn.core.Message.AppendEntriesResponse;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.codec.MessageCodec;
import io.respawn.server.shard.LoopbackPorts;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Peer transports on loopback: delivery, refusals of wrong peers, reconnects, bounds. */
class PeerTransportTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private final List<PeerTransport> started = new ArrayList<>();

  @AfterEach
  void closeAll() {
    started.forEach(PeerTransport::close);
  }

  private static int freePort() throws IOException {
    return LoopbackPorts.free();
  }

  private static InetSocketAddress loopback(int port) {
    return new InetSocketAddress("127.0.0.1", port);
  }

  private static Message msg(int from, int to, long seq) {
    return new AppendEntriesResponse(NodeId.of(from), NodeId.of(to), 3, true, seq, 0, seq);
  }

  private PeerTransport start(PeerConfig config, ConcurrentLinkedQueue<Message> inbox)
      throws InterruptedException {
    PeerTransport t = new PeerTransport(config, inbox::add).start();
    started.add(t);
    return t;
  }

  /** Configs for members 1..n on fresh ports, all in one cluster. */
  private static List<PeerConfig> shard(int n, String cluster, byte[] secret) throws IOException {
    Map<NodeId, InetSocketAddress> all = new HashMap<>();
    for (int i = 1; i <= n; i++) {
      all.put(NodeId.of(i), loopback(freePort()));
    }
    List<PeerConfig> out = new ArrayList<>();
    for (int i = 1; i <= n; i++) {
      Map<NodeId, InetSocketAddress> peers = new HashMap<>(all);
      InetSocketAddress self = peers.remove(NodeId.of(i));
      out.add(PeerConfig.of(cluster, NodeId.of(i), self, peers, secret));
    }
    return out;
  }

  @Test
  void everyMemberReachesEveryOtherInOrder() throws Exception {
    List<PeerConfig> configs = shard(3, "shard-a", "s3cret".getBytes(StandardCharsets.UTF_8));
    List<ConcurrentLinkedQueue<Message>> inboxes = new ArrayList<>();
    List<PeerTransport> ts = new ArrayList<>();
    for (PeerConfig c : configs) {
      ConcurrentLinkedQueue<Message> q = new ConcurrentLinkedQueue<>();
      inboxes.add(q);
      ts.add(start(c, q));
    }
    await().atMost(WAIT).until(() -> ts.stream().allMatch(
        t -> t.links().stream().allMatch(PeerLinkStatus::connected)));
    for (int from = 1; from <= 3; from++) {
      for (int to = 1; to <= 3; to++) {
        if (from != to) {
          for (int s = 0; s < 100; s++) {
            assertThat(ts.get(from - 1).send(msg(from, to, s))).isTrue();
          }
        }
      }
    }
    for (int to = 1; to <= 3; to++) {
      ConcurrentLinkedQueue<Message> q = inboxes.get(to - 1);
      await().atMost(WAIT).until(() -> q.size() == 200);
      Map<NodeId, Long> next = new HashMap<>();
      for (Message m : q) {
        assertThat(m.to()).isEqualTo(NodeId.of(to));
        long seq = ((AppendEntriesResponse) m).matchIndex();
        assertThat(seq).isEqualTo(next.getOrDefault(m.from(), 0L));
        next.put(m.from(), seq + 1);
      }
    }
    assertThat(ts.get(0).stats().handshakesRefused()).isZero();
  }

  @Test
  void aProcessOfAnotherClusterIsRefusedAndNothingIsDelivered() throws Exception {
    List<PeerConfig> a = shard(2, "shard-a", null);
    // The same two ports, but the second process believes it is in shard-b.
    PeerConfig b2 = PeerConfig.of("shard-b", NodeId.of(2), a.get(1).listen(),
        a.get(1).peers(), null);
    ConcurrentLinkedQueue<Message> in1 = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Message> in2 = new ConcurrentLinkedQueue<>();
    PeerTransport t1 = start(a.get(0), in1);
    PeerTransport t2 = start(b2, in2);
    await().atMost(WAIT).until(() -> t1.stats().handshakesRefused() > 0
        && t2.stats().handshakesRefused() > 0);
    t1.send(msg(1, 2, 0));
    t2.send(msg(2, 1, 0));
    Thread.sleep(300);
    assertThat(in1).isEmpty();
    assertThat(in2).isEmpty();
    assertThat(t1.links().get(0).connected()).isFalse();
    assertThat(t1.links().get(0).lastRefusal()).contains("shard-b");
  }

  @Test
  void aProcessThatIsNotTheMemberConfiguredAtThatAddressIsRefused() throws Exception {
    List<PeerConfig> c = shard(3, "shard-a", null);
    // Member 1 is told member 2 lives at member 3's address.
    Map<NodeId, InetSocketAddress> wrong = new HashMap<>(c.get(0).peers());
    wrong.put(NodeId.of(2), c.get(2).listen());
    PeerConfig confused = PeerConfig.of("shard-a", NodeId.of(1), c.get(0).listen(), wrong, null);
    ConcurrentLinkedQueue<Message> in3 = new ConcurrentLinkedQueue<>();
    PeerTransport t1 = start(confused, new ConcurrentLinkedQueue<>());
    start(c.get(2), in3);
    await().atMost(WAIT).until(() -> t1.links().stream()
        .anyMatch(l -> l.peer().equals(NodeId.of(2)) && l.lastRefusal().contains("is node 3")));
    t1.send(msg(1, 2, 0));
    Thread.sleep(300);
    assertThat(in3).isEmpty();
  }

  @Test
  void aPeerWithoutTheSecretIsRefused() throws Exception {
    List<PeerConfig> c = shard(2, "shard-a", "right".getBytes(StandardCharsets.UTF_8));
    PeerConfig impostor = PeerConfig.of("shard-a", NodeId.of(2), c.get(1).listen(),
        c.get(1).peers(), "wrong".getBytes(StandardCharsets.UTF_8));
    ConcurrentLinkedQueue<Message> in1 = new ConcurrentLinkedQueue<>();
    PeerTransport t1 = start(c.get(0), in1);
    PeerTransport t2 = start(impostor, new ConcurrentLinkedQueue<>());
    await().atMost(WAIT).until(() -> t1.stats().handshakesRefused() > 0);
    t2.send(msg(2, 1, 0));
    Thread.sleep(300);
    assertThat(in1).isEmpty();
    assertThat(t2.links().get(0).connected()).isFalse();
  }

  @Test
  void queuedMessagesAreDeliveredAfterThePeerComesBackAndTheQueueIsBounded() throws Exception {
    List<PeerConfig> c = shard(2, "shard-a", null);
    PeerConfig small = new PeerConfig("shard-a", NodeId.of(1), c.get(0).listen(),
        c.get(0).peers(), null, 1 << 20, 50, PeerConfig.FRAME_BYTES_MAX_DEFAULT, 10, 100, 2000);
    PeerTransport t1 = start(small, new ConcurrentLinkedQueue<>());
    int accepted = 0;
    for (int s = 0; s < 80; s++) {
      accepted += t1.send(msg(1, 2, s)) ? 1 : 0;
    }
    assertThat(accepted).isEqualTo(50);
    assertThat(t1.links().get(0).dropped()).isEqualTo(30);
    ConcurrentLinkedQueue<Message> in2 = new ConcurrentLinkedQueue<>();
    PeerTransport t2 = start(c.get(1), in2);
    await().atMost(WAIT).until(() -> in2.size() == 50);
    // The peer goes away and comes back on the same port: the link redials by itself.
    t2.close();
    started.remove(t2);
    await().atMost(WAIT).until(() -> !t1.links().get(0).connected());
    ConcurrentLinkedQueue<Message> again = new ConcurrentLinkedQueue<>();
    start(c.get(1), again);
    await().atMost(WAIT).until(() -> t1.links().get(0).connected());
    t1.send(msg(1, 2, 99));
    await().atMost(WAIT).until(() -> again.stream()
        .anyMatch(m -> ((AppendEntriesResponse) m).matchIndex() == 99));
    assertThat(t1.links().get(0).connects()).isGreaterThanOrEqualTo(2);
  }

  @Test
  void aCorruptFrameAfterTheHandshakeClosesTheConnectionAndIsNotDelivered() throws Exception {
    List<PeerConfig> c = shard(2, "shard-a", null);
    ConcurrentLinkedQueue<Message> in2 = new ConcurrentLinkedQueue<>();
    PeerTransport t2 = start(c.get(1), in2);
    try (Socket s = new Socket("127.0.0.1", c.get(1).listen().getPort())) {
      s.setSoTimeout(5000);
      DataInputStream in = new DataInputStream(s.getInputStream());
      OutputStream out = s.getOutputStream();
      Handshake.Frame challenge = readHandshake(in);
      assertThat(challenge.kind()).isEqualTo(Handshake.Kind.CHALLENGE);
      byte[] nonce = new byte[Handshake.NONCE_BYTES];
      out.write(bytes(Handshake.encode(Handshake.Kind.HELLO, 1, 2, nonce, "shard-a", null,
          challenge.nonce())));
      assertThat(readHandshake(in).kind()).isEqualTo(Handshake.Kind.WELCOME);
      byte[] good = bytes(MessageCodec.encode(msg(1, 2, 7)));
      out.write(good);
      await().atMost(WAIT).until(() -> in2.size() == 1);
      byte[] bad = bytes(MessageCodec.encode(msg(1, 2, 8)));
      bad[bad.length - 6] ^= 0x40;
      out.write(bad);
      out.flush();
      assertThat(in.read()).isEqualTo(-1); // closed by the transport
    }
    assertThat(t2.stats().framesCorrupt()).isEqualTo(1);
    assertThat(in2).hasSize(1);
  }

  /**
   * A peer that dials again (its side of the old connection gone, say after a partition, while
   * the close never arrived here) replaces its old accepted connection, which is closed rather
   * than kept open until the process ends; messages on the new one are delivered.
   */
  @Test
  void aPeerThatConnectsAgainReplacesItsOldConnection() throws Exception {
    List<PeerConfig> c = shard(2, "shard-a", null);
    ConcurrentLinkedQueue<Message> in2 = new ConcurrentLinkedQueue<>();
    start(c.get(1), in2);
    try (Socket first = new Socket("127.0.0.1", c.get(1).listen().getPort());
        Socket second = new Socket("127.0.0.1", c.get(1).listen().getPort())) {
      DataInputStream firstIn = helloAsMember1(first);
      DataInputStream secondIn = helloAsMember1(second);
      assertThat(firstIn.read()).as("the old connection is closed").isEqualTo(-1);
      second.getOutputStream().write(bytes(MessageCodec.encode(msg(1, 2, 9))));
      await().atMost(WAIT).until(() -> in2.size() == 1);
      second.setSoTimeout(300);
      org.assertj.core.api.Assertions.assertThatThrownBy(secondIn::read)
          .as("the new connection stays open").isInstanceOf(java.net.SocketTimeoutException.class);
    }
  }

  /** Completes the dialer's handshake as member 1 towards member 2 on {@code s}. */
  private static DataInputStream helloAsMember1(Socket s) throws IOException {
    s.setSoTimeout(5000);
    DataInputStream in = new DataInputStream(s.getInputStream());
    Handshake.Frame challenge = readHandshake(in);
    assertThat(challenge.kind()).isEqualTo(Handshake.Kind.CHALLENGE);
    s.getOutputStream().write(bytes(Handshake.encode(Handshake.Kind.HELLO, 1, 2,
        new byte[Handshake.NONCE_BYTES], "shard-a", null, challenge.nonce())));
    assertThat(readHandshake(in).kind()).isEqualTo(Handshake.Kind.WELCOME);
    return in;
  }

  @Test
  void somethingThatIsNotAPeerIsRefused() throws Exception {
    List<PeerConfig> c = shard(2, "shard-a", null);
    PeerTransport t2 = start(c.get(1), new ConcurrentLinkedQueue<>());
    try (Socket s = new Socket("127.0.0.1", c.get(1).listen().getPort())) {
      s.setSoTimeout(5000);
      InputStream in = s.getInputStream();
      s.getOutputStream().write(("GET / HTTP/1.1\r\nHost: x\r\n\r\n" + "x".repeat(80))
          .getBytes(StandardCharsets.US_ASCII));
      in.readNBytes(4096); // challenge, then refusal, then end of stream
    }
    await().atMost(WAIT).until(() -> t2.stats().handshakesRefused() == 1);
    assertThat(t2.stats().framesCorrupt()).isZero();
  }

  @Test
  void valuePullFramesTravelBesideCoreMessages() throws Exception {
    List<PeerConfig> c = shard(2, "shard-a", null);
    ConcurrentLinkedQueue<Message> in2 = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<ValuePull.PullMessage> pulls2 = new ConcurrentLinkedQueue<>();
    PeerTransport t1 = start(c.get(0), new ConcurrentLinkedQueue<>());
    PeerTransport t2 = start(c.get(1), in2);
    t2.pullInbox(pulls2::add);
    await().atMost(WAIT).until(() -> t1.links().get(0).connected());
    byte[] key = "k".getBytes(StandardCharsets.UTF_8);
    t1.sendPull(new ValuePull.PullKeys(NodeId.of(1), NodeId.of(2), 7, 42, List.of(key)));
    t1.send(msg(1, 2, 5));
    t1.sendPull(new ValuePull.PullKeysReply(NodeId.of(1), NodeId.of(2), 8, 43, List.of(
        new ValuePull.PulledValue(key, true, 99, "v".getBytes(StandardCharsets.UTF_8)),
        new ValuePull.PulledValue("gone".getBytes(StandardCharsets.UTF_8), false, 0, null))));
    await().atMost(WAIT).until(() -> pulls2.size() == 2 && in2.size() == 1);
    ValuePull.PullKeys p = (ValuePull.PullKeys) pulls2.poll();
    assertThat(p.requestId()).isEqualTo(7);
    assertThat(p.minAppliedIndex()).isEqualTo(42);
    assertThat(p.keys().get(0)).isEqualTo(key);
    ValuePull.PullKeysReply r = (ValuePull.PullKeysReply) pulls2.poll();
    assertThat(r.values()).hasSize(2);
    assertThat(new String(r.values().get(0).value(), StandardCharsets.UTF_8)).isEqualTo("v");
    assertThat(r.values().get(0).expiresAtMillis()).isEqualTo(99);
    assertThat(r.values().get(1).found()).isFalse();
  }

  /**
   * Large BatchPull replies (sent from a pooled direct frame, received as retained slices of the
   * connection's buffer and released once decoded) arrive whole, and what one delivered stays
   * whole after the ones behind it were received into the same buffer.
   */
  @Test
  void largeBatchPullRepliesArriveWholeOneAfterAnother() throws Exception {
    List<PeerConfig> c = shard(2, "shard-a", null);
    ConcurrentLinkedQueue<ValuePull.PullMessage> pulls2 = new ConcurrentLinkedQueue<>();
    PeerTransport t1 = start(c.get(0), new ConcurrentLinkedQueue<>());
    PeerTransport t2 = start(c.get(1), new ConcurrentLinkedQueue<>());
    t2.pullInbox(pulls2::add);
    await().atMost(WAIT).until(() -> t1.links().get(0).connected());
    java.util.Random random = new java.util.Random(2);
    List<List<ValuePull.PulledValue>> sent = new java.util.ArrayList<>();
    for (int reply = 0; reply < 6; reply++) {
      List<ValuePull.PulledValue> values = new java.util.ArrayList<>();
      for (int i = 0; i < 400; i++) {
        byte[] v = new byte[random.nextInt(700)];
        random.nextBytes(v);
        values.add(new ValuePull.PulledValue(("r" + reply + "k" + i)
            .getBytes(StandardCharsets.UTF_8), true, i, v));
      }
      sent.add(values);
      assertThat(t1.sendPull(new ValuePull.BatchPullReply(NodeId.of(1), NodeId.of(2), reply + 1,
          100, io.respawn.storage.backup.BatchPullCursor.START, false, values))).isTrue();
    }
    await().atMost(WAIT).until(() -> pulls2.size() == 6);
    for (List<ValuePull.PulledValue> values : sent) {
      ValuePull.BatchPullReply r = (ValuePull.BatchPullReply) pulls2.poll();
      assertThat(r.values()).hasSize(values.size());
      for (int i = 0; i < values.size(); i++) {
        assertThat(r.values().get(i).key()).isEqualTo(values.get(i).key());
        assertThat(r.values().get(i).value()).isEqualTo(values.get(i).value());
        assertThat(r.values().get(i).expiresAtMillis()).isEqualTo(i);
      }
    }
    assertThat(t2.stats().framesCorrupt()).isZero();
  }

  @Test
  void truncatedOrCorruptPullFramesAreRefused() {
    ByteBuffer good = ValuePull.encode(new ValuePull.PullKeys(NodeId.of(1), NodeId.of(2), 1, 1,
        List.of(new byte[] {1, 2, 3})));
    byte[] bytes = bytes(good);
    for (int n = 0; n < bytes.length; n++) {
      ByteBuffer cut = ByteBuffer.wrap(java.util.Arrays.copyOf(bytes, n));
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> ValuePull.decode(cut))
          .isInstanceOf(IllegalArgumentException.class);
    }
    bytes[12] ^= 1;
    org.assertj.core.api.Assertions.assertThatThrownBy(
        () -> ValuePull.decode(ByteBuffer.wrap(bytes))).hasMessageContaining("checksum");
  }

  private static Handshake.Frame readHandshake(DataInputStream in) throws IOException {
    byte[] head = in.readNBytes(Handshake.HEAD_BYTES);
    int textLength = ByteBuffer.wrap(head).getShort(Handshake.HEAD_BYTES - 2) & 0xffff;
    byte[] rest = in.readNBytes(textLength + Handshake.MAC_BYTES + 4);
    ByteBuffer all = ByteBuffer.allocate(head.length + rest.length).put(head).put(rest).flip();
    return Handshake.decode(all);
  }

  private static byte[] bytes(ByteBuffer b) {
    byte[] out = new byte[b.remaining()];
    b.get(out);
    return out;
  }
}
