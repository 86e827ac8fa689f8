package io.respawn.server.mirror;

import io.respawn.mirror.LinkConfig;
import io.respawn.mirror.Receiver;
import io.respawn.mirror.Wire;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.MutationBatchCodec;
import io.respawn.storage.WriteTicket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The mirror site's end ({@code --mirror-of}): the {@link Receiver} on the link's thread hands
 * over whole groups in position order, each applied to the engine as one atomic batch (a group is
 * never half applied); once the engine has it in its log the position is reported back (what
 * REMOTE waits for). Clients may read; their writes are refused until {@link #promote}, which
 * stops applying — a group not yet complete is dropped whole — and reports the last applied
 * position.
 *
 * <p>Threads: everything on the link's thread except {@link #refusesWrites} (a volatile read by
 * the command thread) and the futures handed to it.
 */
final class ReceivingSite implements MirrorSite {
  private static final Logger log = LoggerFactory.getLogger(ReceivingSite.class);

  private final MirrorSettings settings;
  private final LinkConfig config;
  private KvStore store;
  private UdpLink link;
  private Receiver receiver;
  private volatile boolean promoted;
  /** The last group given to the engine (it is in the store, visible to reads). */
  private long appliedPosition;
  /** The last group the engine has in its log, reported to the primary. */
  private long loggedPosition;
  private long appliedWrites;
  private String failure;

  ReceivingSite(MirrorSettings settings) {
    this.settings = settings;
    this.config = settings.link();
  }

  @Override
  public KvStore attach(KvStore engine) throws InterruptedException {
    this.store = engine;
    link = UdpLink.bind(settings.bind(), settings.acceptFrom(), config.frameBytesMax());
    receiver = new Receiver(config, link, settings.acceptFrom(), this::deliver);
    link.start(receiver::onDatagram, now -> {
      if (loggedPosition > receiver.appliedPosition()) {
        receiver.applied(loggedPosition); // outside the receiver's own calls, as it requires
      }
      return receiver.poll(now);
    });
    log.info("mirror of {}: listening on UDP {} (link id {}); client writes refused until"
        + " promoted", settings.acceptFrom(), link.localAddress(), config.linkId());
    return engine;
  }

  /** UDP port actually bound (tests and the bench bind port 0). */
  int udpPort() {
    return link.localAddress().getPort();
  }

  /** Link thread, from inside the receiver: one whole group, in order. */
  private void deliver(long position, byte[] group) {
    if (promoted || failure != null) {
      return;
    }
    List<Mutation> batch;
    WriteTicket ticket;
    try {
      batch = MutationBatchCodec.decode(group);
      ticket = store.apply(batch);
    } catch (RuntimeException e) {
      failure = "applying position " + position + " failed: " + e.getMessage();
      log.error("mirror stops: {}", failure);
      return;
    }
    appliedPosition = position;
    appliedWrites += batch.size();
    if (ticket.ordered().isDone() && !ticket.ordered().isCompletedExceptionally()) {
      loggedPosition = position; // the usual case: the next poll reports it in the same ACK
    } else {
      ticket.ordered().whenComplete((v, e) -> link.loop().execute(() -> logged(position, e)));
    }
  }

  private void logged(long position, Throwable error) {
    if (error != null) {
      if (failure == null) {
        failure = "the engine failed position " + position + ": " + error.getMessage();
        log.error("mirror stops: {}", failure);
      }
      return;
    }
    if (position > loggedPosition && !promoted) {
      loggedPosition = position;
      link.pump();
    }
  }

  @Override
  public MirrorAck defaultAck() {
    return settings.defaultAck();
  }

  @Override
  public boolean refusesWrites() {
    return !promoted;
  }

  @Override
  public CompletableFuture<String> status() {
    return link.call(() -> {
      Receiver.Stats s = receiver.stats();
      StringBuilder b = new StringBuilder();
      ShippingSite.line(b, "role", promoted ? "promoted" : "mirror");
      ShippingSite.line(b, "peer", settings.acceptFrom());
      ShippingSite.line(b, "local_udp", link.localAddress());
      ShippingSite.line(b, "link_id", config.linkId());
      ShippingSite.line(b, "applied_position", appliedPosition);
      ShippingSite.line(b, "logged_position", loggedPosition);
      ShippingSite.line(b, "applied_writes", appliedWrites);
      ShippingSite.line(b, "highest_position_seen", s.highestPositionSeen());
      ShippingSite.line(b, "lag_writes", Math.max(0, s.highestPositionSeen() - appliedPosition));
      ShippingSite.line(b, "lag_bytes", s.heldBytes());
      ShippingSite.line(b, "received_below", s.receivedBelow());
      ShippingSite.line(b, "highest_seq_seen", s.highestSeen());
      ShippingSite.line(b, "missing_packets", s.missing());
      ShippingSite.line(b, "data_packets", s.dataPackets());
      ShippingSite.line(b, "repair_packets", s.repairPackets());
      ShippingSite.line(b, "recovered_by_fec", s.recovered());
      ShippingSite.line(b, "nacks_sent", s.nacksSent());
      ShippingSite.line(b, "packets_nacked", s.seqsNacked());
      ShippingSite.line(b, "acks_sent", s.acksSent());
      for (Wire.Drop d : Wire.Drop.values()) {
        ShippingSite.line(b, "dropped_" + d.name().toLowerCase(java.util.Locale.ROOT),
            s.dropped(d));
      }
      ShippingSite.line(b, "kernel_drops", KernelUdpDrops.of(link.localAddress().getPort()));
      if (s.broken() != null || failure != null) {
        ShippingSite.line(b, "failure", failure != null ? failure : s.broken());
      }
      return b.toString();
    });
  }

  @Override
  public CompletableFuture<String> promote() {
    return link.call(() -> {
      if (!promoted) {
        promoted = true;
        log.info("promoted: stopped applying at position {}; serving writes", appliedPosition);
      }
      return "promoted at applied position " + appliedPosition + " (" + appliedWrites
          + " writes applied)";
    });
  }

  @Override
  public void close() {
    if (link != null) {
      link.close();
    }
  }
}
