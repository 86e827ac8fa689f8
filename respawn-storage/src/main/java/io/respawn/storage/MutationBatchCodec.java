package io.respawn.storage;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * One atomic batch of {@link Mutation}s as bytes: the payload of a replicated write (a log
 * entry's command data). Pure. Integers are big-endian. The entry that carries it is framed and
 * checksummed by the replica log and the wire codec, so this layout has no checksum of its own;
 * decoding still checks every length against the bytes present and refuses trailing bytes.
 *
 * <pre>
 *  0         1            5
 * +---------+------------+------------------------------------------+
 * | version | count u32  | count x mutation                         |
 * | u8 = 1  |            |                                          |
 * +---------+------------+------------------------------------------+
 *
 * mutation (17-byte header + key + value)
 *  0      1            9           13          17        17+k
 * +------+------------+-----------+-----------+---------+---------+
 * | kind | expiresAt  | keyLen u32| valLen u32| key     | value   |
 * | u8   | i64        |           |           | k bytes | v bytes |
 * +------+------------+-----------+-----------+---------+---------+
 *  kind = 1 PUT, 2 DELETE, 3 CLEAR (as LogFormat's record types); valLen is 0 for DELETE and
 *  CLEAR; expiresAt is epoch millis for PUT (0 = never), 0 otherwise
 * </pre>
 */
public final class MutationBatchCodec {
  public static final int VERSION = 1;
  public static final int HEADER_BYTES = 5;
  public static final int MUTATION_HEADER_BYTES = 17;

  private MutationBatchCodec() {}

  /** Encoded size of {@code batch}. */
  public static long encodedBytes(List<Mutation> batch) {
    long n = HEADER_BYTES;
    for (Mutation m : batch) {
      n += MUTATION_HEADER_BYTES + m.key().length + (m.value() == null ? 0 : m.value().length);
    }
    return n;
  }

  public static byte[] encode(List<Mutation> batch) {
    long size = encodedBytes(batch);
    if (size > Integer.MAX_VALUE - 16) {
      throw new IllegalArgumentException("batch of " + size + " bytes is too large to replicate");
    }
    ByteBuffer b = ByteBuffer.allocate((int) size);
    b.put((byte) VERSION).putInt(batch.size());
    for (Mutation m : batch) {
      byte[] value = m.value() == null ? new byte[0] : m.value();
      b.put(LogFormat.typeOf(m.kind())).putLong(m.expiresAtMillis()).putInt(m.key().length)
          .putInt(value.length).put(m.key()).put(value);
    }
    return b.array();
  }

  /** Decodes a whole payload; throws {@link IllegalArgumentException} naming what is wrong. */
  public static List<Mutation> decode(byte[] bytes) {
    return decode(ByteBuffer.wrap(bytes));
  }

  /**
   * Decodes the whole payload between {@code payload}'s position and limit (which it leaves as
   * they are; keys and values are copied out); throws {@link IllegalArgumentException} naming
   * what is wrong.
   */
  public static List<Mutation> decode(ByteBuffer payload) {
    ByteBuffer b = payload.slice(); // big-endian, like encode; the caller's position stays
    if (b.remaining() < HEADER_BYTES) {
      throw new IllegalArgumentException("mutation batch of " + b.remaining()
          + " bytes is shorter than its " + HEADER_BYTES + "-byte header");
    }
    int version = Byte.toUnsignedInt(b.get());
    if (version != VERSION) {
      throw new IllegalArgumentException("mutation batch version " + version + ", expected "
          + VERSION);
    }
    int count = b.getInt();
    if (count < 0 || count > b.remaining() / MUTATION_HEADER_BYTES) {
      throw new IllegalArgumentException("mutation count " + Integer.toUnsignedString(count)
          + " does not fit in " + b.remaining() + " bytes");
    }
    List<Mutation> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      if (b.remaining() < MUTATION_HEADER_BYTES) {
        throw new IllegalArgumentException("mutation " + i + " is truncated");
      }
      byte kind = b.get();
      long expires = b.getLong();
      int keyLength = b.getInt();
      int valueLength = b.getInt();
      if (keyLength < 0 || valueLength < 0 || (long) keyLength + valueLength > b.remaining()) {
        throw new IllegalArgumentException("mutation " + i + ": key " + keyLength + " + value "
            + valueLength + " bytes exceed the " + b.remaining() + " bytes left");
      }
      byte[] key = new byte[keyLength];
      b.get(key);
      byte[] value = new byte[valueLength];
      b.get(value);
      out.add(switch (kind) {
        case LogFormat.TYPE_PUT -> Mutation.put(key, value, expires);
        case LogFormat.TYPE_DELETE -> Mutation.delete(key);
        case LogFormat.TYPE_CLEAR -> Mutation.clear();
        default -> throw new IllegalArgumentException("mutation " + i + " has unknown kind "
            + kind);
      });
    }
    if (b.hasRemaining()) {
      throw new IllegalArgumentException(b.remaining() + " trailing bytes after " + count
          + " mutations");
    }
    return out;
  }
}
