package io.respawn.storage.backup;

import io.respawn.storage.memory.RecordTable;

/**
 * The 64-bit key hash shared by the backup's index and by popularity reports: a primary's {@link
 * PopularitySampler} reports hashes, the backup's {@link PopularKeys} matches them against keys,
 * so both sides must hash alike. It is the memory table's hash ({@link RecordTable#hash64}: eight
 * bytes per multiply, the tail byte by byte, then murmur3's finalizer), never 0 (the index uses 0
 * for an empty slot).
 */
public final class KeyHash {
  private KeyHash() {}

  public static long of(byte[] key) {
    return RecordTable.hash64(key);
  }

  /** The hash of the key held in {@code bytes[offset, offset + length)}, as {@link #of(byte[])}. */
  static long of(byte[] bytes, int offset, int length) {
    return RecordTable.hash64(bytes, offset, length);
  }
}
