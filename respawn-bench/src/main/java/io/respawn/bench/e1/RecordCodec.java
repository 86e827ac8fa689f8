package io.respawn.bench.e1;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import site.ycsb.ByteArrayByteIterator;
import site.ycsb.ByteIterator;

/**
 * A YCSB record (field name → bytes) as one stored value, so that a key-value store holds a
 * record under one key and reads or writes it with one GET or SET.
 *
 * <pre>
 * one entry per field, in the map's order:
 * +-----------+----------------+-------------+-------------------+
 * | nameBytes | name (UTF-8)   | valueBytes  | value             |
 * | u8        | nameBytes      | u32, big-   | valueBytes        |
 * |           |                | endian      |                   |
 * +-----------+----------------+-------------+-------------------+
 * </pre>
 *
 * <p>A record of one field named {@code field0} costs 11 bytes besides its value: E1's 496-byte
 * values are one 485-byte field. {@link #decode} refuses a value that does not parse to the end
 * (a value written by something else) instead of returning part of it.
 */
public final class RecordCodec {
  /** Longest field name: its length is one unsigned byte. */
  public static final int NAME_BYTES_MAX = 255;
  /** Bytes an entry takes besides the name and the value. */
  public static final int ENTRY_HEADER_BYTES = 1 + 4;

  private RecordCodec() {}

  /** The stored size of a record of {@code fields} fields named {@code fieldN} of {@code valueBytes} each. */
  public static int encodedBytes(int fields, int valueBytesEach) {
    int total = 0;
    for (int i = 0; i < fields; i++) {
      total += ENTRY_HEADER_BYTES + ("field" + i).length() + valueBytesEach;
    }
    return total;
  }

  /** The record as one value; consumes the iterators. */
  public static byte[] encode(Map<String, ByteIterator> fields) {
    byte[][] names = new byte[fields.size()][];
    byte[][] values = new byte[fields.size()][];
    int total = 0;
    int i = 0;
    for (Map.Entry<String, ByteIterator> e : fields.entrySet()) {
      names[i] = e.getKey().getBytes(StandardCharsets.UTF_8);
      if (names[i].length > NAME_BYTES_MAX) {
        throw new IllegalArgumentException("field name longer than " + NAME_BYTES_MAX
            + " bytes: " + e.getKey());
      }
      values[i] = e.getValue().toArray();
      total += ENTRY_HEADER_BYTES + names[i].length + values[i].length;
      i++;
    }
    ByteBuffer out = ByteBuffer.allocate(total);
    for (int f = 0; f < names.length; f++) {
      out.put((byte) names[f].length).put(names[f]).putInt(values[f].length).put(values[f]);
    }
    return out.array();
  }

  /** Puts the fields of {@code stored} into {@code into}, or throws if it is not a record. */
  public static void decode(byte[] stored, Map<String, ByteIterator> into) {
    ByteBuffer in = ByteBuffer.wrap(stored);
    while (in.hasRemaining()) {
      if (in.remaining() < ENTRY_HEADER_BYTES) {
        throw new IllegalArgumentException("record cut short at byte " + in.position());
      }
      int nameBytes = Byte.toUnsignedInt(in.get());
      if (in.remaining() < nameBytes + 4) {
        throw new IllegalArgumentException("record cut short in a field name at byte "
            + in.position());
      }
      String name = new String(stored, in.position(), nameBytes, StandardCharsets.UTF_8);
      in.position(in.position() + nameBytes);
      int valueBytes = in.getInt();
      if (valueBytes < 0 || valueBytes > in.remaining()) {
        throw new IllegalArgumentException("field " + name + " claims " + valueBytes
            + " bytes, " + in.remaining() + " left");
      }
      into.put(name, new ByteArrayByteIterator(stored, in.position(), valueBytes));
      in.position(in.position() + valueBytes);
    }
  }
}
