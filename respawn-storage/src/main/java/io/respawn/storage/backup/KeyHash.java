package io.respawn.storage.backup;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The 64-bit key hash shared by the backup's index and by popularity reports: a primary's {@link
 * PopularitySampler} reports hashes, the backup's {@link PopularKeys} matches them against keys,
 * so both sides must hash alike. Eight bytes per multiply, the tail byte by byte, then murmur3's
 * finalizer. Never 0 (the index uses 0 for an empty slot).
 */
public final class KeyHash {
  private static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private KeyHash() {}

  public static long of(byte[] key) {
    return of(key, 0, key.length);
  }

  /** The hash of the key held in {@code bytes[offset, offset + length)}, as {@link #of(byte[])}. */
  static long of(byte[] bytes, int offset, int length) {
    long h = 0xcbf29ce484222325L ^ length;
    int i = offset;
    int end = offset + length;
    for (; i + 8 <= end; i += 8) {
      h = Long.rotateLeft((h ^ (long) LONG_LE.get(bytes, i)) * 0x9e3779b97f4a7c15L, 29);
    }
    for (; i < end; i++) {
      h = (h ^ (bytes[i] & 0xff)) * 0x100000001b3L;
    }
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h == 0 ? 0x9e3779b97f4a7c15L : h;
  }
}
