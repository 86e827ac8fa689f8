package io.respawn.server.resp;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.redis.ArrayHeaderRedisMessage;
import io.netty.handler.codec.redis.BulkStringHeaderRedisMessage;
import io.netty.handler.codec.redis.BulkStringRedisContent;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.InlineCommandRedisMessage;
import io.netty.handler.codec.redis.LastBulkStringRedisContent;
import io.netty.util.ReferenceCountUtil;

/**
 * Checks the shape and size of a request while it streams in, before the aggregators buffer it:
 * a request is an array of bulk strings or one inline line, within {@link RespLimits}. It sits
 * between {@code RedisDecoder} (which emits headers and content chunks) and the aggregators, so an
 * announced 600 MB argument is refused at its header, not after 600 MB were buffered.
 *
 * <p>On the first violation it raises a {@link RespProtocolException} and drops everything after
 * it: the connection answers the error and closes. Owned by the channel's event loop.
 *
 * <p>Invariant: {@code elementsLeft == 0} exactly between requests; {@code inBulk} only while a
 * bulk string announced by a header has not seen its last chunk.
 */
public final class RequestGuard extends ChannelInboundHandlerAdapter {
  private final RespLimits limits;
  private long elementsLeft;
  private boolean inBulk;
  private long requestBytes;
  private boolean failed;
  /** A bulk string header not passed on yet: its content may follow in one chunk. */
  private BulkStringHeaderRedisMessage heldHeader;

  public RequestGuard(RespLimits limits) {
    this.limits = limits;
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (failed) {
      ReferenceCountUtil.release(msg);
      return;
    }
    try {
      check(msg);
    } catch (RespProtocolException e) {
      failed = true;
      heldHeader = null;
      ReferenceCountUtil.release(msg);
      ctx.fireExceptionCaught(e);
      return;
    }
    forward(ctx, msg);
  }

  /**
   * Passes a message on. A bulk string whose content arrived in one chunk (the common case) is
   * passed as one {@link FullBulkStringRedisMessage}, which the bulk aggregator lets through
   * untouched; a chunked one goes to the aggregator as header and chunks.
   */
  private void forward(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof BulkStringHeaderRedisMessage header) {
      heldHeader = header;
      return;
    }
    if (heldHeader != null && msg instanceof BulkStringRedisContent content) {
      BulkStringHeaderRedisMessage header = heldHeader;
      heldHeader = null;
      if (msg instanceof LastBulkStringRedisContent) {
        assert content.content().readableBytes() == header.bulkStringLength();
        ctx.fireChannelRead(new FullBulkStringRedisMessage(content.content()));
        return;
      }
      ctx.fireChannelRead(header);
    }
    ctx.fireChannelRead(msg);
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    // The decoder failed: whatever it emits after resetting is garbage.
    failed = true;
    ctx.fireExceptionCaught(cause);
  }

  private void check(Object msg) {
    if (inBulk) {
      if (!(msg instanceof BulkStringRedisContent)) {
        throw new RespProtocolException("expected the rest of a bulk string");
      }
      if (msg instanceof LastBulkStringRedisContent) {
        inBulk = false;
        elementsLeft--;
      }
      return;
    }
    if (elementsLeft == 0) {
      checkRequestStart(msg);
    } else {
      checkArgumentStart(msg);
    }
  }

  private void checkRequestStart(Object msg) {
    if (msg instanceof ArrayHeaderRedisMessage header) {
      long length = header.length();
      if (length > limits.argCountMax()) {
        throw new RespProtocolException(
            "invalid multibulk length " + length + " (argCountMax is " + limits.argCountMax()
                + ")");
      }
      // *0 and *-1 are empty requests: the aggregator passes them on and they are ignored.
      elementsLeft = Math.max(0, length);
      requestBytes = 0;
    } else if (msg instanceof InlineCommandRedisMessage inline) {
      if (inline.content().length() > limits.inlineLengthMax()) {
        throw new RespProtocolException(
            "too big inline request (inlineLengthMax is " + limits.inlineLengthMax() + " bytes)");
      }
    } else {
      throw new RespProtocolException("expected '*' or an inline command, got " + describe(msg));
    }
  }

  private void checkArgumentStart(Object msg) {
    if (msg instanceof BulkStringHeaderRedisMessage header) {
      int length = header.bulkStringLength();
      if (length > limits.bulkLengthMax()) {
        throw new RespProtocolException(
            "invalid bulk length " + length + " (bulkLengthMax is " + limits.bulkLengthMax()
                + " bytes)");
      }
      requestBytes += length;
      if (requestBytes > limits.requestBytesMax()) {
        throw new RespProtocolException(
            "request too large (requestBytesMax is " + limits.requestBytesMax() + " bytes)");
      }
      inBulk = true;
    } else if (msg instanceof FullBulkStringRedisMessage full) {
      if (full.isNull()) {
        throw new RespProtocolException("invalid bulk length -1");
      }
      elementsLeft--;
    } else {
      throw new RespProtocolException("expected '$', got " + describe(msg));
    }
  }

  private static String describe(Object msg) {
    String name = msg.getClass().getSimpleName();
    if (name.startsWith("ArrayHeader")) {
      return "'*'";
    } else if (name.startsWith("SimpleString")) {
      return "'+'";
    } else if (name.startsWith("Error")) {
      return "'-'";
    } else if (name.startsWith("Integer")) {
      return "':'";
    } else if (name.startsWith("Inline")) {
      return "an inline line";
    }
    return name;
  }
}
