package io.respawn.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import java.nio.charset.StandardCharsets;

/**
 * Writes complete RESP2 replies straight into one buffer, so a batch of replies leaves as one
 * buffer instead of one per reply (the {@code RedisEncoder} in the pipeline still encodes anything
 * written to the channel as a message). The format, each line ending in CRLF:
 *
 * <ul>
 *   <li>simple string {@code +OK}, error {@code -ERR message}, integer {@code :42};
 *   <li>bulk string {@code $<length>} then the bytes and CRLF; nil is {@code $-1};
 *   <li>array {@code *<count>} then each element; a nil array is {@code *-1}.
 * </ul>
 *
 * <p>Only these full messages are written here ({@link #canWrite}); streaming parts (headers and
 * content chunks) are left to the encoder. {@link ReplyStream} uses these pieces to encode a
 * large reply a bounded chunk at a time.
 */
final class ReplyWriter {
  static final byte[] CRLF = {'\r', '\n'};

  /** What a reply whose message is not known yet counts for (WAIT, WAITAOF: a short array). */
  static final long UNKNOWN_REPLY_BYTES = 64;

  private ReplyWriter() {}

  /** Whether {@link #write} handles this message (and all its elements). */
  static boolean canWrite(RedisMessage msg) {
    if (msg instanceof ArrayRedisMessage array) {
      if (array.isNull()) {
        return true;
      }
      for (RedisMessage child : array.children()) {
        if (!canWrite(child)) {
          return false;
        }
      }
      return true;
    }
    return msg instanceof SimpleStringRedisMessage
        || msg instanceof ErrorRedisMessage
        || msg instanceof IntegerRedisMessage
        || msg instanceof FullBulkStringRedisMessage;
  }

  /** Appends the reply to {@code out}; does not release it. Only for {@link #canWrite} messages. */
  static void write(RedisMessage msg, ByteBuf out) {
    if (msg instanceof FullBulkStringRedisMessage bulk) {
      if (bulk.isNull()) {
        out.writeByte('$').writeByte('-').writeByte('1').writeBytes(CRLF);
        return;
      }
      ByteBuf content = bulk.content();
      out.writeByte('$');
      writeNumber(content.readableBytes(), out);
      out.writeBytes(CRLF);
      out.writeBytes(content, content.readerIndex(), content.readableBytes());
      out.writeBytes(CRLF);
    } else if (msg instanceof SimpleStringRedisMessage simple) {
      out.writeByte('+');
      ByteBufUtil.writeUtf8(out, simple.content());
      out.writeBytes(CRLF);
    } else if (msg instanceof ErrorRedisMessage error) {
      out.writeByte('-');
      ByteBufUtil.writeUtf8(out, error.content());
      out.writeBytes(CRLF);
    } else if (msg instanceof IntegerRedisMessage integer) {
      out.writeByte(':');
      writeNumber(integer.value(), out);
      out.writeBytes(CRLF);
    } else if (msg instanceof ArrayRedisMessage array) {
      out.writeByte('*');
      if (array.isNull()) {
        out.writeByte('-').writeByte('1').writeBytes(CRLF);
        return;
      }
      writeNumber(array.children().size(), out);
      out.writeBytes(CRLF);
      for (RedisMessage child : array.children()) {
        write(child, out);
      }
    } else {
      throw new IllegalArgumentException("not a full reply: " + msg.getClass().getSimpleName());
    }
  }

  /**
   * Bytes {@code msg} takes on the wire; linear in the number of elements, not in their sizes.
   * Messages {@link #canWrite} does not handle count as {@link #UNKNOWN_REPLY_BYTES} each.
   */
  static long encodedLength(RedisMessage msg) {
    if (msg instanceof FullBulkStringRedisMessage bulk) {
      if (bulk.isNull()) {
        return 5;
      }
      int length = bulk.content().readableBytes();
      return 1 + digits(length) + 2 + length + 2;
    } else if (msg instanceof SimpleStringRedisMessage simple) {
      return 1 + ByteBufUtil.utf8Bytes(simple.content()) + 2;
    } else if (msg instanceof ErrorRedisMessage error) {
      return 1 + ByteBufUtil.utf8Bytes(error.content()) + 2;
    } else if (msg instanceof IntegerRedisMessage integer) {
      return 1 + digits(integer.value()) + 2;
    } else if (msg instanceof ArrayRedisMessage array) {
      if (array.isNull()) {
        return 5;
      }
      long total = 1 + digits(array.children().size()) + 2;
      for (RedisMessage child : array.children()) {
        total += encodedLength(child);
      }
      return total;
    }
    if (canWrite(msg)) {
      // A type added to write() but not here: measure it the slow way, so that the length stays
      // exact (ReplyStream relies on it).
      ByteBuf scratch = io.netty.buffer.Unpooled.buffer();
      try {
        write(msg, scratch);
        return scratch.readableBytes();
      } finally {
        scratch.release();
      }
    }
    return UNKNOWN_REPLY_BYTES;
  }

  /** Characters of {@code value} in decimal, sign included. */
  static int digits(long value) {
    if (value < 0) {
      return value == Long.MIN_VALUE ? 20 : 1 + digits(-value);
    }
    int digits = 1;
    for (long v = value; v >= 10; v /= 10) {
      digits++;
    }
    return digits;
  }

  /** Writes the {@code $<length>\r\n} header of a bulk string whose content follows. */
  static void writeBulkHeader(int length, ByteBuf out) {
    out.writeByte('$');
    writeNumber(length, out);
    out.writeBytes(CRLF);
  }

  /** Writes the {@code *<count>\r\n} header of an array whose elements follow. */
  static void writeArrayHeader(int count, ByteBuf out) {
    out.writeByte('*');
    writeNumber(count, out);
    out.writeBytes(CRLF);
  }

  private static void writeNumber(long value, ByteBuf out) {
    if (value >= 0 && value < 10) {
      out.writeByte('0' + (int) value);
    } else {
      out.writeCharSequence(Long.toString(value), StandardCharsets.US_ASCII);
    }
  }
}
