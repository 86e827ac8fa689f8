package io.respawn.server.mirror;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LineBasedFrameDecoder;
import io.netty.handler.codec.string.StringDecoder;
import io.netty.handler.codec.string.StringEncoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.respawn.mirror.WanLink;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * {@code respawn wan}: a user-space UDP relay that emulates a long-distance link between two
 * sites (this machine has no kernel delay or loss emulation). Datagrams arriving on the
 * {@code listen} address are forwarded to {@code target} from a second socket; the target's
 * datagrams to that socket go back to whoever last sent on {@code listen}. Each direction is
 * one {@link WanLink}: one-way delay and jitter, random loss, Gilbert–Elliott bursty loss, a
 * bandwidth cap with a bounded queue, and a cut switch — all decided by seeded pure code, so a
 * run is reproducible from its seed and its traffic.
 *
 * <p>Control: a line-based TCP port. Commands: {@code cut}, {@code restore}, {@code loss P},
 * {@code burst ENTER EXIT LOSS}, {@code delay-ms D [JITTER]}, {@code bandwidth-mbit M}, {@code
 * settings}, {@code stats}; each is answered with one line ({@code OK …} or {@code ERR …}).
 * A cut takes effect for the next datagram; datagrams already inside the link still arrive.
 *
 * <p>Threads: one Netty event loop ({@code respawn-wan}) owns both links, the sockets and the
 * control port; delays are Netty scheduled tasks on it.
 */
public final class WanRelay implements AutoCloseable {
  /** Bytes held inside the relay (delayed datagrams) at most; beyond, datagrams are dropped. */
  public static final long IN_FLIGHT_BYTES_MAX = 256L << 20;
  /** Longest control line. */
  private static final int CONTROL_LINE_MAX = 256;
  /**
   * Receive and send buffer of each UDP socket (the kernel caps it at {@code net.core.rmem_max}
   * / {@code wmem_max}). A sender's burst, or the relay's thread off the CPU for a moment, must
   * not overflow the socket: the kernel would drop datagrams the sender counts as handed to the
   * network, loss that no setting asked for ({@code kernel_drops} in {@code stats} shows it).
   */
  static final int SOCKET_BUFFER_BYTES = 4 << 20;

  private final EventLoopGroup group;
  private final Channel near;
  private final Channel far;
  private final Channel control;
  private final InetSocketAddress target;
  private final WanLink forward;
  private final WanLink backward;
  private InetSocketAddress client;
  private long inFlightBytes;
  private long strangers;
  private long overflow;

  private WanRelay(EventLoopGroup group, Channel near, Channel far, Channel control,
      InetSocketAddress target, WanLink forward, WanLink backward) {
    this.group = group;
    this.near = near;
    this.far = far;
    this.control = control;
    this.target = target;
    this.forward = forward;
    this.backward = backward;
  }

  /**
   * Binds the relay: {@code listen} for the sending side, an ephemeral socket towards {@code
   * target}, and {@code controlBind} (port 0 = any) for the control port.
   */
  public static WanRelay start(InetSocketAddress listen, InetSocketAddress target,
      WanLink.Settings settings, long seed, InetSocketAddress controlBind)
      throws InterruptedException {
    boolean epoll = Epoll.isAvailable(); // epoll's timers are finer than NIO's milliseconds
    EventLoopGroup group = new MultiThreadIoEventLoopGroup(1,
        new DefaultThreadFactory("respawn-wan"),
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory());
    Class<? extends Channel> udp = epoll ? EpollDatagramChannel.class : NioDatagramChannel.class;
    WanRelay[] self = new WanRelay[1];
    try {
      Channel near = new Bootstrap().group(group).channel(udp)
          .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
          .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
          .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
              self[0].fromNear(p);
            }
          }).bind(listen).sync().channel();
      Channel far = new Bootstrap().group(group).channel(udp)
          .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER_BYTES)
          .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER_BYTES)
          .handler(new SimpleChannelInboundHandler<DatagramPacket>() {
            @Override
            protected void channelRead0(ChannelHandlerContext ctx, DatagramPacket p) {
              self[0].fromFar(p);
            }
          }).bind(new InetSocketAddress(listen.getAddress(), 0)).sync().channel();
      Channel control = new ServerBootstrap().group(group)
          .channel(epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new LineBasedFrameDecoder(CONTROL_LINE_MAX),
                  new StringDecoder(StandardCharsets.UTF_8),
                  new StringEncoder(StandardCharsets.UTF_8),
                  new SimpleChannelInboundHandler<String>() {
                    @Override
                    protected void channelRead0(ChannelHandlerContext ctx, String line) {
                      ctx.writeAndFlush(self[0].control(line) + "\n");
                    }
                  });
            }
          }).bind(controlBind).sync().channel();
      self[0] = new WanRelay(group, near, far, control, target,
          new WanLink(settings, seed), new WanLink(settings, seed + 1));
      return self[0];
    } catch (InterruptedException | RuntimeException e) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      throw e;
    }
  }

  public InetSocketAddress listenAddress() {
    return (InetSocketAddress) near.localAddress();
  }

  /** The address datagrams to the target come from (the target's configured peer). */
  public InetSocketAddress farAddress() {
    return (InetSocketAddress) far.localAddress();
  }

  public int controlPort() {
    return ((InetSocketAddress) control.localAddress()).getPort();
  }

  private void fromNear(DatagramPacket p) {
    client = p.sender();
    relay(forward, p.content(), far, target);
  }

  private void fromFar(DatagramPacket p) {
    if (!target.equals(p.sender())) {
      strangers++; // the relay is point-to-point: nothing else goes back
      return;
    }
    if (client != null) {
      relay(backward, p.content(), near, client);
    }
  }

  private void relay(WanLink link, ByteBuf content, Channel out, InetSocketAddress to) {
    int bytes = content.readableBytes();
    long now = System.nanoTime();
    WanLink.Decision d = link.offer(bytes, now);
    if (!d.passed()) {
      return;
    }
    if (inFlightBytes + bytes > IN_FLIGHT_BYTES_MAX) {
      overflow++;
      return;
    }
    inFlightBytes += bytes;
    ByteBuf copy = content.retainedDuplicate();
    Runnable send = () -> {
      inFlightBytes -= bytes;
      out.writeAndFlush(new DatagramPacket(copy, to));
    };
    long wait = d.deliverAtNanos() - now;
    if (wait <= 0) {
      send.run();
    } else {
      out.eventLoop().schedule(send, wait, TimeUnit.NANOSECONDS);
    }
  }

  /** Runs one control command (on the relay's thread) and returns its one-line answer. */
  String control(String line) {
    String[] w = line.trim().toLowerCase(Locale.ROOT).split("\\s+");
    try {
      WanLink.Settings s = forward.settings();
      switch (w[0]) {
        case "cut" -> apply(s.withCut(true));
        case "restore" -> apply(s.withCut(false));
        case "loss" -> apply(s.withLoss(Double.parseDouble(arg(w, 1))));
        case "burst" -> apply(s.withBursts(Double.parseDouble(arg(w, 1)),
            Double.parseDouble(arg(w, 2)), Double.parseDouble(arg(w, 3))));
        case "delay-ms" -> apply(s.withDelay(millis(arg(w, 1)),
            w.length > 2 ? millis(w[2]) : s.jitterNanos()));
        case "bandwidth-mbit" -> apply(s.withBandwidth(
            bytesPerSecond(Double.parseDouble(arg(w, 1))), s.queueBytesMax()));
        case "settings" -> {
          return "OK " + describe(s);
        }
        case "stats" -> {
          return "OK forward " + counts(forward) + " backward " + counts(backward)
              + " strangers=" + strangers + " overflow=" + overflow
              + " kernel_drops_listen=" + KernelUdpDrops.of(listenAddress().getPort())
              + " kernel_drops_far=" + KernelUdpDrops.of(farAddress().getPort());
        }
        default -> {
          return "ERR unknown command '" + w[0] + "' (cut, restore, loss, burst, delay-ms,"
              + " bandwidth-mbit, settings, stats)";
        }
      }
      return "OK " + describe(forward.settings());
    } catch (IllegalArgumentException e) {
      return "ERR " + e.getMessage();
    }
  }

  /** Runs a control command from another thread (tests, the bench harness in-process). */
  public String controlNow(String line) {
    try {
      return group.next().submit(() -> control(line)).get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      return "ERR " + e;
    }
  }

  private void apply(WanLink.Settings s) {
    forward.update(s);
    backward.update(s);
  }

  private static String arg(String[] w, int i) {
    if (i >= w.length) {
      throw new IllegalArgumentException("missing argument " + i + " for '" + w[0] + "'");
    }
    return w[i];
  }

  private static long millis(String s) {
    return (long) (Double.parseDouble(s) * 1_000_000);
  }

  /** Megabits per second to bytes per second (0 = unlimited). */
  public static long bytesPerSecond(double mbit) {
    if (mbit < 0) {
      throw new IllegalArgumentException("bandwidth must be >= 0 Mbit/s (0 = unlimited)");
    }
    return (long) (mbit * 1_000_000 / 8);
  }

  static String describe(WanLink.Settings s) {
    return String.format(Locale.ROOT,
        "delay_ms=%.3f jitter_ms=%.3f loss=%s burst_enter=%s burst_exit=%s burst_loss=%s"
            + " bandwidth_mbit=%.3f queue_bytes=%d cut=%s",
        s.delayNanos() / 1e6, s.jitterNanos() / 1e6, s.lossRate(), s.goodToBad(),
        s.badToGood(), s.burstLossRate(), s.bytesPerSecond() * 8 / 1e6, s.queueBytesMax(),
        s.cut());
  }

  private static String counts(WanLink link) {
    StringBuilder b = new StringBuilder();
    for (WanLink.Fate f : WanLink.Fate.values()) {
      if (b.length() > 0) {
        b.append(' ');
      }
      b.append(f.name().toLowerCase(Locale.ROOT)).append('=').append(link.count(f));
    }
    return b.toString();
  }

  @Override
  public void close() {
    near.close();
    far.close();
    control.close();
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
  }
}
