package io.respawn.storage;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * The on-disk layout of the log: segment header, records and commit records. All integers are
 * big-endian. Pure functions, no I/O.
 *
 * <pre>
 * Segment file  "&lt;20-digit id&gt;-&lt;generation&gt;.log"
 * +-------------------+----------+----------+---------+---------+-----
 * | segment header    | batch 1  | batch 2  |   ...   | batch n | (torn tail?)
 * | 16 B              |          |          |         |         |
 * +-------------------+----------+----------+---------+---------+-----
 *  A batch never spans segments. One larger than segmentBytesMax - 16 (a 512 MiB value) is the
 *  only batch of its segment, which is then longer than segmentBytesMax.
 *
 * Segment header (16 bytes)
 *  0               8               12              16
 * +---------------+---------------+---------------+
 * | magic u64     | version u32   | crc32c u32    |   magic = "RSPWNLOG", version = 1,
 * +---------------+---------------+---------------+   crc over bytes [0, 12)
 *
 * Batch = one or more data records followed by one commit record, written with one write and
 * no flush in between:
 * +-----------+-----------+-----+-----------+---------------+
 * | record 1  | record 2  | ... | record k  | commit record |
 * +-----------+-----------+-----+-----------+---------------+
 *
 * Record (33-byte header + key + value)
 *  0      4      8   9          17         25      29      33        33+k
 * +------+------+---+----------+----------+-------+-------+---------+---------+
 * |length|crc32c|typ| sequence | expiresAt|keyLen |valLen | key     | value   |
 * | u32  | u32  |u8 |   u64    |   i64    | u32   | u32   | k bytes | v bytes |
 * +------+------+---+----------+----------+-------+-------+---------+---------+
 *  length  = 33 + k + v (the whole record)
 *  crc32c  = CRC-32C over bytes [0, 4) and [8, length), i.e. everything but itself
 *  type    = 1 PUT, 2 DELETE, 3 CLEAR, 4 COMMIT
 *  sequence= the batch's sequence number (compaction keeps each record's original one)
 *  expiresAt = epoch millis for PUT (0 = never), 0 for the other types
 *
 * Commit record = a record of type 4 with an empty key and a 20-byte value:
 *  0             4             8             12                   20
 * +-------------+-------------+-------------+--------------------+
 * | records u32 | dataLen u32 | batchCrc u32| durableOffset u64  |
 * +-------------+-------------+-------------+--------------------+
 *  records       = number of data records in the batch (k >= 1)
 *  dataLen       = bytes of the data records (the batch minus this commit record)
 *  batchCrc      = CRC-32C over those dataLen bytes: the checksum of the whole batch
 *  durableOffset = an offset in this segment that a completed flush had covered when the batch
 *                  was written; recovery uses it to tell a torn tail (bad bytes at or after it)
 *                  from corruption of flushed data (bad bytes before it)
 *
 * Clean-shutdown mark, file "clean-shutdown" (32 bytes): written (via a flushed temp file and a
 * rename) when the store closes cleanly, deleted when the next segment is created. While it names
 * the last segment, bad bytes in that segment below flushedBytes are corruption, not a torn tail:
 * the last record of a cleanly stopped log has no later commit record to vouch for it.
 *  0               8               16              20              28              32
 * +---------------+---------------+---------------+---------------+---------------+
 * | magic u64     | segment id u64| generation u32| flushedBytes  | crc32c u32    |
 * |               |               |               | u64           |               |
 * +---------------+---------------+---------------+---------------+---------------+
 *  magic = "RSPWNCLN"; flushedBytes = the segment's length, all of it flushed;
 *  crc over bytes [0, 28)
 * </pre>
 */
public final class LogFormat {
  public static final int RECORD_HEADER_BYTES = 33;
  public static final int COMMIT_VALUE_BYTES = 20;
  public static final int COMMIT_BYTES = RECORD_HEADER_BYTES + COMMIT_VALUE_BYTES;
  public static final int SEGMENT_HEADER_BYTES = 16;
  public static final long SEGMENT_MAGIC = 0x5253_5057_4E4C_4F47L; // "RSPWNLOG"
  public static final int FORMAT_VERSION = 1;

  public static final byte TYPE_PUT = 1;
  public static final byte TYPE_DELETE = 2;
  public static final byte TYPE_CLEAR = 3;
  public static final byte TYPE_COMMIT = 4;

  /** Largest key the format holds (recovery accepts keys up to this, whatever the config). */
  public static final int KEY_BYTES_LIMIT = 1 << 24;
  /** Largest value the format holds (recovery accepts values up to this, whatever the config). */
  public static final int VALUE_BYTES_LIMIT = 1 << 30;
  /** Largest batch: it is encoded into one Java array. */
  public static final int BATCH_BYTES_LIMIT = Integer.MAX_VALUE - 8;

  public static final String CLEAN_SHUTDOWN_FILE = "clean-shutdown";
  public static final int CLEAN_SHUTDOWN_BYTES = 32;
  public static final long CLEAN_SHUTDOWN_MAGIC = 0x5253_5057_4E43_4C4EL; // "RSPWNCLN"

  public static final String SEGMENT_SUFFIX = ".log";
  public static final String TEMP_SUFFIX = ".tmp";

  private LogFormat() {}

  /** Encoded size of one data record. */
  public static long recordBytes(int keyBytes, int valueBytes) {
    return (long) RECORD_HEADER_BYTES + keyBytes + valueBytes;
  }

  /** Encoded size of a batch of mutations including its commit record. */
  public static long batchBytes(List<Mutation> batch) {
    long total = COMMIT_BYTES;
    for (int i = 0; i < batch.size(); i++) { // indexed: no iterator per call
      Mutation m = batch.get(i);
      total += recordBytes(m.key().length, m.value() == null ? 0 : m.value().length);
    }
    return total;
  }

  public static byte typeOf(Mutation.Kind kind) {
    return switch (kind) {
      case PUT -> TYPE_PUT;
      case DELETE -> TYPE_DELETE;
      case CLEAR -> TYPE_CLEAR;
    };
  }

  /**
   * Encodes a batch: its records then the commit record. The caller has checked the sizes.
   *
   * @param durableOffset see the commit record layout
   */
  public static byte[] encodeBatch(List<Mutation> batch, long sequence, long durableOffset) {
    int total = checkedBatchBytes(batch);
    byte[] out = new byte[total];
    encodeInto(batch, sequence, durableOffset, out, total);
    return out;
  }

  /**
   * Encodes a batch into {@code out} from index 0, which must hold at least {@link
   * #batchBytes} bytes (the rest of it is left as it was); returns the bytes written.
   */
  public static int encodeBatch(List<Mutation> batch, long sequence, long durableOffset,
      byte[] out) {
    int total = checkedBatchBytes(batch);
    if (out.length < total) {
      throw new IllegalArgumentException(
          "batch of " + total + " bytes does not fit in " + out.length);
    }
    encodeInto(batch, sequence, durableOffset, out, total);
    return total;
  }

  private static void encodeInto(List<Mutation> batch, long sequence, long durableOffset,
      byte[] out, int total) {
    ByteBuffer buffer = ByteBuffer.wrap(out, 0, total);
    for (int i = 0; i < batch.size(); i++) { // indexed: no iterator per call
      Mutation m = batch.get(i);
      putRecord(buffer, typeOf(m.kind()), sequence, m.expiresAtMillis(), m.key(), m.value());
    }
    putCommit(buffer, batch.size(), sequence, 0, buffer.position(), durableOffset);
    assert buffer.position() == total : "batch size computed wrongly";
  }

  /** {@link #batchBytes}, refusing an empty batch or one too large for an array. */
  private static int checkedBatchBytes(List<Mutation> batch) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("empty batch");
    }
    long total = batchBytes(batch);
    if (total > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("batch of " + total + " bytes is too large to encode");
    }
    return (int) total;
  }

  /** Appends one data record at the buffer's position. */
  public static void putRecord(
      ByteBuffer out, byte type, long sequence, long expiresAtMillis, byte[] key, byte[] value) {
    int start = out.position();
    int valueBytes = value == null ? 0 : value.length;
    int length = RECORD_HEADER_BYTES + key.length + valueBytes;
    out.putInt(length).putInt(0).put(type).putLong(sequence).putLong(expiresAtMillis);
    out.putInt(key.length).putInt(valueBytes).put(key);
    if (value != null) {
      out.put(value);
    }
    out.putInt(start + 4, recordCrc(out.array(), out.arrayOffset() + start, length));
  }

  /**
   * {@link #putRecord(ByteBuffer, byte, long, long, byte[], byte[])} with key and value read from
   * memory ({@code out} must be a heap buffer).
   */
  public static void putRecord(ByteBuffer out, byte type, long sequence, long expiresAtMillis,
      MemorySegment from, long keyOffset, int keyBytes, long valueOffset, int valueBytes) {
    int start = out.position();
    int length = RECORD_HEADER_BYTES + keyBytes + valueBytes;
    out.putInt(length).putInt(0).put(type).putLong(sequence).putLong(expiresAtMillis);
    out.putInt(keyBytes).putInt(valueBytes);
    MemorySegment to = MemorySegment.ofBuffer(out); // starts at out's position
    MemorySegment.copy(from, keyOffset, to, 0, keyBytes);
    MemorySegment.copy(from, valueOffset, to, keyBytes, valueBytes);
    out.position(out.position() + keyBytes + valueBytes);
    out.putInt(start + 4, recordCrc(out.array(), out.arrayOffset() + start, length));
  }

  /**
   * Appends the commit record for the data records in [dataStart, out.position()).
   *
   * @param dataStart where the batch's first data record starts in out
   */
  public static void putCommit(
      ByteBuffer out, int records, long sequence, int dataStart, int dataEnd, long durableOffset) {
    CRC32C batchCrc = new CRC32C();
    batchCrc.update(out.array(), out.arrayOffset() + dataStart, dataEnd - dataStart);
    putCommitRecord(out, records, sequence, dataEnd - dataStart, (int) batchCrc.getValue(), durableOffset);
  }

  private static void putCommitRecord(ByteBuffer out, int records, long sequence, int dataBytes,
      int batchCrc, long durableOffset) {
    int start = out.position();
    out.putInt(COMMIT_BYTES).putInt(0).put(TYPE_COMMIT).putLong(sequence).putLong(0);
    out.putInt(0).putInt(COMMIT_VALUE_BYTES);
    out.putInt(records).putInt(dataBytes).putInt(batchCrc);
    out.putLong(durableOffset);
    out.putInt(start + 4, recordCrc(out.array(), out.arrayOffset() + start, COMMIT_BYTES));
  }

  /**
   * A batch of one data record, encoded without copying its value: the record's header and key,
   * the value itself (wrapped, not copied) and the commit record, to be written back to back.
   * Same bytes as {@link #encodeBatch} of that one record; for records too large to copy into a
   * buffer (compaction of a 512 MiB value).
   */
  public static ByteBuffer[] encodeSingleRecordBatch(byte type, long sequence,
      long expiresAtMillis, byte[] key, byte[] value, long durableOffset) {
    byte[] v = value == null ? new byte[0] : value;
    long length = recordBytes(key.length, v.length);
    if (length + COMMIT_BYTES > BATCH_BYTES_LIMIT) {
      throw new IllegalArgumentException("record of " + length + " bytes is too large to encode");
    }
    ByteBuffer head = ByteBuffer.allocate(RECORD_HEADER_BYTES + key.length);
    head.putInt((int) length).putInt(0).put(type).putLong(sequence).putLong(expiresAtMillis);
    head.putInt(key.length).putInt(v.length).put(key);
    CRC32C crc = new CRC32C();
    crc.update(head.array(), 0, 4);
    crc.update(head.array(), 8, head.capacity() - 8);
    crc.update(v);
    head.putInt(4, (int) crc.getValue());
    CRC32C batchCrc = new CRC32C();
    batchCrc.update(head.array());
    batchCrc.update(v);
    ByteBuffer commit = ByteBuffer.allocate(COMMIT_BYTES);
    putCommitRecord(commit, 1, sequence, (int) length, (int) batchCrc.getValue(), durableOffset);
    return new ByteBuffer[] {head.flip(), ByteBuffer.wrap(v), commit.flip()};
  }

  /** CRC-32C of a record: everything but the crc field itself. */
  public static int recordCrc(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, 4);
    crc.update(bytes, offset + 8, length - 8);
    return (int) crc.getValue();
  }

  public static int crc32c(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }

  public static byte[] segmentHeader() {
    ByteBuffer header = ByteBuffer.allocate(SEGMENT_HEADER_BYTES);
    header.putLong(SEGMENT_MAGIC).putInt(FORMAT_VERSION);
    header.putInt(crc32c(header.array(), 0, 12));
    return header.array();
  }

  /** Null if the header is valid, else why not. */
  public static String checkSegmentHeader(byte[] header, int length) {
    if (length < SEGMENT_HEADER_BYTES) {
      return "short segment header (" + length + " of " + SEGMENT_HEADER_BYTES + " bytes)";
    }
    ByteBuffer in = ByteBuffer.wrap(header, 0, SEGMENT_HEADER_BYTES);
    long magic = in.getLong();
    int version = in.getInt();
    int crc = in.getInt();
    if (crc != crc32c(header, 0, 12)) {
      return "segment header checksum mismatch";
    }
    if (magic != SEGMENT_MAGIC) {
      return "not a Respawn log segment (bad magic)";
    }
    if (version != FORMAT_VERSION) {
      return "unsupported log format version " + version + " (this build reads " + FORMAT_VERSION + ")";
    }
    return null;
  }

  /** What a clean shutdown recorded: the last segment and how many of its bytes were flushed. */
  public record CleanShutdown(SegmentId segment, long flushedBytes) {}

  public static byte[] encodeCleanShutdown(CleanShutdown mark) {
    ByteBuffer out = ByteBuffer.allocate(CLEAN_SHUTDOWN_BYTES);
    out.putLong(CLEAN_SHUTDOWN_MAGIC).putLong(mark.segment().id())
        .putInt(mark.segment().generation()).putLong(mark.flushedBytes());
    out.putInt(crc32c(out.array(), 0, CLEAN_SHUTDOWN_BYTES - 4));
    return out.array();
  }

  /** The mark, or null if these bytes are not a valid one. */
  public static CleanShutdown decodeCleanShutdown(byte[] bytes, int length) {
    if (length != CLEAN_SHUTDOWN_BYTES) {
      return null;
    }
    ByteBuffer in = ByteBuffer.wrap(bytes, 0, CLEAN_SHUTDOWN_BYTES);
    long magic = in.getLong();
    long id = in.getLong();
    int generation = in.getInt();
    long flushedBytes = in.getLong();
    int crc = in.getInt();
    if (magic != CLEAN_SHUTDOWN_MAGIC || crc != crc32c(bytes, 0, CLEAN_SHUTDOWN_BYTES - 4)
        || id < 0 || generation < 0 || flushedBytes < SEGMENT_HEADER_BYTES) {
      return null;
    }
    return new CleanShutdown(new SegmentId(id, generation), flushedBytes);
  }

  /** File name of a segment; names sort like (id, generation) for equal-width generations. */
  public static String segmentName(long id, int generation) {
    return String.format("%020d-%d%s", id, generation, SEGMENT_SUFFIX);
  }

  /** A parsed segment file name. */
  public record SegmentId(long id, int generation) implements Comparable<SegmentId> {
    public String fileName() {
      return segmentName(id, generation);
    }

    @Override
    public int compareTo(SegmentId o) {
      int c = Long.compare(id, o.id);
      return c != 0 ? c : Integer.compare(generation, o.generation);
    }
  }

  /** Parses a segment file name, or returns null if it is not one. */
  public static SegmentId parseSegmentName(String name) {
    if (!name.endsWith(SEGMENT_SUFFIX)) {
      return null;
    }
    String stem = name.substring(0, name.length() - SEGMENT_SUFFIX.length());
    int dash = stem.indexOf('-');
    if (dash != 20) {
      return null;
    }
    try {
      long id = Long.parseLong(stem.substring(0, dash));
      int generation = Integer.parseInt(stem.substring(dash + 1));
      if (id < 0 || generation < 0) {
        return null;
      }
      return new SegmentId(id, generation);
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
