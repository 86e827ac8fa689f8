package io.respawn.server.peer;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.respawn.core.NodeId;
import io.respawn.server.peer.Handshake.Frame;
import io.respawn.server.peer.Handshake.HandshakeException;
import io.respawn.server.peer.Handshake.Kind;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The outbound half of the link to one peer: dials it, runs the dialer's side of the {@link
 * Handshake}, and writes queued frames while the connection is up and writable. Redials with
 * exponential backoff (with jitter) after any loss. Messages for the peer wait in a queue bounded
 * by bytes and count; past either bound a new message is dropped and counted, as the transport's
 * contract allows.
 *
 * <p>Threads: {@link #offer} may be called from any thread; everything else runs on the link's
 * event loop, which alone touches the queue and the channel.
 */
final class PeerLink {
  private static final Logger log = LoggerFactory.getLogger(PeerLink.class);
  /** Netty's own outbound buffer per link: writing stops above high, resumes below low. */
  private static final int WRITE_BUFFER_LOW_BYTES = 1 << 20;
  private static final int WRITE_BUFFER_HIGH_BYTES = 4 << 20;
  /**
   * How long what this link sent may stay unacknowledged by the peer's kernel before the
   * connection is given up ({@code TCP_USER_TIMEOUT}, epoll transport only) and redialled. A
   * partition silences a connection without closing it: TCP retransmits with exponential
   * backoff (0.2 s, 0.4 s, ... up to 2 min apart), so after a cut of 30 s the link would stay
   * dark until the next retransmission, up to ~30 s after the network healed (measured on
   * loopback with dropped packets: 7 s after a 20 s cut). Given up after this bound instead, the
   * link redials every 50 ms to 2 s, so it is back within about the redial delay plus a SYN
   * retransmission of the heal. A paused peer's kernel still acknowledges, so a stall does not
   * close the link, unless the peer's receive buffer stays full this long.
   */
  static final int UNACKNOWLEDGED_CLOSE_MILLIS = 3_000;

  private final PeerConfig config;
  private final NodeId peer;
  private final InetSocketAddress address;
  private final EventLoop loop;
  private final Bootstrap bootstrap;
  private final SecureRandom random;
  private final ArrayDeque<ByteBuf> queue = new ArrayDeque<>();
  /**
   * Frames offered by other threads and not yet moved into {@link #queue} by the loop; counted
   * in the queue's bounds already.
   */
  private final ConcurrentLinkedQueue<ByteBuf> handed = new ConcurrentLinkedQueue<>();
  /** Whether a {@link #takeHanded} task is queued on the loop and has not started yet. */
  private final AtomicBoolean takeScheduled = new AtomicBoolean();
  private final Runnable takeHanded = this::takeHanded;
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicLong queuedMessages = new AtomicLong();
  private final AtomicLong sent = new AtomicLong();
  private final AtomicLong dropped = new AtomicLong();
  private final AtomicLong connects = new AtomicLong();
  private final PeerStats stats;
  private Channel ready;
  private long backoffMillis;
  private boolean closed;
  private volatile boolean connected;
  private String lastRefusal = "";
  /** Start of an unbroken run of refusals as a non-member, or Long.MIN_VALUE (link's loop). */
  private volatile long refusedAsNonMemberSinceNanos = Long.MIN_VALUE;
  /** The latest refusal as a non-member, or Long.MIN_VALUE (link's loop). */
  private volatile long refusedAsNonMemberLastNanos = Long.MIN_VALUE;

  /** Whether two refusals say the same, but for the addresses and ports in them. */
  static boolean sameRefusal(String a, String b) {
    return !a.isEmpty() && withoutAddresses(a).equals(withoutAddresses(b));
  }

  private static String withoutAddresses(String text) {
    return text.replaceAll("\\S*:\\d+", "");
  }
  /** Told when the peer becomes unreachable (false) and reachable again (true); event loop. */
  private final java.util.function.BiConsumer<NodeId, Boolean> reachability;
  /**
   * Whether "unreachable" was reported since the link was last up (a dial failed). Written on
   * the event loop, read by {@link #status} from any thread.
   */
  private volatile boolean reportedUnreachable;

  PeerLink(PeerConfig config, NodeId peer, InetSocketAddress address, EventLoop loop,
      Class<? extends Channel> channelClass, SecureRandom random, PeerStats stats,
      java.util.function.BiConsumer<NodeId, Boolean> reachability) {
    this.reachability = reachability;
    this.config = config;
    this.peer = peer;
    this.address = address;
    this.loop = loop;
    this.random = random;
    this.stats = stats;
    this.backoffMillis = config.reconnectMillisMin();
    this.bootstrap = new Bootstrap().group(loop).channel(channelClass)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
            config.handshakeTimeoutMillis()))
        .option(ChannelOption.WRITE_BUFFER_WATER_MARK,
            new WriteBufferWaterMark(WRITE_BUFFER_LOW_BYTES, WRITE_BUFFER_HIGH_BYTES))
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new PeerFrameDecoder(Handshake.FRAME_BYTES_MAX),
                new DialerHandler());
          }
        });
    if (io.netty.channel.epoll.EpollSocketChannel.class.isAssignableFrom(channelClass)) {
      bootstrap.option(io.netty.channel.epoll.EpollChannelOption.TCP_USER_TIMEOUT,
          UNACKNOWLEDGED_CLOSE_MILLIS);
    }
  }

  void start() {
    loop.execute(this::dial);
  }

  /**
   * Queues one framed message for the peer; false (and counted) if the queue is full. The
   * buffer is consumed either way.
   */
  boolean offer(ByteBuffer frame) {
    return offer(Unpooled.wrappedBuffer(frame));
  }

  /**
   * As {@link #offer(ByteBuffer)}, taking ownership of {@code frame}: released once written, or
   * here if dropped. Any thread.
   */
  boolean offer(ByteBuf frame) {
    int bytes = frame.readableBytes();
    long messages = queuedMessages.incrementAndGet();
    long total = queuedBytes.addAndGet(bytes);
    if (messages > config.queueMessagesMax() || total > config.queueBytesMax()) {
      queuedMessages.decrementAndGet();
      queuedBytes.addAndGet(-bytes);
      dropped.incrementAndGet();
      frame.release();
      return false;
    }
    handed.add(frame);
    if (!takeScheduled.getAndSet(true)) {
      loop.execute(takeHanded); // one task (and at most one wake-up) per burst of offers
    }
    return true;
  }

  /** On the loop: moves what other threads handed over into the queue and writes it. */
  private void takeHanded() {
    takeScheduled.set(false); // an offer from here on schedules another take
    ByteBuf b;
    while ((b = handed.poll()) != null) {
      if (closed) {
        release(b);
      } else {
        queue.add(b);
      }
    }
    drain();
  }

  void close() {
    loop.execute(() -> {
      closed = true;
      if (ready != null) {
        ready.close();
      }
      ByteBuf b;
      while ((b = queue.poll()) != null) {
        release(b);
      }
      while ((b = handed.poll()) != null) {
        release(b);
      }
    });
  }

  PeerLinkStatus status() {
    return new PeerLinkStatus(peer, address, connected, queuedMessages.get(), queuedBytes.get(),
        sent.get(), dropped.get(), connects.get(), lastRefusal, refusedAsNonMemberSinceNanos,
        refusedAsNonMemberLastNanos, reportedUnreachable);
  }

  private void release(ByteBuf b) {
    queuedMessages.decrementAndGet();
    queuedBytes.addAndGet(-b.readableBytes());
    b.release();
  }

  private void drain() {
    Channel ch = ready;
    if (ch == null) {
      return;
    }
    boolean wrote = false;
    while (ch.isWritable() && !queue.isEmpty()) {
      ByteBuf b = queue.poll();
      queuedMessages.decrementAndGet();
      queuedBytes.addAndGet(-b.readableBytes());
      ch.write(b, ch.voidPromise());
      sent.incrementAndGet();
      wrote = true;
    }
    if (wrote) {
      ch.flush();
    }
  }

  private void dial() {
    if (closed) {
      return;
    }
    bootstrap.connect(address).addListener((ChannelFutureListener) f -> {
      if (!f.isSuccess()) {
        if (!reportedUnreachable) {
          // Nothing listens there (refused) or nothing answers in time: its process is gone.
          reportedUnreachable = true;
          reachability.accept(peer, false);
        }
        scheduleRedial();
      } else {
        f.channel().closeFuture().addListener(c -> onClosed(f.channel()));
      }
    });
  }

  private void onClosed(Channel ch) {
    if (ready == ch) {
      ready = null;
      connected = false;
      log.info("link to {} at {} lost; redialling", peer, address);
      // Redial at once: a refusal now tells the runtime the peer's process is gone.
      backoffMillis = config.reconnectMillisMin();
      loop.execute(this::dial);
      return;
    }
    scheduleRedial();
  }

  private void scheduleRedial() {
    if (closed) {
      return;
    }
    long delay = backoffMillis / 2 + ThreadLocalRandom.current().nextLong(backoffMillis / 2 + 1);
    backoffMillis = Math.min(config.reconnectMillisMax(), backoffMillis * 2);
    loop.schedule(this::dial, Math.max(1, delay), TimeUnit.MILLISECONDS);
  }

  /** The dialer's side of the handshake, then writability changes. */
  private final class DialerHandler extends SimpleChannelInboundHandler<ByteBuffer> {
    private final byte[] nonce = new byte[Handshake.NONCE_BYTES];
    private boolean helloSent;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      random.nextBytes(nonce);
      ctx.executor().schedule(() -> {
        if (ready != ctx.channel() && ctx.channel().isActive()) {
          log.warn("handshake with {} at {} timed out after {} ms", peer, address,
              config.handshakeTimeoutMillis());
          ctx.close();
        }
      }, config.handshakeTimeoutMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, ByteBuffer msg) {
      if (ready == ctx.channel()) {
        stats.messagesMisaddressed.incrementAndGet();
        log.warn("{} sent data on our outbound link; closing it", peer);
        ctx.close();
        return;
      }
      Frame f;
      try {
        f = Handshake.decode(msg);
      } catch (HandshakeException e) {
        refuse(ctx, "malformed handshake from " + address + ": " + e.getMessage());
        return;
      }
      if (f.kind() == Kind.REFUSE) {
        boolean again = sameRefusal(lastRefusal, f.text());
        lastRefusal = f.text();
        if (!f.text().contains(PeerTransport.NOT_A_MEMBER)) {
          refusedAsNonMemberSinceNanos = Long.MIN_VALUE;
        } else {
          long now = System.nanoTime();
          if (refusedAsNonMemberSinceNanos == Long.MIN_VALUE) {
            refusedAsNonMemberSinceNanos = now;
          }
          refusedAsNonMemberLastNanos = now;
        }
        stats.handshakesRefused.incrementAndGet();
        if (again) {
          // A spare (or a member not added yet) knocks until it is added: say it once.
          log.debug("{} at {} refused our connection again: {}", peer, address, f.text());
        } else {
          log.warn("{} at {} refused our connection: {}", peer, address, f.text());
        }
        ctx.close();
        return;
      }
      if (!helloSent) {
        if (f.kind() != Kind.CHALLENGE) {
          refuse(ctx, "expected CHALLENGE from " + address + ", got " + f.kind());
        } else if (!f.text().equals(config.clusterId())) {
          refuse(ctx, "the process at " + address + " belongs to cluster '" + f.text()
              + "', not '" + config.clusterId() + "'");
        } else if (f.from() != peer.value()) {
          refuse(ctx, "the process at " + address + " is node " + f.from() + ", not " + peer
              + " as configured");
        } else {
          helloSent = true;
          ctx.writeAndFlush(Unpooled.wrappedBuffer(Handshake.encode(Kind.HELLO,
              config.self().value(), peer.value(), nonce, config.clusterId(), config.secret(),
              f.nonce())));
        }
        return;
      }
      if (f.kind() != Kind.WELCOME || f.from() != peer.value()
          || f.to() != config.self().value() || !f.text().equals(config.clusterId())) {
        refuse(ctx, "expected WELCOME from " + peer + " at " + address + ", got " + f.kind()
            + " from node " + f.from() + " to node " + f.to());
        return;
      }
      if (!Handshake.macMatches(f, config.secret(), nonce)) {
        refuse(ctx, "the process at " + address + " does not know the cluster secret");
        return;
      }
      ctx.pipeline().get(PeerFrameDecoder.class).handshakeDone();
      ready = ctx.channel();
      connected = true;
      lastRefusal = "";
      refusedAsNonMemberSinceNanos = Long.MIN_VALUE;
      backoffMillis = config.reconnectMillisMin();
      connects.incrementAndGet();
      log.info("link to {} at {} up", peer, address);
      if (reportedUnreachable) {
        reportedUnreachable = false;
        reachability.accept(peer, true);
      }
      drain();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
      if (ctx.channel().isWritable()) {
        drain();
      }
      ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      log.debug("link to {} failed: {}", peer, cause.toString());
      ctx.close();
    }

    private void refuse(ChannelHandlerContext ctx, String reason) {
      lastRefusal = reason;
      stats.handshakesRefused.incrementAndGet();
      log.warn("refusing peer: {}", reason);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(Handshake.encode(Kind.REFUSE,
              config.self().value(), peer.value(), nonce, truncate(reason), null, nonce)))
          .addListener(ChannelFutureListener.CLOSE);
    }
  }

  static String truncate(String reason) {
    byte[] b = reason.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (b.length <= Handshake.CLUSTER_ID_BYTES_MAX) {
      return reason;
    }
    return new String(b, 0, Handshake.CLUSTER_ID_BYTES_MAX - 8,
        java.nio.charset.StandardCharsets.UTF_8).replace("\uFFFD", "") + "...";
  }
}
