package io.respawn.storage.image;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The body of a shard member's snapshot image: every key of its state machine at one applied
 * index, in one of two forms, then an end record that counts them. It travels inside the
 * replication runtime's envelope ({@code SnapshotFormat}: header with the snapshot's (term,
 * index) and configuration, this body, a CRC32C trailer) and is kept on disk in the same
 * envelope. Integers big-endian.
 *
 * <pre>
 *  body    | record* | end |
 *
 *  VALUE   | kind u8 = 1 | keyLen u32 | key (keyLen) | expiresAtMillis i64 | valueLen u32 | value |
 *          the key's value (expiry in epoch ms, 0 = never)
 *  UNKNOWN | kind u8 = 2 | keyLen u32 | key (keyLen) | term i64 | index i64 |
 *          the key's newest write is known only by its (term, index): its value lives on a
 *          backup (a witness's state)
 *  end     | kind u8 = 0 | records u64 |
 *          records: how many VALUE and UNKNOWN records came before
 * </pre>
 *
 * A key appears at most once. A keys-only image (a witness's form) holds UNKNOWN records only. A
 * reader refuses a key longer than {@link #KEY_BYTES_MAX}, a value longer than {@link
 * #VALUE_BYTES_MAX}, an unknown kind, a body that ends before its end record, bytes after it, or
 * an end record whose count differs from the records read: {@link ImageFormatException} names
 * what was wrong and where. The envelope's CRC32C catches flipped bits; these checks catch a
 * writer's bug.
 */
public final class KvImageFormat {
  public static final int KIND_END = 0;
  public static final int KIND_VALUE = 1;
  public static final int KIND_UNKNOWN = 2;
  /** Largest key a reader takes (the storage engine's own limit is lower). */
  public static final int KEY_BYTES_MAX = 1 << 20;
  /** Largest value a reader takes (Redis's proto-max-bulk-len). */
  public static final int VALUE_BYTES_MAX = 512 << 20;
  /** Bytes of an end record. */
  public static final int END_BYTES = 1 + 8;

  private KvImageFormat() {}

  /** Bytes of a VALUE record. */
  public static long valueRecordBytes(int keyBytes, int valueBytes) {
    return 1 + 4 + keyBytes + 8 + 4 + (long) valueBytes;
  }

  /** Bytes of an UNKNOWN record. */
  public static long unknownRecordBytes(int keyBytes) {
    return 1 + 4 + keyBytes + 8 + 8;
  }

  /** Writes records; counts them for the end record. Not thread-safe. */
  public static final class Writer {
    /** Bytes a value read from a segment moves through at a time. */
    public static final int COPY_BUFFER_BYTES = 64 << 10;
    private final DataOutputStream out;
    /** For {@link #value(byte[], MemorySegment, long)}; made at its first use, then reused. */
    private byte[] copyBuffer;
    private long records;
    private boolean ended;

    public Writer(OutputStream out) {
      this.out = new DataOutputStream(out);
    }

    public void value(byte[] key, byte[] value, long expiresAtMillis) throws IOException {
      checkOpen();
      out.writeByte(KIND_VALUE);
      out.writeInt(key.length);
      out.write(key);
      out.writeLong(expiresAtMillis);
      out.writeInt(value.length);
      out.write(value);
      records++;
    }

    /**
     * As {@link #value(byte[], byte[], long)}, the value read from {@code value} where it lies
     * (off the heap, say) through one reused buffer of at most {@link #COPY_BUFFER_BYTES}: no
     * array per value.
     */
    public void value(byte[] key, MemorySegment value, long expiresAtMillis) throws IOException {
      checkOpen();
      if (value.byteSize() > VALUE_BYTES_MAX) {
        throw new IllegalArgumentException("value of " + value.byteSize()
            + " bytes exceeds VALUE_BYTES_MAX " + VALUE_BYTES_MAX);
      }
      int length = (int) value.byteSize();
      out.writeByte(KIND_VALUE);
      out.writeInt(key.length);
      out.write(key);
      out.writeLong(expiresAtMillis);
      out.writeInt(length);
      if (copyBuffer == null) {
        copyBuffer = new byte[COPY_BUFFER_BYTES];
      }
      for (int at = 0; at < length; ) {
        int n = Math.min(copyBuffer.length, length - at);
        MemorySegment.copy(value, ValueLayout.JAVA_BYTE, at, copyBuffer, 0, n);
        out.write(copyBuffer, 0, n);
        at += n;
      }
      records++;
    }

    public void unknown(byte[] key, long term, long index) throws IOException {
      checkOpen();
      out.writeByte(KIND_UNKNOWN);
      out.writeInt(key.length);
      out.write(key);
      out.writeLong(term);
      out.writeLong(index);
      records++;
    }

    /** Writes the end record and flushes (the stream stays open). */
    public void end() throws IOException {
      checkOpen();
      out.writeByte(KIND_END);
      out.writeLong(records);
      out.flush();
      ended = true;
    }

    public long records() {
      return records;
    }

    private void checkOpen() {
      if (ended) {
        throw new IllegalStateException("image already ended");
      }
    }
  }

  /** One record read back. */
  public record Record(int kind, byte[] key, byte[] value, long expiresAtMillis, long term,
      long index) {
    public boolean isValue() {
      return kind == KIND_VALUE;
    }
  }

  /** Reads records in order; {@link #next} returns null after the end record. */
  public static final class Reader {
    private final DataInputStream in;
    private long records;
    private long offset;
    private boolean ended;

    public Reader(InputStream in) {
      this.in = new DataInputStream(in);
    }

    /** The next record, or null once the end record was read (and checked). */
    public Record next() throws IOException {
      if (ended) {
        return null;
      }
      long at = offset;
      try {
        int kind = in.readUnsignedByte();
        offset += 1;
        if (kind == KIND_END) {
          long count = in.readLong();
          offset += 8;
          if (count != records) {
            throw new ImageFormatException("end record at body offset " + at + " counts " + count
                + " records, " + records + " were read");
          }
          if (in.read() != -1) {
            throw new ImageFormatException("bytes after the end record at body offset " + at);
          }
          ended = true;
          return null;
        }
        if (kind != KIND_VALUE && kind != KIND_UNKNOWN) {
          throw new ImageFormatException("record kind " + kind + " at body offset " + at
              + " is not VALUE (1), UNKNOWN (2) or END (0)");
        }
        int keyLen = in.readInt();
        if (keyLen < 0 || keyLen > KEY_BYTES_MAX) {
          throw new ImageFormatException("key length " + keyLen + " at body offset " + at
              + " is not in [0, " + KEY_BYTES_MAX + "]");
        }
        byte[] key = new byte[keyLen];
        in.readFully(key);
        offset += 4 + keyLen;
        Record r;
        if (kind == KIND_VALUE) {
          long expires = in.readLong();
          int valueLen = in.readInt();
          if (valueLen < 0 || valueLen > VALUE_BYTES_MAX) {
            throw new ImageFormatException("value length " + valueLen + " at body offset " + at
                + " is not in [0, " + VALUE_BYTES_MAX + "]");
          }
          byte[] value = new byte[valueLen];
          in.readFully(value);
          offset += 12 + valueLen;
          r = new Record(kind, key, value, expires, 0, 0);
        } else {
          long term = in.readLong();
          long index = in.readLong();
          offset += 16;
          r = new Record(kind, key, null, 0, term, index);
        }
        records++;
        return r;
      } catch (EOFException e) {
        throw new ImageFormatException("the body ends inside the record at offset " + at
            + " (no end record)");
      }
    }

    public long records() {
      return records;
    }
  }

  /** A body that does not follow this format. */
  public static final class ImageFormatException extends IOException {
    public ImageFormatException(String message) {
      super("snapshot image body: " + message);
    }
  }
}
