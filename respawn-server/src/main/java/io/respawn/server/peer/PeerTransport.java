package io.respawn.server.peer;

import io.respawn.node.recovery.ValuePull;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.codec.CodecException;
import io.respawn.core.codec.MessageCodec;
import io.respawn.server.peer.Handshake.Frame;
import io.respawn.server.peer.Handshake.HandshakeException;
import io.respawn.server.peer.Handshake.Kind;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Replication messages between the members of one shard over TCP, with the core's framed codec
 * (every frame checked by its CRC32C). Each member dials every other member once ({@link
 * PeerLink}) and sends only on the links it dialled; it receives only on connections it
 * accepted. Every connection opens with a {@link Handshake} that names the cluster and both
 * members (and proves the cluster secret when one is set), so a process of another shard, or one
 * that is not the member it claims to be, is refused and logged before any message is read.
 *
 * <p>Contract (what the runtime may rely on, and no more): a message handed to {@link #send} may
 * be dropped (queue full, peer away, connection lost with it in flight), delayed without bound,
 * or delivered more than once across a reconnect; messages on one link arrive in the order sent
 * while the link stays up. Delivered messages are whole and checksum-verified, addressed to this
 * member, and come from the member the connection authenticated as. Received messages are handed
 * to the inbox on the transport's event-loop thread; the inbox must not block.
 *
 * <p>Threads: one Netty event loop runs every connection, and the member's node loop runs its
 * passes on it ({@link #eventLoop()}): its own ({@code respawn-node-loop}, {@link #start()}) or
 * one lent by the member, which serves its clients there too ({@link
 * #start(io.netty.channel.EventLoop)}); {@link #send} may be called from any thread.
 */
public final class PeerTransport implements io.respawn.node.Transport, AutoCloseable {
  /**
   * The words of a handshake refusal that says the dialling node is not a member of this node's
   * configuration ({@link PeerLinkStatus#refusedAsNonMemberSinceNanos}).
   */
  static final String NOT_A_MEMBER = "is not a member of this shard";

  private static final Logger log = LoggerFactory.getLogger(PeerTransport.class);

  private final PeerConfig config;
  private final Consumer<Message> inbox;
  private volatile Consumer<ValuePull.PullMessage> pullInbox = m -> { };
  private volatile java.util.function.BiConsumer<NodeId, Boolean> reachability = (p, up) -> { };
  private final PeerStats stats = new PeerStats();
  private final SecureRandom random = new SecureRandom();
  /** Outbound links by peer; changed by {@link #updatePeers} while others send. */
  private final Map<NodeId, PeerLink> links = new ConcurrentSkipListMap<>();
  /**
   * The last refusal logged per node id that asked (at most {@link #REFUSALS_REMEMBERED_MAX}:
   * ids come from whoever dials), so that one that keeps knocking is logged once.
   */
  private final Map<Integer, String> lastRefusalLogged =
      new java.util.concurrent.ConcurrentHashMap<>();
  private static final int REFUSALS_REMEMBERED_MAX = 64;
  /** The members this one talks to and accepts, with their peer addresses. */
  private volatile Map<NodeId, InetSocketAddress> peers;
  private Class<? extends Channel> clientClass;
  private EventLoopGroup group;
  /** Whether {@link #group} is this transport's own (shut down by {@link #close}) or lent. */
  private boolean ownsGroup;
  private Channel listener;
  /**
   * The newest authenticated accepted connection of each peer. A peer dials one connection at a
   * time and dials again only once its side of the last one is gone, so an older connection of
   * the same peer is dead (its close may never reach us: a partition swallows it, and nothing is
   * ever sent back on an accepted connection for TCP to notice) and is closed when a newer one
   * authenticates, instead of lingering until this process ends.
   */
  private final Map<NodeId, Channel> acceptedByPeer = new java.util.concurrent.ConcurrentHashMap<>();
  /** Accepted connections, closed explicitly on close (not left to the loop's shutdown). */
  private final io.netty.channel.group.ChannelGroup accepted =
      new io.netty.channel.group.DefaultChannelGroup(
          io.netty.util.concurrent.GlobalEventExecutor.INSTANCE);

  public PeerTransport(PeerConfig config, Consumer<Message> inbox) {
    this.config = config;
    this.inbox = inbox;
    this.peers = config.peers();
  }

  /**
   * Where value-pull frames ({@link ValuePull}) go; until set they are dropped. Called on the
   * transport's event loop, like the message inbox.
   */
  public void pullInbox(Consumer<ValuePull.PullMessage> inbox) {
    this.pullInbox = inbox;
  }

  /**
   * Where reachability changes go: {@code (peer, false)} when a lost link to the peer (or the
   * first dial) fails to connect, i.e. nothing listens at its address any more, and {@code (peer,
   * true)} when the link is up again after that. Called on the link's event loop.
   */
  public void reachability(java.util.function.BiConsumer<NodeId, Boolean> listener) {
    this.reachability = listener;
  }

  /** Queues a value-pull frame for {@code m.to()}; false if dropped. Never blocks. */
  public boolean sendPull(ValuePull.PullMessage m) {
    PeerLink link = links.get(m.to());
    if (link == null) {
      return false;
    }
    if (m instanceof ValuePull.BatchPullReply) { // large, and many a second: a direct frame
      return link.offer(PullFrames.encodeDirect(m, ByteBufAllocator.DEFAULT));
    }
    return link.offer(ValuePull.encode(m));
  }

  /** Binds the peer port and starts dialling every peer, on an event loop of its own. */
  public PeerTransport start() throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    return start(new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("respawn-node-loop"),
        epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory()), true);
  }

  /**
   * As {@link #start()}, every peer connection on {@code shared}, an event loop that also runs
   * other work (a shard member's client connections and commands), which its owner shuts down
   * after {@link #close}. It must be epoll where the platform has it, NIO otherwise, like the
   * channels this transport opens.
   */
  public PeerTransport start(io.netty.channel.EventLoop shared) throws InterruptedException {
    return start(shared, false);
  }

  private PeerTransport start(EventLoopGroup loops, boolean own) throws InterruptedException {
    boolean epoll = Epoll.isAvailable();
    group = loops;
    ownsGroup = own;
    Class<? extends ServerChannel> serverClass =
        epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    clientClass = epoll ? EpollSocketChannel.class : NioSocketChannel.class;
    try {
      listener = new ServerBootstrap().group(group).channel(serverClass)
          .option(ChannelOption.SO_REUSEADDR, true)
          .childOption(ChannelOption.TCP_NODELAY, true)
          .childHandler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              accepted.add(ch);
              ch.pipeline().addLast(new PeerFrameDecoder(config.frameBytesMax(), true),
                  new AcceptorHandler());
            }
          })
          .bind(config.listen()).sync().channel();
    } catch (Exception e) {
      if (ownsGroup) {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
      }
      throw e;
    }
    for (Map.Entry<NodeId, InetSocketAddress> e : peers.entrySet()) {
      startLink(e.getKey(), e.getValue());
    }
    log.info("peer transport of {} in cluster '{}' listening on {}; peers {}", config.self(),
        config.clusterId(), localAddress(), peers);
    return this;
  }

  private void startLink(NodeId peer, InetSocketAddress address) {
    PeerLink link = new PeerLink(config, peer, address, group.next(), clientClass, random, stats,
        (p, up) -> reachability.accept(p, up));
    links.put(peer, link);
    link.start();
  }

  /**
   * The shard's membership changed: from now on this member dials and accepts exactly {@code
   * next} (every other member's peer address, by id). A new member gets a link; a member gone
   * from the map loses its link (messages queued for it are dropped) and is refused when it
   * dials; a member whose address changed is redialled there. Called on one thread at a time
   * (the node loop), after {@link #start}.
   */
  public synchronized void updatePeers(Map<NodeId, InetSocketAddress> next) {
    if (next.containsKey(config.self())) {
      throw new IllegalArgumentException("peers must not contain self " + config.self());
    }
    Map<NodeId, InetSocketAddress> copy = Map.copyOf(next);
    Map<NodeId, InetSocketAddress> before = peers;
    if (copy.equals(before)) {
      return;
    }
    peers = copy;
    for (NodeId id : List.copyOf(links.keySet())) {
      InetSocketAddress now = copy.get(id);
      if (now == null || !now.equals(before.get(id))) {
        PeerLink gone = links.remove(id);
        gone.close();
        log.info("stopped dialling {} ({})", id, now == null ? "no longer a member"
            : "its address changed to " + now);
      }
    }
    for (Map.Entry<NodeId, InetSocketAddress> e : copy.entrySet()) {
      if (!links.containsKey(e.getKey())) {
        startLink(e.getKey(), e.getValue());
        log.info("dialling member {} at {}", e.getKey(), e.getValue());
      }
    }
  }

  /**
   * The one event loop every peer connection runs on (after {@link #start}): the node loop runs
   * its passes there, so what it sends and receives crosses no thread.
   */
  public io.netty.channel.EventLoop eventLoop() {
    return (io.netty.channel.EventLoop) group.next();
  }

  /** The bound peer address (its port differs from the config's when that asked for 0). */
  public InetSocketAddress localAddress() {
    return (InetSocketAddress) listener.localAddress();
  }

  @Override
  public void send(NodeId to, Message message) {
    if (!to.equals(message.to())) {
      throw new IllegalArgumentException("message to " + message.to() + " sent to " + to);
    }
    send(message);
  }

  /**
   * Encodes and queues {@code m} for {@code m.to()}; false if it was dropped (unknown member or
   * full queue). Never blocks.
   */
  public boolean send(Message m) {
    if (!m.from().equals(config.self())) {
      throw new IllegalArgumentException("message from " + m.from() + " sent by " + config.self());
    }
    PeerLink link = links.get(m.to());
    if (link == null) {
      return false;
    }
    return link.offer(MessageCodec.encode(m));
  }

  public PeerStats stats() {
    return stats;
  }

  /** Whether the link to {@code peer} has completed its handshake and is up now. */
  public boolean connected(NodeId peer) {
    PeerLink l = links.get(peer);
    return l != null && l.status().connected();
  }

  /** Every outbound link's state, by peer id. */
  public List<PeerLinkStatus> links() {
    List<PeerLinkStatus> out = new ArrayList<>();
    for (PeerLink l : links.values()) {
      out.add(l.status());
    }
    return out;
  }

  @Override
  public void close() {
    for (PeerLink l : links.values()) {
      l.close();
    }
    if (listener != null) {
      listener.close().awaitUninterruptibly();
    }
    accepted.close().awaitUninterruptibly();
    if (group != null && ownsGroup) {
      group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly();
    }
  }

  /**
   * The acceptor's side of the handshake, then delivery of checked messages. Frames arrive as
   * {@link ByteBuffer}s, and value-pull frames after the handshake as {@link ByteBuf}s ({@link
   * PeerFrameDecoder}), released once decoded (every pull message copies what it keeps).
   */
  private final class AcceptorHandler extends SimpleChannelInboundHandler<Object> {
    private final byte[] nonce = new byte[Handshake.NONCE_BYTES];
    private NodeId authenticated;

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      random.nextBytes(nonce);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(Handshake.encode(Kind.CHALLENGE,
          config.self().value(), Handshake.UNKNOWN_NODE, nonce, config.clusterId(), null,
          nonce)));
      ctx.executor().schedule(() -> {
        if (authenticated == null && ctx.channel().isActive()) {
          stats.handshakesRefused.incrementAndGet();
          log.warn("peer connection from {} sent no handshake within {} ms; closing",
              ctx.channel().remoteAddress(), config.handshakeTimeoutMillis());
          ctx.close();
        }
      }, config.handshakeTimeoutMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, Object msg) {
      if (msg instanceof ByteBuf pull) { // released by this handler's base class on return
        deliverPull(ctx, pull.nioBufferCount() == 1 ? pull.nioBuffer()
            : ByteBuffer.wrap(ByteBufUtil.getBytes(pull)));
        return;
      }
      ByteBuffer frame = (ByteBuffer) msg;
      if (authenticated == null) {
        handshake(ctx, frame);
        return;
      }
      if (ValuePull.isPullType(Byte.toUnsignedInt(frame.get(frame.position() + 1)))) {
        deliverPull(ctx, frame);
        return;
      }
      Message m;
      try {
        m = MessageCodec.decode(frame, config.frameBytesMax());
      } catch (CodecException e) {
        stats.framesCorrupt.incrementAndGet();
        log.warn("corrupt frame from {} at {}: {}; closing the connection", authenticated,
            ctx.channel().remoteAddress(), e.getMessage());
        ctx.close();
        return;
      }
      if (!m.from().equals(authenticated) || !m.to().equals(config.self())) {
        stats.messagesMisaddressed.incrementAndGet();
        log.warn("connection authenticated as {} carried a message from {} to {}; closing",
            authenticated, m.from(), m.to());
        ctx.close();
        return;
      }
      stats.messagesReceived.incrementAndGet();
      inbox.accept(m);
    }

    private void deliverPull(ChannelHandlerContext ctx, ByteBuffer frame) {
      ValuePull.PullMessage m;
      try {
        m = ValuePull.decode(frame);
      } catch (IllegalArgumentException e) {
        stats.framesCorrupt.incrementAndGet();
        log.warn("corrupt pull frame from {}: {}; closing the connection", authenticated,
            e.getMessage());
        ctx.close();
        return;
      }
      if (!m.from().equals(authenticated) || !m.to().equals(config.self())) {
        stats.messagesMisaddressed.incrementAndGet();
        log.warn("connection authenticated as {} carried a pull from {} to {}; closing",
            authenticated, m.from(), m.to());
        ctx.close();
        return;
      }
      stats.messagesReceived.incrementAndGet();
      pullInbox.accept(m);
    }

    private void handshake(ChannelHandlerContext ctx, ByteBuffer bytes) {
      Object remote = ctx.channel().remoteAddress();
      Frame f;
      try {
        f = Handshake.decode(bytes);
      } catch (HandshakeException e) {
        refuse(ctx, -1, "malformed handshake from " + remote + ": " + e.getMessage());
        return;
      }
      if (f.kind() == Kind.REFUSE) {
        stats.handshakesRefused.incrementAndGet();
        log.warn("node {} at {} refused to connect to us: {}", f.from(), remote, f.text());
        ctx.close();
      } else if (f.kind() != Kind.HELLO) {
        refuse(ctx, f.from(), "expected HELLO from " + remote + ", got " + f.kind());
      } else if (!f.text().equals(config.clusterId())) {
        refuse(ctx, f.from(), "node " + f.from() + " at " + remote + " belongs to cluster '"
            + f.text() + "', not '" + config.clusterId() + "'");
      } else if (f.to() != config.self().value()) {
        refuse(ctx, f.from(), "node " + f.from() + " at " + remote + " dialled node " + f.to()
            + ", but this is " + config.self());
      } else if (f.from() < 0 || !peers.containsKey(NodeId.of(f.from()))) {
        refuse(ctx, f.from(), "node " + f.from() + " at " + remote + " " + NOT_A_MEMBER);
      } else if (!Handshake.macMatches(f, config.secret(), nonce)) {
        refuse(ctx, f.from(), "node " + f.from() + " at " + remote
            + " does not know the cluster secret");
      } else {
        authenticated = NodeId.of(f.from());
        Channel previous = acceptedByPeer.put(authenticated, ctx.channel());
        if (previous != null && previous != ctx.channel() && previous.isActive()) {
          log.info("peer {} connected again from {}: closing its previous connection from {}",
              authenticated, remote, previous.remoteAddress());
          previous.close();
        }
        NodeId peer = authenticated;
        ctx.channel().closeFuture().addListener(c -> acceptedByPeer.remove(peer, ctx.channel()));
        ctx.pipeline().get(PeerFrameDecoder.class).handshakeDone();
        ctx.writeAndFlush(Unpooled.wrappedBuffer(Handshake.encode(Kind.WELCOME,
            config.self().value(), f.from(), nonce, config.clusterId(), config.secret(),
            f.nonce())));
        log.info("accepted peer {} from {}", authenticated, remote);
      }
    }

    private void refuse(ChannelHandlerContext ctx, int to, String reason) {
      stats.handshakesRefused.incrementAndGet();
      if (PeerLink.sameRefusal(lastRefusalLogged.getOrDefault(to, ""), reason)) {
        // A spare (or a member not added yet) knocks until it is added: say it once per peer.
        log.debug("refused peer connection again: {}", reason);
      } else {
        log.warn("refused peer connection: {}", reason);
      }
      if (lastRefusalLogged.size() >= REFUSALS_REMEMBERED_MAX) {
        lastRefusalLogged.clear();
      }
      lastRefusalLogged.put(to, reason);
      ctx.writeAndFlush(Unpooled.wrappedBuffer(Handshake.encode(Kind.REFUSE,
              config.self().value(), to, nonce, PeerLink.truncate(reason), null, nonce)))
          .addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (!ctx.channel().isActive()) {
        return; // already closed; what is left of its input is not worth a second report
      }
      if (authenticated == null) {
        stats.handshakesRefused.incrementAndGet();
        log.warn("refused peer connection from {}: not a Respawn peer handshake ({})",
            ctx.channel().remoteAddress(), cause.getMessage());
      } else if (cause instanceof io.netty.handler.codec.DecoderException) {
        stats.framesCorrupt.incrementAndGet();
        log.warn("bad frame from {}: {}; closing", ctx.channel().remoteAddress(),
            cause.getMessage());
      } else {
        log.debug("peer connection from {} failed: {}", ctx.channel().remoteAddress(),
            cause.toString());
      }
      ctx.close();
    }
  }
}
