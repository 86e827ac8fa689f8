package io.respawn.node.log;

import io.respawn.storage.LogFormat;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Reads one replica-log segment (held in memory) batch by batch during recovery and tells where
 * its valid prefix ends and why. A batch is valid only if every record is well formed with a
 * matching CRC and its commit record matches the record count, data length and batch checksum
 * (checksums are skipped only when the config says so, for the crash test's broken variant).
 * Single-threaded.
 */
final class ReplicaLogScanner {
  /** One data record: PUT (key = index, value = entry body) or DELETE (key = from index). */
  record Record(byte type, byte[] key, byte[] value) {}

  /** One valid batch. */
  record Batch(long offset, int bytes, long sequence, long durableOffset, List<Record> records) {}

  private final byte[] data;
  private final int length;
  private final boolean verifyChecksums;
  private final int batchBytesMax;
  private int position;
  private String problem;
  private long problemOffset = -1;

  ReplicaLogScanner(byte[] data, int length, boolean verifyChecksums, int batchBytesMax) {
    this.data = data;
    this.length = length;
    this.verifyChecksums = verifyChecksums;
    this.batchBytesMax = batchBytesMax;
  }

  /** Checks the segment header; null if valid, else why not. */
  String readHeader() {
    String why = LogFormat.checkSegmentHeader(data, Math.min(length, LogFormat.SEGMENT_HEADER_BYTES));
    if (why != null) {
      problem = why;
      problemOffset = 0;
    }
    position = LogFormat.SEGMENT_HEADER_BYTES;
    return why;
  }

  long validEnd() {
    return position;
  }

  String problem() {
    return problem;
  }

  long problemOffset() {
    return problemOffset;
  }

  /** The next valid batch, or null at the end or at the first invalid byte (see problem()). */
  Batch next() {
    if (problem != null || position >= length) {
      return null;
    }
    int start = position;
    int at = position;
    List<Record> records = new ArrayList<>();
    CRC32C batchCrc = new CRC32C();
    long dataBytes = 0;
    long sequence = -1;
    while (true) {
      int left = length - at;
      if (left < LogFormat.RECORD_HEADER_BYTES) {
        return stop(start, "short read: record header needs " + LogFormat.RECORD_HEADER_BYTES
            + " bytes at offset " + at + ", " + left + " left");
      }
      ByteBuffer h = ByteBuffer.wrap(data, at, LogFormat.RECORD_HEADER_BYTES);
      int recordBytes = h.getInt();
      int storedCrc = h.getInt();
      byte type = h.get();
      long recordSequence = h.getLong();
      long expires = h.getLong();
      int keyBytes = h.getInt();
      int valueBytes = h.getInt();
      String bad = checkHeader(recordBytes, type, expires, keyBytes, valueBytes);
      if (bad != null) {
        return stop(start, bad + " at offset " + at);
      }
      if (recordBytes > left) {
        return stop(start, "short read: record of " + recordBytes + " bytes at offset " + at + ", "
            + left + " left");
      }
      if (type != LogFormat.TYPE_COMMIT && dataBytes + recordBytes > batchBytesMax) {
        return stop(start, "batch larger than batchBytesMax " + batchBytesMax + " at offset " + at);
      }
      if (verifyChecksums && storedCrc != LogFormat.recordCrc(data, at, recordBytes)) {
        return stop(start, "record checksum mismatch at offset " + at);
      }
      if (sequence == -1) {
        sequence = recordSequence;
      } else if (recordSequence != sequence) {
        return stop(start, "record at offset " + at + " has sequence " + recordSequence
            + ", its batch " + sequence);
      }
      if (type == LogFormat.TYPE_COMMIT) {
        ByteBuffer v = ByteBuffer.wrap(data, at + LogFormat.RECORD_HEADER_BYTES,
            LogFormat.COMMIT_VALUE_BYTES);
        int count = v.getInt();
        int committedDataBytes = v.getInt();
        int committedCrc = v.getInt();
        long durableOffset = v.getLong();
        if (records.isEmpty() || count != records.size() || committedDataBytes != dataBytes) {
          return stop(start, "commit record at offset " + at + " describes " + count
              + " records / " + committedDataBytes + " bytes, found " + records.size() + " / "
              + dataBytes);
        }
        if (verifyChecksums && committedCrc != (int) batchCrc.getValue()) {
          return stop(start, "batch checksum mismatch (commit record at offset " + at + ")");
        }
        at += recordBytes;
        position = at;
        return new Batch(start, at - start, sequence, durableOffset, records);
      }
      batchCrc.update(data, at, recordBytes);
      dataBytes += recordBytes;
      int keyAt = at + LogFormat.RECORD_HEADER_BYTES;
      byte[] key = new byte[keyBytes];
      System.arraycopy(data, keyAt, key, 0, keyBytes);
      byte[] value = new byte[valueBytes];
      System.arraycopy(data, keyAt + keyBytes, value, 0, valueBytes);
      records.add(new Record(type, key, value));
      at += recordBytes;
    }
  }

  private static String checkHeader(int recordBytes, byte type, long expires, int keyBytes,
      int valueBytes) {
    if (type == LogFormat.TYPE_COMMIT) {
      if (keyBytes != 0 || valueBytes != LogFormat.COMMIT_VALUE_BYTES) {
        return "malformed commit record";
      }
    } else if (type == LogFormat.TYPE_PUT) {
      if (keyBytes != ReplicaLogFormat.INDEX_KEY_BYTES || valueBytes < 1) {
        return "malformed PUT record (key " + keyBytes + " bytes, value " + valueBytes + ")";
      }
    } else if (type == LogFormat.TYPE_DELETE) {
      if (keyBytes != ReplicaLogFormat.INDEX_KEY_BYTES || valueBytes != 0) {
        return "malformed DELETE record";
      }
    } else {
      return "record type " + type + " does not belong in a replica log";
    }
    if (expires != 0) {
      return "replica log record with an expiry";
    }
    if ((long) LogFormat.RECORD_HEADER_BYTES + keyBytes + valueBytes != recordBytes) {
      return "record length " + recordBytes + " does not match its key and value lengths";
    }
    return null;
  }

  private Batch stop(int batchStart, String why) {
    problem = why;
    problemOffset = batchStart;
    position = batchStart;
    return null;
  }

  /**
   * True if a valid commit record after {@code badOffset} says a flush had covered bytes beyond
   * it when that batch was written: then the bad bytes were durable once and this is corruption,
   * not a write torn by a crash.
   */
  boolean flushedCommitAfter(long badOffset) {
    for (long at = badOffset + 1; at + LogFormat.COMMIT_BYTES <= length; at++) {
      int i = (int) at;
      ByteBuffer c = ByteBuffer.wrap(data, i, LogFormat.COMMIT_BYTES);
      if (c.getInt(i) != LogFormat.COMMIT_BYTES || data[i + 8] != LogFormat.TYPE_COMMIT) {
        continue;
      }
      if (c.getInt(i + 4) != LogFormat.recordCrc(data, i, LogFormat.COMMIT_BYTES)) {
        continue;
      }
      long durableOffset = c.getLong(i + LogFormat.RECORD_HEADER_BYTES + 12);
      if (durableOffset > badOffset) {
        return true;
      }
    }
    return false;
  }
}
