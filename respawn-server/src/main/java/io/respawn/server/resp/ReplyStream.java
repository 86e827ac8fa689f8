package io.respawn.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.util.ReferenceCountUtil;
import java.util.ArrayDeque;
import java.util.Iterator;

/**
 * Encodes one reply at a time, resumably, into buffers of bounded size, so that a reply of any
 * size (an MGET of 300 values of 1 MB) leaves as a stream of chunks the socket takes one after
 * another instead of one buffer as large as the reply. Arrays are walked element by element and a
 * bulk string's content is copied a piece at a time: the work per call is bounded by the room the
 * caller gives, and the memory held is that room plus the message itself (whose values are
 * usually the store's own arrays).
 *
 * <p>Owned by one connection's event loop. State: {@code root != null} exactly while a reply is
 * being encoded; {@code frames} holds the open arrays (innermost last); {@code content} is the bulk
 * string whose bytes from {@code contentOffset} are still to be copied, followed by CRLF.
 *
 * <p>Invariant: {@code encoded <= total}; {@code encoded == total} when the reply is done.
 */
final class ReplyStream {
  private final ArrayDeque<Iterator<RedisMessage>> frames = new ArrayDeque<>();
  private RedisMessage root;
  private boolean rootTaken;
  private ByteBuf content;
  private int contentOffset;
  private long total;
  private long encoded;

  /** Whether a reply is being encoded. */
  boolean active() {
    return root != null;
  }

  /** Bytes of the current reply not encoded yet (0 when idle). */
  long remainingBytes() {
    return total - encoded;
  }

  /**
   * Starts encoding {@code message}, which must be {@link ReplyWriter#canWrite writable}; the
   * stream releases it when done or {@link #discard discarded}.
   */
  void start(RedisMessage message) {
    assert root == null : "one reply at a time";
    assert ReplyWriter.canWrite(message) : "only full RESP2 replies are streamed";
    root = message;
    rootTaken = false;
    total = ReplyWriter.encodedLength(message);
    encoded = 0;
  }

  /**
   * Appends the reply's next bytes to {@code out} until {@code out} holds {@code limit} readable
   * bytes or the reply is complete (a header or a scalar may overshoot {@code limit} by its own
   * short length). Returns true when the reply is complete (and released).
   */
  boolean encodeInto(ByteBuf out, int limit) {
    assert root != null : "start first";
    int start = out.writerIndex();
    boolean complete = false;
    while (out.readableBytes() < limit) {
      if (content != null) {
        copyContent(out, limit);
        continue;
      }
      RedisMessage next = next();
      if (next == null) {
        complete = true;
        break;
      }
      if (next instanceof ArrayRedisMessage array && !array.isNull()) {
        ReplyWriter.writeArrayHeader(array.children().size(), out);
        if (!array.children().isEmpty()) {
          frames.addLast(array.children().iterator());
        }
      } else if (next instanceof FullBulkStringRedisMessage bulk && !bulk.isNull()) {
        ReplyWriter.writeBulkHeader(bulk.content().readableBytes(), out);
        content = bulk.content();
        contentOffset = content.readerIndex();
      } else {
        ReplyWriter.write(next, out);
      }
    }
    encoded += out.writerIndex() - start;
    assert encoded <= total : "encoded " + encoded + " of a reply of " + total + " bytes";
    if (encoded == total) {
      complete = true; // also when the last bytes filled the buffer exactly
    }
    if (complete) {
      assert encoded == total : "a complete reply of " + total + " bytes encoded as " + encoded;
      finish();
    }
    return complete;
  }

  /** Drops the reply being encoded (the connection closed). */
  void discard() {
    if (root != null) {
      finish();
    }
  }

  private void copyContent(ByteBuf out, int limit) {
    int end = content.readerIndex() + content.readableBytes();
    int n = Math.min(end - contentOffset, limit - out.readableBytes());
    out.writeBytes(content, contentOffset, n);
    contentOffset += n;
    if (contentOffset == end) {
      out.writeBytes(ReplyWriter.CRLF);
      content = null;
    }
  }

  /** The next message to encode in document order, or null when the reply is complete. */
  private RedisMessage next() {
    if (!rootTaken) {
      rootTaken = true;
      return root;
    }
    while (!frames.isEmpty()) {
      Iterator<RedisMessage> top = frames.peekLast();
      if (top.hasNext()) {
        return top.next();
      }
      frames.removeLast();
    }
    return null;
  }

  private void finish() {
    ReferenceCountUtil.release(root);
    root = null;
    content = null;
    frames.clear();
    total = 0;
    encoded = 0;
  }
}
