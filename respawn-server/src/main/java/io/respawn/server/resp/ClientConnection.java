package io.respawn.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.net.SocketAddress;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, the last handler of its pipeline. Collects the requests decoded in one
 * read and hands them to the {@link CommandSink} as one batch; receives the replies back and
 * writes them <b>in request order</b>, each once its storage acknowledgement completed, with one
 * flush per batch of replies.
 *
 * <p>Threads: everything here runs on the channel's event loop except {@link #deliver} (called from
 * another thread, it hops onto the event loop) and {@link #commandState} (owned by the thread that
 * executes commands, which is this connection's event loop unless there are several I/O threads). Back-pressure: reads pause while more than {@code pipelineDepthMax} requests wait for
 * replies or while the socket's outbound buffer is above {@code outputBytesMax}.
 *
 * <p>Invariant: {@code inFlight} = requests submitted - replies written (or dropped on close).
 */
public final class ClientConnection extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);

  private final CommandSink sink;
  private final ClientRegistry registry;
  private final RespLimits limits;
  private final long id;
  private final long createdAtMillis = System.currentTimeMillis();

  private Channel channel;
  private List<Request> readBatch = new ArrayList<>();
  private final ArrayDeque<Reply> pending = new ArrayDeque<>();
  private long inFlight;
  private boolean closing;
  private CompletableFuture<?> awaitedGate;
  private volatile boolean registered;

  /** Command-side state of this client; read and written only by the command thread. */
  private Object commandState;

  public ClientConnection(CommandSink sink, ClientRegistry registry, RespLimits limits) {
    this.sink = sink;
    this.registry = registry;
    this.limits = limits;
    this.id = registry.nextId();
  }

  public long id() {
    return id;
  }

  public long createdAtMillis() {
    return createdAtMillis;
  }

  public SocketAddress remoteAddress() {
    return channel == null ? null : channel.remoteAddress();
  }

  public SocketAddress localAddress() {
    return channel == null ? null : channel.localAddress();
  }

  /** Command thread only. */
  public Object commandState() {
    return commandState;
  }

  /** Command thread only. */
  public void commandState(Object state) {
    this.commandState = state;
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    if (!registry.tryAdd(this)) {
      closing = true;
      ctx.channel().config().setAutoRead(false);
      ctx.writeAndFlush(new ErrorRedisMessage("ERR max number of clients reached"))
          .addListener(ChannelFutureListener.CLOSE);
      return;
    }
    registered = true;
    ctx.fireChannelActive();
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (registered) {
      registry.remove(this);
    }
    closing = true;
    for (Reply reply : pending) {
      release(reply);
    }
    pending.clear();
    if (sink != null) {
      sink.closed(this);
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (closing) {
      ReferenceCountUtil.release(msg);
      return;
    }
    readBatch.add((Request) msg);
    inFlight++;
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    submitReadBatch();
    updateReading();
  }

  private void submitReadBatch() {
    if (!readBatch.isEmpty()) {
      sink.submit(this, readBatch);
      readBatch = new ArrayList<>();
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    updateReading();
    ctx.fireChannelWritabilityChanged();
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (closing) {
      return;
    }
    String protocolError = protocolErrorMessage(cause);
    if (protocolError == null) {
      log.debug("client {} closed after I/O error: {}", id, cause.toString());
      closing = true;
      ctx.close();
      return;
    }
    log.debug("client {} protocol error: {}", id, protocolError);
    // The error travels behind the requests already decoded so it is answered after them.
    readBatch.add(Request.protocolError(protocolError));
    inFlight++;
    submitReadBatch();
    closing = true;
    ctx.channel().config().setAutoRead(false);
  }

  private static String protocolErrorMessage(Throwable cause) {
    Throwable t = cause;
    if (t instanceof DecoderException && t.getCause() != null) {
      t = t.getCause();
    }
    if (t instanceof IOException) {
      return null;
    }
    if (t instanceof RespProtocolException) {
      return t.getMessage();
    }
    if (t instanceof io.netty.handler.codec.CodecException || cause instanceof DecoderException) {
      String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
      return message;
    }
    return null;
  }

  /** Replies for this connection's requests, in order, from a thread other than its event loop. */
  public void deliver(List<Reply> replies) {
    Channel ch = channel;
    ch.eventLoop().execute(() -> onReplies(replies));
  }

  /**
   * The event loop that must run {@link #onReplies}; the command thread uses it to hand the
   * replies of many connections of one loop over in a single task.
   */
  public java.util.concurrent.Executor eventLoop() {
    return channel.eventLoop();
  }

  /** Takes replies from the command thread; must run on {@link #eventLoop()}. */
  public void onReplies(List<Reply> replies) {
    assert channel.eventLoop().inEventLoop() : "replies are written on the channel's event loop";
    if (!channel.isActive()) {
      replies.forEach(ClientConnection::release);
      return;
    }
    pending.addAll(replies);
    drain();
  }

  /** Writes every ready reply at the head of the queue; waits on the first one that is not. */
  private void drain() {
    boolean wrote = false;
    ByteBuf batch = null;
    while (!pending.isEmpty()) {
      Reply head = pending.peekFirst();
      if (!head.isReady()) {
        if (awaitedGate != head.gate()) {
          awaitedGate = head.gate();
          head.gate().whenComplete((v, e) -> channel.eventLoop().execute(this::drain));
        }
        break;
      }
      pending.pollFirst();
      if (head.kind() != Reply.Kind.UNSOLICITED) {
        inFlight--;
      }
      assert inFlight >= 0 : "more replies than requests";
      RedisMessage message = resolve(head);
      if (head.kind() == Reply.Kind.SILENT) {
        ReferenceCountUtil.release(message); // CLIENT REPLY OFF/SKIP: answered, not sent
      } else if (ReplyWriter.canWrite(message)) {
        if (batch == null) {
          batch = channel.alloc().ioBuffer();
        }
        try {
          ReplyWriter.write(message, batch);
        } finally {
          ReferenceCountUtil.release(message);
        }
      } else {
        batch = writeBatch(batch);
        channel.write(message, channel.voidPromise());
      }
      wrote = true;
      if (head.closeAfter()) {
        writeBatch(batch);
        pending.forEach(ClientConnection::release);
        pending.clear();
        channel.writeAndFlush(io.netty.buffer.Unpooled.EMPTY_BUFFER)
            .addListener(ChannelFutureListener.CLOSE);
        closing = true;
        return;
      }
    }
    if (wrote) {
      writeBatch(batch);
      channel.flush();
      updateReading();
    }
  }

  /** Writes the replies encoded so far, if any; returns null (the next batch starts empty). */
  private ByteBuf writeBatch(ByteBuf batch) {
    if (batch != null) {
      channel.write(batch, channel.voidPromise());
    }
    return null;
  }

  private static RedisMessage resolve(Reply reply) {
    CompletableFuture<?> gate = reply.gate();
    if (gate == null) {
      return reply.message();
    }
    try {
      Object result = gate.getNow(null);
      if (reply.message() != null) {
        return reply.message();
      }
      return (RedisMessage) result;
    } catch (CompletionException | java.util.concurrent.CancellationException e) {
      release(reply);
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      if (cause instanceof ExecutionException && cause.getCause() != null) {
        cause = cause.getCause();
      }
      // A ReplyException carries its whole error text (e.g. TRYAGAIN from a shard member).
      return new ErrorRedisMessage(Errors.oneLine(
          cause instanceof io.respawn.server.command.ReplyException
              ? cause.getMessage() : "ERR " + cause.getMessage()));
    }
  }

  private static void release(Reply reply) {
    if (reply.message() != null) {
      ReferenceCountUtil.release(reply.message());
    }
  }

  private void updateReading() {
    if (closing || channel == null) {
      return;
    }
    boolean autoRead = channel.config().isAutoRead();
    if (autoRead && (inFlight >= limits.pipelineDepthMax() || !channel.isWritable())) {
      channel.config().setAutoRead(false);
    } else if (!autoRead && inFlight <= limits.pipelineDepthMax() / 2 && channel.isWritable()) {
      channel.config().setAutoRead(true);
    }
  }

  // ---- Introspection for CLIENT LIST, CLIENT KILL and MONITOR ----
  // Called from the command thread: with one I/O thread that is this connection's event loop;
  // with several, the values are a racy snapshot, good enough for reporting.

  /** The socket's file descriptor with the epoll transport; -1 with NIO or before connecting. */
  public int fd() {
    return channel instanceof io.netty.channel.epoll.EpollSocketChannel epoll
        ? epoll.fd().intValue() : -1;
  }

  /** Bytes received but not yet decoded into a whole request (Redis' qbuf). */
  public int queryBufferBytes() {
    RequestDecoder decoder = channel == null ? null : channel.pipeline().get(RequestDecoder.class);
    return decoder == null ? 0 : decoder.bufferedBytes();
  }

  /** Free space of the query buffer before it grows (Redis' qbuf-free). */
  public int queryBufferFreeBytes() {
    RequestDecoder decoder = channel == null ? null : channel.pipeline().get(RequestDecoder.class);
    return decoder == null ? 0 : decoder.bufferFreeBytes();
  }

  /** Reply bytes written to the socket's outbound buffer and not yet sent (Redis' omem). */
  public long outputBytesPending() {
    Channel ch = channel;
    if (ch == null) {
      return 0;
    }
    io.netty.channel.ChannelOutboundBuffer out = ch.unsafe().outboundBuffer();
    return out == null ? 0 : out.totalPendingWriteBytes();
  }

  /** Replies waiting for their turn or their storage acknowledgement (Redis' oll). */
  public int repliesPending() {
    return pending.size();
  }

  /** Whether the connection is reading requests now (not paused by back-pressure). */
  public boolean isReading() {
    return channel != null && channel.config().isAutoRead();
  }

  /** Closes the connection now, dropping unsent replies (CLIENT KILL). Any thread. */
  public void close() {
    Channel ch = channel;
    if (ch != null) {
      ch.close();
    }
  }
}
