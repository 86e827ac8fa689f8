package io.respawn.storage.backup;

import java.nio.ByteBuffer;

/**
 * Where a BatchPull scan stands: the popular set first (the records of the hot set's keys,
 * wherever they live, most popular first), then the hot log, then the cold log, segment by
 * segment. The caller may persist it ({@link #toBytes}) and resume later, on this store or after
 * it restarts.
 *
 * <pre>
 * Encoded (17 bytes, big-endian)
 *  0      1             9             17
 * +------+-------------+-------------+
 * | phase| segmentId   | offset      |   phase: 3 popular set, 1 hot log, 2 cold log, 0 done
 * | u8   | u64         | u64         |
 * +------+-------------+-------------+
 * </pre>
 *
 * @param phase what the scan reads next
 * @param segmentId hot or cold log: resume in the first segment with an id at least this;
 *     popular set: 0
 * @param offset hot or cold log: resume at this byte of that segment (a record boundary), 0 = its
 *     first record; popular set: the rank of the next key to send (0 = the most popular)
 */
public record BatchPullCursor(Phase phase, long segmentId, long offset) {
  public static final int ENCODED_BYTES = 17;
  /** A new scan: the popular set, from its most popular key. */
  public static final BatchPullCursor START = new BatchPullCursor(Phase.POPULAR, 0, 0);
  /** The scan's logs, from the hot log's first record (after the popular set). */
  public static final BatchPullCursor LOGS = new BatchPullCursor(Phase.HOT, 0, 0);
  public static final BatchPullCursor DONE = new BatchPullCursor(Phase.DONE, 0, 0);

  /** The parts of a scan, in the order it reads them. */
  public enum Phase {
    /** The hot set's records, read through the index by key hash. */
    POPULAR(3),
    /** The hot log, sequentially. */
    HOT(1),
    /** The cold log, sequentially. */
    COLD(2),
    /** Everything was sent. */
    DONE(0);

    final int code;

    Phase(int code) {
      this.code = code;
    }
  }

  public BatchPullCursor {
    if (phase == null || segmentId < 0 || offset < 0
        || (phase == Phase.POPULAR && segmentId != 0)) {
      throw new IllegalArgumentException("bad BatchPull cursor: " + phase + " segment "
          + segmentId + " offset " + offset);
    }
  }

  /** A cursor in a log; a null log is {@link #DONE}. */
  public BatchPullCursor(LogKind log, long segmentId, long offset) {
    this(log == null ? Phase.DONE : log == LogKind.HOT ? Phase.HOT : Phase.COLD,
        log == null ? 0 : segmentId, log == null ? 0 : offset);
  }

  /** The log being scanned; null in the popular set and when done. */
  public LogKind log() {
    return switch (phase) {
      case HOT -> LogKind.HOT;
      case COLD -> LogKind.COLD;
      case POPULAR, DONE -> null;
    };
  }

  public boolean isDone() {
    return phase == Phase.DONE;
  }

  public byte[] toBytes() {
    return ByteBuffer.allocate(ENCODED_BYTES).put((byte) phase.code)
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
    for (Phase p : Phase.values()) {
      if (p.code == code) {
        return new BatchPullCursor(p, segment, offset);
      }
    }
    throw new IllegalArgumentException("BatchPull cursor names unknown phase " + code);
  }
}
