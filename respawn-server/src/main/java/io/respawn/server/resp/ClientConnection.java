package io.respawn.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, the last handler of its pipeline. Collects the requests decoded in one
 * read and hands them to the {@link CommandSink} as one batch; receives the replies back and
 * writes them <b>in request order</b>, each once its storage acknowledgement completed.
 *
 * <p>Replies stream: a {@link ReplyStream} encodes them into chunks of at most {@link
 * #CHUNK_BYTES} only while the channel is writable (its write buffer under {@link
 * RespLimits#socketBufferHighBytes}), and resumes when the socket has taken enough; so a reply of
 * any size costs the event loop a bounded slice of work per turn, and other clients are served in
 * between.
 *
 * <p>Back-pressure: a client's <em>output</em> is the encoded size of its replies not yet taken by
 * the socket (queued, being encoded, in the write buffer). While it is at or above {@link
 * RespLimits#outputPauseBytes} the command thread executes none of the client's further requests
 * (it holds them, see {@link CommandSink}) and reads pause, until everything is encoded and the
 * socket is writable again. Reads also pause at {@code pipelineDepthMax} unanswered requests.
 *
 * <p>Limits that disconnect ({@link ClientBufferLimits}): output over the hard limit closes the
 * connection at once, output over the soft limit for longer than its duration closes it; the
 * client's input + output count towards the limit of all clients together ({@link
 * ClientRegistry}). Each such close is logged with the client's id, address, name and sizes.
 *
 * <p>Threads: everything here runs on the channel's event loop except {@link #deliver} (it hops
 * onto the event loop), the methods marked "command thread" (which is this connection's event
 * loop unless there are several I/O threads) and the registry's reads of {@link #bufferedBytes}.
 *
 * <p>Invariants: {@code inFlight} = requests submitted - replies taken from {@code pending} (or
 * dropped on close); {@code queuedReplyBytes} = sum of {@link Reply#bytes} over {@code pending}.
 */
public final class ClientConnection extends ChannelInboundHandlerAdapter {
  private static final Logger log = LoggerFactory.getLogger(ClientConnection.class);

  /** Most bytes encoded into one buffer before it is written to the channel. */
  static final int CHUNK_BYTES = 64 * 1024;
  /** What one decoded request counts for beyond its argument bytes (arrays, headers). */
  private static final int REQUEST_OVERHEAD_BYTES = 32;
  private static final int ARG_OVERHEAD_BYTES = 16;

  private final CommandSink sink;
  private final ClientRegistry registry;
  private final RespLimits limits;
  private final ClientBufferLimits bufferLimits;
  private final long id;
  private final long createdAtMillis = System.currentTimeMillis();

  private Channel channel;
  private RequestDecoder decoder;
  private List<Request> readBatch = new ArrayList<>();
  private final ArrayDeque<Reply> pending = new ArrayDeque<>();
  private final ReplyStream stream = new ReplyStream();
  private boolean streamClosesAfter;
  private long inFlight;
  /** No more requests are read (protocol error, QUIT, close under way). */
  private boolean closing;
  /** No more replies are written: the connection is closing after its last reply or a limit. */
  private boolean outputClosed;
  private boolean draining;
  /** The channel turned writable while draining (some transports say so during the flush). */
  private boolean writableWhileDraining;
  private boolean drainScheduled;
  private CompletableFuture<?> awaitedGate;
  private volatile boolean registered;

  // ---- accounting (event loop), see account()
  private long queuedReplyBytes;
  /** Bytes of requests submitted and not yet reported executed. */
  private long submittedInputBytes;
  /** Bytes of requests the command thread executed, not yet folded into the accounting. */
  private final AtomicLong executedInputBytes = new AtomicLong();
  /** Input + output last reported to the registry. */
  private long reportedBytes;
  private volatile long publishedOutputBytes;
  private volatile long publishedInputBytes;
  /** When output went over the soft limit (System.nanoTime), or -1 while under it. */
  private long overSoftSinceNanos = -1;
  private boolean softCheckScheduled;

  /** The command thread holds requests of this client until {@link CommandSink#resume}. */
  private volatile boolean inputHeld;

  private static final int OPEN = 0;
  private static final int EVICTED = 1;
  private static final int CLOSED = 2;
  /** OPEN, then EVICTED (closed for the all-clients limit) and/or CLOSED (inactive). */
  private final AtomicInteger lifecycle = new AtomicInteger(OPEN);
  private volatile long evictedHeldBytes;

  /** Command-side state of this client; read and written only by the command thread. */
  private Object commandState;

  public ClientConnection(CommandSink sink, ClientRegistry registry, RespLimits limits) {
    this.sink = sink;
    this.registry = registry;
    this.limits = limits;
    this.bufferLimits = registry.bufferLimits();
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

  /** Reply bytes pending for this client as last accounted (Redis' {@code omem}); any thread. */
  public long outputBytes() {
    return publishedOutputBytes;
  }

  /** Request bytes buffered or waiting to be executed (Redis' {@code qbuf}); any thread. */
  public long inputBytes() {
    return publishedInputBytes;
  }

  /** Input + output as last reported to the registry (Redis' {@code tot-mem}); any thread. */
  public long bufferedBytes() {
    return publishedInputBytes + publishedOutputBytes;
  }

  /**
   * Command thread: whether this client's output plus {@code extraBytes} (replies produced for it
   * and not yet handed over) reaches the pause threshold, so its next request must wait.
   */
  public boolean outputFull(long extraBytes) {
    return publishedOutputBytes + extraBytes >= limits.outputPauseBytes();
  }

  /**
   * Command thread: it now holds requests of this client until {@link CommandSink#resume}.
   * Returns false if, seen again after the flag is set, the output is no longer full: the caller
   * then executes instead of holding (the flag and the output are checked in opposite order on the
   * two sides, so one of them always sees the other).
   */
  public boolean inputHeld(long extraBytes) {
    inputHeld = true;
    if (outputFull(extraBytes)) {
      return true;
    }
    inputHeld = false;
    return false;
  }

  /** Command thread: requests of this client totalling {@code bytes} (see below) were executed. */
  public void inputExecuted(long bytes) {
    executedInputBytes.addAndGet(bytes);
  }

  /** What a decoded request counts for against the input accounting. */
  public static long requestBytes(Request request) {
    long bytes = REQUEST_OVERHEAD_BYTES;
    for (byte[] arg : request.args()) {
      bytes += arg.length + ARG_OVERHEAD_BYTES;
    }
    return bytes;
  }

  /** "id=7 addr=127.0.0.1:5000 laddr=... name=..." for log lines; any thread. */
  public String describe() {
    return "id=" + id + " addr=" + address(remoteAddress()) + " laddr=" + address(localAddress())
        + " name=" + sink.clientName(this);
  }

  private static String address(SocketAddress a) {
    if (a instanceof java.net.InetSocketAddress inet) {
      return inet.getAddress().getHostAddress() + ":" + inet.getPort();
    }
    return String.valueOf(a);
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    channel = ctx.channel();
    decoder = ctx.pipeline().get(RequestDecoder.class);
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
    outputClosed = true;
    releasePending();
    stream.discard();
    if (lifecycle.getAndSet(CLOSED) == EVICTED) {
      registry.evictionDone(evictedHeldBytes);
    }
    if (reportedBytes != 0) {
      registry.adjustBuffered(-reportedBytes);
      reportedBytes = 0;
    }
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
    if (!closing) {
      account();
      updateReading();
    }
  }

  private void submitReadBatch() {
    if (!readBatch.isEmpty()) {
      for (int i = 0; i < readBatch.size(); i++) { // indexed: no iterator per call
        Request r = readBatch.get(i);
        submittedInputBytes += requestBytes(r);
      }
      List<Request> batch = readBatch;
      readBatch = new ArrayList<>();
      sink.submit(this, batch);
    }
  }

  @Override
  public void channelWritabilityChanged(ChannelHandlerContext ctx) {
    if (channel.isWritable()) {
      drainNextTurn();
    } else if (!closing) {
      updateReading();
    }
    ctx.fireChannelWritabilityChanged();
  }

  /**
   * Continues writing in the event loop's next turn, after it has polled every socket: the
   * socket may take each turn's bytes at once (loopback does), and draining again right away
   * would chain turn after turn of one client's output (Netty runs tasks for up to a second
   * before it polls again) while other clients' requests wait unread.
   */
  private void drainNextTurn() {
    if (!drainScheduled && !outputClosed) {
      drainScheduled = true;
      channel.eventLoop().schedule(() -> {
        drainScheduled = false;
        drain();
      }, 0, TimeUnit.NANOSECONDS);
    }
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
    log.debug("client {} protocol error: {}", id, protocolErrorDetail(cause));
    // The error travels behind the requests already decoded so it is answered after them.
    readBatch.add(Request.protocolError(protocolError));
    inFlight++;
    submitReadBatch();
    closing = true;
    ctx.channel().config().setAutoRead(false);
  }

  private static Throwable unwrap(Throwable cause) {
    if (cause instanceof DecoderException && cause.getCause() != null) {
      return cause.getCause();
    }
    return cause;
  }

  private static String protocolErrorMessage(Throwable cause) {
    Throwable t = unwrap(cause);
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

  private static String protocolErrorDetail(Throwable cause) {
    Throwable t = unwrap(cause);
    return t instanceof RespProtocolException e ? e.detail() : String.valueOf(t.getMessage());
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
    if (outputClosed || !channel.isActive()) {
      replies.forEach(ClientConnection::release);
      return;
    }
    for (int i = 0; i < replies.size(); i++) {
      Reply reply = replies.get(i);
      queuedReplyBytes += reply.bytes();
      pending.addLast(reply);
    }
    drain();
  }

  /**
   * Encodes and writes replies, in order, while the channel is writable: every ready reply at the
   * head of the queue, waiting on the first that is not; then flushes, accounts, and decides about
   * reading and held requests.
   */
  private void drain() {
    if (outputClosed || channel == null) {
      return;
    }
    if (draining) {
      writableWhileDraining = true;
      return;
    }
    draining = true;
    writableWhileDraining = false;
    boolean wrote = false;
    ByteBuf chunk = null;
    try {
      while (channel.isWritable()) {
        if (!stream.active()) {
          Reply head = pending.peekFirst();
          if (head == null) {
            break;
          }
          if (!head.isReady()) {
            if (awaitedGate != head.gate()) {
              awaitedGate = head.gate();
              head.gate().whenComplete((v, e) -> channel.eventLoop().execute(this::drain));
            }
            break;
          }
          pending.pollFirst();
          queuedReplyBytes -= head.bytes();
          if (head.kind() != Reply.Kind.UNSOLICITED) {
            inFlight--; // a MONITOR line answers no request
          }
          assert inFlight >= 0 : "more replies than requests";
          RedisMessage message = resolve(head);
          if (head.kind() == Reply.Kind.SILENT) {
            ReferenceCountUtil.release(message); // CLIENT REPLY OFF/SKIP: answered, not sent
            if (head.closeAfter()) {
              closeAfterReplies();
              return;
            }
            continue;
          }
          if (!ReplyWriter.canWrite(message)) {
            chunk = writeChunk(chunk);
            channel.write(message, channel.voidPromise());
            wrote = true;
            if (head.closeAfter()) {
              closeAfterReplies();
              return;
            }
            continue;
          }
          stream.start(message);
          streamClosesAfter = head.closeAfter();
        }
        if (chunk == null) {
          int size = (int) Math.min(CHUNK_BYTES, Math.max(256, stream.remainingBytes()));
          chunk = channel.alloc().ioBuffer(size);
        }
        boolean done = stream.encodeInto(chunk, CHUNK_BYTES);
        wrote = true;
        if (done && streamClosesAfter) {
          writeChunk(chunk);
          chunk = null;
          closeAfterReplies();
          return;
        }
        if (chunk.readableBytes() >= CHUNK_BYTES) {
          chunk = writeChunk(chunk);
        }
      }
      chunk = writeChunk(chunk);
      if (wrote) {
        channel.flush();
      }
    } finally {
      if (chunk != null) {
        chunk.release(); // only on an exception: every other path wrote it
      }
      draining = false;
    }
    if (writableWhileDraining && channel.isWritable()) {
      drainNextTurn(); // one turn encodes at most what the socket buffer holds
    }
    account();
    updateReading();
    maybeResume();
  }

  /** Writes the encoded chunk, if any; returns null (the next chunk starts empty). */
  private ByteBuf writeChunk(ByteBuf chunk) {
    if (chunk != null) {
      if (chunk.isReadable()) {
        channel.write(chunk, channel.voidPromise());
      } else {
        chunk.release();
      }
    }
    return null;
  }

  /** The reply just written closes the connection (QUIT, protocol error): flush, then close. */
  private void closeAfterReplies() {
    closing = true;
    outputClosed = true;
    releasePending();
    channel.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
  }

  private void releasePending() {
    for (Reply reply : pending) {
      release(reply);
    }
    pending.clear();
    queuedReplyBytes = 0;
  }

  /** Asks the command thread to execute held requests once all output has reached the socket. */
  private void maybeResume() {
    if (inputHeld && !outputClosed && pending.isEmpty() && !stream.active() && channel.isWritable()) {
      inputHeld = false;
      sink.resume(this);
    }
  }

  /**
   * Recomputes this client's input and output, publishes them, reports the change to the
   * registry (which may close the biggest clients) and applies the output limits.
   */
  private void account() {
    if (executedInputBytes.get() != 0) {
      submittedInputBytes -= executedInputBytes.getAndSet(0);
    }
    long input = submittedInputBytes + (decoder == null ? 0 : decoder.heldBytes());
    long output = queuedReplyBytes + stream.remainingBytes() + socketBufferBytes();
    publishedInputBytes = input;
    publishedOutputBytes = output;
    long total = input + output;
    long delta = total - reportedBytes;
    if (delta != 0) {
      reportedBytes = total;
      registry.adjustBuffered(delta);
    }
    applyOutputLimits(output);
  }

  private long socketBufferBytes() {
    ChannelOutboundBuffer buffer = channel.unsafe().outboundBuffer();
    return buffer == null ? 0 : buffer.totalPendingWriteBytes();
  }

  private void applyOutputLimits(long output) {
    if (outputClosed) {
      return;
    }
    if (bufferLimits.overHard(output)) {
      closeForOutput(output, "--output-hard-bytes-max " + bufferLimits.outputHardBytesMax());
      return;
    }
    if (!bufferLimits.overSoft(output)) {
      overSoftSinceNanos = -1;
      return;
    }
    long now = System.nanoTime();
    if (overSoftSinceNanos < 0) {
      overSoftSinceNanos = now;
    }
    long overNanos = now - overSoftSinceNanos;
    long allowedNanos = TimeUnit.SECONDS.toNanos(bufferLimits.outputSoftSeconds());
    if (overNanos >= allowedNanos) {
      closeForOutput(output, "--output-soft-bytes-max " + bufferLimits.outputSoftBytesMax()
          + " for " + TimeUnit.NANOSECONDS.toMillis(overNanos) + " ms (--output-soft-seconds "
          + bufferLimits.outputSoftSeconds() + ")");
    } else if (!softCheckScheduled) {
      // Output may sit still (a client that stopped reading): check again when the time is up.
      softCheckScheduled = true;
      channel.eventLoop().schedule(() -> {
        softCheckScheduled = false;
        if (!outputClosed) {
          account();
        }
      }, Math.max(allowedNanos - overNanos, TimeUnit.MILLISECONDS.toNanos(1)), TimeUnit.NANOSECONDS);
    }
  }

  private void closeForOutput(long output, String limit) {
    log.warn("closing client {} for overcoming of output buffer limits: {} bytes of replies "
            + "pending (input {} bytes), over {}", describe(), output, publishedInputBytes, limit);
    closing = true;
    outputClosed = true;
    releasePending();
    stream.discard();
    channel.close();
  }

  /**
   * Registry (any thread): closes this connection because all clients together hold too much;
   * false if it is already closed or being closed for that.
   */
  boolean evictForMemory(long heldBytes) {
    evictedHeldBytes = heldBytes;
    if (!lifecycle.compareAndSet(OPEN, EVICTED)) {
      return false;
    }
    channel.close();
    return true;
  }

  boolean evictedForMemory() {
    return lifecycle.get() != OPEN;
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
    boolean outputFull = publishedOutputBytes >= limits.outputPauseBytes();
    if (autoRead && (inFlight >= limits.pipelineDepthMax() || !channel.isWritable() || outputFull)) {
      channel.config().setAutoRead(false);
    } else if (!autoRead && inFlight <= limits.pipelineDepthMax() / 2 && channel.isWritable()
        && !outputFull) {
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

  /**
   * Reply bytes produced and not yet taken by the socket (Redis' omem): queued, being encoded
   * and in the socket's write buffer.
   */
  public long outputBytesPending() {
    Channel ch = channel;
    if (ch == null) {
      return 0;
    }
    return queuedReplyBytes + stream.remainingBytes() + socketBufferBytes();
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
