package io.respawn.core.codec;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The frame every Respawn wire or log record shares. Integers are big-endian.
 *
 * <pre>
 *  0         1         2                   6                       6+n          10+n
 *  +---------+---------+-------------------+-----------------------+------------+
 *  | version |  type   |  length n (u32)   |  body (n bytes)       |  crc32c    |
 *  +---------+---------+-------------------+-----------------------+------------+
 *     u8        u8                                                    u32, over bytes [0, 6+n)
 * </pre>
 *
 * The CRC covers header and body, so a flipped bit anywhere (length included) is detected, and
 * a truncated frame is reported as such before anything is interpreted.
 */
public final class Frames {
  /** Current format version. A decoder refuses any other. */
  public static final int VERSION = 1;
  /** Header bytes before the body. */
  public static final int HEADER_BYTES = 6;
  /** Trailer bytes after the body. */
  public static final int TRAILER_BYTES = 4;
  /** Default upper bound on a body, to refuse absurd lengths before allocating. */
  public static final int BODY_BYTES_MAX_DEFAULT = 64 * 1024 * 1024;

  private Frames() {}

  /**
   * Seals the body {@code w} wrote into a frame in {@code w}'s own buffer: header before the body,
   * CRC after it; returns that buffer ready to read. {@code w} must come from {@link
   * BodyWriter#forFrame} (room for the header) and is spent.
   */
  static ByteBuffer frame(int type, BodyWriter w) {
    if (w.start() != HEADER_BYTES) {
      throw new IllegalArgumentException("a frame's body writer must keep room for its header");
    }
    ByteBuffer out = w.buffer(TRAILER_BYTES);
    int n = out.position() - HEADER_BYTES;
    out.put(0, (byte) VERSION).put(1, (byte) type).putInt(2, n);
    CRC32C crc = new CRC32C();
    crc.update(out.array(), 0, HEADER_BYTES + n);
    out.putInt((int) crc.getValue());
    return out.flip();
  }

  /**
   * Wraps {@code body} (position to limit, which it consumes) into a frame; returns a buffer
   * ready to read.
   */
  static ByteBuffer frame(int type, ByteBuffer body) {
    BodyWriter w = BodyWriter.forFrame(body.remaining());
    w.bytes(body);
    body.position(body.limit());
    return frame(type, w);
  }

  /**
   * The total length of the frame starting at {@code buf.position()}, or -1 if fewer than
   * {@link #HEADER_BYTES} bytes are available. Does not move the position. For stream decoders.
   */
  public static int peekFrameLength(ByteBuffer buf, int bodyBytesMax) {
    if (buf.remaining() < HEADER_BYTES) {
      return -1;
    }
    long n = Integer.toUnsignedLong(buf.getInt(buf.position() + 2));
    if (n > bodyBytesMax) {
      throw new CodecException("frame body length " + n + " exceeds bodyBytesMax " + bodyBytesMax);
    }
    return (int) (HEADER_BYTES + n + TRAILER_BYTES);
  }

  /**
   * Checks and consumes one frame from {@code buf}; returns its body (a read-only view) and puts
   * the type in {@code typeOut[0]}.
   */
  static ByteBuffer unframe(ByteBuffer buf, int bodyBytesMax, int[] typeOut) {
    int start = buf.position();
    if (buf.remaining() < HEADER_BYTES) {
      throw new CodecException("truncated frame: need " + HEADER_BYTES + " header bytes, have "
          + buf.remaining());
    }
    int version = Byte.toUnsignedInt(buf.get(start));
    if (version != VERSION) {
      throw new CodecException("unsupported frame version " + version + " (expected " + VERSION + ")");
    }
    int total = peekFrameLength(buf, bodyBytesMax);
    if (buf.remaining() < total) {
      throw new CodecException("truncated frame: need " + total + " bytes, have " + buf.remaining());
    }
    int n = total - HEADER_BYTES - TRAILER_BYTES;
    CRC32C crc = new CRC32C();
    ByteBuffer covered = buf.duplicate();
    covered.position(start).limit(start + HEADER_BYTES + n);
    crc.update(covered);
    int expected = buf.getInt(start + HEADER_BYTES + n);
    if ((int) crc.getValue() != expected) {
      throw new CodecException("checksum mismatch: frame says " + Integer.toHexString(expected)
          + ", bytes give " + Integer.toHexString((int) crc.getValue()));
    }
    typeOut[0] = Byte.toUnsignedInt(buf.get(start + 1));
    ByteBuffer body = buf.duplicate();
    body.position(start + HEADER_BYTES).limit(start + HEADER_BYTES + n);
    buf.position(start + total);
    return body.slice().asReadOnlyBuffer();
  }
}
