package io.respawn.mirror;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

class ShipperTest {
  static final long MS = 1_000_000;

  static LongStream seeds() {
    return LongStream.rangeClosed(1, 40);
  }

  static LinkConfig config(FecParams fec) {
    return LinkConfig.defaults(77).withFec(fec).withFrameBytesMax(200);
  }

  /** Records the listener's calls. */
  static final class Events implements Shipper.Listener {
    final List<Long> admitted = new ArrayList<>();
    final List<Long> sent = new ArrayList<>();
    final List<Long> applied = new ArrayList<>();
    Runnable onSent = () -> {};

    @Override
    public void admitted(long position) {
      admitted.add(position);
    }

    @Override
    public void sent(long position) {
      sent.add(position);
      onSent.run();
    }

    @Override
    public void applied(long position) {
      applied.add(position);
    }

    long lastSent() {
      return sent.isEmpty() ? 0 : sent.get(sent.size() - 1);
    }

    long lastAdmitted() {
      return admitted.isEmpty() ? 0 : admitted.get(admitted.size() - 1);
    }
  }

  /**
   * The sent callback: whenever it reports position p, every data packet carrying a group up to
   * p, and for every layer the repair packet covering that packet, were already taken by the
   * network — checked from the datagrams themselves, with the network taking them late and in
   * random amounts.
   */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void sentCallbackNeverFiresBeforeTheCoveringRepairsAreOnTheWire(long seed) {
    Random rnd = new Random(seed);
    FecParams fec = switch ((int) (seed % 4)) {
      case 0 -> FecParams.of(8, 3);
      case 1 -> FecParams.of(4, 2);
      case 2 -> FecParams.of(3, 0);
      default -> new FecParams(5, new int[] {1, 7, 13});
    };
    LinkConfig config = config(fec).withTimers(rnd.nextInt(3) * MS, 500 * MS, 20 * MS, 200 * MS);
    RecordingDatagrams net = new RecordingDatagrams(false);
    Events events = new Events();
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, events);
    Map<Long, Integer> checkedUpTo = new HashMap<>();
    events.onSent = () -> checkSent(net, config, events.lastSent(), checkedUpTo, seed);

    long now = 0;
    List<Long> offered = new ArrayList<>();
    for (int step = 0; step < 400; step++) {
      now += rnd.nextInt(300_000);
      if (rnd.nextInt(3) > 0) {
        byte[] group = new byte[1 + rnd.nextInt(rnd.nextInt(10) == 0 ? 900 : 60)];
        rnd.nextBytes(group);
        offered.add(shipper.offer(group, now));
      }
      if (rnd.nextBoolean()) {
        net.handed = Math.min(net.sent.size(), net.handed + rnd.nextInt(6));
      }
      shipper.poll(now);
    }
    // Quiet: the network takes everything, the encoder flushes; every group ends up sent.
    for (int i = 0; i < 10; i++) {
      now += 5 * MS;
      net.handAll();
      shipper.poll(now);
    }
    net.handAll();
    shipper.poll(now);
    assertThat(events.lastSent()).as("seed %d", seed).isEqualTo(offered.size());
    assertThat(events.sent).isSorted();
    assertThat(shipper.sentPosition()).isEqualTo(shipper.offeredPosition());
  }

  /** Checks the sent callback's claim against the datagrams the network has taken. */
  private static void checkSent(RecordingDatagrams net, LinkConfig config, long position,
      Map<Long, Integer> scratch, long seed) {
    long handed = net.handed;
    Map<Long, Long> dataIndex = new HashMap<>();
    Map<Long, int[]> repairsHanded = new HashMap<>();
    Map<Long, Long> lastPositionOfSeq = new HashMap<>();
    for (int i = 0; i < net.sent.size(); i++) {
      Wire.Packet p = net.packet(i, config);
      if (p instanceof Wire.Data d) {
        dataIndex.putIfAbsent(d.seq(), (long) i);
        for (Frames.Entry e : Frames.parse(d.frame())) {
          lastPositionOfSeq.merge(d.seq(), e.position(), Math::max);
        }
      } else if (p instanceof Wire.Repair r && i < handed) {
        RepairSymbol s = r.symbol();
        for (int k = 0; k < s.count(); k++) {
          repairsHanded.computeIfAbsent(s.seq(k), x -> new int[FecParams.LAYERS_MAX])[s.layer()]++;
        }
      }
    }
    // Every seq holding an entry of a group <= position: it and its covering repairs were taken.
    for (Map.Entry<Long, Long> e : dataIndex.entrySet()) {
      long seq = e.getKey();
      long firstPosition = firstPositionIn(net, config, e.getValue().intValue());
      if (firstPosition > position) {
        continue;
      }
      assertThat(e.getValue()).as("seed %d: sent(%d) before data seq %d was taken", seed,
          position, seq).isLessThan(handed);
      int[] layers = repairsHanded.getOrDefault(seq, new int[FecParams.LAYERS_MAX]);
      for (int j = 0; j < config.fec().layers(); j++) {
        assertThat(layers[j]).as("seed %d: sent(%d) before layer %d's repair covering seq %d"
            + " was taken", seed, position, j, seq).isEqualTo(1);
      }
    }
  }

  private static long firstPositionIn(RecordingDatagrams net, LinkConfig config, int index) {
    Wire.Data d = (Wire.Data) net.packet(index, config);
    return Frames.parse(d.frame()).get(0).position();
  }

  @Test
  void pacingKeepsToTheConfiguredBandwidth() {
    long bytesPerSecond = 1_000_000;
    LinkConfig config = config(FecParams.of(8, 3)).withPacing(bytesPerSecond, 16_384);
    RecordingDatagrams net = new RecordingDatagrams(true);
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, new Events());
    long now = 0;
    for (int i = 0; i < 20_000; i++) {
      shipper.offer(new byte[100], now);
    }
    long bytes = 0;
    int counted = 0;
    for (int step = 1; step <= 10_000; step++) {
      now = step * 100_000L; // 100 us steps over 1 s
      shipper.poll(now);
      for (; counted < net.sent.size(); counted++) {
        bytes += net.sent.get(counted).remaining();
      }
      long allowed = bytesPerSecond * now / 1_000_000_000L + 16_384 + 1_300;
      assertThat(bytes).as("at %d ns", now).isLessThanOrEqualTo(allowed);
    }
    assertThat(bytes).as("the link is used").isGreaterThan(bytesPerSecond * 9 / 10);
  }

  @Test
  void theSendWindowBoundsPacketsInFlightAndAcksOpenIt() {
    LinkConfig config = config(FecParams.of(4, 1)).withWindow(32, 1 << 20);
    RecordingDatagrams net = new RecordingDatagrams(true);
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, new Events());
    for (int i = 0; i < 200; i++) {
      shipper.offer(new byte[150], 0);
    }
    shipper.poll(0);
    assertThat(shipper.stats().nextSeq()).isEqualTo(32);
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.ack(77, 10, 0), 1);
    shipper.poll(1);
    assertThat(shipper.stats().nextSeq()).isEqualTo(42);
  }

  @Test
  void nacksAndTimeoutsResendDataPackets() {
    LinkConfig config = config(FecParams.of(4, 0));
    RecordingDatagrams net = new RecordingDatagrams(true);
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, new Events());
    for (int i = 0; i < 10; i++) {
      shipper.offer(new byte[189], 0); // with its 11-byte entry header: one 200-byte frame each
    }
    shipper.poll(0);
    int before = net.sent.size();
    assertThat(before).isEqualTo(10);
    shipper.onDatagram(RecordingDatagrams.MIRROR,
        Wire.nack(77, List.of(new long[] {3, 2}, new long[] {8, 1})), MS);
    shipper.poll(MS);
    List<Long> resent = new ArrayList<>();
    for (int i = before; i < net.sent.size(); i++) {
      resent.add(((Wire.Data) net.packet(i, config)).seq());
    }
    assertThat(resent).containsExactly(3L, 4L, 8L);
    assertThat(shipper.stats().retransmissions()).isEqualTo(3);

    // No ACK progress for the timeout: the oldest and newest unacknowledged go again.
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.ack(77, 5, 0), 2 * MS);
    before = net.sent.size();
    long wake = shipper.poll(3 * MS);
    assertThat(net.sent.size()).isEqualTo(before);
    assertThat(wake).isEqualTo(2 * MS + config.retransmitTimeoutNanos());
    shipper.poll(wake);
    resent.clear();
    for (int i = before; i < net.sent.size(); i++) {
      resent.add(((Wire.Data) net.packet(i, config)).seq());
    }
    assertThat(resent).containsExactly(5L, 9L);
    assertThat(shipper.stats().timeouts()).isEqualTo(1);
  }

  @Test
  void admissionWaitsWhenTheQueueIsFullAndFollowsTheLink() {
    LinkConfig config = config(FecParams.of(4, 0)).withWindow(4, 1000);
    RecordingDatagrams net = new RecordingDatagrams(true);
    Events events = new Events();
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, events);
    for (int i = 0; i < 20; i++) {
      shipper.offer(new byte[180], 0);
    }
    assertThat(events.lastAdmitted()).isEqualTo(6); // 6 x 180 bytes: the 6th starts at 900 < 1000
    shipper.poll(0);
    long afterWindow = events.lastAdmitted();
    assertThat(afterWindow).isGreaterThan(6).isLessThan(20);
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.ack(77, 4, 0), 1);
    shipper.poll(1);
    assertThat(events.lastAdmitted()).isGreaterThan(afterWindow);
    assertThat(events.admitted).isSorted();
  }

  @Test
  void appliedFollowsTheMirrorsAcks() {
    LinkConfig config = config(FecParams.of(4, 1));
    RecordingDatagrams net = new RecordingDatagrams(true);
    Events events = new Events();
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, events);
    for (int i = 0; i < 3; i++) {
      shipper.offer(new byte[10], 0);
    }
    shipper.poll(0);
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.ack(77, 1, 2), 1);
    assertThat(events.applied).containsExactly(2L);
    assertThat(shipper.stats().lagWrites()).isEqualTo(1);
    assertThat(shipper.stats().lagBytes()).isEqualTo(10);
  }

  /** What the primary's port receives that is not a valid ACK/NACK from the mirror changes nothing. */
  @Test
  void badInputIsDroppedAndCounted() {
    LinkConfig config = config(FecParams.of(4, 1));
    RecordingDatagrams net = new RecordingDatagrams(true);
    Events events = new Events();
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, events);
    shipper.offer(new byte[10], 0);
    shipper.poll(0);
    ByteBuffer ack = Wire.ack(77, 1, 1);
    shipper.onDatagram(RecordingDatagrams.STRANGER, ack.duplicate(), 1);
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.ack(78, 1, 1), 1);
    shipper.onDatagram(RecordingDatagrams.MIRROR, ack.duplicate().limit(20), 1);
    ByteBuffer flipped = RecordingDatagrams.copy(ack);
    flipped.put(20, (byte) (flipped.get(20) ^ 4));
    shipper.onDatagram(RecordingDatagrams.MIRROR, flipped, 1);
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.ack(77, 99, 0), 1); // beyond what was sent
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.ack(77, 0, 5), 1); // applied unsent
    shipper.onDatagram(RecordingDatagrams.MIRROR, Wire.data(77, 0, 0, new byte[0], 0), 1);
    Shipper.Stats stats = shipper.stats();
    assertThat(stats.dropped(Wire.Drop.WRONG_SOURCE)).isEqualTo(1);
    assertThat(stats.dropped(Wire.Drop.FOREIGN_LINK)).isEqualTo(1);
    assertThat(stats.dropped(Wire.Drop.TRUNCATED)).isEqualTo(1);
    assertThat(stats.dropped(Wire.Drop.BAD_CHECKSUM)).isEqualTo(1);
    assertThat(stats.dropped(Wire.Drop.MALFORMED)).isEqualTo(3);
    assertThat(events.applied).isEmpty();
    assertThat(stats.ackedBelow()).isZero();
    shipper.onDatagram(RecordingDatagrams.MIRROR, ack.duplicate(), 1);
    assertThat(events.applied).containsExactly(1L);
  }

  @Test
  void emptyAndOversizedGroupsAreRefused() {
    LinkConfig config = config(FecParams.of(4, 1)).withGroupBytesMax(100);
    Shipper shipper = new Shipper(config, new RecordingDatagrams(true), RecordingDatagrams.MIRROR,
        new Events());
    assertThatThrownBy(() -> shipper.offer(new byte[0], 0)).hasMessageContaining("groupBytesMax");
    assertThatThrownBy(() -> shipper.offer(new byte[101], 0)).hasMessageContaining("groupBytesMax");
  }
}
