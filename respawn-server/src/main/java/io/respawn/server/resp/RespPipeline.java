package io.respawn.server.resp;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.redis.FixedRedisMessagePool;
import io.netty.handler.codec.redis.RedisArrayAggregator;
import io.netty.handler.codec.redis.RedisBulkStringAggregator;
import io.netty.handler.codec.redis.RedisDecoder;
import io.netty.handler.codec.redis.RedisEncoder;

/**
 * Builds a client connection's pipeline: bytes → {@link RedisDecoder} (streaming RESP, inline
 * commands on) → {@link RequestGuard} (shape and limits) → bulk and array aggregators →
 * {@link RequestDecoder} (→ {@link Request}) → {@link ClientConnection} (hand-off and replies);
 * replies leave through {@link RedisEncoder}. Command semantics live elsewhere.
 */
public final class RespPipeline extends ChannelInitializer<SocketChannel> {
  private final CommandSink sink;
  private final ClientRegistry registry;
  private final RespLimits limits;

  public RespPipeline(CommandSink sink, ClientRegistry registry, RespLimits limits) {
    this.sink = sink;
    this.registry = registry;
    this.limits = limits;
  }

  @Override
  protected void initChannel(SocketChannel ch) {
    install(ch.pipeline(), sink, registry, limits);
  }

  /** Installs the handlers on any pipeline (tests use an embedded channel). */
  public static void install(
      ChannelPipeline p, CommandSink sink, ClientRegistry registry, RespLimits limits) {
    p.addLast("encoder", new RedisEncoder());
    p.addLast("decoder", new RedisDecoder(limits.inlineLengthMax(), FixedRedisMessagePool.INSTANCE, true));
    p.addLast("guard", new RequestGuard(limits));
    p.addLast("bulk", new RedisBulkStringAggregator());
    p.addLast("array", new RedisArrayAggregator(limits.argCountMax(), 1));
    p.addLast("request", new RequestDecoder());
    p.addLast("client", new ClientConnection(sink, registry, limits));
  }
}
