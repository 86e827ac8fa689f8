package io.respawn.server.solo.sentinel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.respawn.server.resp.ClientBufferLimits;
import io.respawn.server.resp.ClientRegistry;
import io.respawn.server.resp.RespLimits;
import io.respawn.server.resp.RespPipeline;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Redis Sentinel endpoint: listens on a TCP port, answers Sentinel clients from a {@link
 * MonitoredMasters} and relays its events to subscribers (see {@link SentinelCommands} and
 * {@link Subscriptions}). Requests go through the server's RESP layer ({@link RespPipeline}: the
 * same decoder, limits, reply ordering and output accounting as the data port).
 *
 * <p>Owns one event loop thread ({@code respawn-sentinel}), which serves every connection and
 * runs every command and every delivery, so nothing here needs a lock. The monitor's events hop
 * onto it.
 */
public final class SentinelEndpoint implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SentinelEndpoint.class);

  /**
   * Requests to a sentinel are short: arguments of at most 64 KiB, 1 MiB a request, 4096
   * arguments (a SUBSCRIBE of many channels), 10,000 clients as Redis' maxclients.
   */
  public static final RespLimits LIMITS =
      new RespLimits(64 * 1024, 4096, 64 * 1024, 1 << 20, 1024, 1 << 20, 10_000);

  /**
   * Redis' {@code client-output-buffer-limit pubsub 32mb 8mb 60}: a subscriber that stops reading
   * is disconnected once 32 MiB are pending, or 8 MiB for 60 s; all clients together 256 MiB.
   */
  public static final ClientBufferLimits PUBSUB_BUFFER_LIMITS =
      new ClientBufferLimits(32L << 20, 8L << 20, 60, 256L << 20);

  private final EventLoopGroup group;
  private final Channel serverChannel;
  private final MonitoredMasters.Subscription events;
  private final ClientRegistry registry;
  private final int port;
  private boolean closed;

  private SentinelEndpoint(EventLoopGroup group, Channel serverChannel,
      MonitoredMasters.Subscription events, ClientRegistry registry, int port) {
    this.group = group;
    this.serverChannel = serverChannel;
    this.events = events;
    this.registry = registry;
    this.port = port;
  }

  /** Binds {@code host:port} (0: any free port) with the default limits. */
  public static SentinelEndpoint start(String host, int port, MonitoredMasters masters)
      throws InterruptedException {
    return start(host, port, masters, PUBSUB_BUFFER_LIMITS);
  }

  /** Binds {@code host:port} (0: any free port); {@code bufferLimits} bound each client. */
  public static SentinelEndpoint start(String host, int port, MonitoredMasters masters,
      ClientBufferLimits bufferLimits) throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
    Class<? extends ServerChannel> channelClass =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    EventLoopGroup group =
        new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("respawn-sentinel"), io);
    ClientRegistry registry = new ClientRegistry(LIMITS.clientsMax(), bufferLimits);
    Subscriptions subscriptions = new Subscriptions();
    SentinelCommands commands = new SentinelCommands(masters, registry, subscriptions);
    MonitoredMasters.Subscription events = null;
    try {
      Channel channel = new ServerBootstrap()
          .group(group)
          .channel(channelClass)
          .option(ChannelOption.SO_BACKLOG, 1024)
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(
              LIMITS.socketBufferLowBytes(), LIMITS.socketBufferHighBytes()))
          .childHandler(new RespPipeline(commands, registry, LIMITS))
          .bind(new InetSocketAddress(host, port)).sync().channel();
      int bound = ((InetSocketAddress) channel.localAddress()).getPort();
      commands.port(bound);
      // Events hop onto the loop in publication order (one executor, FIFO).
      events = masters.subscribe(event -> group.next().execute(() -> subscriptions.publish(event)));
      log.info("sentinel endpoint on {}:{} ({} masters)", host, bound, masters.masters().size());
      return new SentinelEndpoint(group, channel, events, registry, bound);
    } catch (InterruptedException | RuntimeException e) {
      if (events != null) {
        events.close();
      }
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
      throw e;
    }
  }

  /** The port bound (differs from the one asked for when that was 0). */
  public int port() {
    return port;
  }

  /** Clients connected now. */
  public int clients() {
    return registry.size();
  }

  /** Stops relaying events, closes the listener and every client connection. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    events.close();
    serverChannel.close().awaitUninterruptibly();
    group.shutdownGracefully(0, 2, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
