package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.storage.LogEngine;
import io.respawn.storage.StoredValue;
import java.util.ArrayList;
import java.util.List;

/**
 * Introspection of one key: OBJECT ENCODING / FREQ / IDLETIME / REFCOUNT / HELP and MEMORY USAGE /
 * HELP, with Redis 7.0's replies and errors. What Redis reads from its object header, Respawn
 * derives: the encoding and reference count from the value's bytes (see {@link #encoding}), the
 * idle time from the {@link AccessClock}. MEMORY USAGE is Respawn's own estimate of what the
 * key costs in its index (see {@link #memoryUsage}), not Redis's allocator size classes. Runs on
 * the command thread.
 */
final class ObjectCommands {
  /** Redis's OBJ_SHARED_INTEGERS: 0..9999 are shared objects (refcount INT_MAX). */
  static final long SHARED_INTEGERS = 10_000;
  /** Redis's OBJ_ENCODING_EMBSTR_SIZE_LIMIT. */
  static final int EMBSTR_BYTES_MAX = 44;

  private final Keyspace ks;

  ObjectCommands(Dispatcher dispatcher) {
    this.ks = dispatcher.keyspace;
  }

  void register(CommandTable t) {
    t.add("object", -2, 2, 2, 1, (s, a) -> object(a), Flag.READONLY);
    t.add("memory", -2, 2, 2, 1, (s, a) -> memory(a), Flag.READONLY);
  }

  private static void arity(byte[][] a, int n, String fullName) {
    if (n >= 0 ? a.length != n : a.length < -n) {
      throw new ReplyException(Dispatcher.wrongArity(fullName));
    }
  }

  private static RedisMessage help(String command, String... lines) {
    List<RedisMessage> out = new ArrayList<>(lines.length + 3);
    out.add(new SimpleStringRedisMessage(
        command + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for (String line : lines) {
      out.add(new SimpleStringRedisMessage(line));
    }
    out.add(new SimpleStringRedisMessage("HELP"));
    out.add(new SimpleStringRedisMessage("    Prints this help."));
    return Replies.array(out);
  }

  private static ReplyException unknownSubcommand(byte[] sub, String command) {
    String name = Args.text(sub);
    return ReplyException.err("unknown subcommand '"
        + (name.length() > 128 ? name.substring(0, 128) : name) + "'. Try " + command + " HELP.");
  }

  /** OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key, OBJECT HELP. */
  private RedisMessage object(byte[][] a) {
    String sub = Args.lower(a[1]);
    switch (sub) {
      case "help" -> {
        arity(a, 2, "object|help");
        return help("OBJECT",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.");
      }
      case "encoding", "freq", "idletime", "refcount" -> {
        arity(a, 3, "object|" + sub);
        StoredValue v = ks.peek(a[2]);
        if (v == null) {
          return Replies.NIL;
        }
        return switch (sub) {
          case "encoding" -> bulk(encoding(v.value()));
          case "refcount" -> integer(refCount(v.value()));
          case "idletime" -> integer(ks.idleSeconds(a[2]));
          default -> throw ReplyException.err("An LFU maxmemory policy is not selected, access "
              + "frequency not tracked. Please note that when switching between policies at "
              + "runtime LRU and LFU data will take some time to adjust.");
        };
      }
      default -> throw unknownSubcommand(a[1], "OBJECT");
    }
  }

  /**
   * Redis's encoding of a string as SET leaves it: {@code int} for a canonical 64-bit integer of
   * at most 20 characters, {@code embstr} up to 44 bytes, else {@code raw}. (Redis also reports
   * {@code raw} for a short value that APPEND, SETRANGE or SETBIT modified in place, and {@code
   * embstr} for an INCRBYFLOAT result; Respawn keeps no such history.)
   */
  static String encoding(byte[] value) {
    if (value.length <= 20 && Args.isLong(value)) {
      return "int";
    }
    return value.length <= EMBSTR_BYTES_MAX ? "embstr" : "raw";
  }

  /** Redis shares the integers 0..9999 (refcount INT_MAX); any other value has one owner. */
  static long refCount(byte[] value) {
    if (value.length <= 20) {
      Long n = Args.parseLongOrNull(value);
      if (n != null && n >= 0 && n < SHARED_INTEGERS) {
        return Integer.MAX_VALUE;
      }
    }
    return 1;
  }

  /** MEMORY USAGE key [SAMPLES n], MEMORY HELP. */
  private RedisMessage memory(byte[][] a) {
    String sub = Args.lower(a[1]);
    switch (sub) {
      case "help" -> {
        arity(a, 2, "memory|help");
        return help("MEMORY",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).");
      }
      case "usage" -> {
        arity(a, -3, "memory|usage");
        for (int j = 3; j < a.length; j++) {
          if (is(a[j], "SAMPLES") && j + 1 < a.length) {
            if (Args.parseLong(a[++j]) < 0) {
              throw ReplyException.err("syntax error");
            }
          } else {
            throw ReplyException.err("syntax error");
          }
        }
        StoredValue v = ks.peek(a[2]);
        return v == null ? Replies.NIL
            : integer(memoryUsage(a[2], v.value(), v.expiresAtMillis() != 0));
      }
      default -> throw unknownSubcommand(a[1], "MEMORY");
    }
  }

  /**
   * What one key costs in the engine's memory: its off-heap record (20-byte header, 28 with an
   * expiry, key and value) rounded up to its size class, plus its share of the index's slot
   * table (see {@link LogEngine#memoryBytesPerKey}). The log on disk is not counted.
   */
  static long memoryUsage(byte[] key, byte[] value, boolean expires) {
    return LogEngine.memoryBytesPerKey(key.length, value.length, expires);
  }
}
