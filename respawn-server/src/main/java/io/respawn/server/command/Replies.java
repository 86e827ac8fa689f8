package io.respawn.server.command;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.respawn.server.resp.Errors;
import io.respawn.server.resp.Resp3;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Builders for reply messages: RESP2's, and RESP3's types where Redis answers with them (the
 * dispatcher turns those into RESP2 for RESP2 clients). Shared instances are not
 * reference-counted.
 */
final class Replies {
  private Replies() {}

  static final RedisMessage OK = new SimpleStringRedisMessage("OK");
  static final RedisMessage PONG = new SimpleStringRedisMessage("PONG");
  static final RedisMessage QUEUED = new SimpleStringRedisMessage("QUEUED");
  static final RedisMessage NIL = FullBulkStringRedisMessage.NULL_INSTANCE;
  static final RedisMessage NIL_ARRAY = ArrayRedisMessage.NULL_INSTANCE;
  static final RedisMessage EMPTY_ARRAY = ArrayRedisMessage.EMPTY_INSTANCE;
  static final RedisMessage ZERO = new IntegerRedisMessage(0);
  static final RedisMessage ONE = new IntegerRedisMessage(1);
  /**
   * A handler's answer when Redis sends nothing (CLIENT REPLY OFF/SKIP, a second MONITOR): the
   * request still counts as answered but no bytes are sent. Compared by identity.
   */
  static final RedisMessage NO_REPLY = new SimpleStringRedisMessage("(no reply)");

  static RedisMessage bulk(byte[] value) {
    if (value.length == 0) {
      return FullBulkStringRedisMessage.EMPTY_INSTANCE;
    }
    return new FullBulkStringRedisMessage(Unpooled.wrappedBuffer(value));
  }

  static RedisMessage bulk(String value) {
    return bulk(value.getBytes(StandardCharsets.UTF_8));
  }

  static RedisMessage integer(long value) {
    return value == 0 ? ZERO : value == 1 ? ONE : new IntegerRedisMessage(value);
  }

  static RedisMessage error(String fullText) {
    return new ErrorRedisMessage(Errors.oneLine(fullText));
  }

  static RedisMessage array(List<RedisMessage> items) {
    return items.isEmpty() ? EMPTY_ARRAY : new ArrayRedisMessage(items);
  }

  /** A flat array of bulk strings: k1, v1, k2, v2... (RESP2's form of a map). */
  static RedisMessage pairs(Object... keysAndValues) {
    List<RedisMessage> items = new ArrayList<>(keysAndValues.length);
    for (Object o : keysAndValues) {
      items.add(any(o));
    }
    return array(items);
  }

  /** A RESP3 map (a flat array for RESP2 clients) of names and values ({@link #any} each). */
  static RedisMessage map(Object... keysAndValues) {
    List<RedisMessage> items = new ArrayList<>(keysAndValues.length);
    for (Object o : keysAndValues) {
      items.add(any(o));
    }
    return new Resp3.MapReply(items);
  }

  static RedisMessage map(List<RedisMessage> keysAndValues) {
    return new Resp3.MapReply(keysAndValues);
  }

  /** A RESP3 set (an array for RESP2 clients). */
  static RedisMessage set(List<RedisMessage> items) {
    return new Resp3.SetReply(items);
  }

  /** Text as Redis sends INFO and CLIENT LIST: verbatim "txt" in RESP3, a bulk string in RESP2. */
  static RedisMessage verbatim(String text) {
    return new Resp3.VerbatimReply("txt", text.getBytes(StandardCharsets.UTF_8));
  }

  static RedisMessage status(String text) {
    return new SimpleStringRedisMessage(text);
  }

  /**
   * Redis' HELP reply: a header naming the command, one status line per entry, then HELP
   * itself.
   */
  static RedisMessage help(String command, String... lines) {
    List<RedisMessage> items = new ArrayList<>(lines.length + 3);
    items.add(new SimpleStringRedisMessage(
        command + " <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"));
    for (String line : lines) {
      items.add(new SimpleStringRedisMessage(line));
    }
    items.add(new SimpleStringRedisMessage("HELP"));
    items.add(new SimpleStringRedisMessage("    Print this help."));
    return array(items);
  }

  static RedisMessage any(Object o) {
    if (o instanceof RedisMessage m) {
      return m;
    } else if (o instanceof Long || o instanceof Integer) {
      return integer(((Number) o).longValue());
    } else if (o instanceof byte[] b) {
      return bulk(b);
    } else if (o instanceof List<?> list) {
      List<RedisMessage> items = new ArrayList<>(list.size());
      for (Object e : list) {
        items.add(any(e));
      }
      return array(items);
    }
    return bulk(String.valueOf(o));
  }
}
