package io.respawn.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link ReplyStream} against the reference {@link ReplyWriter#write} (the whole reply into one
 * buffer): random nested replies, encoded in random-sized pieces, must give the same bytes, take
 * exactly {@link ReplyWriter#encodedLength} of them, and never put more than the room given (plus
 * one header or scalar) into a piece. Seeded; the seed is in the test name.
 */
class ReplyStreamTest {
  static List<Long> seeds() {
    List<Long> seeds = new ArrayList<>();
    for (long s = 1; s <= 200; s++) {
      seeds.add(s * 104_729);
    }
    return seeds;
  }

  private static RedisMessage randomReply(Random r, int depth) {
    int kind = r.nextInt(depth > 2 ? 6 : 8);
    return switch (kind) {
      case 0 -> new SimpleStringRedisMessage("OK" + "x".repeat(r.nextInt(20)));
      case 1 -> new ErrorRedisMessage("ERR é " + r.nextInt());
      case 2 -> new IntegerRedisMessage(r.nextBoolean() ? r.nextLong() : r.nextInt(20) - 10);
      case 3 -> FullBulkStringRedisMessage.NULL_INSTANCE;
      case 4, 5 -> {
        byte[] value = new byte[r.nextInt(4) == 0 ? r.nextInt(200_000) : r.nextInt(100)];
        r.nextBytes(value);
        int offset = value.length > 2 ? r.nextInt(2) : 0;
        yield new FullBulkStringRedisMessage(
            Unpooled.wrappedBuffer(value, offset, value.length - offset));
      }
      case 6 -> r.nextInt(5) == 0 ? ArrayRedisMessage.NULL_INSTANCE : ArrayRedisMessage.EMPTY_INSTANCE;
      default -> {
        List<RedisMessage> children = new ArrayList<>();
        int n = r.nextInt(12);
        for (int i = 0; i < n; i++) {
          children.add(randomReply(r, depth + 1));
        }
        yield new ArrayRedisMessage(children);
      }
    };
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void streamedPiecesConcatenateToTheWholeReply(long seed) {
    Random r = new Random(seed);
    RedisMessage reply = randomReply(r, 0);
    ByteBuf whole = Unpooled.buffer();
    ReplyWriter.write(reply, whole);
    assertThat(ReplyWriter.encodedLength(reply)).isEqualTo(whole.readableBytes());

    ReplyStream stream = new ReplyStream();
    stream.start(reply);
    assertThat(stream.remainingBytes()).isEqualTo(whole.readableBytes());
    ByteBuf streamed = Unpooled.buffer();
    boolean done = false;
    int pieces = 0;
    while (!done) {
      int limit = 1 + r.nextInt(r.nextBoolean() ? 16 : 70_000);
      ByteBuf piece = Unpooled.buffer();
      long remainingBefore = stream.remainingBytes();
      done = stream.encodeInto(piece, limit);
      // A piece holds at most its room plus one short header or scalar.
      assertThat(piece.readableBytes()).isLessThanOrEqualTo(limit + 200);
      assertThat(remainingBefore - stream.remainingBytes() == piece.readableBytes() || done)
          .isTrue();
      streamed.writeBytes(piece);
      piece.release();
      assertThat(++pieces).as("progress").isLessThan(1_000_000);
    }
    assertThat(stream.active()).isFalse();
    assertThat(stream.remainingBytes()).isZero();
    // ByteBufUtil.equals: a failure must not render megabytes into its message.
    assertThat(ByteBufUtil.equals(streamed, whole)).as("same bytes as the whole reply").isTrue();
    whole.release();
    streamed.release();
  }
}
