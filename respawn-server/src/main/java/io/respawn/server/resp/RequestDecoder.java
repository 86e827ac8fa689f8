package io.respawn.server.resp;

import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageDecoder;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.InlineCommandRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import java.util.List;

/**
 * Turns an aggregated RESP array of bulk strings, or an inline line, into a {@link Request} whose
 * arguments are plain byte arrays the command thread can keep (the Netty buffers are released
 * here, on the I/O thread). Empty requests ({@code *0}, blank lines) are dropped, as Redis does.
 * Shapes the {@link RequestGuard} let through are the only ones expected.
 */
public final class RequestDecoder extends MessageToMessageDecoder<RedisMessage> {

  public RequestDecoder() {
    super(RedisMessage.class);
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, RedisMessage msg, List<Object> out) {
    if (msg instanceof ArrayRedisMessage array) {
      if (array.isNull() || array.children().isEmpty()) {
        return;
      }
      List<RedisMessage> children = array.children();
      byte[][] args = new byte[children.size()][];
      for (int i = 0; i < args.length; i++) {
        if (!(children.get(i) instanceof FullBulkStringRedisMessage bulk) || bulk.isNull()) {
          throw new RespProtocolException("expected '$' for every argument");
        }
        args[i] = ByteBufUtil.getBytes(bulk.content());
      }
      out.add(Request.of(args));
    } else if (msg instanceof InlineCommandRedisMessage inline) {
      byte[][] args = InlineArgs.split(inline.content());
      if (args.length > 0) {
        out.add(Request.of(args));
      }
    } else {
      throw new RespProtocolException("expected a command, got " + msg.getClass().getSimpleName());
    }
  }
}
