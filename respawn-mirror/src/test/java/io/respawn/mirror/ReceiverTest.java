package io.respawn.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The mirror's port: bad input is dropped and counted, never applied; groups arrive whole. */
class ReceiverTest {
  static final long MS = 1_000_000;

  record Delivered(long position, byte[] group) {}

  /** A shipper's datagrams for the given groups (all handed at once, nothing lost). */
  static List<ByteBuffer> ship(LinkConfig config, List<byte[]> groups) {
    RecordingDatagrams net = new RecordingDatagrams(true);
    Shipper shipper = new Shipper(config, net, RecordingDatagrams.MIRROR, new ShipperTest.Events());
    for (byte[] g : groups) {
      shipper.offer(g, 0);
    }
    shipper.poll(0);
    shipper.poll(10 * MS); // flush the FEC bins
    return net.sent;
  }

  static List<byte[]> groups(Random rnd, int n, int bytesMax) {
    List<byte[]> groups = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      byte[] g = new byte[1 + rnd.nextInt(bytesMax)];
      rnd.nextBytes(g);
      groups.add(g);
    }
    return groups;
  }

  /** n groups of the given size (189 bytes: one 200-byte frame each). */
  static List<byte[]> fixedGroups(int n, int bytes) {
    List<byte[]> groups = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      groups.add(new byte[bytes]);
    }
    return groups;
  }

  static LinkConfig config(FecParams fec) {
    return LinkConfig.defaults(77).withFec(fec).withFrameBytesMax(200);
  }

  static final class Mirror {
    final RecordingDatagrams net = new RecordingDatagrams(true);
    final List<Delivered> delivered = new ArrayList<>();
    final Receiver receiver;

    Mirror(LinkConfig config) {
      receiver = new Receiver(config, net, RecordingDatagrams.PRIMARY,
          (position, group) -> delivered.add(new Delivered(position, group)));
    }

    void receive(ByteBuffer datagram, long now) {
      receiver.onDatagram(RecordingDatagrams.PRIMARY, datagram.duplicate(), now);
    }

    void assertDelivered(List<byte[]> groups) {
      assertThat(delivered).hasSize(groups.size());
      for (int i = 0; i < groups.size(); i++) {
        assertThat(delivered.get(i).position()).isEqualTo(i + 1);
        assertThat(delivered.get(i).group()).isEqualTo(groups.get(i));
      }
    }
  }

  @Test
  void truncatedReorderedDuplicatedAndForgedDatagramsAreDroppedAndCounted() {
    Random rnd = new Random(11);
    LinkConfig config = config(FecParams.of(4, 2));
    List<byte[]> groups = groups(rnd, 60, 500);
    List<ByteBuffer> datagrams = ship(config, groups);
    Mirror mirror = new Mirror(config);
    List<ByteBuffer> shuffled = new ArrayList<>(datagrams);
    Collections.shuffle(shuffled, rnd);
    long expectDuplicates = 0;
    int i = 0;
    for (ByteBuffer d : shuffled) {
      // Before each real datagram: a truncated copy, a corrupted copy, a forged copy from a
      // stranger, the same from another link; and sometimes a duplicate after it.
      mirror.receive(d.duplicate().limit(rnd.nextInt(d.remaining())), 0);
      ByteBuffer flipped = RecordingDatagrams.copy(d);
      int at = rnd.nextInt(flipped.remaining());
      flipped.put(at, (byte) (flipped.get(at) ^ (1 << rnd.nextInt(8))));
      mirror.receive(flipped, 0);
      mirror.receiver.onDatagram(RecordingDatagrams.STRANGER, d.duplicate(), 0);
      ByteBuffer foreign = RecordingDatagrams.copy(d);
      foreign.putInt(8, 78);
      mirror.receive(foreign, 0);
      mirror.receive(d, 0);
      if (i++ % 3 == 0) {
        mirror.receive(d, 0);
        expectDuplicates++;
      }
    }
    mirror.assertDelivered(groups);
    Receiver.Stats stats = mirror.receiver.stats();
    int n = shuffled.size();
    assertThat(stats.dropped(Wire.Drop.WRONG_SOURCE)).isEqualTo(n);
    assertThat(stats.dropped(Wire.Drop.FOREIGN_LINK)
        + stats.dropped(Wire.Drop.BAD_CHECKSUM)).isGreaterThanOrEqualTo(n);
    assertThat(stats.dropped(Wire.Drop.TRUNCATED) + stats.dropped(Wire.Drop.NOT_MIRROR))
        .isGreaterThanOrEqualTo(n);
    // Corrupted copies never pass; duplicates (and repairs that came after the data they cover)
    // count as duplicates.
    long dropped = stats.droppedTotal();
    assertThat(dropped).isGreaterThanOrEqualTo(4L * n + expectDuplicates);
    assertThat(stats.broken()).isNull();
  }

  @Test
  void aReplayAfterConsumptionIsADuplicate() {
    LinkConfig config = config(FecParams.of(4, 1));
    List<byte[]> groups = groups(new Random(2), 5, 50);
    List<ByteBuffer> datagrams = ship(config, groups);
    Mirror mirror = new Mirror(config);
    for (ByteBuffer d : datagrams) {
      mirror.receive(d, 0);
    }
    for (ByteBuffer d : datagrams) {
      mirror.receive(d, 0);
    }
    mirror.assertDelivered(groups);
    assertThat(mirror.receiver.stats().dropped(Wire.Drop.DUPLICATE))
        .isGreaterThanOrEqualTo(datagrams.size());
  }

  @Test
  void aForgedDatagramFromTheRightAddressButBeyondTheWindowIsRefused() {
    LinkConfig config = config(FecParams.of(4, 1));
    Mirror mirror = new Mirror(config);
    byte[] frame = new byte[20];
    ByteBuffer b = ByteBuffer.wrap(frame);
    Frames.put(b, Frames.FLAG_FIRST | Frames.FLAG_LAST, 1, new byte[9], 0, 9);
    mirror.receive(Wire.data(77, 1L << 40, FecDecoder.crc32c(frame), frame, 20), 0);
    mirror.receive(Wire.repair(77, new RepairSymbol(0, 1, 1L << 40, 1, 20, 0, frame)), 0);
    assertThat(mirror.receiver.stats().dropped(Wire.Drop.BEYOND_WINDOW)).isEqualTo(2);
    assertThat(mirror.delivered).isEmpty();
    mirror.receive(Wire.ack(77, 5, 5), 0);
    assertThat(mirror.receiver.stats().dropped(Wire.Drop.UNEXPECTED_TYPE)).isEqualTo(1);
  }

  /** A group spanning many packets is delivered whole or not at all, and groups in order. */
  @Test
  void aGroupIsDeliveredWholeOnlyOnceEveryPacketIsThere() {
    LinkConfig config = config(FecParams.of(4, 0));
    byte[] big = new byte[1500];
    new Random(4).nextBytes(big);
    List<byte[]> groups = List.of(new byte[] {1}, big, new byte[] {2});
    List<ByteBuffer> datagrams = ship(config, groups);
    assertThat(datagrams.size()).isGreaterThan(5);
    Mirror mirror = new Mirror(config);
    int lost = 3;
    for (int i = 0; i < datagrams.size(); i++) {
      if (i != lost) {
        mirror.receive(datagrams.get(i), 0);
      }
    }
    assertThat(mirror.delivered).hasSize(1); // group 1; group 2 misses a packet; 3 waits behind it
    mirror.receive(datagrams.get(lost), 0);
    mirror.assertDelivered(groups);
  }

  @Test
  void missingPacketsAreNackedAfterTheDelayAndAgainAfterTheRepeat() {
    LinkConfig config = config(FecParams.of(4, 0)).withTimers(MS, 500 * MS, 20 * MS, 200 * MS);
    List<ByteBuffer> datagrams = ship(config, fixedGroups(10, 189));
    Mirror mirror = new Mirror(config);
    for (int i = 0; i < datagrams.size(); i++) {
      if (i != 2 && i != 3 && i != 6) {
        mirror.receive(datagrams.get(i), 0);
      }
    }
    assertThat(datagrams).hasSize(10);
    mirror.receiver.poll(10 * MS);
    assertThat(nacked(mirror, config)).isEmpty();
    mirror.receiver.poll(25 * MS);
    assertThat(nacked(mirror, config)).containsExactly(2L, 3L, 6L);
    mirror.receive(datagrams.get(6), 30 * MS);
    mirror.receiver.poll(100 * MS);
    assertThat(nacked(mirror, config)).isEmpty();
    mirror.receiver.poll(230 * MS);
    assertThat(nacked(mirror, config)).containsExactly(2L, 3L);
  }

  @Test
  void acksCarryTheReceivedAndAppliedPositions() {
    LinkConfig config = config(FecParams.of(4, 1));
    List<byte[]> groups = groups(new Random(6), 3, 20);
    Mirror mirror = new Mirror(config);
    for (ByteBuffer d : ship(config, groups)) {
      mirror.receive(d, 0);
    }
    mirror.receiver.applied(2);
    mirror.receiver.poll(MS);
    Wire.Ack ack = lastAck(mirror, config);
    assertThat(ack.receivedBelow()).isEqualTo(1);
    assertThat(ack.appliedPosition()).isEqualTo(2);
  }

  static Wire.Ack lastAck(Mirror mirror, LinkConfig config) {
    Wire.Ack last = null;
    for (int i = 0; i < mirror.net.sent.size(); i++) {
      if (mirror.net.packet(i, config) instanceof Wire.Ack a) {
        last = a;
      }
    }
    return last;
  }

  /** Seqs NACKed since the last call. */
  private int nackSeen;

  private List<Long> nacked(Mirror mirror, LinkConfig config) {
    List<Long> seqs = new ArrayList<>();
    for (; nackSeen < mirror.net.sent.size(); nackSeen++) {
      if (mirror.net.packet(nackSeen, config) instanceof Wire.Nack n) {
        for (int i = 0; i < n.firsts().length; i++) {
          for (long s = n.firsts()[i]; s < n.firsts()[i] + n.counts()[i]; s++) {
            seqs.add(s);
          }
        }
      }
    }
    return seqs;
  }
}
