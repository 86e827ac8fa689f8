package io.respawn.core.codec;

import java.nio.ByteBuffer;

/** Bounds-checked reads from a frame body; every failure names the field it was reading. */
final class BodyReader {
  private final ByteBuffer buf;

  BodyReader(ByteBuffer buf) {
    this.buf = buf;
  }

  private void need(int bytes, String field) {
    if (buf.remaining() < bytes) {
      throw new CodecException("truncated body reading " + field + ": need " + bytes
          + " bytes, have " + buf.remaining());
    }
  }

  int u8(String field) {
    need(1, field);
    return Byte.toUnsignedInt(buf.get());
  }

  boolean bool(String field) {
    int v = u8(field);
    if (v > 1) {
      throw new CodecException(field + " must be 0 or 1, was " + v);
    }
    return v == 1;
  }

  int u16(String field) {
    need(2, field);
    return Short.toUnsignedInt(buf.getShort());
  }

  /** An unsigned 32-bit count or length, refused above {@code max}. */
  int count(String field, long max) {
    need(4, field);
    long v = Integer.toUnsignedLong(buf.getInt());
    if (v > max) {
      throw new CodecException(field + " " + v + " exceeds " + max);
    }
    return (int) v;
  }

  int nonNegativeInt(String field) {
    need(4, field);
    int v = buf.getInt();
    if (v < 0) {
      throw new CodecException(field + " must be >= 0, was " + v);
    }
    return v;
  }

  long i64(String field) {
    need(8, field);
    return buf.getLong();
  }

  long nonNegativeLong(String field) {
    long v = i64(field);
    if (v < 0) {
      throw new CodecException(field + " must be >= 0, was " + v);
    }
    return v;
  }

  byte[] bytes(int n, String field) {
    need(n, field);
    byte[] out = new byte[n];
    buf.get(out);
    return out;
  }

  int remaining() {
    return buf.remaining();
  }

  void expectEnd(String what) {
    if (buf.hasRemaining()) {
      throw new CodecException(buf.remaining() + " unexpected trailing bytes after " + what);
    }
  }
}
