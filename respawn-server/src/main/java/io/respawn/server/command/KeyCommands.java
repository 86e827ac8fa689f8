package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Args.parseLong;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import java.util.ArrayList;
import java.util.List;

/**
 * Keyspace commands: DEL/UNLINK, EXISTS, TOUCH, TYPE, expiry (EXPIRE and friends, TTL and
 * friends, PERSIST), RENAME/RENAMENX, COPY, RANDOMKEY, SCAN, KEYS, DBSIZE, FLUSHALL/FLUSHDB, with
 * Redis 7.0's replies and error texts (db.c, expire.c). Expiry times are absolute epoch
 * milliseconds in the batch, whatever the command's unit. Runs on the command thread.
 */
final class KeyCommands {
  /** Upper bound on keys one SCAN call examines, whatever COUNT asks for. */
  static final int SCAN_COUNT_MAX = 100_000;

  private final Dispatcher d;
  private final Keyspace ks;

  KeyCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
    this.ks = dispatcher.keyspace;
  }

  void register(CommandTable t) {
    t.add("del", -2, 1, -1, 1, (s, a) -> del(a), Flag.WRITE);
    t.add("unlink", -2, 1, -1, 1, (s, a) -> del(a), Flag.WRITE);
    t.add("exists", -2, 1, -1, 1, (s, a) -> exists(a), Flag.READONLY);
    t.add("ttl", 2, 1, 1, 1, (s, a) -> ttl(a, 1000), Flag.READONLY);
    t.add("pttl", 2, 1, 1, 1, (s, a) -> ttl(a, 1), Flag.READONLY);
    t.add("expire", -3, 1, 1, 1, (s, a) -> expire(a, 1000, false, "expire"), Flag.WRITE);
    t.add("pexpire", -3, 1, 1, 1, (s, a) -> expire(a, 1, false, "pexpire"), Flag.WRITE);
    t.add("expireat", -3, 1, 1, 1, (s, a) -> expire(a, 1000, true, "expireat"), Flag.WRITE);
    t.add("pexpireat", -3, 1, 1, 1, (s, a) -> expire(a, 1, true, "pexpireat"), Flag.WRITE);
    t.add("persist", 2, 1, 1, 1, (s, a) -> persist(a), Flag.WRITE);
    t.add("type", 2, 1, 1, 1, (s, a) -> type(a), Flag.READONLY);
    t.add("scan", -2, (s, a) -> scan(a), Flag.READONLY, Flag.WHOLE_KEYSPACE);
    t.add("keys", 2, (s, a) -> keys(a), Flag.READONLY, Flag.WHOLE_KEYSPACE);
    t.add("dbsize", 1, (s, a) -> integer(ks.keyCount()), Flag.READONLY, Flag.WHOLE_KEYSPACE);
    t.add("flushall", -1, (s, a) -> flush(a), Flag.WRITE);
    t.add("flushdb", -1, (s, a) -> flush(a), Flag.WRITE);
    t.add("touch", -2, 1, -1, 1, (s, a) -> touch(a), Flag.READONLY);
    t.add("expiretime", 2, 1, 1, 1, (s, a) -> expireTime(a, 1000), Flag.READONLY);
    t.add("pexpiretime", 2, 1, 1, 1, (s, a) -> expireTime(a, 1), Flag.READONLY);
    t.add("rename", 3, 1, 2, 1, (s, a) -> rename(a, false), Flag.WRITE);
    t.add("renamenx", 3, 1, 2, 1, (s, a) -> rename(a, true), Flag.WRITE);
    t.add("copy", -3, 1, 2, 1, (s, a) -> copy(a), Flag.WRITE);
    t.add("randomkey", 1, (s, a) -> randomKey(), Flag.READONLY);
  }

  private RedisMessage del(byte[][] a) {
    long removed = 0;
    for (int i = 1; i < a.length; i++) {
      if (ks.exists(a[i])) {
        ks.delete(a[i]);
        removed++;
      }
    }
    return integer(removed);
  }

  private RedisMessage exists(byte[][] a) {
    long n = 0;
    for (int i = 1; i < a.length; i++) {
      if (ks.peek(a[i]) != null) {
        n++;
      }
    }
    return integer(n);
  }

  private RedisMessage ttl(byte[][] a, long unitMillis) {
    StoredValue v = ks.peek(a[1]);
    if (v == null) {
      return integer(-2);
    }
    if (v.expiresAtMillis() == 0) {
      return integer(-1);
    }
    long leftMillis = Math.max(0, v.expiresAtMillis() - ks.nowMillis());
    // Redis rounds TTL to the nearest second.
    return integer(unitMillis == 1 ? leftMillis : (leftMillis + 500) / 1000);
  }

  /**
   * EXPIRE key n [NX|XX|GT|LT] and its ms / absolute variants. As in Redis: options are checked
   * before the time; a negative time is allowed; a time not in the future deletes the key.
   */
  private RedisMessage expire(byte[][] a, long unitMillis, boolean absolute, String name) {
    boolean nx = false;
    boolean xx = false;
    boolean gt = false;
    boolean lt = false;
    for (int i = 3; i < a.length; i++) {
      if (is(a[i], "NX")) {
        nx = true;
      } else if (is(a[i], "XX")) {
        xx = true;
      } else if (is(a[i], "GT")) {
        gt = true;
      } else if (is(a[i], "LT")) {
        lt = true;
      } else {
        throw ReplyException.err("Unsupported option " + Args.text(a[i]));
      }
    }
    if (nx && (xx || gt || lt)) {
      throw ReplyException.err("NX and XX, GT or LT options at the same time are not compatible");
    }
    if (gt && lt) {
      throw ReplyException.err("GT and LT options at the same time are not compatible");
    }
    long n = parseLong(a[2]);
    long base = absolute ? 0 : ks.nowMillis();
    if (unitMillis == 1000 && (n > Long.MAX_VALUE / 1000 || n < Long.MIN_VALUE / 1000)) {
      throw ReplyException.err("invalid expire time in '" + name + "' command");
    }
    long at = n * unitMillis;
    if (at > Long.MAX_VALUE - base) {
      throw ReplyException.err("invalid expire time in '" + name + "' command");
    }
    at += base;
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      return Replies.ZERO;
    }
    long current = v.expiresAtMillis(); // 0 = no expiry, which counts as infinite for GT/LT
    if ((nx && current != 0) || (xx && current == 0)
        || (gt && (current == 0 || at <= current)) || (lt && current != 0 && at >= current)) {
      return Replies.ZERO;
    }
    if (at <= ks.nowMillis()) {
      ks.delete(a[1]);
    } else {
      ks.put(a[1], v.value(), at);
    }
    return Replies.ONE;
  }

  private RedisMessage persist(byte[][] a) {
    StoredValue v = ks.get(a[1]);
    if (v == null || v.expiresAtMillis() == 0) {
      return Replies.ZERO;
    }
    ks.put(a[1], v.value(), 0);
    return Replies.ONE;
  }

  private RedisMessage type(byte[][] a) {
    return new io.netty.handler.codec.redis.SimpleStringRedisMessage(
        ks.peek(a[1]) != null ? "string" : "none");
  }

  /** TOUCH key [key ...]: how many exist; counts as an access of each (OBJECT IDLETIME). */
  private RedisMessage touch(byte[][] a) {
    long n = 0;
    for (int i = 1; i < a.length; i++) {
      if (ks.get(a[i]) != null) {
        n++;
      }
    }
    return integer(n);
  }

  /** EXPIRETIME / PEXPIRETIME: the absolute expiry (seconds rounded), -1 without, -2 missing. */
  private RedisMessage expireTime(byte[][] a, long unitMillis) {
    StoredValue v = ks.peek(a[1]);
    if (v == null) {
      return integer(-2);
    }
    if (v.expiresAtMillis() == 0) {
      return integer(-1);
    }
    long at = Math.max(0, v.expiresAtMillis());
    return integer(unitMillis == 1 ? at : (at + 500) / 1000);
  }

  /**
   * RENAME / RENAMENX src dst: moves the value and its TTL. Same name: OK (RENAMENX: 0) if it
   * exists. Missing source: {@code ERR no such key}.
   */
  private RedisMessage rename(byte[][] a, boolean nx) {
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      throw ReplyException.err("no such key");
    }
    if (java.util.Arrays.equals(a[1], a[2])) {
      return nx ? Replies.ZERO : Replies.OK;
    }
    if (nx && ks.exists(a[2])) {
      return Replies.ZERO;
    }
    ks.put(a[2], v.value(), v.expiresAtMillis());
    ks.delete(a[1]);
    return nx ? Replies.ONE : Replies.OK;
  }

  /**
   * COPY src dst [DB index] [REPLACE]: copies the value and its TTL; 0 if the source is missing
   * or the destination exists without REPLACE. Only db 0 exists here.
   */
  private RedisMessage copy(byte[][] a) {
    boolean replace = false;
    for (int j = 3; j < a.length; j++) {
      if (is(a[j], "REPLACE")) {
        replace = true;
      } else if (is(a[j], "DB") && j + 1 < a.length) {
        long db = parseLong(a[++j]);
        if (db < Integer.MIN_VALUE || db > Integer.MAX_VALUE) {
          throw ReplyException.err("value is out of range, value must between -2147483648 and "
              + "2147483647"); // Redis's getIntFromObjectOrReply, its grammar included
        }
        if (db != 0) {
          throw ReplyException.err("DB index is out of range");
        }
      } else {
        throw ReplyException.err("syntax error");
      }
    }
    if (java.util.Arrays.equals(a[1], a[2])) {
      throw ReplyException.err("source and destination objects are the same");
    }
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      return Replies.ZERO;
    }
    if (!replace && ks.exists(a[2])) {
      return Replies.ZERO;
    }
    ks.put(a[2], v.value(), v.expiresAtMillis());
    return Replies.ONE;
  }

  /** RANDOMKEY: a live key chosen at random (see {@link Keyspace#randomKey}), or nil. */
  private RedisMessage randomKey() {
    byte[] key = ks.randomKey();
    return key == null ? Replies.NIL : bulk(key);
  }

  /** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. */
  private RedisMessage scan(byte[][] a) {
    long cursor = parseCursor(a[1]);
    byte[] pattern = null;
    int count = 10;
    String type = null;
    for (int i = 2; i < a.length; i++) {
      boolean hasNext = i + 1 < a.length;
      if (is(a[i], "MATCH") && hasNext) {
        pattern = a[++i];
      } else if (is(a[i], "COUNT") && hasNext) {
        long c = parseLong(a[++i]);
        if (c < 1) {
          throw ReplyException.err("syntax error");
        }
        count = (int) Math.min(c, SCAN_COUNT_MAX);
      } else if (is(a[i], "TYPE") && hasNext) {
        type = Args.lower(a[++i]);
      } else {
        throw ReplyException.err("syntax error");
      }
    }
    ScanPage page = ks.scan(cursor, count);
    List<RedisMessage> keys = new ArrayList<>(page.keys().size());
    if (type == null || type.equals("string")) {
      addMatching(page.keys(), pattern, keys);
      if (cursor == 0) {
        // Inside MULTI/EXEC the transaction's new keys are not in the engine yet: list them on
        // the first page (a key created later in an iteration need not be returned).
        addMatching(ks.pendingNewKeys(), pattern, keys);
      }
    }
    List<RedisMessage> reply = new ArrayList<>(2);
    reply.add(bulk(Long.toUnsignedString(page.nextCursor())));
    reply.add(Replies.array(keys));
    return Replies.array(reply);
  }

  /**
   * A SCAN cursor as C's strtoul reads it (Redis's parseScanCursorOrReply): optional sign (a
   * minus negates modulo 2^64), decimal digits, nothing else, no overflow.
   */
  static long parseCursor(byte[] b) {
    if (b.length == 0) {
      return 0; // strtoul("") stops at once on the terminator: Redis reads cursor 0
    }
    int i = 0;
    boolean negative = false;
    if (b[0] == '+' || b[0] == '-') {
      negative = b[0] == '-';
      i = 1;
    }
    if (i == b.length) {
      throw ReplyException.err("invalid cursor");
    }
    long v = 0;
    for (; i < b.length; i++) {
      int digit = b[i] - '0';
      if (digit < 0 || digit > 9
          || Long.compareUnsigned(v, Long.divideUnsigned(-1L - digit, 10)) > 0) {
        throw ReplyException.err("invalid cursor"); // not a digit, or ERANGE
      }
      v = v * 10 + digit;
    }
    return negative ? -v : v;
  }

  private RedisMessage keys(byte[][] a) {
    List<RedisMessage> keys = new ArrayList<>();
    long cursor = 0;
    do {
      ScanPage page = ks.scan(cursor, 1000);
      addMatching(page.keys(), a[1], keys);
      cursor = page.nextCursor();
    } while (cursor != 0);
    addMatching(ks.pendingNewKeys(), a[1], keys);
    return Replies.array(keys);
  }

  /** Adds the live keys among {@code candidates} that match {@code pattern} (null: all). */
  private void addMatching(List<byte[]> candidates, byte[] pattern, List<RedisMessage> out) {
    for (byte[] key : candidates) {
      if ((pattern == null || Glob.matches(pattern, key)) && ks.exists(key)) {
        out.add(bulk(key));
      }
    }
  }

  private RedisMessage flush(byte[][] a) {
    if (a.length > 2 || (a.length == 2 && !is(a[1], "ASYNC") && !is(a[1], "SYNC"))) {
      throw ReplyException.err("syntax error");
    }
    ks.clear();
    return Replies.OK;
  }
}
