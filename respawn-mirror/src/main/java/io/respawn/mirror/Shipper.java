package io.respawn.mirror;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The primary site's end of the mirror link: turns the committed write stream — groups, each one
 * committed batch of writes, opaque bytes here — into paced, FEC-protected datagrams, and tells
 * its owner how far each group has got.
 *
 * <p><b>Stream.</b> {@link #offer} gives a group the next position (1, 2, …). Groups are cut into
 * entries of data frames ({@link Frames}), several small groups per frame; data packet seqs run
 * 0, 1, 2, …, and each packet is fed to the {@link FecEncoder}, whose repairs go out right after
 * it. Sending is paced to {@code bytesPerSecond}; at most {@code windowPacketsMax} packets are
 * kept for retransmission. The mirror's cumulative ACK releases them; its NACKs, and a timeout
 * with no ACK progress, resend them (retransmissions are not FEC-coded again).
 *
 * <p><b>Acknowledgements</b> ({@link Listener}, each a cumulative position, called in order):
 * <ul>
 *   <li>{@code admitted} — the group is in the send queue within {@code queueBytesMax}: what
 *       local-sync waits for (usually at once; later only when the link is the bottleneck).
 *   <li>{@code sent} — the <em>sent callback</em> of network-sync: every data packet carrying
 *       the group, and every repair packet covering those packets, has been handed to the network
 *       ({@link Datagrams#handedCount}). Never earlier: a packet whose layer-j XOR is still open
 *       in its bin is not sent yet, so when the link goes idle the encoder is flushed after
 *       {@code flushDelayNanos}.
 *   <li>{@code applied} — the mirror reported it applied the group: what remote-sync waits for.
 * </ul>
 *
 * <p>Owned by one thread; time is passed in. The owner calls {@link #poll} after every change
 * (an offer, an inbound datagram, the network taking datagrams) and again at the time it returns.
 * Listener methods are called from inside these calls and must not call back into the shipper.
 *
 * <p>Invariants: {@code releasedBelow <= min(ackedBelow, sentBelow)}, {@code sentBelow <=
 * nextSeq}, {@code ackedBelow <= nextSeq}, {@code nextSeq - releasedBelow <= windowPacketsMax};
 * {@code sentPosition, appliedPosition <= offeredPosition}.
 */
public final class Shipper {

  /** Progress of the groups; positions are cumulative and only grow. */
  public interface Listener {
    /** Every group up to position is admitted into the send queue. */
    void admitted(long position);

    /** Every group up to position is on the wire with every repair packet covering it. */
    void sent(long position);

    /** The mirror applied every group up to position. */
    void applied(long position);
  }

  /** Counters and positions, for status. */
  public record Stats(
      long offeredPosition,
      long admittedPosition,
      long sentPosition,
      long appliedPosition,
      long lagBytes,
      long queuedBytes,
      long nextSeq,
      long ackedBelow,
      long dataPackets,
      long repairPackets,
      long retransmissions,
      long nacksReceived,
      long timeouts,
      long datagramsSent,
      long datagramsHanded,
      long[] drops) {

    /** Groups offered but not yet applied by the mirror. */
    public long lagWrites() {
      return offeredPosition - appliedPosition;
    }

    public long dropped(Wire.Drop reason) {
      return drops[reason.ordinal()];
    }

    public long droppedTotal() {
      long total = 0;
      for (long d : drops) {
        total += d;
      }
      return total;
    }
  }

  private final LinkConfig config;
  private final Datagrams out;
  private final InetSocketAddress peer;
  private final Listener listener;
  private final FecEncoder encoder;
  private final Pacer pacer;

  /** A group not yet fully packetized. */
  private static final class QueuedGroup {
    final long position;
    final byte[] bytes;
    final long startBytes;
    int offset;

    QueuedGroup(long position, byte[] bytes, long startBytes) {
      this.position = position;
      this.bytes = bytes;
      this.startBytes = startBytes;
    }
  }

  /** Where a packetized group ends: in the packet stream and in the byte stream. */
  private record GroupEnd(long position, long endSeq, long endBytes) {}

  /** A data packet kept for retransmission and for the sent callback. */
  private static final class Packet {
    final byte[] frame;
    final int crc;
    /** Index (in send order) of its first transmission, -1 before it. */
    long dataIndex = -1;
    /** Highest send index among the repairs covering it. */
    long coverIndexMax = -1;
    /** Covering repairs not yet sent (one per layer). */
    int repairsPending;
    boolean retransmitQueued;

    Packet(byte[] frame, int crc, int layers) {
      this.frame = frame;
      this.crc = crc;
      this.repairsPending = layers;
    }
  }

  private final ArrayDeque<QueuedGroup> queue = new ArrayDeque<>();
  private final ArrayDeque<QueuedGroup> unadmitted = new ArrayDeque<>();
  private final ArrayDeque<GroupEnd> unsent = new ArrayDeque<>();
  private final ArrayDeque<GroupEnd> unapplied = new ArrayDeque<>();
  private long offeredPosition;
  private long offeredBytes;
  private long packetizedBytes;
  private long admittedPosition;
  private long sentPosition;
  private long appliedPosition;
  private long appliedBytes;

  private final Packet[] ring;
  private final int mask;
  private long releasedBelow;
  private long nextSeq;
  private long ackedBelow;
  private long sentBelow;

  private final ArrayDeque<RepairSymbol> repairQueue = new ArrayDeque<>();
  private final ArrayDeque<Long> retransmitQueue = new ArrayDeque<>();
  private final List<RepairSymbol> emitted = new ArrayList<>();
  private long sendCount;
  private long unflushedSinceNanos = -1;
  private long lastProgressNanos;
  private long lastTimeoutNanos;

  private long dataPackets;
  private long repairPackets;
  private long retransmissions;
  private long nacksReceived;
  private long timeouts;
  private final long[] drops = new long[Wire.Drop.values().length];

  public Shipper(LinkConfig config, Datagrams out, InetSocketAddress peer, Listener listener) {
    this.config = Objects.requireNonNull(config, "config");
    this.out = Objects.requireNonNull(out, "out");
    this.peer = Objects.requireNonNull(peer, "peer");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.encoder = new FecEncoder(config.fec(), config.frameBytesMax());
    this.pacer = new Pacer(config.bytesPerSecond(), config.burstBytes());
    int capacity = Integer.highestOneBit(Math.max(1, config.windowPacketsMax() - 1)) << 1;
    this.ring = new Packet[capacity];
    this.mask = capacity - 1;
  }

  /**
   * Queues one group (one committed batch, in commit order) and returns its position. Never
   * refuses a group within {@code groupBytesMax}: admission beyond {@code queueBytesMax} is
   * reported later through {@link Listener#admitted}.
   */
  public long offer(byte[] group, long nowNanos) {
    if (group.length == 0 || group.length > config.groupBytesMax()) {
      throw new IllegalArgumentException("group of " + group.length
          + " bytes: must be 1.." + config.groupBytesMax() + " (groupBytesMax)");
    }
    long position = ++offeredPosition;
    QueuedGroup g = new QueuedGroup(position, group, offeredBytes);
    offeredBytes += group.length;
    queue.add(g);
    if (unadmitted.isEmpty() && g.startBytes - packetizedBytes < config.queueBytesMax()) {
      admittedPosition = position;
      listener.admitted(position);
    } else {
      unadmitted.add(g);
    }
    return position;
  }

  /** An inbound datagram (an ACK or NACK from the mirror, or anything else: checked, counted). */
  public void onDatagram(InetSocketAddress from, ByteBuffer datagram, long nowNanos) {
    if (!peer.equals(from)) {
      drops[Wire.Drop.WRONG_SOURCE.ordinal()]++;
      return;
    }
    Wire.Decoded decoded = Wire.decode(datagram, config.linkId(), config.frameBytesMax());
    if (decoded.drop() != null) {
      drops[decoded.drop().ordinal()]++;
      return;
    }
    switch (decoded.packet()) {
      case Wire.Ack ack -> onAck(ack, nowNanos);
      case Wire.Nack nack -> onNack(nack);
      case Wire.Data d -> drops[Wire.Drop.UNEXPECTED_TYPE.ordinal()]++;
      case Wire.Repair r -> drops[Wire.Drop.UNEXPECTED_TYPE.ordinal()]++;
    }
  }

  private void onAck(Wire.Ack ack, long nowNanos) {
    if (ack.receivedBelow() > nextSeq || ack.appliedPosition() > offeredPosition) {
      drops[Wire.Drop.MALFORMED.ordinal()]++; // claims what was never sent
      return;
    }
    if (ack.receivedBelow() > ackedBelow) {
      ackedBelow = ack.receivedBelow();
      lastProgressNanos = nowNanos;
    }
    if (ack.appliedPosition() > appliedPosition) {
      appliedPosition = ack.appliedPosition();
      while (!unapplied.isEmpty() && unapplied.peek().position() <= appliedPosition) {
        appliedBytes = unapplied.poll().endBytes();
      }
      lastProgressNanos = nowNanos;
      listener.applied(appliedPosition);
    }
    release();
  }

  private void onNack(Wire.Nack nack) {
    nacksReceived++;
    for (int i = 0; i < nack.firsts().length; i++) {
      long from = Math.max(nack.firsts()[i], ackedBelow);
      long to = Math.min(nack.firsts()[i] + nack.counts()[i], nextSeq);
      for (long seq = from; seq < to; seq++) {
        queueRetransmit(seq);
      }
    }
  }

  private void queueRetransmit(long seq) {
    Packet p = packet(seq);
    if (p != null && !p.retransmitQueued) {
      p.retransmitQueued = true;
      retransmitQueue.add(seq);
    }
  }

  /**
   * Sends what is due and pacing allows, fires the callbacks that became true, and returns the
   * time at which to call again ({@link Long#MAX_VALUE}: only when something changes).
   */
  public long poll(long nowNanos) {
    if (ackedBelow < nextSeq
        && nowNanos - Math.max(lastProgressNanos, lastTimeoutNanos) >= config.retransmitTimeoutNanos()) {
      timeouts++;
      lastTimeoutNanos = nowNanos;
      queueRetransmit(ackedBelow);
      queueRetransmit(nextSeq - 1);
    }
    while (pacer.ready(nowNanos)) {
      ByteBuffer datagram = next(nowNanos);
      if (datagram == null) {
        break;
      }
      pacer.charge(datagram.remaining(), nowNanos);
      out.send(datagram);
      sendCount++;
    }
    updateSent();
    return nextWakeNanos(nowNanos);
  }

  /** The next datagram to send, in priority order, with its bookkeeping; null if none. */
  private ByteBuffer next(long nowNanos) {
    while (!retransmitQueue.isEmpty()) {
      long seq = retransmitQueue.poll();
      Packet p = packet(seq);
      if (p == null || !p.retransmitQueued) {
        continue;
      }
      p.retransmitQueued = false;
      if (seq < ackedBelow) {
        continue;
      }
      retransmissions++;
      return Wire.data(config.linkId(), seq, p.crc, p.frame, p.frame.length);
    }
    if (repairQueue.isEmpty() && canPacketize()) {
      return packetize(nowNanos);
    }
    if (repairQueue.isEmpty() && encoder.hasOpenBins()
        && nowNanos - unflushedSinceNanos >= config.flushDelayNanos()) {
      encoder.flush(emitted);
      repairQueue.addAll(emitted);
      emitted.clear();
      unflushedSinceNanos = -1;
    }
    RepairSymbol repair = repairQueue.poll();
    if (repair == null) {
      return null;
    }
    long index = sendCount;
    for (int k = 0; k < repair.count(); k++) {
      Packet p = packet(repair.seq(k));
      assert p != null : "a packet is kept until its covering repairs are sent";
      p.repairsPending--;
      p.coverIndexMax = Math.max(p.coverIndexMax, index);
      assert p.repairsPending >= 0;
    }
    repairPackets++;
    return Wire.repair(config.linkId(), repair);
  }

  private boolean canPacketize() {
    return !queue.isEmpty() && nextSeq - releasedBelow < config.windowPacketsMax();
  }

  /** Cuts the next data packet from the queue, encodes it and returns its datagram. */
  private ByteBuffer packetize(long nowNanos) {
    byte[] buffer = new byte[config.frameBytesMax()];
    ByteBuffer frame = ByteBuffer.wrap(buffer);
    long seq = nextSeq;
    while (!queue.isEmpty() && frame.remaining() > Frames.ENTRY_HEADER_BYTES) {
      QueuedGroup g = queue.peek();
      int length = Math.min(g.bytes.length - g.offset,
          Math.min(frame.remaining() - Frames.ENTRY_HEADER_BYTES, 0xFFFF));
      boolean last = g.offset + length == g.bytes.length;
      int flags = (g.offset == 0 ? Frames.FLAG_FIRST : 0) | (last ? Frames.FLAG_LAST : 0);
      Frames.put(frame, flags, g.position, g.bytes, g.offset, length);
      g.offset += length;
      packetizedBytes += length;
      if (last) {
        queue.poll();
        GroupEnd end = new GroupEnd(g.position, seq + 1, g.startBytes + g.bytes.length);
        unsent.add(end);
        unapplied.add(end);
      }
    }
    admitQueued();
    byte[] bytes = java.util.Arrays.copyOf(buffer, frame.position());
    int crc = FecDecoder.crc32c(bytes);
    Packet p = new Packet(bytes, crc, config.fec().layers());
    p.dataIndex = sendCount;
    if (ackedBelow == nextSeq) {
      lastProgressNanos = nowNanos; // the retransmission timer starts with the first unacked packet
    }
    ring[(int) (seq & mask)] = p;
    nextSeq++;
    dataPackets++;
    encoder.add(seq, bytes, bytes.length, crc, emitted);
    if (config.fec().layers() > 0 && unflushedSinceNanos < 0) {
      unflushedSinceNanos = nowNanos;
    }
    repairQueue.addAll(emitted);
    emitted.clear();
    return Wire.data(config.linkId(), seq, crc, bytes, bytes.length);
  }

  private void admitQueued() {
    long before = admittedPosition;
    while (!unadmitted.isEmpty()
        && unadmitted.peek().startBytes - packetizedBytes < config.queueBytesMax()) {
      admittedPosition = unadmitted.poll().position;
    }
    if (admittedPosition != before) {
      listener.admitted(admittedPosition);
    }
  }

  /** Advances the sent watermark over packets that, with their repairs, the network has taken. */
  private void updateSent() {
    long handed = out.handedCount();
    while (sentBelow < nextSeq) {
      Packet p = packet(sentBelow);
      if (p.dataIndex < 0 || p.repairsPending > 0 || handed <= Math.max(p.dataIndex, p.coverIndexMax)) {
        break;
      }
      sentBelow++;
    }
    long before = sentPosition;
    while (!unsent.isEmpty() && unsent.peek().endSeq() <= sentBelow) {
      sentPosition = unsent.poll().position();
    }
    if (sentPosition != before) {
      listener.sent(sentPosition);
    }
    release();
  }

  private void release() {
    long below = Math.min(ackedBelow, sentBelow);
    while (releasedBelow < below) {
      ring[(int) (releasedBelow & mask)] = null;
      releasedBelow++;
    }
  }

  private Packet packet(long seq) {
    return seq >= releasedBelow && seq < nextSeq ? ring[(int) (seq & mask)] : null;
  }

  private long nextWakeNanos(long nowNanos) {
    long wake = Long.MAX_VALUE;
    boolean work = !retransmitQueue.isEmpty() || !repairQueue.isEmpty() || canPacketize();
    if (work) {
      wake = Math.max(nowNanos, pacer.readyAtNanos());
    } else if (encoder.hasOpenBins()) {
      wake = Math.max(pacer.readyAtNanos(), unflushedSinceNanos + config.flushDelayNanos());
    }
    if (ackedBelow < nextSeq) {
      wake = Math.min(wake,
          Math.max(lastProgressNanos, lastTimeoutNanos) + config.retransmitTimeoutNanos());
    }
    return wake;
  }

  /** Group bytes cut into data packets so far (the rest wait in the queue). */
  public long packetizedBytes() {
    return packetizedBytes;
  }

  public long offeredPosition() {
    return offeredPosition;
  }

  public long sentPosition() {
    return sentPosition;
  }

  public long appliedPosition() {
    return appliedPosition;
  }

  /** Packets below this seq are on the wire with all their covering repairs. */
  public long sentBelow() {
    return sentBelow;
  }

  public Stats stats() {
    return new Stats(offeredPosition, admittedPosition, sentPosition, appliedPosition,
        offeredBytes - appliedBytes, offeredBytes - packetizedBytes, nextSeq, ackedBelow,
        dataPackets, repairPackets, retransmissions, nacksReceived, timeouts, sendCount,
        out.handedCount(), drops.clone());
  }
}
