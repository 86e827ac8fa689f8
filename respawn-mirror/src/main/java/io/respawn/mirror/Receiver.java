package io.respawn.mirror;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The mirror site's end of the link: takes datagrams from the primary, recovers lost data packets
 * from repairs ({@link FecDecoder}), NACKs what FEC could not recover, and hands its owner whole
 * groups, in position order, each exactly once ({@link Listener#deliver}). The owner applies a
 * group all-or-none and reports it with {@link #applied}; ACKs carry that position back.
 *
 * <p><b>Nothing is trusted.</b> A datagram from an address that is not the configured peer, of
 * another link, truncated, corrupted, of an unexpected type, a duplicate, a replay of something
 * already consumed, or claiming seqs far beyond the window is dropped and counted by reason
 * ({@link Wire.Drop}) and changes nothing else. A frame whose entries break the group order
 * (which no correct shipper produces) stops delivery for good ({@link #broken}); the position
 * reached stays consistent.
 *
 * <p><b>Positions.</b> {@code receivedBelow}: every data seq below it is held; groups are
 * delivered from the frames below it, in order. {@code highestSeen}: the highest seq any accepted
 * data packet or repair mentioned; unknown seqs below it are missing. A missing seq is NACKed once
 * it has been missing for {@code nackDelayNanos} (FEC's chance), and again every {@code
 * nackRepeatNanos} until it arrives.
 *
 * <p>Owned by one thread; time is passed in. The owner calls {@link #poll} after every change and
 * again at the time it returns. {@link Listener#deliver} is called from inside {@link
 * #onDatagram} and must not call back into the receiver.
 */
public final class Receiver {

  /** Receives whole groups, in position order, each once. */
  public interface Listener {
    void deliver(long position, byte[] group);
  }

  /** Counters and positions, for status. */
  public record Stats(
      long receivedBelow,
      long highestSeen,
      long deliveredPosition,
      long appliedPosition,
      long missing,
      long dataPackets,
      long repairPackets,
      long recovered,
      long recoveredByElimination,
      long nacksSent,
      long seqsNacked,
      long acksSent,
      long datagramsReceived,
      long[] drops,
      String broken,
      long highestPositionSeen,
      long heldBytes) {

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
  private final FecDecoder decoder;
  private final int span;
  private final long[] missingSince;
  private final long[] lastNacked;
  private final int mask;

  private long receivedBelow;
  private long highestSeen = -1;
  private long noticedBelow;
  private long deliveredPosition;
  private long highestPositionSeen;
  /** Bytes of frames held at or past receivedBelow, plus the group being reassembled. */
  private long heldBytes;
  private long appliedPosition;
  private String broken;
  /** The group being reassembled from fragments, or null between groups. */
  private ByteArrayOutputStream partial;
  private long partialPosition;

  private long lastAckNanos = Long.MIN_VALUE / 2;
  private long ackedBelowSent = -1;
  private long appliedSent = -1;
  private long nextNackScanNanos;

  private long dataPackets;
  private long repairPackets;
  private long nacksSent;
  private long seqsNacked;
  private long acksSent;
  private long datagramsReceived;
  private final long[] drops = new long[Wire.Drop.values().length];
  private final List<FecDecoder.Recovered> recovered = new ArrayList<>();

  public Receiver(LinkConfig config, Datagrams out, InetSocketAddress peer, Listener listener) {
    this.config = Objects.requireNonNull(config, "config");
    this.out = Objects.requireNonNull(out, "out");
    this.peer = Objects.requireNonNull(peer, "peer");
    this.listener = Objects.requireNonNull(listener, "listener");
    this.span = config.fec().spanPackets();
    this.decoder = new FecDecoder(config.receiveSpanPackets(), config.equationsMax(),
        config.eliminationEquationsMax(), config.frameBytesMax());
    this.missingSince = new long[decoder.windowPackets()];
    this.lastNacked = new long[decoder.windowPackets()];
    this.mask = decoder.windowPackets() - 1;
  }

  /** One inbound datagram, from any source. */
  public void onDatagram(InetSocketAddress from, ByteBuffer datagram, long nowNanos) {
    datagramsReceived++;
    if (!peer.equals(from)) {
      drop(Wire.Drop.WRONG_SOURCE);
      return;
    }
    Wire.Decoded decoded = Wire.decode(datagram, config.linkId(), config.frameBytesMax());
    if (decoded.drop() != null) {
      drop(decoded.drop());
      return;
    }
    switch (decoded.packet()) {
      case Wire.Data d -> onData(d, nowNanos);
      case Wire.Repair r -> onRepair(r.symbol(), nowNanos);
      case Wire.Ack a -> drop(Wire.Drop.UNEXPECTED_TYPE);
      case Wire.Nack n -> drop(Wire.Drop.UNEXPECTED_TYPE);
    }
  }

  private void onData(Wire.Data d, long nowNanos) {
    if (d.seq() < receivedBelow) {
      drop(Wire.Drop.DUPLICATE);
      return;
    }
    if (d.seq() >= receivedBelow + config.windowPacketsMax()) {
      drop(Wire.Drop.BEYOND_WINDOW);
      return;
    }
    recovered.clear();
    FecDecoder.Outcome outcome = decoder.addData(d.seq(), d.frame(), d.frameCrc(), recovered);
    if (!count(outcome)) {
      return;
    }
    dataPackets++;
    learned(d.frame());
    notice(d.seq(), nowNanos);
    deliverReady();
  }

  private void onRepair(RepairSymbol r, long nowNanos) {
    if (r.lastSeq() >= receivedBelow + config.windowPacketsMax()) {
      drop(Wire.Drop.BEYOND_WINDOW);
      return;
    }
    if (r.lastSeq() < receivedBelow) {
      drop(Wire.Drop.DUPLICATE); // covers only consumed packets
      return;
    }
    recovered.clear();
    FecDecoder.Outcome outcome = decoder.addRepair(r, recovered);
    if (!count(outcome)) {
      return;
    }
    repairPackets++;
    notice(r.lastSeq(), nowNanos);
    deliverReady();
  }

  /** A frame is now held (received or recovered): what it tells about the stream. */
  private void learned(byte[] frame) {
    heldBytes += frame.length;
    highestPositionSeen = Math.max(highestPositionSeen, Frames.lastPosition(frame));
  }

  /** Counts a refused outcome as a drop; true if the datagram was used. */
  private boolean count(FecDecoder.Outcome outcome) {
    for (FecDecoder.Recovered r : recovered) {
      learned(r.frame());
    }
    switch (outcome) {
      case ACCEPTED -> {
        return true;
      }
      case DUPLICATE, STALE -> drop(Wire.Drop.DUPLICATE);
      case BEYOND_WINDOW -> drop(Wire.Drop.BEYOND_WINDOW);
      case MALFORMED, EQUATIONS_FULL -> drop(Wire.Drop.MALFORMED);
    }
    return false;
  }

  /** Seqs up to {@code seq} are now mentioned: unknown ones below it start to count as missing. */
  private void notice(long seq, long nowNanos) {
    if (seq > highestSeen) {
      highestSeen = seq;
    }
    long from = Math.max(noticedBelow, receivedBelow);
    for (long s = from; s <= highestSeen; s++) {
      missingSince[(int) (s & mask)] = nowNanos;
      lastNacked[(int) (s & mask)] = Long.MIN_VALUE / 2;
    }
    noticedBelow = Math.max(noticedBelow, highestSeen + 1);
  }

  /** Consumes the contiguous frames: delivers the groups they complete. */
  private void deliverReady() {
    while (broken == null) {
      byte[] frame = decoder.frame(receivedBelow);
      if (frame == null) {
        break;
      }
      heldBytes -= frame.length;
      List<Frames.Entry> entries = Frames.parse(frame);
      if (entries == null) {
        broken = "frame of seq " + receivedBelow + " is malformed";
        break;
      }
      for (Frames.Entry e : entries) {
        if (!reassemble(e)) {
          broken = "seq " + receivedBelow + " breaks the group order at position " + e.position()
              + " (delivered up to " + deliveredPosition + ")";
          break;
        }
      }
      receivedBelow++;
    }
    decoder.forgetBefore(Math.max(0, receivedBelow - span));
  }

  private boolean reassemble(Frames.Entry e) {
    if (e.first()) {
      if (partial != null || e.position() != deliveredPosition + 1) {
        return false;
      }
      partial = new ByteArrayOutputStream(e.last() ? e.bytes().length : 4 * e.bytes().length);
      partialPosition = e.position();
    } else if (partial == null || e.position() != partialPosition) {
      return false;
    }
    if ((long) partial.size() + e.bytes().length > config.groupBytesMax()) {
      return false;
    }
    partial.writeBytes(e.bytes());
    if (e.last()) {
      byte[] group = partial.toByteArray();
      partial = null;
      deliveredPosition = partialPosition;
      listener.deliver(partialPosition, group);
    }
    return true;
  }

  /** The owner applied every group up to position (delivered ones only). */
  public void applied(long position) {
    if (position > deliveredPosition) {
      throw new IllegalArgumentException(
          "applied " + position + " but only " + deliveredPosition + " were delivered");
    }
    appliedPosition = Math.max(appliedPosition, position);
  }

  /** Sends the ACK and NACKs that are due; returns when to call again. */
  public long poll(long nowNanos) {
    boolean progress = receivedBelow != ackedBelowSent || appliedPosition != appliedSent;
    if ((progress && nowNanos - lastAckNanos >= config.ackIntervalNanos())
        || nowNanos - lastAckNanos >= config.ackKeepaliveNanos()) {
      out.send(Wire.ack(config.linkId(), receivedBelow, appliedPosition));
      acksSent++;
      lastAckNanos = nowNanos;
      ackedBelowSent = receivedBelow;
      appliedSent = appliedPosition;
      progress = false;
    }
    if (nowNanos >= nextNackScanNanos && highestSeen >= receivedBelow) {
      sendNacks(nowNanos);
      nextNackScanNanos = nowNanos + Math.max(1_000_000, config.nackDelayNanos() / 4);
    }
    long wake = lastAckNanos + (progress ? config.ackIntervalNanos() : config.ackKeepaliveNanos());
    if (highestSeen >= receivedBelow) {
      wake = Math.min(wake, nextNackScanNanos);
    }
    return wake;
  }

  private void sendNacks(long nowNanos) {
    List<long[]> ranges = new ArrayList<>();
    long first = -1;
    long count = 0;
    for (long s = receivedBelow; s <= highestSeen && ranges.size() < Wire.NACK_RANGES_MAX; s++) {
      int slot = (int) (s & mask);
      boolean due = !decoder.isKnown(s)
          && nowNanos - missingSince[slot] >= config.nackDelayNanos()
          && nowNanos - lastNacked[slot] >= config.nackRepeatNanos();
      if (due) {
        lastNacked[slot] = nowNanos;
        if (first >= 0 && first + count == s) {
          count++;
        } else {
          if (first >= 0) {
            ranges.add(new long[] {first, count});
          }
          first = s;
          count = 1;
        }
      }
    }
    if (first >= 0 && ranges.size() < Wire.NACK_RANGES_MAX) {
      ranges.add(new long[] {first, count});
    }
    if (!ranges.isEmpty()) {
      out.send(Wire.nack(config.linkId(), ranges));
      nacksSent++;
      for (long[] r : ranges) {
        seqsNacked += r[1];
      }
    }
  }

  private void drop(Wire.Drop reason) {
    drops[reason.ordinal()]++;
  }

  public long deliveredPosition() {
    return deliveredPosition;
  }

  public long appliedPosition() {
    return appliedPosition;
  }

  /** Why delivery stopped for good, or null. */
  public String broken() {
    return broken;
  }

  public Stats stats() {
    long missing = 0;
    for (long s = receivedBelow; s <= highestSeen; s++) {
      if (!decoder.isKnown(s)) {
        missing++;
      }
    }
    FecDecoder.Stats fec = decoder.stats();
    return new Stats(receivedBelow, highestSeen, deliveredPosition, appliedPosition, missing,
        dataPackets, repairPackets, fec.recoveredByPeeling() + fec.recoveredByElimination(),
        fec.recoveredByElimination(), nacksSent, seqsNacked, acksSent, datagramsReceived,
        drops.clone(), broken, highestPositionSeen,
        heldBytes + (partial == null ? 0 : partial.size()));
  }
}
