package io.respawn.server.mirror;

import io.respawn.mirror.LinkConfig;
import io.respawn.mirror.Shipper;
import io.respawn.mirror.Wire;
import io.respawn.storage.KvStore;
import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary site's end of mirroring ({@code --mirror-to}): its store ships every committed
 * batch ({@link MirroredStore}), the {@link Shipper} on the link's thread turns them into FEC
 * protected datagrams, and its callbacks release the replies waiting for LOCAL (admitted),
 * NETWORK (sent) or REMOTE (applied).
 *
 * <p>Threads: {@link #ship} and {@link #await} run on the command thread; everything else on
 * the link's thread ({@link UdpLink}). Positions are given out by {@link #ship} in commit order
 * and handed to the link's thread in that order, so they equal the shipper's.
 */
final class ShippingSite implements MirrorSite {
  private static final Logger log = LoggerFactory.getLogger(ShippingSite.class);

  /** A batch's place in the mirror stream. */
  record Shipped(long position, long startBytes) {}

  private final MirrorSettings settings;
  private final LinkConfig config;
  private final Waiters admitted = new Waiters();
  private final Waiters sent = new Waiters();
  private final Waiters applied = new Waiters();
  private UdpLink link;
  private Shipper shipper;
  /** Command thread: positions and bytes given out. */
  private long offeredPosition;
  private long offeredBytes;
  /** Group bytes the shipper has cut into packets; published by the link's thread. */
  private volatile long packetizedBytes;

  ShippingSite(MirrorSettings settings) {
    this.settings = settings;
    this.config = settings.link();
  }

  @Override
  public KvStore attach(KvStore engine) throws InterruptedException {
    if (engine.keyCount() > 0) {
      log.warn("mirroring starts at position 1 from now on: the {} keys already stored are not"
          + " sent to the mirror", engine.keyCount());
    }
    link = UdpLink.bind(settings.bind(), settings.shipTo(), config.frameBytesMax());
    shipper = new Shipper(config, link, settings.shipTo(), new Shipper.Listener() {
      @Override
      public void admitted(long position) {
        admitted.advance(position);
      }

      @Override
      public void sent(long position) {
        sent.advance(position);
      }

      @Override
      public void applied(long position) {
        applied.advance(position);
      }
    });
    link.start(shipper::onDatagram, now -> {
      long wake = shipper.poll(now);
      packetizedBytes = shipper.packetizedBytes();
      return wake;
    });
    log.info("mirroring to {} from UDP {} (link id {}, FEC {}, default ack {})",
        settings.shipTo(), link.localAddress(), config.linkId(), config.fec(),
        settings.defaultAck());
    return new MirroredStore(engine, this);
  }

  /** Command thread: gives the batch the next position and hands it to the link's thread. */
  synchronized Shipped ship(byte[] group) {
    long position = ++offeredPosition;
    long startBytes = offeredBytes;
    offeredBytes += group.length;
    try {
      link.loop().execute(() -> {
        long p = shipper.offer(group, System.nanoTime());
        assert p == position : "shipper position " + p + " != " + position;
        link.pump();
      });
    } catch (java.util.concurrent.RejectedExecutionException e) {
      // The link is closing with the server: the batch is committed locally, not mirrored.
    }
    return new Shipped(position, startBytes);
  }

  /** Command thread: the gate of a batch at {@code position} for {@code mode}. */
  CompletableFuture<Void> await(MirrorAck mode, long position, long startBytes) {
    return switch (mode) {
      case LOCAL -> startBytes - packetizedBytes < config.queueBytesMax()
          ? CompletableFuture.completedFuture(null) : admitted.await(position);
      case NETWORK -> sent.await(position);
      case REMOTE -> applied.await(position);
    };
  }

  @Override
  public MirrorAck defaultAck() {
    return settings.defaultAck();
  }

  @Override
  public boolean refusesWrites() {
    return false;
  }

  @Override
  public CompletableFuture<String> status() {
    return link.call(() -> {
      Shipper.Stats s = shipper.stats();
      StringBuilder b = new StringBuilder();
      line(b, "role", "primary");
      line(b, "peer", settings.shipTo());
      line(b, "local_udp", link.localAddress());
      line(b, "link_id", config.linkId());
      line(b, "fec", "r=" + config.fec().r() + " c=" + config.fec().layers());
      line(b, "default_ack", settings.defaultAck().name().toLowerCase(java.util.Locale.ROOT));
      line(b, "offered_position", s.offeredPosition());
      line(b, "admitted_position", s.admittedPosition());
      line(b, "sent_position", s.sentPosition());
      line(b, "applied_position", s.appliedPosition());
      line(b, "lag_writes", s.lagWrites());
      line(b, "lag_bytes", s.lagBytes());
      line(b, "queued_bytes", s.queuedBytes());
      line(b, "data_packets", s.dataPackets());
      line(b, "repair_packets", s.repairPackets());
      line(b, "retransmissions", s.retransmissions());
      line(b, "nacks_received", s.nacksReceived());
      line(b, "timeouts", s.timeouts());
      line(b, "datagrams_sent", s.datagramsSent());
      line(b, "datagrams_handed", s.datagramsHanded());
      for (Wire.Drop d : Wire.Drop.values()) {
        line(b, "dropped_" + d.name().toLowerCase(java.util.Locale.ROOT), s.dropped(d));
      }
      line(b, "kernel_drops", KernelUdpDrops.of(link.localAddress().getPort()));
      return b.toString();
    });
  }

  @Override
  public CompletableFuture<String> promote() {
    return CompletableFuture.failedFuture(new IllegalStateException(
        "this node is the primary site (--mirror-to): there is nothing to promote"));
  }

  static void line(StringBuilder b, String name, Object value) {
    b.append(name).append(':').append(value).append("\r\n");
  }

  @Override
  public void close() {
    IOException gone = new IOException("the mirror link is closed");
    admitted.fail(gone);
    sent.fail(gone);
    applied.fail(gone);
    if (link != null) {
      link.close();
    }
  }
}
