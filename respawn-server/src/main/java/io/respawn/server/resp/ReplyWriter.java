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
 * content chunks) are left to the encoder.
 */
final class ReplyWriter {
  private static final byte[] CRLF = {'\r', '\n'};

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

  private static void writeNumber(long value, ByteBuf out) {
    if (value >= 0 && value < 10) {
      out.writeByte('0' + (int) value);
    } else {
      out.writeCharSequence(Long.toString(value), StandardCharsets.US_ASCII);
    }
  }
}
