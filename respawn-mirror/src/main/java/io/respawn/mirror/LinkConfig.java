package io.respawn.mirror;

import java.util.Objects;

/**
 * Settings of one mirror link, shared by its {@link Shipper} (primary site) and {@link Receiver}
 * (mirror site); both ends must agree on {@code linkId} and {@code frameBytesMax}. Validated by
 * the constructor; {@link #defaults} gives the values the server starts with.
 *
 * @param linkId identifies the link (and cluster) in every datagram; others' are dropped
 * @param fec layered-interleaving parameters (the paper's (8, 3) by default)
 * @param frameBytesMax largest data frame; a datagram is at most this plus 38 bytes of headers
 * @param windowPacketsMax data packets in flight (sent, not yet acknowledged) at most; the
 *     receiver accepts seqs this far past what it holds contiguously
 * @param bytesPerSecond pacing: datagram bytes sent per second at most (0 = unpaced)
 * @param burstBytes pacing: bytes that may leave back to back after an idle period
 * @param queueBytesMax group bytes waiting to be packetized beyond which new groups are not
 *     admitted yet (their LOCAL acknowledgement waits: the link's backpressure)
 * @param groupBytesMax largest group (one committed batch of writes)
 * @param flushDelayNanos how long a packet may wait in a partly filled FEC bin while the link is
 *     idle before every open bin emits its XOR (the network-sync acknowledgement waits for it)
 * @param retransmitTimeoutNanos with packets unacknowledged and no acknowledgement progress for
 *     this long, the shipper resends the oldest and newest unacknowledged packet
 * @param nackDelayNanos how long a missing packet is left to FEC before the receiver NACKs it
 * @param nackRepeatNanos how long before the receiver NACKs the same missing packet again
 * @param ackIntervalNanos least time between two ACKs that report progress
 * @param ackKeepaliveNanos an ACK goes out at least this often, progress or not
 * @param equationsMax repair equations the receiver keeps while they miss two or more frames
 * @param eliminationEquationsMax largest set of connected equations the receiver solves jointly
 */
public record LinkConfig(
    int linkId,
    FecParams fec,
    int frameBytesMax,
    int windowPacketsMax,
    long bytesPerSecond,
    long burstBytes,
    long queueBytesMax,
    int groupBytesMax,
    long flushDelayNanos,
    long retransmitTimeoutNanos,
    long nackDelayNanos,
    long nackRepeatNanos,
    long ackIntervalNanos,
    long ackKeepaliveNanos,
    int equationsMax,
    int eliminationEquationsMax) {

  /** Smallest frame: one entry header and one byte. */
  public static final int FRAME_BYTES_MIN = Frames.ENTRY_HEADER_BYTES + 1;
  /** Largest frame a repair's u16 length XOR and the datagram's u16 body length can carry. */
  public static final int FRAME_BYTES_LIMIT = 0xFFFF - Wire.REPAIR_HEADER_BYTES;
  public static final int WINDOW_PACKETS_LIMIT = 1 << 20;

  public LinkConfig {
    Objects.requireNonNull(fec, "fec");
    check(frameBytesMax >= FRAME_BYTES_MIN && frameBytesMax <= FRAME_BYTES_LIMIT,
        "frameBytesMax must be between " + FRAME_BYTES_MIN + " and " + FRAME_BYTES_LIMIT
            + ", got " + frameBytesMax);
    check(windowPacketsMax >= 1 && windowPacketsMax <= WINDOW_PACKETS_LIMIT,
        "windowPacketsMax must be between 1 and " + WINDOW_PACKETS_LIMIT + ", got "
            + windowPacketsMax);
    check(bytesPerSecond >= 0, "bytesPerSecond must be >= 0 (0 = unpaced), got " + bytesPerSecond);
    check(burstBytes >= frameBytesMax + 64L,
        "burstBytes must hold at least one datagram (" + (frameBytesMax + 64) + "), got "
            + burstBytes);
    check(queueBytesMax >= 1, "queueBytesMax must be >= 1, got " + queueBytesMax);
    check(groupBytesMax >= 1, "groupBytesMax must be >= 1, got " + groupBytesMax);
    check(flushDelayNanos >= 0, "flushDelayNanos must be >= 0, got " + flushDelayNanos);
    check(retransmitTimeoutNanos >= 1_000_000,
        "retransmitTimeoutNanos must be >= 1 ms, got " + retransmitTimeoutNanos);
    check(nackDelayNanos >= 0, "nackDelayNanos must be >= 0, got " + nackDelayNanos);
    check(nackRepeatNanos >= 1_000_000, "nackRepeatNanos must be >= 1 ms, got " + nackRepeatNanos);
    check(ackIntervalNanos >= 0, "ackIntervalNanos must be >= 0, got " + ackIntervalNanos);
    check(ackKeepaliveNanos >= 1_000_000,
        "ackKeepaliveNanos must be >= 1 ms, got " + ackKeepaliveNanos);
    check(equationsMax >= 1, "equationsMax must be >= 1, got " + equationsMax);
    check(eliminationEquationsMax >= 1,
        "eliminationEquationsMax must be >= 1, got " + eliminationEquationsMax);
  }

  private static void check(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /** The server's defaults: FEC (8, 3), 1200-byte frames, 8192 packets in flight, unpaced. */
  public static LinkConfig defaults(int linkId) {
    return new LinkConfig(linkId, FecParams.of(8, 3), 1200, 8192, 0, 256 * 1024,
        64L << 20, 256 << 20, 1_000_000, 500_000_000, 20_000_000, 200_000_000,
        500_000, 100_000_000, 4096, 64);
  }

  public LinkConfig withFec(FecParams newFec) {
    return new LinkConfig(linkId, newFec, frameBytesMax, windowPacketsMax, bytesPerSecond,
        burstBytes, queueBytesMax, groupBytesMax, flushDelayNanos, retransmitTimeoutNanos,
        nackDelayNanos, nackRepeatNanos, ackIntervalNanos, ackKeepaliveNanos, equationsMax,
        eliminationEquationsMax);
  }

  public LinkConfig withPacing(long newBytesPerSecond, long newBurstBytes) {
    return new LinkConfig(linkId, fec, frameBytesMax, windowPacketsMax, newBytesPerSecond,
        newBurstBytes, queueBytesMax, groupBytesMax, flushDelayNanos, retransmitTimeoutNanos,
        nackDelayNanos, nackRepeatNanos, ackIntervalNanos, ackKeepaliveNanos, equationsMax,
        eliminationEquationsMax);
  }

  public LinkConfig withFrameBytesMax(int newFrameBytesMax) {
    return new LinkConfig(linkId, fec, newFrameBytesMax, windowPacketsMax, bytesPerSecond,
        burstBytes, queueBytesMax, groupBytesMax, flushDelayNanos, retransmitTimeoutNanos,
        nackDelayNanos, nackRepeatNanos, ackIntervalNanos, ackKeepaliveNanos, equationsMax,
        eliminationEquationsMax);
  }

  public LinkConfig withWindow(int newWindowPacketsMax, long newQueueBytesMax) {
    return new LinkConfig(linkId, fec, frameBytesMax, newWindowPacketsMax, bytesPerSecond,
        burstBytes, newQueueBytesMax, groupBytesMax, flushDelayNanos, retransmitTimeoutNanos,
        nackDelayNanos, nackRepeatNanos, ackIntervalNanos, ackKeepaliveNanos, equationsMax,
        eliminationEquationsMax);
  }

  public LinkConfig withTimers(long newFlushDelayNanos, long newRetransmitTimeoutNanos,
      long newNackDelayNanos, long newNackRepeatNanos) {
    return new LinkConfig(linkId, fec, frameBytesMax, windowPacketsMax, bytesPerSecond,
        burstBytes, queueBytesMax, groupBytesMax, newFlushDelayNanos, newRetransmitTimeoutNanos,
        newNackDelayNanos, newNackRepeatNanos, ackIntervalNanos, ackKeepaliveNanos, equationsMax,
        eliminationEquationsMax);
  }

  public LinkConfig withGroupBytesMax(int newGroupBytesMax) {
    return new LinkConfig(linkId, fec, frameBytesMax, windowPacketsMax, bytesPerSecond,
        burstBytes, queueBytesMax, newGroupBytesMax, flushDelayNanos, retransmitTimeoutNanos,
        nackDelayNanos, nackRepeatNanos, ackIntervalNanos, ackKeepaliveNanos, equationsMax,
        eliminationEquationsMax);
  }

  /** Seqs the receiver keeps frames for: its window plus the reach of the widest repair. */
  public int receiveSpanPackets() {
    return windowPacketsMax + fec.spanPackets();
  }
}
