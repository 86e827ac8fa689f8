package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads one segment batch by batch during recovery and tells where its valid prefix ends and why.
 * A batch is valid only if every record is well formed with a matching CRC, and its commit record
 * matches the record count, data length and batch checksum. Single-threaded.
 */
final class SegmentScanner {
  /** One decoded data record. */
  record Record(byte type, long sequence, long expiresAtMillis, byte[] key, byte[] value, int bytes) {}

  /** One valid batch: where it starts, how long it is, its records. */
  record Batch(long offset, int bytes, long maxSequence, long durableOffset, List<Record> records) {}

  private static final int READ_CHUNK_BYTES = 1 << 20;

  private final Disk disk;
  private final String name;
  private final StorageConfig config;
  private final long limitBytes;
  private long position;
  private String problem;
  private long problemOffset = -1;

  // read window
  private final byte[] window = new byte[READ_CHUNK_BYTES];
  private long windowStart;
  private int windowBytes;

  /**
   * @param limitBytes scan no further than this offset (the file size, or less to ignore a tail)
   */
  SegmentScanner(Disk disk, String name, StorageConfig config, long limitBytes) {
    this.disk = disk;
    this.name = name;
    this.config = config;
    this.limitBytes = limitBytes;
  }

  /** Checks the segment header; null if valid, else why not (also recorded as the problem). */
  String readHeader() throws IOException {
    byte[] header = new byte[LogFormat.SEGMENT_HEADER_BYTES];
    int n = readAt(0, header, 0, header.length);
    String why = LogFormat.checkSegmentHeader(header, n);
    if (why != null) {
      problem = why;
      problemOffset = 0;
    }
    position = LogFormat.SEGMENT_HEADER_BYTES;
    return why;
  }

  /** End of the valid prefix so far. */
  long validEnd() {
    return position;
  }

  /** Why scanning stopped early, or null if it reached the end cleanly. */
  String problem() {
    return problem;
  }

  long problemOffset() {
    return problemOffset;
  }

  /**
   * The next valid batch, or null at the end or at the first invalid byte (see {@link #problem}).
   * Keys and values are read straight into their own arrays and checksummed in place, so a record
   * costs its own size in memory once (a 512 MiB value is not copied).
   */
  Batch next() throws IOException {
    if (problem != null || position >= limitBytes) {
      return null;
    }
    boolean checksums = config.batchChecksums();
    long start = position;
    long at = position;
    List<Record> records = new ArrayList<>();
    CRC32C batchCrc = new CRC32C();
    long dataBytes = 0;
    long maxSequence = 0;
    byte[] header = new byte[LogFormat.RECORD_HEADER_BYTES];
    while (true) {
      long left = limitBytes - at;
      if (left < LogFormat.RECORD_HEADER_BYTES) {
        return stop(start, "short read: record header needs " + LogFormat.RECORD_HEADER_BYTES
            + " bytes at offset " + at + ", " + left + " left");
      }
      readAt(at, header, 0, header.length);
      ByteBuffer h = ByteBuffer.wrap(header);
      int length = h.getInt();
      int storedCrc = h.getInt();
      byte type = h.get();
      long sequence = h.getLong();
      long expiresAtMillis = h.getLong();
      int keyBytes = h.getInt();
      int valueBytes = h.getInt();
      String bad = checkHeader(length, type, keyBytes, valueBytes, expiresAtMillis);
      if (bad != null) {
        return stop(start, bad + " at offset " + at);
      }
      if (length > left) {
        return stop(start, "short read: record of " + length + " bytes at offset " + at + ", "
            + left + " left");
      }
      if (type != LogFormat.TYPE_COMMIT && dataBytes + length > LogFormat.BATCH_BYTES_LIMIT) {
        return stop(start, "batch larger than " + LogFormat.BATCH_BYTES_LIMIT + " bytes at offset "
            + at);
      }
      byte[] key = new byte[keyBytes];
      byte[] value = new byte[valueBytes];
      readAt(at + LogFormat.RECORD_HEADER_BYTES, key, 0, keyBytes);
      readAt(at + LogFormat.RECORD_HEADER_BYTES + keyBytes, value, 0, valueBytes);
      if (checksums) {
        CRC32C crc = new CRC32C(); // LogFormat.recordCrc: everything but the crc field
        crc.update(header, 0, 4);
        crc.update(header, 8, LogFormat.RECORD_HEADER_BYTES - 8);
        crc.update(key);
        crc.update(value);
        if (storedCrc != (int) crc.getValue()) {
          return stop(start, "record checksum mismatch at offset " + at);
        }
      }
      at += length;
      maxSequence = Math.max(maxSequence, sequence);
      if (type == LogFormat.TYPE_COMMIT) {
        ByteBuffer v = ByteBuffer.wrap(value);
        int count = v.getInt();
        int committedDataBytes = v.getInt();
        int committedCrc = v.getInt();
        long durableOffset = v.getLong();
        if (records.isEmpty() || count != records.size() || committedDataBytes != dataBytes) {
          return stop(start, "commit record at offset " + (at - length) + " describes " + count
              + " records / " + committedDataBytes + " bytes, found " + records.size() + " / "
              + dataBytes);
        }
        if (checksums && committedCrc != (int) batchCrc.getValue()) {
          return stop(start, "batch checksum mismatch (commit record at offset " + (at - length) + ")");
        }
        position = at;
        return new Batch(start, (int) (at - start), maxSequence, durableOffset, records);
      }
      if (checksums) {
        batchCrc.update(header);
        batchCrc.update(key);
        batchCrc.update(value);
      }
      dataBytes += length;
      records.add(new Record(type, sequence, expiresAtMillis, key,
          type == LogFormat.TYPE_PUT ? value : null, length));
    }
  }

  /**
   * Checks a record header against the format's own limits, not the configured ones: a value
   * stored under a larger {@code valueBytesMax} must still be read after the limit is lowered.
   */
  private static String checkHeader(int length, byte type, int keyBytes, int valueBytes, long expires) {
    if (type < LogFormat.TYPE_PUT || type > LogFormat.TYPE_COMMIT) {
      return "unknown record type " + type;
    }
    if (type == LogFormat.TYPE_COMMIT) {
      if (keyBytes != 0 || valueBytes != LogFormat.COMMIT_VALUE_BYTES) {
        return "malformed commit record";
      }
    } else if (keyBytes < 0 || keyBytes > LogFormat.KEY_BYTES_LIMIT) {
      return "key length " + keyBytes + " outside 0.." + LogFormat.KEY_BYTES_LIMIT;
    } else if (valueBytes < 0 || valueBytes > LogFormat.VALUE_BYTES_LIMIT) {
      return "value length " + valueBytes + " outside 0.." + LogFormat.VALUE_BYTES_LIMIT;
    } else if (type != LogFormat.TYPE_PUT && valueBytes != 0) {
      return "non-put record with a value";
    }
    if (expires < 0) {
      return "negative expiry";
    }
    if ((long) LogFormat.RECORD_HEADER_BYTES + keyBytes + valueBytes != length) {
      return "record length " + length + " does not match its key and value lengths";
    }
    return null;
  }

  private Batch stop(long batchStart, String why) {
    problem = why;
    problemOffset = batchStart;
    position = batchStart;
    return null;
  }

  /**
   * True if a valid commit record after {@code badOffset} says a flush had covered bytes beyond
   * {@code badOffset} before it was written: then the bad bytes were durable once, and what we
   * see is corruption, not a write torn by a crash.
   */
  boolean flushedCommitAfter(long badOffset) throws IOException {
    byte[] commit = new byte[LogFormat.COMMIT_BYTES];
    for (long at = badOffset + 1; at + LogFormat.COMMIT_BYTES <= limitBytes; at++) {
      if (readAt(at, commit, 0, 9) < 9) {
        return false;
      }
      ByteBuffer c = ByteBuffer.wrap(commit);
      if (c.getInt(0) != LogFormat.COMMIT_BYTES || commit[8] != LogFormat.TYPE_COMMIT) {
        continue;
      }
      readAt(at, commit, 0, commit.length);
      if (c.getInt(4) != LogFormat.recordCrc(commit, 0, commit.length)) {
        continue;
      }
      long durableOffset = c.getLong(LogFormat.RECORD_HEADER_BYTES + 12);
      if (durableOffset > badOffset) {
        return true;
      }
    }
    return false;
  }

  /**
   * End of the non-zero bytes in [from, limit): {@code from} if they are all zeros (space the
   * engine wrote ahead of the log), else the offset just after the last non-zero byte.
   */
  long nonZeroEnd(long from) throws IOException {
    long end = from;
    byte[] chunk = new byte[READ_CHUNK_BYTES];
    for (long at = from; at < limitBytes; ) {
      int n = readAt(at, chunk, 0, (int) Math.min(chunk.length, limitBytes - at));
      if (n <= 0) {
        break;
      }
      for (int i = n - 1; i >= 0; i--) {
        if (chunk[i] != 0) {
          end = at + i + 1;
          break;
        }
      }
      at += n;
    }
    return end;
  }

  /** Reads through a 1 MiB window; returns bytes read (less than length only at end of file). */
  private int readAt(long offset, byte[] dst, int dstOffset, int length) throws IOException {
    int done = 0;
    while (done < length) {
      long at = offset + done;
      if (at >= windowStart && at < windowStart + windowBytes) {
        int n = (int) Math.min(length - done, windowStart + windowBytes - at);
        System.arraycopy(window, (int) (at - windowStart), dst, dstOffset + done, n);
        done += n;
        continue;
      }
      if (length - done >= window.length) {
        ByteBuffer direct = ByteBuffer.wrap(dst, dstOffset + done, length - done);
        int n = disk.read(name, at, direct);
        if (n <= 0) {
          return done;
        }
        done += n;
        continue;
      }
      windowStart = at;
      windowBytes = 0;
      ByteBuffer fill = ByteBuffer.wrap(window);
      while (fill.hasRemaining()) {
        int n = disk.read(name, at + fill.position(), fill);
        if (n <= 0) {
          break;
        }
      }
      windowBytes = fill.position();
      if (windowBytes == 0) {
        return done;
      }
    }
    return done;
  }
}
