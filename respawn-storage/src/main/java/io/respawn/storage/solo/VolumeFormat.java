package io.respawn.storage.solo;

import io.respawn.storage.LogFormat;
import io.respawn.storage.StorageException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * File names of a solo volume and the layouts of its two records. All integers are big-endian;
 * names are ASCII. Pure functions, no I/O.
 *
 * <pre>
 * Epoch record, file "epoch-&lt;20-digit epoch&gt;" in the volume directory; the highest valid
 * one says which store the volume serves. Written to "&lt;name&gt;.tmp", flushed, renamed (a rename
 * never replaces: two writers of one epoch cannot both succeed).
 *  0               8               16      18              18+n            22+n
 * +---------------+---------------+-------+---------------+---------------+
 * | magic u64     | epoch u64     | n u16 | store name    | crc32c u32    |
 * |               |               |       | n bytes       |               |
 * +---------------+---------------+-------+---------------+---------------+
 *  magic = "RSPWNEPO"; crc over bytes [0, 18+n)
 *
 * Super record, file "super-&lt;child store name&gt;": what the parent store looked like when super
 * made the child; collapse compares the parent with it. Written like an epoch record.
 * +-----------+-----------+-----------------+-----------------+------------+------------+
 * | magic u64 | epoch u64 | parent: n u16,  | child: n u16,   | tail crc32c| files u32  |
 * |           |           | n bytes         | n bytes         | u32        |            |
 * +-----------+-----------+-----------------+-----------------+------------+------------+
 * +-----------------------------------------------+-----+---------------+
 * | file 1: name n u16, n bytes | bytes i64 | tail u8 | ... | crc32c u32    |
 * +-----------------------------------------------+-----+---------------+
 *  magic = "RSPWNSUP"; epoch = the volume's epoch at super; files = the parent's segment files
 *  (and clean-shutdown mark) in name order with the length each had (-1: it vanished while super
 *  ran); tail = 1 for the one file super copied (the active segment), whose bytes and crc32c are
 *  those of the copy; crc over everything before it
 * </pre>
 */
public final class VolumeFormat {
  public static final long EPOCH_MAGIC = 0x5253_5057_4E45_504FL; // "RSPWNEPO"
  public static final long SUPER_MAGIC = 0x5253_5057_4E53_5550L; // "RSPWNSUP"
  /** The first store: the same directory {@code respawn server --data DIR} keeps its log in. */
  public static final String FIRST_STORE = "store";
  public static final String STORE_PREFIX = "store-";
  public static final String EPOCH_PREFIX = "epoch-";
  public static final String SUPER_PREFIX = "super-";
  public static final String LOCK_SUFFIX = ".lock";
  /** A record larger than this is not one (names are short; a store has few segment files). */
  public static final int RECORD_BYTES_MAX = 16 << 20;
  private static final int NAME_BYTES_MAX = 255;

  private VolumeFormat() {}

  /** One file of the parent store as super saw it. */
  public record FileState(String name, long bytes, boolean tail) {}

  /** The decoded super record. */
  public record SuperRecord(long epoch, String parent, String child, int tailCrc,
      List<FileState> files) {
    public SuperRecord {
      files = List.copyOf(files);
    }

    /** The copied file, or null if the parent had no segment. */
    public FileState tail() {
      for (FileState f : files) {
        if (f.tail()) {
          return f;
        }
      }
      return null;
    }
  }

  /** The decoded epoch record. */
  public record EpochRecord(long epoch, String store) {}

  public static String epochFile(long epoch) {
    if (epoch < 0) {
      throw new IllegalArgumentException("negative epoch " + epoch);
    }
    // Zero-padded by hand: String.format would load the locale providers (~3,700 objects that
    // stay) into every server that merely checks for a solo volume at start.
    String digits = Long.toString(epoch);
    return EPOCH_PREFIX + "0".repeat(20 - digits.length()) + digits;
  }

  /** The epoch an epoch file's name carries, or -1 if it is not one. */
  public static long parseEpochFile(String name) {
    if (!name.startsWith(EPOCH_PREFIX) || name.length() != EPOCH_PREFIX.length() + 20) {
      return -1;
    }
    try {
      return Long.parseLong(name.substring(EPOCH_PREFIX.length()));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  public static String superFile(String child) {
    return SUPER_PREFIX + child;
  }

  public static String lockFile(String store) {
    return store + LOCK_SUFFIX;
  }

  /** Whether super shares or copies this file of a store (log segments and the clean mark). */
  public static boolean isStoreData(String name) {
    return LogFormat.parseSegmentName(name) != null || name.equals(LogFormat.CLEAN_SHUTDOWN_FILE);
  }

  public static byte[] encodeEpoch(EpochRecord record) {
    byte[] name = ascii(record.store());
    ByteBuffer out = ByteBuffer.allocate(8 + 8 + 2 + name.length + 4);
    out.putLong(EPOCH_MAGIC).putLong(record.epoch()).putShort((short) name.length).put(name);
    out.putInt(LogFormat.crc32c(out.array(), 0, out.position()));
    return out.array();
  }

  /** The record, or a {@link StorageException} naming the file if these bytes are not one. */
  public static EpochRecord decodeEpoch(String file, byte[] bytes, int length) {
    try {
      ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
      long magic = in.getLong();
      long epoch = in.getLong();
      String store = getName(in);
      int end = in.position();
      int crc = in.getInt();
      if (magic != EPOCH_MAGIC || crc != LogFormat.crc32c(bytes, 0, end) || in.hasRemaining()
          || epoch != parseEpochFile(file)) {
        throw new StorageException("corrupt epoch record " + file + " (" + length + " bytes)");
      }
      return new EpochRecord(epoch, store);
    } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
      throw new StorageException("corrupt epoch record " + file + " (" + length + " bytes): " + e);
    }
  }

  public static byte[] encodeSuper(SuperRecord r) {
    int bytes = 8 + 8 + 2 + r.parent().length() + 2 + r.child().length() + 4 + 4 + 4;
    for (FileState f : r.files()) {
      bytes += 2 + f.name().length() + 8 + 1;
    }
    if (bytes > RECORD_BYTES_MAX) {
      throw new IllegalArgumentException("super record of " + bytes + " bytes exceeds "
          + RECORD_BYTES_MAX);
    }
    ByteBuffer out = ByteBuffer.allocate(bytes);
    out.putLong(SUPER_MAGIC).putLong(r.epoch());
    putName(out, r.parent());
    putName(out, r.child());
    out.putInt(r.tailCrc()).putInt(r.files().size());
    for (FileState f : r.files()) {
      putName(out, f.name());
      out.putLong(f.bytes()).put((byte) (f.tail() ? 1 : 0));
    }
    out.putInt(LogFormat.crc32c(out.array(), 0, out.position()));
    assert !out.hasRemaining();
    return out.array();
  }

  public static SuperRecord decodeSuper(String file, byte[] bytes, int length) {
    try {
      ByteBuffer in = ByteBuffer.wrap(bytes, 0, length);
      long magic = in.getLong();
      long epoch = in.getLong();
      String parent = getName(in);
      String child = getName(in);
      int tailCrc = in.getInt();
      int count = in.getInt();
      if (magic != SUPER_MAGIC || count < 0 || count > length / 11) {
        throw new StorageException("corrupt super record " + file);
      }
      List<FileState> files = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        String name = getName(in);
        long size = in.getLong();
        files.add(new FileState(name, size, in.get() == 1));
      }
      int end = in.position();
      if (in.getInt() != LogFormat.crc32c(bytes, 0, end) || in.hasRemaining()) {
        throw new StorageException("corrupt super record " + file + " (checksum)");
      }
      return new SuperRecord(epoch, parent, child, tailCrc, files);
    } catch (java.nio.BufferUnderflowException | IllegalArgumentException e) {
      throw new StorageException("corrupt super record " + file + ": " + e);
    }
  }

  private static byte[] ascii(String name) {
    byte[] bytes = name.getBytes(StandardCharsets.US_ASCII);
    if (bytes.length == 0 || bytes.length > NAME_BYTES_MAX) {
      throw new IllegalArgumentException("bad name length " + bytes.length + ": " + name);
    }
    return bytes;
  }

  private static void putName(ByteBuffer out, String name) {
    byte[] bytes = ascii(name);
    out.putShort((short) bytes.length).put(bytes);
  }

  private static String getName(ByteBuffer in) {
    int n = Short.toUnsignedInt(in.getShort());
    if (n == 0 || n > NAME_BYTES_MAX) {
      throw new IllegalArgumentException("bad name length " + n);
    }
    byte[] bytes = new byte[n];
    in.get(bytes);
    return new String(bytes, StandardCharsets.US_ASCII);
  }
}
