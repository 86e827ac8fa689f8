package io.respawn.mirror;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The mirror link's datagrams. All integers are big-endian. Pure functions, no I/O.
 *
 * <pre>
 * Common header (16 bytes), then a body of bodyLen bytes
 *  0          4     5     6          8          12         16
 * +----------+-----+-----+----------+----------+----------+----------------+
 * | magic    | ver | type| bodyLen  | linkId   | crc32c   | body           |
 * | u32      | u8  | u8  | u16      | u32      | u32      | bodyLen bytes  |
 * +----------+-----+-----+----------+----------+----------+----------------+
 *  magic   = "RSPM" (0x5253504D), ver = 1
 *  type    = 1 DATA, 2 REPAIR (primary to mirror); 3 ACK, 4 NACK (mirror to primary)
 *  bodyLen = datagram length - 16: a shorter datagram is truncated, a longer one malformed
 *  linkId  = the configured link id: a datagram of another link (or cluster) is foreign
 *  crc32c  = CRC-32C over bytes [0, 12) and [16, 16 + bodyLen), i.e. all but itself
 *
 * DATA body (12 + f bytes): one data packet of the stream
 *  0          8          12
 * +----------+----------+----------------+
 * | seq u64  | frameCrc | frame          |
 * |          | u32      | f bytes        |
 * +----------+----------+----------------+
 *  seq      = the packet's place in the stream (0, 1, 2, ...; a retransmission keeps it)
 *  frameCrc = CRC-32C of the frame alone (repairs carry the XOR of their members')
 *  frame    = group entries, see {@link Frames}; the unit FEC protects
 *
 * REPAIR body (22 + x bytes): the XOR of count frames seq = firstSeq + k * stride, k < count
 *  0     1     2        4          8          16         18         22
 * +-----+-----+--------+----------+----------+----------+----------+-------------+
 * |layer|count| zero   | stride   | firstSeq | lengthXor| crcXor   | xor         |
 * | u8  | u8  | u16    | u32      | u64      | u16      | u32      | x bytes     |
 * +-----+-----+--------+----------+----------+----------+----------+-------------+
 *  x = the longest covered frame (shorter ones count as zero-padded)
 *
 * ACK body (16 bytes): the mirror's position, sent when it changes and as a keep-alive
 *  0                  8                    16
 * +------------------+--------------------+
 * | receivedBelow u64| appliedPosition u64|
 * +------------------+--------------------+
 *  receivedBelow   = every data seq below it is held (received or recovered) by the mirror
 *  appliedPosition = the mirror applied every group up to this position (0 = none)
 *
 * NACK body (2 + 12 n bytes): data seqs the mirror still misses after FEC had its chance
 *  0          2               10             14
 * +----------+---------------+--------------+-----
 * | n u16    | first u64     | count u32    | ... n ranges
 * +----------+---------------+--------------+-----
 * </pre>
 */
public final class Wire {
  public static final int MAGIC = 0x5253_504D; // "RSPM"
  public static final int VERSION = 1;
  public static final int HEADER_BYTES = 16;
  public static final int DATA_HEADER_BYTES = 12;
  public static final int REPAIR_HEADER_BYTES = 22;
  public static final int ACK_BODY_BYTES = 16;
  public static final int NACK_RANGE_BYTES = 12;
  /** Largest body the u16 bodyLen can describe. */
  public static final int BODY_BYTES_MAX = 0xFFFF;
  /** NACK ranges in one datagram. */
  public static final int NACK_RANGES_MAX = 100;

  public static final byte TYPE_DATA = 1;
  public static final byte TYPE_REPAIR = 2;
  public static final byte TYPE_ACK = 3;
  public static final byte TYPE_NACK = 4;

  private Wire() {}

  /** A decoded datagram. */
  public sealed interface Packet permits Data, Repair, Ack, Nack {}

  /** A DATA datagram. */
  public record Data(long seq, int frameCrc, byte[] frame) implements Packet {}

  /** A REPAIR datagram. */
  public record Repair(RepairSymbol symbol) implements Packet {}

  /** An ACK datagram. */
  public record Ack(long receivedBelow, long appliedPosition) implements Packet {}

  /** A NACK datagram: missing seq ranges. */
  public record Nack(long[] firsts, int[] counts) implements Packet {}

  /** Why a datagram was dropped without effect. */
  public enum Drop {
    /** Shorter than its header or than its bodyLen says. */
    TRUNCATED,
    /** Not a mirror datagram: magic or version differ. */
    NOT_MIRROR,
    /** Another link's (or cluster's) datagram: linkId differs. */
    FOREIGN_LINK,
    /** The checksum does not match: corrupted (or forged without the format). */
    BAD_CHECKSUM,
    /** Well-formed header, impossible body (unknown type, lengths that disagree). */
    MALFORMED,
    /** Came from an address that is not the configured peer. */
    WRONG_SOURCE,
    /** A type this side never receives (a DATA at the primary, an ACK at the mirror). */
    UNEXPECTED_TYPE,
    /** A data packet or repair already held or already consumed. */
    DUPLICATE,
    /** Beyond the receive window: the sender cannot legitimately be that far ahead. */
    BEYOND_WINDOW
  }

  /** Either a packet or the reason it was dropped. */
  public record Decoded(Packet packet, Drop drop) {
    static Decoded of(Packet p) {
      return new Decoded(p, null);
    }

    static Decoded dropped(Drop d) {
      return new Decoded(null, d);
    }
  }

  // ---- encoding ----

  public static ByteBuffer data(int linkId, long seq, int frameCrc, byte[] frame, int frameLength) {
    ByteBuffer out = header(TYPE_DATA, linkId, DATA_HEADER_BYTES + frameLength);
    out.putLong(seq).putInt(frameCrc).put(frame, 0, frameLength);
    return seal(out);
  }

  public static ByteBuffer repair(int linkId, RepairSymbol r) {
    ByteBuffer out = header(TYPE_REPAIR, linkId, REPAIR_HEADER_BYTES + r.xor().length);
    out.put((byte) r.layer()).put((byte) r.count()).putShort((short) 0).putInt(r.stride())
        .putLong(r.firstSeq()).putShort((short) r.lengthXor()).putInt(r.crcXor()).put(r.xor());
    return seal(out);
  }

  public static ByteBuffer ack(int linkId, long receivedBelow, long appliedPosition) {
    ByteBuffer out = header(TYPE_ACK, linkId, ACK_BODY_BYTES);
    out.putLong(receivedBelow).putLong(appliedPosition);
    return seal(out);
  }

  /** A NACK for the given ranges (at most {@link #NACK_RANGES_MAX}). */
  public static ByteBuffer nack(int linkId, List<long[]> ranges) {
    if (ranges.isEmpty() || ranges.size() > NACK_RANGES_MAX) {
      throw new IllegalArgumentException("a NACK carries 1.." + NACK_RANGES_MAX + " ranges");
    }
    ByteBuffer out = header(TYPE_NACK, linkId, 2 + NACK_RANGE_BYTES * ranges.size());
    out.putShort((short) ranges.size());
    for (long[] range : ranges) {
      out.putLong(range[0]).putInt((int) range[1]);
    }
    return seal(out);
  }

  private static ByteBuffer header(byte type, int linkId, int bodyBytes) {
    if (bodyBytes > BODY_BYTES_MAX) {
      throw new IllegalArgumentException(
          "body of " + bodyBytes + " bytes exceeds " + BODY_BYTES_MAX);
    }
    ByteBuffer out = ByteBuffer.allocate(HEADER_BYTES + bodyBytes);
    out.putInt(MAGIC).put((byte) VERSION).put(type).putShort((short) bodyBytes).putInt(linkId)
        .putInt(0);
    return out;
  }

  private static ByteBuffer seal(ByteBuffer out) {
    assert !out.hasRemaining() : "body length computed wrongly";
    out.putInt(12, crc(out.array(), out.arrayOffset(), out.capacity()));
    return out.flip();
  }

  private static int crc(byte[] a, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(a, offset, 12);
    crc.update(a, offset + HEADER_BYTES, length - HEADER_BYTES);
    return (int) crc.getValue();
  }

  // ---- decoding ----

  /**
   * Decodes one datagram (its remaining bytes; the buffer's position is not moved). Checks, in
   * order: length, magic and version, link id, checksum, then the body's own lengths.
   */
  public static Decoded decode(ByteBuffer datagram, int linkId, int frameBytesMax) {
    ByteBuffer in = datagram.slice().order(java.nio.ByteOrder.BIG_ENDIAN);
    int length = in.remaining();
    if (length < HEADER_BYTES) {
      return Decoded.dropped(length >= 4 && in.getInt(0) != MAGIC ? Drop.NOT_MIRROR : Drop.TRUNCATED);
    }
    if (in.getInt(0) != MAGIC || (in.get(4) & 0xFF) != VERSION) {
      return Decoded.dropped(Drop.NOT_MIRROR);
    }
    int type = in.get(5);
    int bodyBytes = in.getShort(6) & 0xFFFF;
    if (length < HEADER_BYTES + bodyBytes) {
      return Decoded.dropped(Drop.TRUNCATED);
    }
    if (length > HEADER_BYTES + bodyBytes) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    if (in.getInt(8) != linkId) {
      return Decoded.dropped(Drop.FOREIGN_LINK);
    }
    byte[] bytes = new byte[length];
    in.get(0, bytes);
    if (crc(bytes, 0, length) != in.getInt(12)) {
      return Decoded.dropped(Drop.BAD_CHECKSUM);
    }
    ByteBuffer body = ByteBuffer.wrap(bytes, HEADER_BYTES, bodyBytes);
    return switch (type) {
      case TYPE_DATA -> decodeData(body, bodyBytes, frameBytesMax);
      case TYPE_REPAIR -> decodeRepair(body, bodyBytes, frameBytesMax);
      case TYPE_ACK -> bodyBytes != ACK_BODY_BYTES ? Decoded.dropped(Drop.MALFORMED)
          : decodeAck(body);
      case TYPE_NACK -> decodeNack(body, bodyBytes);
      default -> Decoded.dropped(Drop.MALFORMED);
    };
  }

  private static Decoded decodeData(ByteBuffer body, int bodyBytes, int frameBytesMax) {
    int frameBytes = bodyBytes - DATA_HEADER_BYTES;
    if (frameBytes < 1 || frameBytes > frameBytesMax) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    long seq = body.getLong();
    int frameCrc = body.getInt();
    byte[] frame = new byte[frameBytes];
    body.get(frame);
    if (seq < 0 || FecDecoder.crc32c(frame) != frameCrc) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    return Decoded.of(new Data(seq, frameCrc, frame));
  }

  private static Decoded decodeRepair(ByteBuffer body, int bodyBytes, int frameBytesMax) {
    int xorBytes = bodyBytes - REPAIR_HEADER_BYTES;
    if (xorBytes < 0 || xorBytes > frameBytesMax) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    int layer = body.get() & 0xFF;
    int count = body.get() & 0xFF;
    int zero = body.getShort();
    int stride = body.getInt();
    long firstSeq = body.getLong();
    int lengthXor = body.getShort() & 0xFFFF;
    int crcXor = body.getInt();
    if (zero != 0 || layer >= FecParams.LAYERS_MAX || count < 1 || count > FecParams.R_MAX
        || stride < 1 || stride > FecParams.INTERLEAVE_MAX || firstSeq < 0) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    byte[] xor = new byte[xorBytes];
    body.get(xor);
    return Decoded.of(new Repair(
        new RepairSymbol(layer, stride, firstSeq, count, lengthXor, crcXor, xor)));
  }

  private static Decoded decodeAck(ByteBuffer body) {
    long receivedBelow = body.getLong();
    long applied = body.getLong();
    if (receivedBelow < 0 || applied < 0) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    return Decoded.of(new Ack(receivedBelow, applied));
  }

  private static Decoded decodeNack(ByteBuffer body, int bodyBytes) {
    if (bodyBytes < 2) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    int n = body.getShort() & 0xFFFF;
    if (n < 1 || n > NACK_RANGES_MAX || bodyBytes != 2 + NACK_RANGE_BYTES * n) {
      return Decoded.dropped(Drop.MALFORMED);
    }
    long[] firsts = new long[n];
    int[] counts = new int[n];
    for (int i = 0; i < n; i++) {
      firsts[i] = body.getLong();
      counts[i] = body.getInt();
      if (firsts[i] < 0 || counts[i] < 1) {
        return Decoded.dropped(Drop.MALFORMED);
      }
    }
    return Decoded.of(new Nack(firsts, counts));
  }
}
