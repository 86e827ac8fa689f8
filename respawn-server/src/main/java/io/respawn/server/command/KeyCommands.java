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

/** Keyspace commands: DEL, EXISTS, expiry, SCAN, KEYS, TYPE, DBSIZE, FLUSHALL. */
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
      if (ks.exists(a[i])) {
        n++;
      }
    }
    return integer(n);
  }

  private RedisMessage ttl(byte[][] a, long unitMillis) {
    StoredValue v = ks.get(a[1]);
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

  /** EXPIRE key n [NX|XX|GT|LT] and its ms / absolute variants. */
  private RedisMessage expire(byte[][] a, long unitMillis, boolean absolute, String name) {
    long n = parseLong(a[2]);
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
    long at;
    try {
      at = Math.multiplyExact(n, unitMillis);
      if (!absolute) {
        at = Math.addExact(at, ks.nowMillis());
      }
    } catch (ArithmeticException e) {
      throw ReplyException.err("invalid expire time in '" + name + "' command");
    }
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
        ks.exists(a[1]) ? "string" : "none");
  }

  /** SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. */
  private RedisMessage scan(byte[][] a) {
    long cursor;
    try {
      cursor = Long.parseUnsignedLong(Args.text(a[1]));
    } catch (NumberFormatException e) {
      throw ReplyException.err("invalid cursor");
    }
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
