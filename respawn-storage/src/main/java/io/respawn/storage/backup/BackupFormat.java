package io.respawn.storage.backup;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * The backup's byte layouts: one record format shared by the persistent buffer and the hot and
 * cold logs (writeback copies records without re-encoding them), the log segment header, and the
 * buffer's checkpoint. All integers are big-endian. Pure functions, no I/O.
 *
 * <pre>
 * Record (49-byte header + key + value)
 *  0      4      8   9        17       25       33         41     45     49        49+k
 * +------+------+---+--------+--------+--------+----------+------+------+---------+---------+
 * |length|crc32c|typ| term   | index  | seq    | expiresAt|keyLen|valLen| key     | value   |
 * | u32  | u32  |u8 | u64    | u64    | u64    | i64      | u32  | u32  | k bytes | v bytes |
 * +------+------+---+--------+--------+--------+----------+------+------+---------+---------+
 *  length    = 49 + k + v (the whole record)
 *  crc32c    = CRC-32C over bytes [0, 4) and [8, length): everything but itself
 *  typ       = bits 0-6: 1 PUT, 2 TOMBSTONE (v = 0), 3 WRAP (buffer only, k = v = 0: the rest of
 *              this lap of the ring is unused, the next record starts at the ring's first byte),
 *              4 CLEAR (buffer only, k = v = 0: every key older than this entry is gone);
 *              bit 7 (0x80) LAST: the last record of its entry. An entry's records are
 *              contiguous in the ring; replay applies an entry only once its LAST record is in.
 *  term,index= the replicated entry's logical timestamp, compared as (term, index); every record
 *              of one entry has the same one
 *  seq       = buffer sequence number: +1 per record appended to the persistent buffer, by a
 *              replicated write or a GC rewrite (a WRAP carries the seq of the record after it)
 *  expiresAt = epoch millis of a PUT's expiry, 0 = never
 *
 * Log segment file "hot-&lt;20-digit id&gt;.seg" or "cold-&lt;20-digit id&gt;.seg"
 * +---------------+-----------------------------------+-----------------------+----
 * | header 32 B   | records (rest of page 0)          | page 1 records        | ...
 * +---------------+-----------------------------------+-----------------------+----
 *  Pages are 4 KiB by file offset. A record never straddles a page boundary unless it is larger
 *  than a page; then it starts on a page boundary and the next record starts on the next one.
 *  The gaps are zeros (a length of 0 means "skip to the next page"). So every page that is not
 *  the continuation of a large record begins with a record (page 0: right after the header),
 *  and PriorityPull can parse a key's page from its first byte.
 *
 * Segment header (32 bytes)
 *  0          8         12   13    16         24        28        32
 * +----------+---------+----+-----+----------+---------+---------+
 * | magic u64| ver u32 |kind| 0 0 | firstSeq | crc32c  | 0 u32   |  magic = "RSPWNBKL", version 1,
 * |          |         | u8 | pad | u64      | u32     |         |  kind 1 hot / 2 cold, crc over [0,24)
 * +----------+---------+----+-----+----------+---------+---------+
 *  firstSeq = seq of the first record written to the segment; within one log seqs only grow
 *
 * Buffer checkpoint (112 bytes; two slots, at byte 0 and byte 512 of the buffer file; the valid
 * slot with the larger counter wins, and a new checkpoint overwrites the other slot)
 *  0          8        12       16        24         32          40          48
 * +----------+--------+--------+---------+----------+-----------+-----------+
 * | magic u64| ver u32| crc32c | counter | ringBytes| releasePos| releaseSeq|
 * +----------+--------+--------+---------+----------+-----------+-----------+
 *  48           56            64          72            80           88           96          104        112
 * +------------+-------------+-----------+-------------+------------+------------+-----------+----------+
 * | appliedTerm| appliedIndex| hotSegment| hotDurable  | coldSegment| coldDurable| clearTerm | clearIdx |
 * +------------+-------------+-----------+-------------+------------+------------+-----------+----------+
 *  magic = "RSPWNBUF", version 1, crc32c over [0,12) and [16,112), all fields u64
 *  releasePos/Seq   = ring position (bytes ever appended, not wrapped) and seq of the first record
 *                     not yet in durable logs: recovery replays the buffer from here
 *  applied*         = newest timestamp applied when the checkpoint was taken
 *  *Segment/*Durable= each log's active segment id (0 = none) and how many of its bytes a
 *                     completed fsync covered: bad bytes below that are corruption, not a torn tail
 *  clear*           = timestamp of the newest CLEAR released from the ring: log records older
 *                     than it are dead (CLEAR records are never copied to the logs)
 * </pre>
 */
public final class BackupFormat {
  public static final int PAGE_BYTES = 4096;
  public static final int RECORD_HEADER_BYTES = 49;
  public static final int SEGMENT_HEADER_BYTES = 32;
  public static final int CHECKPOINT_BYTES = 112;
  /** Byte offsets of the two checkpoint slots in the buffer file. */
  public static final int CHECKPOINT_SLOT_A = 0;
  public static final int CHECKPOINT_SLOT_B = 512;
  /** The ring starts after the first page of the buffer file (which holds the checkpoints). */
  public static final int RING_START = PAGE_BYTES;
  /** Buffer records start on multiples of this. */
  public static final int BUFFER_ALIGN_BYTES = 8;

  public static final long SEGMENT_MAGIC = 0x5253_5057_4E42_4B4CL; // "RSPWNBKL"
  public static final long CHECKPOINT_MAGIC = 0x5253_5057_4E42_5546L; // "RSPWNBUF"
  public static final int FORMAT_VERSION = 1;

  public static final byte TYPE_PUT = 1;
  public static final byte TYPE_TOMBSTONE = 2;
  public static final byte TYPE_WRAP = 3;
  public static final byte TYPE_CLEAR = 4;
  /** Flag in the type byte: the last record of its entry. */
  public static final int LAST = 0x80;

  public static final String SEGMENT_SUFFIX = ".seg";

  static final int OFF_LENGTH = 0;
  static final int OFF_CRC = 4;
  static final int OFF_TYPE = 8;
  static final int OFF_TERM = 9;
  static final int OFF_INDEX = 17;
  static final int OFF_SEQ = 25;
  static final int OFF_EXPIRES = 33;
  static final int OFF_KEY_LENGTH = 41;
  static final int OFF_VALUE_LENGTH = 45;

  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
  private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

  private BackupFormat() {}

  /** Encoded size of a record. */
  public static long recordBytes(int keyBytes, int valueBytes) {
    return (long) RECORD_HEADER_BYTES + keyBytes + valueBytes;
  }

  /** x rounded up to a multiple of the (power of two) alignment. */
  static long align(long x, int alignment) {
    return (x + alignment - 1) & -(long) alignment;
  }

  /**
   * Encodes a record at dst[at..] and returns its length. The caller made room.
   *
   * @param value null for a tombstone
   */
  static int encode(byte[] dst, int at, byte type, boolean last, long term, long index,
      long seq, long expiresAtMillis, byte[] key, byte[] value) {
    return encode(dst, at, (byte) (type | (last ? LAST : 0)), term, index, seq, expiresAtMillis,
        key, 0, key.length, value, 0, value == null ? 0 : value.length);
  }

  static int encode(byte[] dst, int at, byte type, long term, long index, long seq,
      long expiresAtMillis, byte[] key, int keyFrom, int keyBytes, byte[] value, int valueFrom,
      int valueBytes) {
    int length = RECORD_HEADER_BYTES + keyBytes + valueBytes;
    INT.set(dst, at + OFF_LENGTH, length);
    dst[at + OFF_TYPE] = type;
    LONG.set(dst, at + OFF_TERM, term);
    LONG.set(dst, at + OFF_INDEX, index);
    LONG.set(dst, at + OFF_SEQ, seq);
    LONG.set(dst, at + OFF_EXPIRES, expiresAtMillis);
    INT.set(dst, at + OFF_KEY_LENGTH, keyBytes);
    INT.set(dst, at + OFF_VALUE_LENGTH, valueBytes);
    System.arraycopy(key, keyFrom, dst, at + RECORD_HEADER_BYTES, keyBytes);
    if (valueBytes > 0) {
      System.arraycopy(value, valueFrom, dst, at + RECORD_HEADER_BYTES + keyBytes, valueBytes);
    }
    INT.set(dst, at + OFF_CRC, recordCrc(dst, at, length));
    return length;
  }

  /** A WRAP marker at dst[at..]: the rest of the lap is unused; next record has seq nextSeq. */
  static int encodeWrap(byte[] dst, int at, long nextSeq) {
    return encode(dst, at, TYPE_WRAP, 0, 0, nextSeq, 0, dst, 0, 0, null, 0, 0);
  }

  /** CRC-32C of a record: everything but the crc field. */
  static int recordCrc(byte[] bytes, int at, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, at, OFF_CRC);
    crc.update(bytes, at + OFF_TYPE, length - OFF_TYPE);
    return (int) crc.getValue();
  }

  /**
   * Null if bytes[at..at+available) starts with a well-formed record (and, with checksums on,
   * one whose CRC matches), else what is wrong with it.
   */
  static String check(byte[] bytes, int at, int available, boolean checksums) {
    if (available < RECORD_HEADER_BYTES) {
      return "short record header (" + available + " of " + RECORD_HEADER_BYTES + " bytes)";
    }
    int length = length(bytes, at);
    int keyBytes = keyLength(bytes, at);
    int valueBytes = valueLength(bytes, at);
    byte type = type(bytes, at);
    boolean last = isLast(bytes, at);
    if (keyBytes < 0 || valueBytes < 0
        || (long) length != recordBytes(keyBytes, valueBytes)) {
      return "malformed record (length " + length + ", key " + keyBytes + ", value "
          + valueBytes + " bytes)";
    }
    if (type != TYPE_PUT && type != TYPE_TOMBSTONE && type != TYPE_WRAP && type != TYPE_CLEAR) {
      return "unknown record type " + type;
    }
    if ((type != TYPE_PUT && valueBytes != 0)
        || ((type == TYPE_WRAP || type == TYPE_CLEAR) && keyBytes != 0)
        || (type == TYPE_WRAP && last)) {
      return "malformed record of type " + type;
    }
    if (length > available) {
      return "record of " + length + " bytes runs past the " + available + " bytes available";
    }
    if (checksums && recordCrc(bytes, at, length) != crc(bytes, at)) {
      return "record checksum mismatch";
    }
    return null;
  }

  static int length(byte[] b, int at) {
    return (int) INT.get(b, at + OFF_LENGTH);
  }

  static int crc(byte[] b, int at) {
    return (int) INT.get(b, at + OFF_CRC);
  }

  /** The record type (the type byte without the LAST flag). */
  static byte type(byte[] b, int at) {
    return (byte) (b[at + OFF_TYPE] & ~LAST);
  }

  /** Whether this is the last record of its entry. */
  static boolean isLast(byte[] b, int at) {
    return (b[at + OFF_TYPE] & LAST) != 0;
  }

  static long term(byte[] b, int at) {
    return (long) LONG.get(b, at + OFF_TERM);
  }

  static long index(byte[] b, int at) {
    return (long) LONG.get(b, at + OFF_INDEX);
  }

  static long seq(byte[] b, int at) {
    return (long) LONG.get(b, at + OFF_SEQ);
  }

  static long expiresAt(byte[] b, int at) {
    return (long) LONG.get(b, at + OFF_EXPIRES);
  }

  static int keyLength(byte[] b, int at) {
    return (int) INT.get(b, at + OFF_KEY_LENGTH);
  }

  static int valueLength(byte[] b, int at) {
    return (int) INT.get(b, at + OFF_VALUE_LENGTH);
  }

  /** Where the key of the record at {@code at} starts. */
  static int keyOffset(int at) {
    return at + RECORD_HEADER_BYTES;
  }

  static byte[] key(byte[] b, int at) {
    int from = at + RECORD_HEADER_BYTES;
    return java.util.Arrays.copyOfRange(b, from, from + keyLength(b, at));
  }

  /** The value of a PUT (a copy), or null for a tombstone. */
  static byte[] value(byte[] b, int at) {
    if (type(b, at) != TYPE_PUT) {
      return null;
    }
    int from = at + RECORD_HEADER_BYTES + keyLength(b, at);
    return java.util.Arrays.copyOfRange(b, from, from + valueLength(b, at));
  }

  static boolean keyEquals(byte[] b, int at, byte[] key) {
    int from = at + RECORD_HEADER_BYTES;
    return keyLength(b, at) == key.length
        && java.util.Arrays.equals(b, from, from + key.length, key, 0, key.length);
  }

  /** Compares logical timestamps (term, index). */
  static int compareTimestamps(long term1, long index1, long term2, long index2) {
    int c = Long.compare(term1, term2);
    return c != 0 ? c : Long.compare(index1, index2);
  }

  // ---------------------------------------------------------------- segments

  static byte[] segmentHeader(LogKind kind, long firstSeq) {
    ByteBuffer h = ByteBuffer.allocate(SEGMENT_HEADER_BYTES);
    h.putLong(SEGMENT_MAGIC).putInt(FORMAT_VERSION).put((byte) kind.code).put(new byte[3]);
    h.putLong(firstSeq);
    h.putInt(crc32c(h.array(), 0, 24)).putInt(0);
    return h.array();
  }

  /** Null if the header is valid for a segment of this kind, else why not. */
  static String checkSegmentHeader(byte[] header, int length, LogKind kind) {
    if (length < SEGMENT_HEADER_BYTES) {
      return "short segment header (" + length + " of " + SEGMENT_HEADER_BYTES + " bytes)";
    }
    ByteBuffer h = ByteBuffer.wrap(header, 0, SEGMENT_HEADER_BYTES);
    long magic = h.getLong();
    int version = h.getInt();
    int code = h.get();
    if (h.getInt(24) != crc32c(header, 0, 24)) {
      return "segment header checksum mismatch";
    }
    if (magic != SEGMENT_MAGIC) {
      return "not a Respawn backup log segment (bad magic)";
    }
    if (version != FORMAT_VERSION) {
      return "unsupported backup log version " + version + " (this build reads " + FORMAT_VERSION + ")";
    }
    if (LogKind.ofCode(code) != kind) {
      return "segment header names log kind " + code + " but the file name says " + kind;
    }
    return null;
  }

  static long segmentFirstSeq(byte[] header) {
    return (long) LONG.get(header, 16);
  }

  public static String segmentName(LogKind kind, long id) {
    return String.format("%s-%020d%s", kind.prefix, id, SEGMENT_SUFFIX);
  }

  /** A parsed segment file name. */
  record SegmentName(LogKind kind, long id) {}

  /** Parses a segment file name, or returns null if it is not one. */
  static SegmentName parseSegmentName(String name) {
    if (!name.endsWith(SEGMENT_SUFFIX)) {
      return null;
    }
    for (LogKind kind : LogKind.values()) {
      String prefix = kind.prefix + "-";
      if (name.startsWith(prefix)
          && name.length() == prefix.length() + 20 + SEGMENT_SUFFIX.length()) {
        try {
          long id = Long.parseLong(name.substring(prefix.length(), prefix.length() + 20));
          return id > 0 ? new SegmentName(kind, id) : null;
        } catch (NumberFormatException e) {
          return null;
        }
      }
    }
    return null;
  }

  // ---------------------------------------------------------------- checkpoint

  /** The buffer's checkpoint: see the layout above. */
  record Checkpoint(long counter, long ringBytes, long releasePos, long releaseSeq,
      long appliedTerm, long appliedIndex, long hotSegment, long hotDurableBytes,
      long coldSegment, long coldDurableBytes, long clearTerm, long clearIndex) {

    long activeSegment(LogKind kind) {
      return kind == LogKind.HOT ? hotSegment : coldSegment;
    }

    long durableBytes(LogKind kind) {
      return kind == LogKind.HOT ? hotDurableBytes : coldDurableBytes;
    }

    /** Byte offset of the slot this checkpoint is written to (alternates with the counter). */
    int slotOffset() {
      return (counter & 1) == 0 ? CHECKPOINT_SLOT_A : CHECKPOINT_SLOT_B;
    }

    byte[] encode() {
      ByteBuffer b = ByteBuffer.allocate(CHECKPOINT_BYTES);
      b.putLong(CHECKPOINT_MAGIC).putInt(FORMAT_VERSION).putInt(0);
      b.putLong(counter).putLong(ringBytes).putLong(releasePos).putLong(releaseSeq);
      b.putLong(appliedTerm).putLong(appliedIndex);
      b.putLong(hotSegment).putLong(hotDurableBytes).putLong(coldSegment).putLong(coldDurableBytes);
      b.putLong(clearTerm).putLong(clearIndex);
      b.putInt(12, checkpointCrc(b.array()));
      return b.array();
    }
  }

  private static int checkpointCrc(byte[] slot) {
    CRC32C crc = new CRC32C();
    crc.update(slot, 0, 12);
    crc.update(slot, 16, CHECKPOINT_BYTES - 16);
    return (int) crc.getValue();
  }

  /** Decodes a checkpoint slot, or returns null if it is not a valid one. */
  static Checkpoint decodeCheckpoint(byte[] slot) {
    ByteBuffer b = ByteBuffer.wrap(slot, 0, CHECKPOINT_BYTES);
    if (b.getLong(0) != CHECKPOINT_MAGIC || b.getInt(8) != FORMAT_VERSION
        || b.getInt(12) != checkpointCrc(slot)) {
      return null;
    }
    b.position(16);
    return new Checkpoint(b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(),
        b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong(), b.getLong());
  }

  static int crc32c(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    return (int) crc.getValue();
  }
}
