package io.respawn.node.log;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.NodeId;
import io.respawn.core.codec.EntryCodec;
import io.respawn.storage.LogFormat;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * The replica log's files. Pure functions, no I/O. All integers are big-endian.
 *
 * <p>Segments use the storage engine's checksummed-batch format ({@link LogFormat}: the 16-byte
 * segment header, records with a CRC-32C each, a commit record per batch carrying the batch's
 * CRC-32C), so a torn or reordered write is detected and recovery keeps a prefix. Two record types
 * carry the log:
 *
 * <pre>
 * Segment file  "rlog-&lt;20-digit segment number&gt;.seg"
 * +----------------+-----------+-----------+-----+
 * | header (16 B)  | batch 1   | batch 2   | ... |       segment numbers only grow
 * +----------------+-----------+-----------+-----+
 *
 * PUT record (one entry): LogFormat record, type 1, 33 + 8 + n bytes
 * +-----------------------+--------------------+------------------------------+
 * | record header (33 B)  | key: index u64     | value: entry body (n bytes,  |
 * | sequence = batch no.  |  (8 B)             |  EntryCodec.encodeBody)      |
 * +-----------------------+--------------------+------------------------------+
 *
 * DELETE record (truncate suffix): LogFormat record, type 2, 33 + 8 bytes
 * +-----------------------+--------------------+
 * | record header (33 B)  | key: fromIndex u64 |     "drop every entry >= fromIndex"
 * +-----------------------+--------------------+
 * </pre>
 *
 * A batch is the records of one append (or one truncation) and its commit record; replaying the
 * batches of every segment in order rebuilds the log. The hard state lives in its own file of two
 * slots, written alternately so that a torn write can only damage the slot being written:
 *
 * <pre>
 * File "hardstate": slot 0 at offset 0, slot 1 at offset 4096 (separate disk blocks)
 *  0          8          12           20         28          32             40           48        52
 * +----------+----------+------------+----------+-----------+--------------+------------+---------+
 * | magic u64| version  | generation | term i64 | votedFor  | commitIndex  | firstIndex | crc32c  |
 * | RSPWNHST | u32 = 1  | u64        |          | i32 (-1:  | i64          | i64        | u32 over|
 * |          |          |            |          |  none)    |              |            | [0, 48) |
 * +----------+----------+------------+----------+-----------+--------------+------------+---------+
 * </pre>
 *
 * Recovery takes the valid slot with the higher generation. {@code firstIndex} is where the log
 * starts after prefix truncation (1 until then).
 */
public final class ReplicaLogFormat {
  public static final String SEGMENT_PREFIX = "rlog-";
  public static final String SEGMENT_SUFFIX = ".seg";
  public static final String HARD_STATE_FILE = "hardstate";
  public static final int HARD_STATE_SLOT_BYTES = 52;
  public static final int HARD_STATE_SLOT_STRIDE = 4096;
  public static final long HARD_STATE_MAGIC = 0x5253_5057_4E48_5354L; // "RSPWNHST"
  public static final int HARD_STATE_VERSION = 1;
  static final int INDEX_KEY_BYTES = 8;
  /** Bytes a PUT record adds around an entry body. */
  public static final int PUT_OVERHEAD_BYTES = LogFormat.RECORD_HEADER_BYTES + INDEX_KEY_BYTES;

  private ReplicaLogFormat() {}

  public static String segmentName(long number) {
    return String.format(java.util.Locale.ROOT, "%s%020d%s", SEGMENT_PREFIX, number, SEGMENT_SUFFIX);
  }

  /** The segment number of a segment file name, or -1 if the name is not a segment's. */
  public static long parseSegmentName(String name) {
    if (!name.startsWith(SEGMENT_PREFIX) || !name.endsWith(SEGMENT_SUFFIX)
        || name.length() != SEGMENT_PREFIX.length() + 20 + SEGMENT_SUFFIX.length()) {
      return -1;
    }
    String digits = name.substring(SEGMENT_PREFIX.length(), SEGMENT_PREFIX.length() + 20);
    for (int i = 0; i < digits.length(); i++) {
      if (!Character.isDigit(digits.charAt(i))) {
        return -1;
      }
    }
    try {
      return Long.parseLong(digits);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  static byte[] indexKey(long index) {
    return ByteBuffer.allocate(INDEX_KEY_BYTES).putLong(index).array();
  }

  static long indexOfKey(byte[] key) {
    if (key.length != INDEX_KEY_BYTES) {
      throw new IllegalArgumentException("index key of " + key.length + " bytes, expected 8");
    }
    return ByteBuffer.wrap(key).getLong();
  }

  /** Bytes of a batch holding these encoded entry bodies. */
  static long batchBytes(List<byte[]> bodies) {
    long total = LogFormat.COMMIT_BYTES;
    for (byte[] b : bodies) {
      total += PUT_OVERHEAD_BYTES + b.length;
    }
    return total;
  }

  /** One batch of PUT records (entries in order, bodies encoded) and its commit record. */
  static byte[] putBatch(List<Entry> entries, List<byte[]> bodies, long sequence,
      long durableOffset) {
    ByteBuffer out = ByteBuffer.allocate((int) batchBytes(bodies));
    for (int i = 0; i < entries.size(); i++) {
      LogFormat.putRecord(out, LogFormat.TYPE_PUT, sequence, 0, indexKey(entries.get(i).index()),
          bodies.get(i));
    }
    LogFormat.putCommit(out, entries.size(), sequence, 0, out.position(), durableOffset);
    return out.array();
  }

  /** One batch holding a single DELETE record: drop every entry at or above fromIndex. */
  static byte[] deleteBatch(long fromIndex, long sequence, long durableOffset) {
    ByteBuffer out = ByteBuffer.allocate(LogFormat.RECORD_HEADER_BYTES + INDEX_KEY_BYTES
        + LogFormat.COMMIT_BYTES);
    LogFormat.putRecord(out, LogFormat.TYPE_DELETE, sequence, 0, indexKey(fromIndex), null);
    LogFormat.putCommit(out, 1, sequence, 0, out.position(), durableOffset);
    return out.array();
  }

  static byte[] encodeBody(Entry e) {
    return EntryCodec.encodeBody(e);
  }

  /** One hard-state slot. */
  static byte[] hardStateSlot(long generation, HardState hs, long firstIndex) {
    ByteBuffer b = ByteBuffer.allocate(HARD_STATE_SLOT_BYTES);
    b.putLong(HARD_STATE_MAGIC).putInt(HARD_STATE_VERSION).putLong(generation).putLong(hs.term())
        .putInt(hs.votedFor() == null ? -1 : hs.votedFor().value()).putLong(hs.commitIndex())
        .putLong(firstIndex);
    b.putInt(LogFormat.crc32c(b.array(), 0, HARD_STATE_SLOT_BYTES - 4));
    return b.array();
  }

  /** A decoded hard-state slot. */
  record Slot(long generation, HardState hardState, long firstIndex) {}

  /** Decodes a slot, or returns null if it is empty, torn or not a hard-state slot. */
  static Slot parseHardStateSlot(byte[] bytes, int length) {
    if (length < HARD_STATE_SLOT_BYTES) {
      return null;
    }
    ByteBuffer b = ByteBuffer.wrap(bytes, 0, HARD_STATE_SLOT_BYTES);
    long magic = b.getLong();
    int version = b.getInt();
    long generation = b.getLong();
    long term = b.getLong();
    int voted = b.getInt();
    long commit = b.getLong();
    long first = b.getLong();
    int crc = b.getInt();
    if (magic != HARD_STATE_MAGIC || crc != LogFormat.crc32c(bytes, 0, HARD_STATE_SLOT_BYTES - 4)) {
      return null;
    }
    if (version != HARD_STATE_VERSION) {
      throw new io.respawn.storage.StorageException("hard state format version " + version
          + " is not supported (this build reads " + HARD_STATE_VERSION + ")");
    }
    if (term < 0 || commit < 0 || first < 1 || voted < -1) {
      throw new io.respawn.storage.StorageException("hard state slot with a valid checksum holds"
          + " impossible values: term " + term + ", votedFor " + voted + ", commit " + commit
          + ", firstIndex " + first);
    }
    return new Slot(generation, new HardState(term, voted < 0 ? null : NodeId.of(voted), commit),
        first);
  }
}
