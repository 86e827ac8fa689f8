package io.respawn.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Shipper and receiver over a simulated network that does everything the {@link Datagrams}
 * contract allows: bursty loss, duplication, reordering, truncation, corruption, and forged
 * datagrams from a stranger's address and from another link. One seed drives it all (printed in
 * every failure). The mirror must deliver every group exactly once, whole, in order, and the
 * shipper's positions must all reach the end once the network calms down.
 */
class LinkSimulationTest {
  static final long MS = 1_000_000;

  static LongStream seeds() {
    return LongStream.rangeClosed(1, 24);
  }

  /** A datagram in flight. */
  record Flight(long atNanos, long order, boolean toMirror, InetSocketAddress from, ByteBuffer bytes)
      implements Comparable<Flight> {
    @Override
    public int compareTo(Flight o) {
      return atNanos != o.atNanos ? Long.compare(atNanos, o.atNanos) : Long.compare(order, o.order);
    }
  }

  /** One direction's misbehaviour, driven by the shared seeded random. */
  static final class Network {
    final Random rnd;
    final PriorityQueue<Flight> flights = new PriorityQueue<>();
    long order;
    boolean calm;
    boolean bad; // Gilbert-Elliott state
    long forged;

    Network(Random rnd) {
      this.rnd = rnd;
    }

    void send(long now, boolean toMirror, InetSocketAddress from, ByteBuffer datagram) {
      if (!calm) {
        bad = bad ? rnd.nextDouble() > 0.25 : rnd.nextDouble() < 0.005;
        if (rnd.nextDouble() < (bad ? 0.6 : 0.01)) {
          return; // lost
        }
        if (rnd.nextDouble() < 0.01) {
          deliver(now, toMirror, from, RecordingDatagrams.copy(datagram)); // duplicated
        }
        if (rnd.nextDouble() < 0.005) {
          datagram = datagram.duplicate().limit(rnd.nextInt(datagram.remaining())); // truncated
        } else if (rnd.nextDouble() < 0.005) {
          ByteBuffer c = RecordingDatagrams.copy(datagram);
          int at = rnd.nextInt(c.remaining());
          c.put(at, (byte) (c.get(at) ^ (1 + rnd.nextInt(255)))); // corrupted
          datagram = c;
        }
        if (rnd.nextDouble() < 0.01) {
          forged += 2;
          deliver(now, toMirror, RecordingDatagrams.STRANGER, RecordingDatagrams.copy(datagram));
          ByteBuffer foreign = RecordingDatagrams.copy(datagram);
          if (foreign.remaining() >= 12) {
            foreign.putInt(8, foreign.getInt(8) + 1);
          }
          deliver(now, toMirror, from, foreign);
        }
      }
      deliver(now, toMirror, from, datagram);
    }

    private void deliver(long now, boolean toMirror, InetSocketAddress from, ByteBuffer d) {
      long delay = 10 * MS + (calm ? 0 : rnd.nextInt(3 * (int) MS)); // jitter reorders
      flights.add(new Flight(now + delay, order++, toMirror, from, d));
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void everyGroupArrivesOnceWholeAndInOrder(long seed) {
    Random rnd = new Random(seed);
    FecParams fec = seed % 3 == 0 ? FecParams.of(4, 2) : FecParams.of(8, 3);
    LinkConfig config = LinkConfig.defaults(5).withFec(fec).withFrameBytesMax(300)
        .withPacing(seed % 2 == 0 ? 0 : 2_000_000, 32_768)
        .withTimers(MS, 100 * MS, 15 * MS, 40 * MS);
    Network net = new Network(rnd);
    long[] now = {0};
    Datagrams primaryPort = new Datagrams() {
      long sent;

      @Override
      public void send(ByteBuffer datagram) {
        sent++;
        net.send(now[0], true, RecordingDatagrams.PRIMARY, datagram);
      }

      @Override
      public long handedCount() {
        return sent;
      }
    };
    Datagrams mirrorPort = new Datagrams() {
      long sent;

      @Override
      public void send(ByteBuffer datagram) {
        sent++;
        net.send(now[0], false, RecordingDatagrams.MIRROR, datagram);
      }

      @Override
      public long handedCount() {
        return sent;
      }
    };
    ShipperTest.Events events = new ShipperTest.Events();
    Shipper shipper = new Shipper(config, primaryPort, RecordingDatagrams.MIRROR, events);
    List<byte[]> delivered = new ArrayList<>();
    List<Long> positions = new ArrayList<>();
    Receiver receiver = new Receiver(config, mirrorPort, RecordingDatagrams.PRIMARY,
        (position, group) -> {
          positions.add(position);
          delivered.add(group);
        });

    List<byte[]> offered = new ArrayList<>();
    long nextOffer = 0;
    long offerUntil = 1_500 * MS;
    long deadline = 60_000 * MS;
    long shipperWake = 0;
    long receiverWake = 0;
    while (now[0] < deadline) {
      if (now[0] >= offerUntil) {
        net.calm = true;
        if (receiver.appliedPosition() == offered.size() && events.applied.size() > 0
            && shipper.appliedPosition() == offered.size()
            && shipper.sentPosition() == offered.size()) {
          break;
        }
      }
      long next = Math.min(shipperWake, receiverWake);
      if (nextOffer < offerUntil) {
        next = Math.min(next, nextOffer);
      }
      if (!net.flights.isEmpty()) {
        next = Math.min(next, net.flights.peek().atNanos());
      }
      now[0] = Math.max(now[0], Math.min(next, deadline));
      if (nextOffer <= now[0] && nextOffer < offerUntil) {
        byte[] group = new byte[1 + rnd.nextInt(rnd.nextInt(20) == 0 ? 2_000 : 100)];
        rnd.nextBytes(group);
        offered.add(group);
        shipper.offer(group, now[0]);
        nextOffer = now[0] + rnd.nextInt(1_000_000);
      }
      while (!net.flights.isEmpty() && net.flights.peek().atNanos() <= now[0]) {
        Flight f = net.flights.poll();
        if (f.toMirror()) {
          receiver.onDatagram(f.from(), f.bytes(), now[0]);
          receiver.applied(receiver.deliveredPosition());
        } else {
          shipper.onDatagram(f.from(), f.bytes(), now[0]);
        }
      }
      shipperWake = shipper.poll(now[0]);
      receiverWake = receiver.poll(now[0]);
    }

    assertThat(receiver.broken()).as("seed %d", seed).isNull();
    assertThat(delivered).as("seed %d: groups delivered", seed).hasSize(offered.size());
    for (int i = 0; i < offered.size(); i++) {
      assertThat(positions.get(i)).isEqualTo(i + 1);
      assertThat(delivered.get(i)).as("seed %d group %d", seed, i + 1).isEqualTo(offered.get(i));
    }
    assertThat(shipper.appliedPosition()).as("seed %d", seed).isEqualTo(offered.size());
    assertThat(shipper.sentPosition()).as("seed %d", seed).isEqualTo(offered.size());
    assertThat(events.sent).isSorted();
    assertThat(events.applied).isSorted();
    Receiver.Stats rs = receiver.stats();
    assertThat(rs.dropped(Wire.Drop.WRONG_SOURCE) + shipper.stats().dropped(Wire.Drop.WRONG_SOURCE))
        .as("seed %d: every forged datagram from the stranger is dropped", seed)
        .isEqualTo(net.forged / 2);
    assertThat(rs.recovered()).as("seed %d: FEC recovered some", seed).isPositive();
  }
}
