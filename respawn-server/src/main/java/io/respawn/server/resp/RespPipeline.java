package io.respawn.server.resp;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.redis.RedisEncoder;

/**
 * Builds a client connection's pipeline: bytes → {@link RequestDecoder} (RESP arrays of bulk
 * strings and inline commands, within the limits → {@link Request}) → {@link ClientConnection}
 * (hand-off and replies); replies leave through {@link Resp3Encoder} (RESP3 connections'
 * replies) and {@link RedisEncoder}. Command semantics live elsewhere.
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
    p.addLast("resp3", new Resp3Encoder());
    p.addLast("request", new RequestDecoder(limits));
    p.addLast("client", new ClientConnection(sink, registry, limits));
  }
}
