package io.respawn.storage.backup;

import io.respawn.storage.Disk;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Walks the records of one log segment in large sequential reads, skipping page padding (see
 * {@link BackupFormat}), and stops at the first record that is not valid, saying where and why.
 * Used by recovery, GC and BatchPull. Single-threaded; one instance per walk.
 */
final class SegmentReader {
  private final DirectReads.Reads disk;
  private final String name;
  private final long end;
  private final boolean checksums;
  private byte[] window;
  private long windowStart;
  private int windowBytes;
  private long position;
  private int recordAt;
  private int recordLength;
  private long recordOffset;
  private String problem;
  private long problemOffset = -1;

  /**
   * @param start first byte to read (a record boundary: the end of the header, or a cursor)
   * @param end read no further than this
   */
  SegmentReader(Disk disk, String name, long start, long end, int chunkBytes, boolean checksums) {
    this(disk::read, name, start, end, chunkBytes, checksums);
  }

  /** As above, reading through {@code reads} (the pull path's direct reads, say). */
  SegmentReader(DirectReads.Reads reads, String name, long start, long end, int chunkBytes,
      boolean checksums) {
    this(reads, name, start, end, new byte[chunkBytes], checksums);
  }

  /**
   * As above, reading into {@code window} (its length is the read size; a record longer than it
   * gets a window of its own): a caller that walks chunk after chunk on one thread lends the same
   * array each time instead of making 256 KiB of garbage per chunk.
   */
  SegmentReader(DirectReads.Reads reads, String name, long start, long end, byte[] window,
      boolean checksums) {
    this.disk = reads;
    this.name = name;
    this.position = start;
    this.end = end;
    this.checksums = checksums;
    this.window = window;
  }

  /** Moves to the next record; false at the end or at an invalid record ({@link #problem}). */
  boolean next() throws IOException {
    while (position < end) {
      int pageLeft = BackupFormat.PAGE_BYTES - (int) (position % BackupFormat.PAGE_BYTES);
      if (pageLeft < BackupFormat.RECORD_HEADER_BYTES) {
        position += pageLeft;
        continue;
      }
      if (!ensure(position, (int) Math.min(4, end - position))) {
        return false;
      }
      int at = (int) (position - windowStart);
      int length = end - position < 4 ? -1 : BackupFormat.length(window, at);
      if (length == 0) {
        position += pageLeft; // padding
        continue;
      }
      if (length < BackupFormat.RECORD_HEADER_BYTES || length > end - position) {
        return fail("record length " + length + " is impossible here (" + (end - position)
            + " bytes left)");
      }
      if (length > pageLeft && pageLeft != BackupFormat.PAGE_BYTES) {
        return fail("record of " + length + " bytes straddles a page boundary");
      }
      if (!ensure(position, length)) {
        return false;
      }
      at = (int) (position - windowStart);
      String why = BackupFormat.check(window, at, length, checksums);
      if (why == null && BackupFormat.type(window, at) == BackupFormat.TYPE_WRAP) {
        why = "a WRAP record in a log";
      }
      if (why != null) {
        return fail(why);
      }
      recordAt = at;
      recordLength = length;
      recordOffset = position;
      position += length;
      if (length > BackupFormat.PAGE_BYTES) {
        position = BackupFormat.align(position, BackupFormat.PAGE_BYTES);
      }
      return true;
    }
    return false;
  }

  private boolean fail(String why) {
    problem = why;
    problemOffset = position;
    return false;
  }

  /** Makes [from, from+n) available in the window; false (with a problem) on a short file. */
  private boolean ensure(long from, int n) throws IOException {
    if (from >= windowStart && from + n <= windowStart + windowBytes) {
      return true;
    }
    if (window.length < n) {
      window = new byte[n];
    }
    int want = (int) Math.min(window.length, end - from);
    ByteBuffer into = ByteBuffer.wrap(window, 0, want);
    while (into.hasRemaining()) {
      if (disk.read(name, from + into.position(), into) < 0) {
        break;
      }
    }
    windowStart = from;
    windowBytes = into.position();
    if (windowBytes < n) {
      return fail("short read: " + windowBytes + " of " + n + " bytes");
    }
    return true;
  }

  /** The current record: bytes()[at() .. at()+length()). Valid until the next call. */
  byte[] bytes() {
    return window;
  }

  int at() {
    return recordAt;
  }

  int length() {
    return recordLength;
  }

  /** File offset of the current record. */
  long offset() {
    return recordOffset;
  }

  /** Where the walk is now: after the last record returned (or at the problem). */
  long position() {
    return position;
  }

  String problem() {
    return problem;
  }

  long problemOffset() {
    return problemOffset;
  }
}
