package io.respawn.core.codec;

import java.nio.ByteBuffer;

/** A growable big-endian buffer for building frame bodies. */
final class BodyWriter {
  private ByteBuffer buf;

  BodyWriter() {
    this(128);
  }

  /** A writer whose buffer starts at {@code initialBytes} (a good estimate saves regrowing). */
  BodyWriter(int initialBytes) {
    buf = ByteBuffer.allocate(Math.max(16, initialBytes));
  }

  private void ensure(int bytes) {
    if (buf.remaining() < bytes) {
      int cap = Math.max(buf.capacity() * 2, buf.position() + bytes);
      ByteBuffer bigger = ByteBuffer.allocate(cap);
      buf.flip();
      bigger.put(buf);
      buf = bigger;
    }
  }

  BodyWriter u8(int v) {
    ensure(1);
    buf.put((byte) v);
    return this;
  }

  BodyWriter bool(boolean v) {
    return u8(v ? 1 : 0);
  }

  BodyWriter u16(int v) {
    if (v < 0 || v > 0xFFFF) {
      throw new IllegalArgumentException("u16 out of range: " + v);
    }
    ensure(2);
    buf.putShort((short) v);
    return this;
  }

  BodyWriter i32(int v) {
    ensure(4);
    buf.putInt(v);
    return this;
  }

  BodyWriter i64(long v) {
    ensure(8);
    buf.putLong(v);
    return this;
  }

  BodyWriter bytes(byte[] b) {
    ensure(b.length);
    buf.put(b);
    return this;
  }

  /** Copies {@code b}'s remaining bytes without moving its position. */
  BodyWriter bytes(ByteBuffer b) {
    ensure(b.remaining());
    buf.put(b.duplicate());
    return this;
  }

  /** Bytes written so far. */
  int position() {
    return buf.position();
  }

  /** Overwrites the i32 written at {@code at} (a length known only after what follows it). */
  void patchI32(int at, int v) {
    if (at < 0 || at + 4 > buf.position()) {
      throw new IllegalArgumentException("no i32 written at " + at);
    }
    buf.putInt(at, v);
  }

  /** The body written so far as an array: the buffer itself when it is exactly full. */
  byte[] toArray() {
    if (buf.position() == buf.capacity()) {
      return buf.array();
    }
    return java.util.Arrays.copyOf(buf.array(), buf.position());
  }

  /** The body written so far, ready to read. */
  ByteBuffer done() {
    return buf.duplicate().flip();
  }
}
