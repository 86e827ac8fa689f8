package io.respawn.storage.backup;

/**
 * Where the newest record of a key lives, packed into the 64-bit location field of an {@link
 * BackupIndex} slot.
 *
 * <pre>
 *  63  62 61    60 ......................... 32 31 ......................... 0
 * +------+----+-------------------------------+------------------------------+
 * | where|tomb| buffer: ring position (61 bits: bytes ever appended)          |
 * | where|tomb| log: segment id (29 bits)      | offset in the segment (u32)  |
 * +------+----+-------------------------------+------------------------------+
 *  where = 0 persistent buffer, 1 hot log, 2 cold log; tomb = 1: the record is a tombstone
 * </pre>
 */
final class Location {
  static final long SEGMENT_ID_MAX = (1L << 29) - 1;
  static final long BUFFER_POSITION_MAX = (1L << 61) - 1;
  private static final long TOMBSTONE = 1L << 61;

  private Location() {}

  static long inBuffer(long position, boolean tombstone) {
    assert position >= 0 && position <= BUFFER_POSITION_MAX : position;
    return position | (tombstone ? TOMBSTONE : 0);
  }

  static long inLog(LogKind kind, long segmentId, long offset, boolean tombstone) {
    if (segmentId < 1 || segmentId > SEGMENT_ID_MAX) {
      throw new IllegalStateException("segment id " + segmentId + " exceeds " + SEGMENT_ID_MAX);
    }
    assert offset >= 0 && offset <= 0xFFFF_FFFFL : offset;
    return ((long) kind.code << 62) | (tombstone ? TOMBSTONE : 0) | (segmentId << 32) | offset;
  }

  /** The location with the tombstone bit set as given. */
  static long withTombstone(long location, boolean tombstone) {
    return tombstone ? location | TOMBSTONE : location & ~TOMBSTONE;
  }

  static boolean isBuffer(long location) {
    return location >>> 62 == 0;
  }

  /** HOT, COLD, or null for the buffer. */
  static LogKind log(long location) {
    return LogKind.ofCode(logCode(location));
  }

  /** 0 for the buffer, else the log's {@link LogKind} code (1 hot, 2 cold). */
  static int logCode(long location) {
    return (int) (location >>> 62);
  }

  static boolean isTombstone(long location) {
    return (location & TOMBSTONE) != 0;
  }

  static long bufferPosition(long location) {
    return location & BUFFER_POSITION_MAX;
  }

  static long segmentId(long location) {
    return (location >>> 32) & SEGMENT_ID_MAX;
  }

  static long offset(long location) {
    return location & 0xFFFF_FFFFL;
  }

  /** The location with the tombstone bit cleared: equal for the same record. */
  static long place(long location) {
    return location & ~TOMBSTONE;
  }

  static String describe(long location) {
    if (isBuffer(location)) {
      return "buffer@" + bufferPosition(location);
    }
    return log(location) + " segment " + segmentId(location) + " offset " + offset(location);
  }
}
