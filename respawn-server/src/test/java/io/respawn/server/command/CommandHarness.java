package io.respawn.server.command;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.Resp3;
import io.respawn.server.resp.ClientRegistry;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import io.respawn.server.resp.RespLimits;
import io.respawn.storage.Durability;
import io.respawn.storage.KvStore;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Drives the {@link Dispatcher} the way the command thread does, on the test thread, with a
 * settable clock. Replies are rendered redis-cli style for readable assertions: {@code OK},
 * {@code (nil)}, {@code (integer) 3}, {@code (error) ERR ...}, {@code "bulk"}, {@code [a, b]}.
 */
final class CommandHarness {
  final KvStore store;
  final ClientRegistry registry = new ClientRegistry(100);
  final Dispatcher dispatcher;
  long nowMillis = 1_700_000_000_000L;
  final Session session;

  /** The harness's memory limit; MapKvStore reports what a test sets. */
  static final long MEMORY_BYTES_MAX = 1 << 20;

  CommandHarness(KvStore store) {
    this(store, null, Durability.ORDERED);
  }

  CommandHarness(KvStore store, String requirePass, Durability durability) {
    this.store = store;
    RespLimits limits = RespLimits.DEFAULTS;
    CommandSettings settings = new CommandSettings(requirePass, durability, limits, "127.0.0.1",
        7379, "./data", "test store", 64 * 1024, 64 * 1024 * 1024, MEMORY_BYTES_MAX);
    this.dispatcher = new Dispatcher(store, () -> nowMillis, settings, registry);
    this.session = newSession();
  }

  Session newSession() {
    return dispatcher.sessionOf(new ClientConnection(null, registry, RespLimits.DEFAULTS));
  }

  /** Executes one command in its own pass and returns its reply, which must be ready. */
  String call(String... args) {
    return call(session, args);
  }

  String call(Session s, String... args) {
    Reply reply = send(s, args);
    dispatcher.endPass();
    if (reply.gate() != null) {
      try {
        reply.gate().handle((v, e) -> null).get(5, java.util.concurrent.TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new AssertionError("no reply within 5 s for " + String.join(" ", args), e);
      }
    }
    return render(reply);
  }

  /** Executes {@code command key value} with a value given as raw bytes, in its own pass. */
  String callBytes(String command, String key, byte[] value) {
    Reply reply = dispatcher.execute(session, Request.of(new byte[][] {
        command.getBytes(StandardCharsets.UTF_8), key.getBytes(StandardCharsets.UTF_8), value}));
    dispatcher.endPass();
    return render(reply);
  }

  /** Executes without ending the pass (several commands sharing a batch). */
  Reply send(Session s, String... args) {
    return dispatcher.execute(s, request(args));
  }

  static Request request(String... args) {
    byte[][] bytes = new byte[args.length][];
    for (int i = 0; i < args.length; i++) {
      bytes[i] = args[i].getBytes(StandardCharsets.UTF_8);
    }
    return Request.of(bytes);
  }

  /**
   * Sends a request as the command loop does: one the dispatcher holds, or one behind a held
   * request of the same client, joins the client's queue (null is returned).
   */
  Reply submit(Session s, String... args) {
    Request r = request(args);
    if (s.postponed != null) {
      dispatcher.hold(s, r);
      return null;
    }
    Reply reply = dispatcher.execute(s, r);
    if (reply == null) {
      dispatcher.hold(s, r);
    }
    return reply;
  }

  /**
   * What the command loop does when woken or at a tick: runs what may run of the held requests,
   * ends the pass, and renders their replies (each waited for at most 5 s).
   */
  List<String> resumeHeld() {
    List<Reply> replies = new ArrayList<>();
    dispatcher.resumeHeld((x, r) -> replies.add(r));
    dispatcher.endPass();
    List<String> out = new ArrayList<>();
    for (Reply r : replies) {
      if (r.gate() != null) {
        try {
          r.gate().handle((v, e) -> null).get(5, java.util.concurrent.TimeUnit.SECONDS);
        } catch (Exception e) {
          throw new AssertionError("no reply within 5 s for a held request", e);
        }
      }
      out.add(render(r));
    }
    return out;
  }

  static String render(Reply reply) {
    CompletableFuture<?> gate = reply.gate();
    if (gate == null) {
      return render(reply.message());
    }
    try {
      Object result = gate.join();
      return render(reply.message() != null ? reply.message() : (RedisMessage) result);
    } catch (CompletionException e) {
      // as ClientConnection answers a failed gate: a ReplyException verbatim, else -ERR
      return e.getCause() instanceof ReplyException r ? "(error) " + r.getMessage()
          : "(error) ERR " + e.getCause().getMessage();
    }
  }

  /**
   * Renders a reply; a RESP3 connection's ({@link Resp3.Frame}) shows RESP3's types: {@code
   * {k: v}} for a map, {@code ~[a]} for a set, {@code >[a]} for a push, {@code (double) 1.5},
   * {@code (true)}, {@code (verbatim txt) "text"}, {@code (big) 123} and {@code (null)}.
   */
  static String render(RedisMessage m) {
    if (m instanceof Resp3.Frame frame) {
      return render3(frame.reply());
    }
    return render2(m);
  }

  private static String render3(RedisMessage m) {
    if (m instanceof FullBulkStringRedisMessage b && b.isNull()
        || m instanceof ArrayRedisMessage a && a.isNull()) {
      return "(null)";
    } else if (m instanceof ArrayRedisMessage a) {
      return joined(a.children(), "[", "]");
    } else if (m instanceof Resp3.MapReply map) {
      StringJoiner j = new StringJoiner(", ", "{", "}");
      List<RedisMessage> kv = map.keysAndValues();
      for (int i = 0; i < kv.size(); i += 2) {
        j.add(render3(kv.get(i)) + ": " + render3(kv.get(i + 1)));
      }
      return j.toString();
    } else if (m instanceof Resp3.SetReply set) {
      return joined(set.items(), "~[", "]");
    } else if (m instanceof Resp3.PushReply push) {
      return joined(push.items(), ">[", "]");
    } else if (m instanceof Resp3.DoubleReply d) {
      return "(double) " + Resp3.formatDouble(d.value());
    } else if (m instanceof Resp3.BooleanReply b) {
      return b.value() ? "(true)" : "(false)";
    } else if (m instanceof Resp3.VerbatimReply v) {
      return "(verbatim " + v.format() + ") \"" + new String(v.text(), StandardCharsets.UTF_8)
          + "\"";
    } else if (m instanceof Resp3.BigNumberReply n) {
      return "(big) " + n.digits();
    }
    return render2(m);
  }

  private static String joined(List<RedisMessage> items, String open, String close) {
    StringJoiner j = new StringJoiner(", ", open, close);
    for (RedisMessage child : items) {
      j.add(render3(child));
    }
    return j.toString();
  }

  private static String render2(RedisMessage m) {
    if (m instanceof SimpleStringRedisMessage s) {
      return s.content();
    } else if (m instanceof ErrorRedisMessage e) {
      return "(error) " + e.content();
    } else if (m instanceof IntegerRedisMessage i) {
      return "(integer) " + i.value();
    } else if (m instanceof FullBulkStringRedisMessage b) {
      if (b.isNull()) {
        return "(nil)";
      }
      ByteBuf c = b.content();
      return "\"" + c.toString(c.readerIndex(), c.readableBytes(), StandardCharsets.UTF_8) + "\"";
    } else if (m instanceof ArrayRedisMessage a) {
      if (a.isNull()) {
        return "(nil)";
      }
      StringJoiner j = new StringJoiner(", ", "[", "]");
      for (RedisMessage child : a.children()) {
        j.add(render2(child));
      }
      return j.toString();
    }
    throw new AssertionError("unexpected message " + m);
  }

  /** Runs several commands in one pass (they share one engine batch), then renders them. */
  List<String> pass(String[]... commands) {
    List<Reply> replies = new ArrayList<>();
    for (String[] c : commands) {
      replies.add(send(session, c));
    }
    dispatcher.endPass();
    List<String> out = new ArrayList<>();
    replies.forEach(r -> out.add(render(r)));
    return out;
  }
}
