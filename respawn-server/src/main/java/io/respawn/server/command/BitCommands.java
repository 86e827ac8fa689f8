package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Args.parseLong;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.storage.StoredValue;
import java.util.Arrays;

/**
 * Bitmap commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS. Bit 0 is the most
 * significant bit of the first byte; a missing key is an endless run of zero bits. Ranges, replies
 * and errors as in Redis 7.0's bitops.c. A SETBIT that changes a bit writes the whole new value
 * (O(value length) per call: the batch carries values, not commands); one that changes nothing
 * writes nothing. Runs on the command thread.
 */
final class BitCommands {
  private final Dispatcher d;
  private final Keyspace ks;

  BitCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
    this.ks = dispatcher.keyspace;
  }

  void register(CommandTable t) {
    t.add("setbit", 4, 1, 1, 1, (s, a) -> setBit(a), Flag.WRITE);
    t.add("getbit", 3, 1, 1, 1, (s, a) -> getBit(a), Flag.READONLY);
    t.add("bitcount", -2, 1, 1, 1, (s, a) -> bitCount(a), Flag.READONLY);
    t.add("bitpos", -3, 1, 1, 1, (s, a) -> bitPos(a), Flag.READONLY);
  }

  /** A bit offset: non-negative and addressing a byte below proto-max-bulk-len. */
  private long bitOffset(byte[] arg) {
    Long offset = Args.parseLongOrNull(arg);
    if (offset == null || offset < 0 || (offset >> 3) >= StringCommands.stringBytesMax(d)) {
      throw ReplyException.err("bit offset is not an integer or out of range");
    }
    return offset;
  }

  /** SETBIT key offset 0|1: returns the bit's old value; grows the string with zero bytes. */
  private RedisMessage setBit(byte[][] a) {
    long offset = bitOffset(a[2]);
    Long on = Args.parseLongOrNull(a[3]);
    if (on == null || (on & ~1L) != 0) {
      throw ReplyException.err("bit is not an integer or out of range");
    }
    StoredValue old = ks.get(a[1]);
    byte[] before = old == null ? null : old.value();
    int byteIndex = (int) (offset >> 3);
    int mask = 1 << (7 - (int) (offset & 7));
    boolean wasSet = before != null && byteIndex < before.length
        && (before[byteIndex] & mask) != 0;
    boolean grows = before == null || byteIndex >= before.length;
    if (grows || wasSet != (on == 1)) {
      byte[] after = Arrays.copyOf(before == null ? new byte[0] : before,
          Math.max(before == null ? 0 : before.length, byteIndex + 1));
      after[byteIndex] = (byte) (on == 1 ? after[byteIndex] | mask : after[byteIndex] & ~mask);
      ks.put(a[1], after, old == null ? 0 : old.expiresAtMillis());
    }
    return wasSet ? Replies.ONE : Replies.ZERO;
  }

  /** GETBIT key offset: 0 past the end or for a missing key. */
  private RedisMessage getBit(byte[][] a) {
    long offset = bitOffset(a[2]);
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      return Replies.ZERO;
    }
    int byteIndex = (int) (offset >> 3);
    byte[] s = v.value();
    boolean set = byteIndex < s.length && (s[byteIndex] & (1 << (7 - (int) (offset & 7)))) != 0;
    return set ? Replies.ONE : Replies.ZERO;
  }

  /**
   * A range of a string in bits, [firstBit, lastBit] inclusive, after Redis's index rules
   * (negative from the end, clamped); empty when first > last.
   */
  private record BitRange(long firstBit, long lastBit) {
    boolean isEmpty() {
      return firstBit > lastBit;
    }
  }

  /**
   * Redis's start/end conversion for BITCOUNT and BITPOS: in BYTE units the range covers whole
   * bytes; in BIT units single bits.
   */
  private static BitRange range(long start, long end, long byteLength, boolean bits) {
    long total = bits ? byteLength << 3 : byteLength;
    if (start < 0) {
      start = total + start;
    }
    if (end < 0) {
      end = total + end;
    }
    start = Math.max(start, 0);
    end = Math.max(end, 0);
    if (end >= total) {
      end = total - 1;
    }
    if (start > end) {
      return new BitRange(1, 0);
    }
    return bits ? new BitRange(start, end) : new BitRange(start << 3, (end << 3) + 7);
  }

  private static boolean bitUnit(byte[] arg) {
    if (is(arg, "BIT")) {
      return true;
    }
    if (is(arg, "BYTE")) {
      return false;
    }
    throw ReplyException.err("syntax error");
  }

  /** BITCOUNT key [start end [BIT|BYTE]]: the set bits in the range. */
  private RedisMessage bitCount(byte[][] a) {
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      return Replies.ZERO; // before the arguments are looked at, as in Redis
    }
    byte[] s = v.value();
    BitRange r;
    if (a.length == 4 || a.length == 5) {
      long start = parseLong(a[2]);
      long end = parseLong(a[3]);
      if (start < 0 && end < 0 && start > end) {
        return Replies.ZERO;
      }
      boolean bits = a.length == 5 && bitUnit(a[4]);
      r = range(start, end, s.length, bits);
    } else if (a.length == 2) {
      r = range(0, -1, s.length, false);
    } else {
      throw ReplyException.err("syntax error");
    }
    return r.isEmpty() ? Replies.ZERO : integer(countOnes(s, r.firstBit(), r.lastBit()));
  }

  /** Set bits in [firstBit, lastBit], a word at a time in the middle. */
  static long countOnes(byte[] s, long firstBit, long lastBit) {
    int firstByte = (int) (firstBit >> 3);
    int lastByte = (int) (lastBit >> 3);
    long count = 0;
    int i = firstByte;
    for (; i + 8 <= lastByte + 1; i += 8) {
      long word = 0;
      for (int k = 0; k < 8; k++) {
        word = word << 8 | (s[i + k] & 0xff);
      }
      count += Long.bitCount(word);
    }
    for (; i <= lastByte; i++) {
      count += Integer.bitCount(s[i] & 0xff);
    }
    // Take back the bits of the edge bytes that lie outside the range.
    int headBits = (int) (firstBit & 7);
    if (headBits != 0) {
      count -= Integer.bitCount((s[firstByte] & 0xff) >>> (8 - headBits));
    }
    int tailBits = 7 - (int) (lastBit & 7);
    if (tailBits != 0) {
      count -= Integer.bitCount(s[lastByte] & ((1 << tailBits) - 1));
    }
    return count;
  }

  /**
   * BITPOS key bit [start [end [BIT|BYTE]]]: the first bit equal to {@code bit} in the range, or
   * -1. Looking for 0 without an explicit end treats the string as followed by zero bits, so it
   * answers the bit just past the string when every bit is 1 (Redis's rule).
   */
  private RedisMessage bitPos(byte[][] a) {
    Long bit = Args.parseLongOrNull(a[2]);
    if (bit == null) {
      throw new ReplyException(Args.NOT_INTEGER);
    }
    if (bit != 0 && bit != 1) {
      throw ReplyException.err("The bit argument must be 1 or 0.");
    }
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      return integer(bit == 1 ? -1 : 0); // an endless run of zeros
    }
    byte[] s = v.value();
    boolean endGiven = false;
    BitRange r;
    if (a.length >= 4 && a.length <= 6) {
      long start = parseLong(a[3]);
      boolean bits = a.length == 6 && bitUnit(a[5]);
      long end;
      if (a.length >= 5) {
        end = parseLong(a[4]);
        endGiven = true;
      } else {
        end = -1;
      }
      r = range(start, end, s.length, bits);
    } else if (a.length == 3) {
      r = range(0, -1, s.length, false);
    } else {
      throw ReplyException.err("syntax error");
    }
    if (r.isEmpty()) {
      return integer(-1);
    }
    for (long p = r.firstBit(); p <= r.lastBit(); ) {
      int byteIndex = (int) (p >> 3);
      int b = s[byteIndex] & 0xff;
      if ((p & 7) == 0 && p + 7 <= r.lastBit() && b == (bit == 1 ? 0 : 0xff)) {
        p += 8; // a whole byte without the bit we look for
        continue;
      }
      if (((b >> (7 - (int) (p & 7))) & 1) == bit) {
        return integer(p);
      }
      p++;
    }
    if (bit == 1 || endGiven) {
      return integer(-1);
    }
    return integer(r.lastBit() + 1);
  }
}
