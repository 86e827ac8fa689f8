package io.respawn.server.shard;

/**
 * Redis Cluster's key-to-slot rule: CRC16 (CCITT/XMODEM: polynomial 0x1021, initial 0, no
 * reflection) of the key, or of its hash tag, modulo 16384. The hash tag is the part between the
 * first '{' and the first '}' after it, when that part is not empty, so {@code {user1}.a} and
 * {@code {user1}.b} share a slot.
 */
public final class KeySlot {
  public static final int SLOTS = 16384;
  private static final int[] TABLE = new int[256];

  static {
    for (int i = 0; i < 256; i++) {
      int crc = i << 8;
      for (int bit = 0; bit < 8; bit++) {
        crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      }
      TABLE[i] = crc & 0xffff;
    }
  }

  private KeySlot() {}

  public static int of(byte[] key) {
    int start = 0;
    int end = key.length;
    for (int open = 0; open < key.length; open++) {
      if (key[open] == '{') {
        for (int close = open + 1; close < key.length; close++) {
          if (key[close] == '}') {
            if (close > open + 1) {
              start = open + 1;
              end = close;
            }
            break;
          }
        }
        break;
      }
    }
    return crc16(key, start, end) & (SLOTS - 1);
  }

  static int crc16(byte[] b, int from, int to) {
    int crc = 0;
    for (int i = from; i < to; i++) {
      crc = ((crc << 8) ^ TABLE[((crc >>> 8) ^ b[i]) & 0xff]) & 0xffff;
    }
    return crc;
  }
}
