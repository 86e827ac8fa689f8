package io.respawn.mirror;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What a data packet's frame holds: fragments of groups (a group is one committed batch of
 * writes, opaque bytes here), back to back. A small group fits in one entry and several share a
 * frame; a large one spans the frames of consecutive packets.
 *
 * <pre>
 * Frame = entries back to back, exactly filling the frame
 * Entry (11-byte header + len bytes), big-endian
 *  0       1                 9          11
 * +-------+-----------------+----------+----------------+
 * | flags | position u64    | len u16  | fragment bytes |
 * +-------+-----------------+----------+----------------+
 *  flags    bit 0 FIRST: the group's first fragment; bit 1 LAST: its last; others zero
 *  position the group's place in the stream (1, 2, 3, ...), the same in all its fragments
 *  len      1..frameBytesMax - 11
 * </pre>
 */
public final class Frames {
  public static final int ENTRY_HEADER_BYTES = 11;
  public static final int FLAG_FIRST = 1;
  public static final int FLAG_LAST = 2;

  private Frames() {}

  /** One fragment of a group. */
  public record Entry(int flags, long position, byte[] bytes) {
    public boolean first() {
      return (flags & FLAG_FIRST) != 0;
    }

    public boolean last() {
      return (flags & FLAG_LAST) != 0;
    }
  }

  /** Appends one entry to {@code out} (the caller checked it fits). */
  public static void put(ByteBuffer out, int flags, long position, byte[] group, int offset, int length) {
    assert length >= 1 && length <= 0xFFFF;
    out.put((byte) flags).putLong(position).putShort((short) length).put(group, offset, length);
  }

  /** The highest group position a frame's entries carry (reading headers only), or 0. */
  public static long lastPosition(byte[] frame) {
    ByteBuffer in = ByteBuffer.wrap(frame);
    long last = 0;
    while (in.remaining() >= ENTRY_HEADER_BYTES) {
      in.get();
      last = Math.max(last, in.getLong());
      int length = in.getShort() & 0xFFFF;
      if (length > in.remaining()) {
        break;
      }
      in.position(in.position() + length);
    }
    return last;
  }

  /** The entries of a frame, or null if the frame is malformed. */
  public static List<Entry> parse(byte[] frame) {
    ByteBuffer in = ByteBuffer.wrap(frame);
    List<Entry> entries = new ArrayList<>(2);
    while (in.hasRemaining()) {
      if (in.remaining() < ENTRY_HEADER_BYTES) {
        return null;
      }
      int flags = in.get() & 0xFF;
      long position = in.getLong();
      int length = in.getShort() & 0xFFFF;
      if ((flags & ~(FLAG_FIRST | FLAG_LAST)) != 0 || position < 1 || length < 1
          || length > in.remaining()) {
        return null;
      }
      byte[] bytes = new byte[length];
      in.get(bytes);
      entries.add(new Entry(flags, position, bytes));
    }
    return entries.isEmpty() ? null : entries;
  }
}
