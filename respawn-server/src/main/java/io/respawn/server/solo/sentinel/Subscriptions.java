package io.respawn.server.solo.sentinel;

import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.Glob;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Resp3;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The Sentinel endpoint's pub/sub: which clients listen to which channels and patterns, the
 * (un)subscribe confirmations, and delivery of a published {@link SentinelEvent} to every
 * listener. The wire shapes are Redis':
 *
 * <pre>
 *   confirmation   [subscribe|unsubscribe|psubscribe|punsubscribe, channel-or-pattern, count]
 *   message        [message, channel, payload]
 *   pmessage       [pmessage, pattern, channel, payload]
 * </pre>
 *
 * as arrays in RESP2 and push frames in RESP3; count is the client's channels plus patterns
 * after the change; an unsubscribe from nothing answers a nil name and 0.
 *
 * <p>Bounds: a client holds at most {@link #SUBSCRIPTIONS_MAX} subscriptions of at most {@link
 * #SUBSCRIPTION_BYTES_MAX} bytes of names in all. A client that subscribes and stops reading
 * gets its messages queued against its output limits ({@code ClientBufferLimits}); past the hard
 * limit its connection is closed and it is forgotten here, so it costs no more than that.
 *
 * <p>Owned by the endpoint's one event loop: every method runs there.
 */
final class Subscriptions {
  /** Most channels plus patterns one client may listen to. */
  static final int SUBSCRIPTIONS_MAX = 1024;
  /** Most bytes of channel and pattern names one client may hold. */
  static final long SUBSCRIPTION_BYTES_MAX = 1 << 20;

  private final Map<String, LinkedHashSet<SentinelSession>> byChannel = new HashMap<>();
  private final Map<String, LinkedHashSet<SentinelSession>> byPattern = new HashMap<>();
  private long messagesDelivered;

  /** Channels with at least one listener (INFO's pubsub_channels). */
  int channelCount() {
    return byChannel.size();
  }

  /** Patterns with at least one listener (INFO's pubsub_patterns). */
  int patternCount() {
    return byPattern.size();
  }

  long messagesDelivered() {
    return messagesDelivered;
  }

  /** SUBSCRIBE / PSUBSCRIBE: one confirmation per name, in order. */
  List<RedisMessage> subscribe(SentinelSession s, List<String> names, boolean pattern) {
    long addedBytes = 0;
    int added = 0;
    for (String n : names) {
      Set<String> mine = pattern ? s.patterns : s.channels;
      if (!mine.contains(n)) {
        added++;
        addedBytes += n.length();
      }
    }
    if (s.subscriptionCount() + added > SUBSCRIPTIONS_MAX
        || s.subscriptionBytes + addedBytes > SUBSCRIPTION_BYTES_MAX) {
      throw new SentinelCommands.Refusal("ERR too many subscriptions for one client ("
          + SUBSCRIPTIONS_MAX + " channels and patterns, " + SUBSCRIPTION_BYTES_MAX
          + " bytes of names at most)");
    }
    List<RedisMessage> out = new ArrayList<>(names.size());
    for (String n : names) {
      Set<String> mine = pattern ? s.patterns : s.channels;
      if (mine.add(n)) {
        s.subscriptionBytes += n.length();
        (pattern ? byPattern : byChannel).computeIfAbsent(n, k -> new LinkedHashSet<>()).add(s);
      }
      out.add(confirmation(s, pattern ? "psubscribe" : "subscribe", n));
    }
    return out;
  }

  /** UNSUBSCRIBE / PUNSUBSCRIBE: the names given, or all of the client's when none. */
  List<RedisMessage> unsubscribe(SentinelSession s, List<String> names, boolean pattern) {
    Set<String> mine = pattern ? s.patterns : s.channels;
    String kind = pattern ? "punsubscribe" : "unsubscribe";
    List<String> targets = names.isEmpty() ? new ArrayList<>(mine) : names;
    List<RedisMessage> out = new ArrayList<>(Math.max(1, targets.size()));
    if (targets.isEmpty()) {
      out.add(confirmation(s, kind, null));
      return out;
    }
    for (String n : targets) {
      if (mine.remove(n)) {
        s.subscriptionBytes -= n.length();
        forget(pattern ? byPattern : byChannel, n, s);
      }
      out.add(confirmation(s, kind, n));
    }
    return out;
  }

  /** The client is gone (or RESET): drops all its subscriptions, without confirmations. */
  void dropAll(SentinelSession s) {
    for (String c : s.channels) {
      forget(byChannel, c, s);
    }
    for (String p : s.patterns) {
      forget(byPattern, p, s);
    }
    s.channels.clear();
    s.patterns.clear();
    s.subscriptionBytes = 0;
  }

  /** Queues {@code event} for every client listening to its channel or a matching pattern. */
  void publish(SentinelEvent event) {
    LinkedHashSet<SentinelSession> direct = byChannel.get(event.channel());
    if (direct != null) {
      for (SentinelSession s : List.copyOf(direct)) {
        deliver(s, List.of(bulk("message"), bulk(event.channel()), bulk(event.message())));
      }
    }
    if (byPattern.isEmpty()) {
      return;
    }
    byte[] channel = event.channel().getBytes(StandardCharsets.UTF_8);
    for (Map.Entry<String, LinkedHashSet<SentinelSession>> e : List.copyOf(byPattern.entrySet())) {
      if (!Glob.matches(e.getKey().getBytes(StandardCharsets.UTF_8), channel)) {
        continue;
      }
      for (SentinelSession s : List.copyOf(e.getValue())) {
        deliver(s, List.of(bulk("pmessage"), bulk(e.getKey()), bulk(event.channel()),
            bulk(event.message())));
      }
    }
  }

  private void deliver(SentinelSession s, List<RedisMessage> items) {
    messagesDelivered++;
    // Answers no request: sent after the replies before it, limited like any reply.
    s.connection.onReplies(List.of(Reply.unsolicited(push(s, items))));
  }

  private static RedisMessage confirmation(SentinelSession s, String kind, String name) {
    return push(s, List.of(bulk(kind),
        name == null ? FullBulkStringRedisMessage.NULL_INSTANCE : bulk(name),
        new IntegerRedisMessage(s.subscriptionCount())));
  }

  /** A pub/sub frame in the client's protocol: a RESP3 push, or a RESP2 array. */
  private static RedisMessage push(SentinelSession s, List<RedisMessage> items) {
    return s.resp == 3 ? new Resp3.Frame(new Resp3.PushReply(items))
        : new ArrayRedisMessage(items);
  }

  private static void forget(Map<String, LinkedHashSet<SentinelSession>> index, String name,
      SentinelSession s) {
    LinkedHashSet<SentinelSession> set = index.get(name);
    if (set != null && set.remove(s) && set.isEmpty()) {
      index.remove(name);
    }
  }

  static FullBulkStringRedisMessage bulk(String s) {
    return new FullBulkStringRedisMessage(
        io.netty.buffer.Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.UTF_8)));
  }
}
