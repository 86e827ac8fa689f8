package io.respawn.server.resp;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes the replies of a RESP3 connection ({@link Resp3.Frame}s) as RESP3 bytes; every other
 * outbound message passes on to the RESP2 encoder. The RESP2 types keep their form except nulls:
 * a nil bulk string and a nil array are both {@code _}. The RESP3-only types are drawn in
 * {@link Resp3}'s Javadoc.
 *
 * <p>Sits in the pipeline between {@link ClientConnection} and the RESP2 encoder; runs on the
 * channel's event loop. A frame's tree is released once written.
 */
public final class Resp3Encoder extends MessageToByteEncoder<Resp3.Frame> {
  private static final byte[] CRLF = {'\r', '\n'};

  public Resp3Encoder() {
    super(Resp3.Frame.class);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Resp3.Frame frame, ByteBuf out) {
    try {
      write(frame.reply(), out);
    } finally {
      ReferenceCountUtil.release(frame.reply());
    }
  }

  /** Appends {@code message} in RESP3 to {@code out}. */
  static void write(RedisMessage message, ByteBuf out) {
    switch (message) {
      case FullBulkStringRedisMessage bulk -> {
        if (bulk.isNull()) {
          out.writeByte('_').writeBytes(CRLF);
          return;
        }
        ByteBuf content = bulk.content();
        header(out, '$', content.readableBytes());
        out.writeBytes(content, content.readerIndex(), content.readableBytes());
        out.writeBytes(CRLF);
      }
      case SimpleStringRedisMessage simple -> line(out, '+', simple.content());
      case ErrorRedisMessage error -> line(out, '-', error.content());
      case IntegerRedisMessage integer -> header(out, ':', integer.value());
      case ArrayRedisMessage array -> {
        if (array.isNull()) {
          out.writeByte('_').writeBytes(CRLF);
          return;
        }
        aggregate(out, '*', array.children());
      }
      case Resp3.MapReply map -> {
        header(out, '%', map.keysAndValues().size() / 2);
        for (RedisMessage m : map.keysAndValues()) {
          write(m, out);
        }
      }
      case Resp3.SetReply set -> aggregate(out, '~', set.items());
      case Resp3.PushReply push -> aggregate(out, '>', push.items());
      case Resp3.DoubleReply d -> line(out, ',', Resp3.formatDouble(d.value()));
      case Resp3.BooleanReply b -> line(out, '#', b.value() ? "t" : "f");
      case Resp3.VerbatimReply v -> {
        header(out, '=', 4 + v.text().length);
        out.writeCharSequence(v.format(), StandardCharsets.US_ASCII);
        out.writeByte(':').writeBytes(v.text()).writeBytes(CRLF);
      }
      case Resp3.BigNumberReply n -> line(out, '(', n.digits());
      default -> throw new IllegalArgumentException(
          "not a full reply: " + message.getClass().getSimpleName());
    }
  }

  private static void aggregate(ByteBuf out, char type, List<RedisMessage> items) {
    header(out, type, items.size());
    for (RedisMessage m : items) {
      write(m, out);
    }
  }

  private static void header(ByteBuf out, char type, long number) {
    out.writeByte(type);
    out.writeCharSequence(Long.toString(number), StandardCharsets.US_ASCII);
    out.writeBytes(CRLF);
  }

  private static void line(ByteBuf out, char type, String text) {
    out.writeByte(type);
    ByteBufUtil.writeUtf8(out, text);
    out.writeBytes(CRLF);
  }
}
