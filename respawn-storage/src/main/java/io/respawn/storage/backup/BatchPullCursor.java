package io.respawn.storage.backup;

import java.nio.ByteBuffer;

/**
 * Where a BatchPull scan stands: the hot log first, then the cold log, segment by segment. The
 * caller may persist it ({@link #toBytes}) and resume later, on this store or after it restarts.
 *
 * <pre>
 * Encoded (17 bytes, big-endian)
 *  0      1             9             17
 * +------+-------------+-------------+
 * | log  | segmentId   | offset      |   log: 1 hot, 2 cold, 0 done
 * | u8   | u64         | u64         |
 * +------+-------------+-------------+
 * </pre>
 *
 * @param log the log being scanned; null when the scan is done
 * @param segmentId resume in the first segment with an id at least this
 * @param offset resume at this byte of that segment (a record boundary); 0 = its first record
 */
public record BatchPullCursor(LogKind log, long segmentId, long offset) {
  public static final int ENCODED_BYTES = 17;
  public static final BatchPullCursor START = new BatchPullCursor(LogKind.HOT, 0, 0);
  public static final BatchPullCursor DONE = new BatchPullCursor(null, 0, 0);

  public BatchPullCursor {
    if (segmentId < 0 || offset < 0) {
      throw new IllegalArgumentException("bad BatchPull cursor: segment " + segmentId + " offset " + offset);
    }
  }

  public boolean isDone() {
    return log == null;
  }

  public byte[] toBytes() {
    return ByteBuffer.allocate(ENCODED_BYTES).put((byte) (log == null ? 0 : log.code))
        .putLong(segmentId).putLong(offset).array();
  }

  /** Decodes a cursor; a malformed one is refused with a message saying what is wrong. */
  public static BatchPullCursor fromBytes(byte[] bytes) {
    if (bytes.length != ENCODED_BYTES) {
      throw new IllegalArgumentException(
          "BatchPull cursor of " + bytes.length + " bytes, expected " + ENCODED_BYTES);
    }
    ByteBuffer b = ByteBuffer.wrap(bytes);
    int code = b.get();
    long segment = b.getLong();
    long offset = b.getLong();
    if (code == 0) {
      return DONE;
    }
    LogKind kind = LogKind.ofCode(code);
    if (kind == null) {
      throw new IllegalArgumentException("BatchPull cursor names unknown log " + code);
    }
    return new BatchPullCursor(kind, segment, offset);
  }
}
