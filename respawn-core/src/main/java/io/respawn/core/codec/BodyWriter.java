package io.respawn.core.codec;

import java.nio.ByteBuffer;

/**
 * A growable big-endian buffer for building frame bodies. A writer made {@link #forFrame} keeps
 * room for the frame's header before the body and for its trailer after it, so {@link
 * Frames#frame(int, BodyWriter)} seals the frame in place instead of copying the body into a
 * second buffer. Positions ({@link #position}, {@link #patchI32}) count from the body's start.
 */
final class BodyWriter {
  private ByteBuffer buf;
  /** Where the body starts in {@link #buf}: 0, or the frame header's length. */
  private final int start;

  BodyWriter() {
    this(128);
  }

  /** A writer whose buffer starts at {@code initialBytes} (a good estimate saves regrowing). */
  BodyWriter(int initialBytes) {
    this(initialBytes, 0);
  }

  private BodyWriter(int initialBytes, int start) {
    this.start = start;
    buf = ByteBuffer.allocate(start + Math.max(16, initialBytes));
    buf.position(start);
  }

  /**
   * A writer for the body of one frame ({@link Frames#frame(int, BodyWriter)}), with room for the
   * header before it and {@code initialBytes} (body and trailer) after.
   */
  static BodyWriter forFrame(int initialBytes) {
    return new BodyWriter(initialBytes + Frames.TRAILER_BYTES, Frames.HEADER_BYTES);
  }

  /** Bytes kept before the body (0, or a frame header's). */
  int start() {
    return start;
  }

  /** The backing buffer (position at the body's end); for {@link Frames} to seal a frame. */
  ByteBuffer buffer(int moreBytes) {
    ensure(moreBytes);
    return buf;
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
    return buf.position() - start;
  }

  /** Overwrites the i32 written at {@code at} (a length known only after what follows it). */
  void patchI32(int at, int v) {
    if (at < 0 || at + 4 > position()) {
      throw new IllegalArgumentException("no i32 written at " + at);
    }
    buf.putInt(start + at, v);
  }

  /** The body written so far as an array: the buffer itself when it is exactly full. */
  byte[] toArray() {
    if (start == 0 && buf.position() == buf.capacity()) {
      return buf.array();
    }
    return java.util.Arrays.copyOfRange(buf.array(), start, buf.position());
  }

  /** The body written so far, ready to read. */
  ByteBuffer done() {
    return buf.duplicate().flip().position(start);
  }
}
