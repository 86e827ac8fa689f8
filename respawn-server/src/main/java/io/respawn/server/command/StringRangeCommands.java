package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Args.parseLong;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.storage.StoredValue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Commands on parts of a string: GETRANGE (and its old name SUBSTR), SETRANGE, LCS. Index rules,
 * replies and errors as in Redis 7.0's t_string.c. A SETRANGE computes the new value on the
 * command thread and writes it whole (the batch carries values, not commands). Runs on the
 * command thread.
 */
final class StringRangeCommands {
  /**
   * Largest LCS table, whatever proto-max-bulk-len allows (Redis's bound; 512 MiB by default):
   * the table lives on the JVM heap, and filling it runs on the command thread (about 30 ms for
   * 64 MiB, two 4,000-byte strings).
   */
  static final long LCS_TABLE_BYTES_MAX = 64L * 1024 * 1024;

  private final Dispatcher d;
  private final Keyspace ks;

  StringRangeCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
    this.ks = dispatcher.keyspace;
  }

  void register(CommandTable t) {
    t.add("getrange", 4, 1, 1, 1, (s, a) -> getRange(a), Flag.READONLY);
    t.add("substr", 4, 1, 1, 1, (s, a) -> getRange(a), Flag.READONLY);
    t.add("setrange", 4, 1, 1, 1, (s, a) -> setRange(a), Flag.WRITE);
    t.add("lcs", -3, 1, 2, 1, (s, a) -> lcs(a), Flag.READONLY);
  }

  /** GETRANGE key start end: inclusive, negative counts from the end, clamped; "" if none. */
  private RedisMessage getRange(byte[][] a) {
    long start = parseLong(a[2]);
    long end = parseLong(a[3]);
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      return Replies.bulk(new byte[0]);
    }
    byte[] s = v.value();
    long length = s.length;
    if (start < 0 && end < 0 && start > end) {
      return Replies.bulk(new byte[0]);
    }
    if (start < 0) {
      start = length + start;
    }
    if (end < 0) {
      end = length + end;
    }
    start = Math.max(start, 0);
    end = Math.max(end, 0);
    if (end >= length) {
      end = length - 1;
    }
    if (start > end || length == 0) {
      return Replies.bulk(new byte[0]);
    }
    return bulk(Arrays.copyOfRange(s, (int) start, (int) end + 1));
  }

  /**
   * SETRANGE key offset value: overwrites from offset, padding with zero bytes; returns the new
   * length. An empty value changes nothing (and creates no key). Keeps the TTL.
   */
  private RedisMessage setRange(byte[][] a) {
    long offset = parseLong(a[2]);
    if (offset < 0) {
      throw ReplyException.err("offset is out of range");
    }
    byte[] value = a[3];
    StoredValue old = ks.get(a[1]);
    if (value.length == 0) {
      return integer(old == null ? 0 : old.value().length);
    }
    if (offset > StringCommands.stringBytesMax(d) - value.length) { // offset + length, overflow-free
      throw ReplyException.err("string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    byte[] before = old == null ? new byte[0] : old.value();
    int length = (int) Math.max(before.length, offset + value.length);
    byte[] after = Arrays.copyOf(before, length); // a fresh array: stored values are never mutated
    System.arraycopy(value, 0, after, (int) offset, value.length);
    ks.put(a[1], after, old == null ? 0 : old.expiresAtMillis());
    return integer(length);
  }

  /**
   * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]: the longest common subsequence by
   * Redis's dynamic programme, O(len1 × len2) time and 4 × (len1 + 1) × (len2 + 1) bytes of
   * transient memory, refused past proto-max-bulk-len as in Redis and past {@link
   * #LCS_TABLE_BYTES_MAX}. Missing keys are empty strings.
   */
  private RedisMessage lcs(byte[][] a) {
    StoredValue va = ks.get(a[1]);
    StoredValue vb = ks.get(a[2]);
    byte[] x = va == null ? new byte[0] : va.value();
    byte[] y = vb == null ? new byte[0] : vb.value();
    boolean getLen = false;
    boolean getIdx = false;
    boolean withMatchLen = false;
    long minMatchLen = 0;
    for (int j = 3; j < a.length; j++) {
      boolean moreArgs = j + 1 < a.length;
      if (is(a[j], "IDX")) {
        getIdx = true;
      } else if (is(a[j], "LEN")) {
        getLen = true;
      } else if (is(a[j], "WITHMATCHLEN")) {
        withMatchLen = true;
      } else if (is(a[j], "MINMATCHLEN") && moreArgs) {
        minMatchLen = Math.max(0, parseLong(a[++j]));
      } else {
        throw ReplyException.err("syntax error");
      }
    }
    if (getLen && getIdx) {
      throw ReplyException.err("If you want both the length and indexes, please just use IDX.");
    }
    int alen = x.length;
    int blen = y.length;
    long tableBytes = (long) (alen + 1) * (blen + 1) * Integer.BYTES;
    if (tableBytes > d.settings.limits().bulkLengthMax()) {
      throw ReplyException.err(
          "Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
    }
    if (tableBytes > LCS_TABLE_BYTES_MAX) {
      throw ReplyException.err("Insufficient memory, transient memory for LCS exceeds "
          + LCS_TABLE_BYTES_MAX + " bytes (lcsTableBytesMax)");
    }
    int[] table;
    try {
      table = new int[(int) (tableBytes / Integer.BYTES)];
    } catch (OutOfMemoryError e) { // one failed allocation leaves the heap as it was
      throw ReplyException.err("Insufficient memory, failed allocating transient memory for LCS");
    }
    int w = blen + 1;
    for (int i = 1; i <= alen; i++) {
      for (int j = 1; j <= blen; j++) {
        if (x[i - 1] == y[j - 1]) {
          table[i * w + j] = table[(i - 1) * w + j - 1] + 1;
        } else {
          table[i * w + j] = Math.max(table[(i - 1) * w + j], table[i * w + j - 1]);
        }
      }
    }
    int length = table[alen * w + blen];
    if (getLen) {
      return integer(length);
    }
    // Walk back from the end, as Redis does: the LCS bytes and, for IDX, the matching ranges
    // (emitted last-first, each [[a-start, a-end], [b-start, b-end]] (+ its length)).
    byte[] result = new byte[length];
    List<RedisMessage> matches = new ArrayList<>();
    int idx = length;
    int i = alen;
    int j = blen;
    int aStart = alen; // alen: no range open
    int aEnd = 0;
    int bStart = 0;
    int bEnd = 0;
    while (i > 0 && j > 0) {
      boolean emit = false;
      if (x[i - 1] == y[j - 1]) {
        result[idx - 1] = x[i - 1];
        if (aStart == alen) {
          aStart = i - 1;
          aEnd = i - 1;
          bStart = j - 1;
          bEnd = j - 1;
        } else if (aStart == i && bStart == j) {
          aStart--;
          bStart--;
        } else {
          emit = true;
        }
        if (aStart == 0 || bStart == 0) {
          emit = true;
        }
        idx--;
        i--;
        j--;
      } else {
        if (table[(i - 1) * w + j] > table[i * w + j - 1]) {
          i--;
        } else {
          j--;
        }
        if (aStart != alen) {
          emit = true;
        }
      }
      long matchLen = (long) aEnd - aStart + 1;
      if (emit) {
        if (getIdx && (minMatchLen == 0 || matchLen >= minMatchLen)) {
          List<RedisMessage> match = new ArrayList<>(3);
          match.add(Replies.array(List.of(integer(aStart), integer(aEnd))));
          match.add(Replies.array(List.of(integer(bStart), integer(bEnd))));
          if (withMatchLen) {
            match.add(integer(matchLen));
          }
          matches.add(Replies.array(match));
        }
        aStart = alen;
      }
    }
    if (getIdx) {
      return Replies.array(List.of(bulk("matches"), Replies.array(matches), bulk("len"),
          integer(length)));
    }
    return bulk(result);
  }
}
