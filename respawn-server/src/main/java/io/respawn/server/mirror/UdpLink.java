package io.respawn.server.mirror;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.ScheduledFuture;
import io.respawn.mirror.Datagrams;
import io.respawn.mirror.Wire;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongUnaryOperator;

/**
 * One end of the mirror link on Netty UDP, and the thread that owns it: a single event loop
 * ({@code respawn-mirror}) runs the link's pure state machine ({@code Shipper} or {@code
 * Receiver}): inbound datagrams, the network taking outbound ones ({@link #handedCount}: a write
 * future completed), and the machine's own timers all end in one {@link #pump}, which calls the
 * machine's {@code poll(nowNanos)} and arms a timer for the time it returns.
 *
 * <p>Implements the {@link Datagrams} port: {@link #send} writes to the configured peer; a
 * datagram counts as handed to the network when Netty's write of it completed (the kernel took
 * it, or refused it: then it is as lost).
 */
final class UdpLink implements Datagrams, AutoCloseable {

  /** Inbound datagrams, on the link's thread. */
  interface Inbound {
    void onDatagram(InetSocketAddress from, ByteBuffer datagram, long nowNanos);
  }

  private static final int SOCKET_BUFFER_BYTES = 4 << 20;

  private final EventLoopGroup group;
  private final Channel channel;
  private final InetSocketAddress peer;
  private Inbound inbound;
  private LongUnaryOperator poll;
  private long handed;
  private boolean pumpQueued;
  private ScheduledFuture<?> timer;
  private long timerAtNanos = Long.MAX_VALUE;
  private final Runnable pumpTask = this::pumpNow;

  private UdpLink(EventLoopGroup group, Channel channel, InetSocketAddress peer) {
    this.group = group;
    this.channel = channel;
    this.peer = peer;
  }

  /** Binds the socket; nothing is read until {@link #start}. */
  static UdpLink bind(InetSocketAddress local, InetSocketAddress peer, int frameBytesMax)
      throws InterruptedException {
    boolean epoll = Epoll.isAvailable(); // epoll's timers are finer than NIO's milliseconds
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
        new DefaultThreadFactory("respawn-mirror"),
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    UdpLink[] self = new UdpLink[1];
    try {
      Channel channel = new Bootstrap().group(group)
          .channel(epoll ? EpollDatagramChannel.class : NioDatagramChannel.class)
          .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
          .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
          .option(ChannelOption.RCVBUF_ALLOCATOR,
              new FixedRecvByteBufAllocator(frameBytesMax + Wire.HEADER_BYTES + 64))
          .option(ChannelOption.AUTO_READ, false)
          .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
              self[0].received(p);
            }
          }).bind(local).sync().channel();
      self[0] = new UdpLink(group, channel, peer);
      return self[0];
    } catch (InterruptedException | RuntimeException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  /** Starts reading and pumping the machine. */
  void start(Inbound inbound, LongUnaryOperator poll) {
    loop().execute(() -> {
      this.inbound = inbound;
      this.poll = poll;
      channel.config().setAutoRead(true);
      channel.read();
      pumpNow();
    });
  }

  EventLoop loop() {
    return channel.eventLoop();
  }

  InetSocketAddress localAddress() {
    return (InetSocketAddress) channel.localAddress();
  }

  InetSocketAddress peer() {
    return peer;
  }

  /** Runs task on the link's thread and returns its result as a future. */
  <T> CompletableFuture<T> call(Callable<T> task) {
    CompletableFuture<T> result = new CompletableFuture<>();
    try {
      loop().execute(() -> {
        try {
          result.complete(task.call());
        } catch (Exception | Error e) {
          result.completeExceptionally(e);
        }
      });
    } catch (RuntimeException e) {
      result.completeExceptionally(e); // the loop is shutting down
    }
    return result;
  }

  private void received(DatagramPacket p) {
    inbound.onDatagram(p.sender(), p.content().nioBuffer(), System.nanoTime());
    pump();
  }

  @Override
  public void send(ByteBuffer datagram) {
    assert loop().inEventLoop();
    channel.writeAndFlush(new DatagramPacket(Unpooled.wrappedBuffer(datagram), peer))
        .addListener(f -> {
          handed++;
          pump();
        });
  }

  @Override
  public long handedCount() {
    return handed;
  }

  /** Asks for a poll of the machine soon (once, however often asked before it runs). */
  void pump() {
    if (!pumpQueued) {
      pumpQueued = true;
      loop().execute(pumpTask);
    }
  }

  private void pumpNow() {
    pumpQueued = false;
    if (poll == null || !channel.isOpen()) {
      return;
    }
    long now = System.nanoTime();
    long wake = poll.applyAsLong(now);
    if (wake == Long.MAX_VALUE) {
      return;
    }
    if (timer != null && timerAtNanos <= wake && timerAtNanos > now) {
      return; // an earlier timer is armed: it will poll and re-arm
    }
    if (timer != null) {
      timer.cancel(false);
    }
    timerAtNanos = wake;
    timer = loop().schedule(pumpTask, Math.max(0, wake - now), TimeUnit.NANOSECONDS);
  }

  @Override
  public void close() {
    channel.close().awaitUninterruptibly();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
