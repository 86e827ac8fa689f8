package io.respawn.node.snapshot;

import io.respawn.core.Entry;
import io.respawn.core.SnapshotMeta;
import io.respawn.core.codec.CodecException;
import io.respawn.core.codec.EntryCodec;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The envelope a snapshot image travels in (the byte stream {@code SnapshotChunk}s cut into
 * pieces): a header naming the snapshot, the store's body, a trailer with the body's checksum.
 * Integers big-endian.
 *
 * <pre>
 *  header
 *  +-----------+-----------+-----------+---------------+-------------+-----------------+-------------+
 *  | magic u32 | version   | flags u16 | bodyBytes i64 | metaLen u32 | meta (metaLen)  | headerCrc   |
 *  | "RSNP"    | u16 = 1   | bit0 keys |               | <= 64 KiB   | EntryCodec body | u32 CRC32C  |
 *  +-----------+-----------+-----------+---------------+-------------+-----------------+-------------+
 *  body:    bodyBytes bytes, the store's format (e.g. KvStore.IMAGE_FORMAT)
 *  trailer: | bodyCrc u32 (CRC32C of the body) |
 * </pre>
 *
 * {@code meta} is the snapshot's (term, index) and configuration written as a log entry body
 * ({@code EntryCodec}): a CONFIG entry carrying the membership, or a NOOP when the configuration
 * is the bootstrap one. {@code headerCrc} covers every header byte before it. Total length:
 * {@code 24 + metaLen + bodyBytes + 4}.
 */
public final class SnapshotFormat {
  public static final int MAGIC = 0x52534E50; // "RSNP"
  public static final int VERSION = 1;
  public static final int FLAG_KEYS_ONLY = 1;
  /** Bytes of the header before the meta. */
  public static final int FIXED_BYTES = 20;
  public static final int META_BYTES_MAX = 64 * 1024;
  public static final int TRAILER_BYTES = 4;

  private SnapshotFormat() {}

  /** The header of {@code image}'s envelope. */
  public static byte[] header(SnapshotMeta meta, boolean keysOnly, long bodyBytes) {
    Entry carrier = meta.membership() != null
        ? Entry.config(meta.term(), meta.index(), meta.membership())
        : Entry.noop(meta.term(), meta.index());
    byte[] m = EntryCodec.encodeBody(carrier);
    ByteBuffer b = ByteBuffer.allocate(FIXED_BYTES + m.length + 4);
    b.putInt(MAGIC).putShort((short) VERSION).putShort((short) (keysOnly ? FLAG_KEYS_ONLY : 0))
        .putLong(bodyBytes).putInt(m.length).put(m);
    CRC32C crc = new CRC32C();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    return b.array();
  }

  public static byte[] trailer(int bodyCrc32c) {
    return ByteBuffer.allocate(TRAILER_BYTES).putInt(bodyCrc32c).array();
  }

  /** A parsed header. */
  public record Header(SnapshotMeta meta, boolean keysOnly, long bodyBytes, int headerBytes) {}

  /**
   * The header length once {@code FIXED_BYTES} are known, or -1 if {@code prefix} holds fewer;
   * throws {@link CodecException} on a bad magic, version or meta length.
   */
  public static int headerBytes(byte[] prefix, int len) {
    if (len < FIXED_BYTES) {
      return -1;
    }
    ByteBuffer b = ByteBuffer.wrap(prefix, 0, len);
    int magic = b.getInt();
    int version = b.getShort() & 0xFFFF;
    int flags = b.getShort() & 0xFFFF;
    long body = b.getLong();
    int metaLen = b.getInt();
    if (magic != MAGIC) {
      throw new CodecException("snapshot image: magic " + Integer.toHexString(magic)
          + ", expected " + Integer.toHexString(MAGIC));
    }
    if (version != VERSION || (flags & ~FLAG_KEYS_ONLY) != 0) {
      throw new CodecException("snapshot image: version " + version + " flags " + flags
          + ", expected version " + VERSION);
    }
    if (body < 0 || metaLen < 1 || metaLen > META_BYTES_MAX) {
      throw new CodecException("snapshot image: bodyBytes " + body + " metaLen " + metaLen);
    }
    return FIXED_BYTES + metaLen + 4;
  }

  /** Parses and checks a whole header ({@link #headerBytes} of them). */
  public static Header parseHeader(byte[] bytes, int len) {
    int total = headerBytes(bytes, len);
    if (total < 0 || len < total) {
      throw new CodecException("snapshot image: header of " + len + " bytes is incomplete");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes, 0, total);
    b.getInt();
    b.getShort();
    int flags = b.getShort() & 0xFFFF;
    long body = b.getLong();
    int metaLen = b.getInt();
    byte[] m = new byte[metaLen];
    b.get(m);
    int stored = b.getInt();
    CRC32C crc = new CRC32C();
    crc.update(bytes, 0, total - 4);
    if ((int) crc.getValue() != stored) {
      throw new CodecException("snapshot image: header checksum mismatch");
    }
    Entry carrier = EntryCodec.decodeBody(m);
    SnapshotMeta meta = new SnapshotMeta(carrier.index(), carrier.term(), carrier.membership());
    return new Header(meta, (flags & FLAG_KEYS_ONLY) != 0, body, total);
  }
}
