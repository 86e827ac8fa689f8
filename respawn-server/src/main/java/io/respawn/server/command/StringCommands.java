package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Args.parseLong;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.storage.StoredValue;
import java.util.ArrayList;
import java.util.List;

/** String commands: GET, SET and friends, counters, APPEND, STRLEN. */
final class StringCommands {
  private final Dispatcher d;
  private final Keyspace ks;

  StringCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
    this.ks = dispatcher.keyspace;
  }

  void register(CommandTable t) {
    t.add("get", 2, 1, 1, 1, (s, a) -> get(a), Flag.READONLY);
    t.add("set", -3, 1, 1, 1, (s, a) -> set(a), Flag.WRITE, Flag.DENY_OOM);
    t.add("setnx", 3, 1, 1, 1, (s, a) -> setnx(a), Flag.WRITE, Flag.DENY_OOM);
    t.add("setex", 4, 1, 1, 1, (s, a) -> setex(a, 1000, "setex"), Flag.WRITE, Flag.DENY_OOM);
    t.add("psetex", 4, 1, 1, 1, (s, a) -> setex(a, 1, "psetex"), Flag.WRITE, Flag.DENY_OOM);
    t.add("getset", 3, 1, 1, 1, (s, a) -> getset(a), Flag.WRITE, Flag.DENY_OOM);
    t.add("getdel", 2, 1, 1, 1, (s, a) -> getdel(a), Flag.WRITE);
    t.add("mget", -2, 1, -1, 1, (s, a) -> mget(a), Flag.READONLY);
    t.add("mset", -3, 1, -1, 2, (s, a) -> mset(a), Flag.WRITE, Flag.DENY_OOM);
    t.add("msetnx", -3, 1, -1, 2, (s, a) -> msetnx(a), Flag.WRITE, Flag.DENY_OOM);
    t.add("incr", 2, 1, 1, 1, (s, a) -> incrBy(a[1], 1), Flag.WRITE, Flag.DENY_OOM);
    t.add("decr", 2, 1, 1, 1, (s, a) -> incrBy(a[1], -1), Flag.WRITE, Flag.DENY_OOM);
    t.add("incrby", 3, 1, 1, 1, (s, a) -> incrBy(a[1], parseLong(a[2])), Flag.WRITE, Flag.DENY_OOM);
    t.add("decrby", 3, 1, 1, 1, (s, a) -> decrBy(a), Flag.WRITE, Flag.DENY_OOM);
    t.add("append", 3, 1, 1, 1, (s, a) -> append(a), Flag.WRITE, Flag.DENY_OOM);
    t.add("strlen", 2, 1, 1, 1, (s, a) -> strlen(a), Flag.READONLY);
    t.add("getex", -2, 1, 1, 1, (s, a) -> getex(a), Flag.WRITE);
    t.add("incrbyfloat", 3, 1, 1, 1, (s, a) -> incrByFloat(a), Flag.WRITE);
  }

  /** The longest string a command may build: Redis's proto-max-bulk-len, capped by the engine. */
  static long stringBytesMax(Dispatcher d) {
    return Math.min(d.settings.limits().bulkLengthMax(), d.settings.valueBytesMax());
  }

  private RedisMessage get(byte[][] a) {
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      d.stats.keyspaceMisses++;
      return Replies.NIL;
    }
    d.stats.keyspaceHits++;
    return bulk(v.value());
  }

  /**
   * SET key value [NX|XX] [GET] [EX s|PX ms|EXAT s|PXAT ms|KEEPTTL]. Options parse as in Redis's
   * parseExtendedStringArgumentsOrReply (a repeated EX is allowed, the last one counts); the
   * time is checked only after every option parsed.
   */
  private RedisMessage set(byte[][] a) {
    ExpiryOptions o = ExpiryOptions.parse(a, 3, true);
    long expiresAt = o.unit == null ? 0 : expireAt(o.unit, parseLong(o.time), "set");
    if (!o.nx && !o.xx && !o.get && !o.keepTtl) {
      ks.put(a[1], a[2], expiresAt); // plain SET: no need to look the old value up
      return Replies.OK;
    }
    StoredValue old = ks.get(a[1]);
    RedisMessage reply = o.get ? (old == null ? Replies.NIL : bulk(old.value())) : Replies.OK;
    if ((o.nx && old != null) || (o.xx && old == null)) {
      return o.get ? reply : Replies.NIL;
    }
    if (o.keepTtl && old != null) {
      expiresAt = old.expiresAtMillis();
    }
    ks.put(a[1], a[2], expiresAt);
    return reply;
  }

  /** The options SET and GETEX share, parsed like Redis (conflicts are syntax errors). */
  static final class ExpiryOptions {
    boolean nx;
    boolean xx;
    boolean get;
    boolean keepTtl;
    boolean persist;
    /** EX, PX, EXAT or PXAT as given, or null. */
    byte[] unit;
    byte[] time;

    static ExpiryOptions parse(byte[][] a, int from, boolean forSet) {
      ExpiryOptions o = new ExpiryOptions();
      for (int i = from; i < a.length; i++) {
        byte[] opt = a[i];
        boolean hasNext = i + 1 < a.length;
        if (forSet && is(opt, "NX") && !o.xx) {
          o.nx = true;
        } else if (forSet && is(opt, "XX") && !o.nx) {
          o.xx = true;
        } else if (forSet && is(opt, "GET")) {
          o.get = true;
        } else if (forSet && is(opt, "KEEPTTL") && o.unit == null) {
          o.keepTtl = true;
        } else if (!forSet && is(opt, "PERSIST") && o.unit == null) {
          o.persist = true;
        } else if (hasNext && !o.keepTtl && !o.persist && (is(opt, "EX") || is(opt, "PX")
            || is(opt, "EXAT") || is(opt, "PXAT"))
            && (o.unit == null || Args.lower(o.unit).equals(Args.lower(opt)))) {
          o.unit = opt;
          o.time = a[++i];
        } else {
          throw ReplyException.err("syntax error");
        }
      }
      return o;
    }
  }

  /** Absolute expiry in epoch ms for EX/PX/EXAT/PXAT n, with Redis' range checks. */
  long expireAt(byte[] unit, long n, String command) {
    if (n <= 0) {
      throw ReplyException.err("invalid expire time in '" + command + "' command");
    }
    boolean seconds = is(unit, "EX") || is(unit, "EXAT");
    boolean relative = is(unit, "EX") || is(unit, "PX");
    long ms;
    try {
      ms = seconds ? Math.multiplyExact(n, 1000L) : n;
      if (relative) {
        ms = Math.addExact(ms, ks.nowMillis());
      }
    } catch (ArithmeticException e) {
      throw ReplyException.err("invalid expire time in '" + command + "' command");
    }
    return ms;
  }

  private RedisMessage setnx(byte[][] a) {
    if (ks.exists(a[1])) {
      return Replies.ZERO;
    }
    ks.put(a[1], a[2], 0);
    return Replies.ONE;
  }

  private RedisMessage setex(byte[][] a, long unitMillis, String name) {
    long n = parseLong(a[2]);
    if (n <= 0) {
      throw ReplyException.err("invalid expire time in '" + name + "' command");
    }
    long expiresAt;
    try {
      expiresAt = Math.addExact(Math.multiplyExact(n, unitMillis), ks.nowMillis());
    } catch (ArithmeticException e) {
      throw ReplyException.err("invalid expire time in '" + name + "' command");
    }
    ks.put(a[1], a[3], expiresAt);
    return Replies.OK;
  }

  private RedisMessage getset(byte[][] a) {
    StoredValue old = ks.get(a[1]);
    ks.put(a[1], a[2], 0);
    return old == null ? Replies.NIL : bulk(old.value());
  }

  private RedisMessage getdel(byte[][] a) {
    StoredValue old = ks.get(a[1]);
    if (old == null) {
      return Replies.NIL;
    }
    ks.delete(a[1]);
    return bulk(old.value());
  }

  private RedisMessage mget(byte[][] a) {
    List<RedisMessage> out = new ArrayList<>(a.length - 1);
    for (int i = 1; i < a.length; i++) {
      StoredValue v = ks.get(a[i]);
      if (v == null) {
        d.stats.keyspaceMisses++;
        out.add(Replies.NIL);
      } else {
        d.stats.keyspaceHits++;
        out.add(bulk(v.value()));
      }
    }
    return Replies.array(out);
  }

  private RedisMessage mset(byte[][] a) {
    if (a.length % 2 != 1) {
      throw new ReplyException(Dispatcher.wrongArity("mset"));
    }
    for (int i = 1; i < a.length; i += 2) {
      ks.put(a[i], a[i + 1], 0);
    }
    return Replies.OK;
  }

  private RedisMessage msetnx(byte[][] a) {
    if (a.length % 2 != 1) {
      throw new ReplyException(Dispatcher.wrongArity("msetnx"));
    }
    for (int i = 1; i < a.length; i += 2) {
      if (ks.exists(a[i])) {
        return Replies.ZERO;
      }
    }
    for (int i = 1; i < a.length; i += 2) {
      ks.put(a[i], a[i + 1], 0);
    }
    return Replies.ONE;
  }

  private RedisMessage decrBy(byte[][] a) {
    long n = parseLong(a[2]);
    if (n == Long.MIN_VALUE) {
      throw ReplyException.err("decrement would overflow");
    }
    return incrBy(a[1], -n);
  }

  /** INCR/DECR/INCRBY/DECRBY: keeps the key's TTL, as Redis does. */
  private RedisMessage incrBy(byte[] key, long delta) {
    StoredValue old = ks.get(key);
    long current = 0;
    long expiresAt = 0;
    if (old != null) {
      Long parsed = Args.parseLongOrNull(old.value());
      if (parsed == null) {
        throw new ReplyException(Args.NOT_INTEGER);
      }
      current = parsed;
      expiresAt = old.expiresAtMillis();
    }
    long next;
    try {
      next = Math.addExact(current, delta);
    } catch (ArithmeticException e) {
      throw ReplyException.err("increment or decrement would overflow");
    }
    ks.put(key, Args.bytes(next), expiresAt);
    return integer(next);
  }

  private RedisMessage append(byte[][] a) {
    StoredValue old = ks.get(a[1]);
    if (old == null) {
      ks.put(a[1], a[2], 0);
      return integer(a[2].length);
    }
    long length = (long) old.value().length + a[2].length;
    if (length > stringBytesMax(d)) {
      throw ReplyException.err("string exceeds maximum allowed size (proto-max-bulk-len)");
    }
    byte[] joined = new byte[(int) length];
    System.arraycopy(old.value(), 0, joined, 0, old.value().length);
    System.arraycopy(a[2], 0, joined, old.value().length, a[2].length);
    ks.put(a[1], joined, old.expiresAtMillis());
    return integer(length);
  }

  /** GETEX key [EX s|PX ms|EXAT s|PXAT ms|PERSIST]: GET that also sets or clears the TTL. */
  private RedisMessage getex(byte[][] a) {
    ExpiryOptions o = ExpiryOptions.parse(a, 2, false);
    StoredValue v = ks.get(a[1]);
    if (v == null) {
      d.stats.keyspaceMisses++;
      return Replies.NIL; // before the time is checked, as in Redis
    }
    d.stats.keyspaceHits++;
    if (o.unit != null) {
      long at = expireAt(o.unit, parseLong(o.time), "getex");
      if (at <= ks.nowMillis()) {
        ks.delete(a[1]); // an EXAT/PXAT not in the future deletes the key, as in Redis
      } else {
        ks.put(a[1], v.value(), at);
      }
    } else if (o.persist && v.expiresAtMillis() != 0) {
      ks.put(a[1], v.value(), 0);
    }
    return bulk(v.value());
  }

  /**
   * INCRBYFLOAT key increment, computed in x86-64 long double exactly as Redis does (see {@link
   * LongDouble}); keeps the TTL; the stored value is the printed result.
   */
  private RedisMessage incrByFloat(byte[][] a) {
    StoredValue old = ks.get(a[1]);
    LongDouble.Value current = old == null ? LongDouble.Value.ZERO : LongDouble.parse(old.value());
    LongDouble.Value increment = LongDouble.parse(a[2]);
    if (current == null || increment == null) {
      throw ReplyException.err("value is not a valid float");
    }
    LongDouble.Value sum = LongDouble.add(current, increment);
    if (!sum.isFinite()) {
      throw ReplyException.err("increment would produce NaN or Infinity");
    }
    byte[] printed = LongDouble.format(sum).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    ks.put(a[1], printed, old == null ? 0 : old.expiresAtMillis());
    return bulk(printed);
  }

  private RedisMessage strlen(byte[][] a) {
    StoredValue v = ks.get(a[1]);
    return integer(v == null ? 0 : v.value().length);
  }
}
