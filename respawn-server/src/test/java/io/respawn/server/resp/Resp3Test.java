package io.respawn.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisEncoder;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** RESP3 wire bytes of every type, and the RESP2 form a RESP2 client gets instead. */
class Resp3Test {
  private static RedisMessage bulk(String s) {
    return new FullBulkStringRedisMessage(
        Unpooled.wrappedBuffer(s.getBytes(StandardCharsets.UTF_8)));
  }

  private static String resp3(RedisMessage m) {
    ByteBuf out = Unpooled.buffer();
    Resp3Encoder.write(m, out);
    return out.toString(StandardCharsets.UTF_8);
  }

  /** RESP2 bytes of toResp2(m), through Netty's RESP2 encoder as the pipeline sends them. */
  private static String resp2(RedisMessage m) {
    EmbeddedChannel ch = new EmbeddedChannel(new RedisEncoder());
    ch.writeOutbound(Resp3.toResp2(m));
    StringBuilder sb = new StringBuilder();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      sb.append(b.toString(StandardCharsets.UTF_8));
      b.release();
    }
    return sb.toString();
  }

  @Test
  void everyTypeInBothProtocols() {
    RedisMessage map = new Resp3.MapReply(List.of(bulk("a"), new IntegerRedisMessage(1),
        bulk("b"), new Resp3.SetReply(List.of(new SimpleStringRedisMessage("x")))));
    assertThat(resp3(map)).isEqualTo("%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n~1\r\n+x\r\n");
    assertThat(resp2(map)).isEqualTo("*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n+x\r\n");

    RedisMessage push = new Resp3.PushReply(List.of(bulk("message"), bulk("ch")));
    assertThat(resp3(push)).isEqualTo(">2\r\n$7\r\nmessage\r\n$2\r\nch\r\n");
    assertThat(resp2(push)).isEqualTo("*2\r\n$7\r\nmessage\r\n$2\r\nch\r\n");

    assertThat(resp3(new Resp3.DoubleReply(1.5))).isEqualTo(",1.5\r\n");
    assertThat(resp2(new Resp3.DoubleReply(1.5))).isEqualTo("$3\r\n1.5\r\n");
    assertThat(resp3(new Resp3.DoubleReply(Double.NEGATIVE_INFINITY))).isEqualTo(",-inf\r\n");
    assertThat(resp3(new Resp3.BooleanReply(true))).isEqualTo("#t\r\n");
    assertThat(resp3(new Resp3.BooleanReply(false))).isEqualTo("#f\r\n");
    assertThat(resp2(new Resp3.BooleanReply(false))).isEqualTo(":0\r\n");
    RedisMessage verbatim = new Resp3.VerbatimReply("txt",
        "a\r\nb".getBytes(StandardCharsets.UTF_8));
    assertThat(resp3(verbatim)).isEqualTo("=8\r\ntxt:a\r\nb\r\n");
    assertThat(resp2(verbatim)).isEqualTo("$4\r\na\r\nb\r\n");
    assertThat(resp3(new Resp3.BigNumberReply("-123456789012345678901234567890")))
        .isEqualTo("(-123456789012345678901234567890\r\n");
    assertThat(resp2(new Resp3.BigNumberReply("12345678901234567890")))
        .isEqualTo("$20\r\n12345678901234567890\r\n");

    assertThat(resp3(FullBulkStringRedisMessage.NULL_INSTANCE)).isEqualTo("_\r\n");
    assertThat(resp3(ArrayRedisMessage.NULL_INSTANCE)).isEqualTo("_\r\n");
    assertThat(resp3(new ErrorRedisMessage("ERR x"))).isEqualTo("-ERR x\r\n");
    assertThat(resp3(FullBulkStringRedisMessage.EMPTY_INSTANCE)).isEqualTo("$0\r\n\r\n");
    assertThat(resp3(new ArrayRedisMessage(List.of(FullBulkStringRedisMessage.NULL_INSTANCE,
        new IntegerRedisMessage(-7))))).isEqualTo("*2\r\n_\r\n:-7\r\n");
  }

  @Test
  void resp2ConversionKeepsPlainRepliesAndRebuildsOnlyWhatChanged() {
    RedisMessage plain = new ArrayRedisMessage(List.of(bulk("a"), bulk("b")));
    assertThat(Resp3.toResp2(plain)).isSameAs(plain);
    RedisMessage single = bulk("x");
    assertThat(Resp3.toResp2(single)).isSameAs(single);
    RedisMessage nested = new ArrayRedisMessage(List.of(bulk("a"),
        new Resp3.MapReply(List.of(bulk("k"), new Resp3.BooleanReply(true)))));
    assertThat(resp2(nested)).isEqualTo("*2\r\n$1\r\na\r\n*2\r\n$1\r\nk\r\n:1\r\n");
  }

  @Test
  void framesGoThroughTheResp3EncoderOthersPassOn() {
    EmbeddedChannel ch = new EmbeddedChannel(new RedisEncoder(), new Resp3Encoder());
    ch.writeOutbound(new Resp3.Frame(new Resp3.MapReply(List.of(bulk("k"), bulk("v")))));
    ch.writeOutbound(new SimpleStringRedisMessage("OK"));
    StringBuilder sb = new StringBuilder();
    for (Object o; (o = ch.readOutbound()) != null; ) {
      ByteBuf b = (ByteBuf) o;
      sb.append(b.toString(StandardCharsets.UTF_8));
      b.release();
    }
    assertThat(sb.toString()).isEqualTo("%1\r\n$1\r\nk\r\n$1\r\nv\r\n+OK\r\n");
  }

  @Test
  void doublesAreFormattedLikeCsPercentDot17g() {
    assertThat(Resp3.formatDouble(1.5)).isEqualTo("1.5");
    assertThat(Resp3.formatDouble(0.1)).isEqualTo("0.10000000000000001");
    assertThat(Resp3.formatDouble(3)).isEqualTo("3");
    assertThat(Resp3.formatDouble(-2.25)).isEqualTo("-2.25");
    assertThat(Resp3.formatDouble(1e20)).isEqualTo("1e+20");
    assertThat(Resp3.formatDouble(1e17)).isEqualTo("1e+17");
    assertThat(Resp3.formatDouble(1e16)).isEqualTo("10000000000000000");
    assertThat(Resp3.formatDouble(1e-5)).isEqualTo("1.0000000000000001e-05");
    assertThat(Resp3.formatDouble(0.0001)).isEqualTo("0.0001");
    assertThat(Resp3.formatDouble(123456.789)).isEqualTo("123456.789");
    assertThat(Resp3.formatDouble(1.7976931348623157e308))
        .isEqualTo("1.7976931348623157e+308");
    assertThat(Resp3.formatDouble(0.0)).isEqualTo("0");
    assertThat(Resp3.formatDouble(-0.0)).isEqualTo("-0");
    assertThat(Resp3.formatDouble(Double.NaN)).isEqualTo("nan");
    assertThat(Resp3.formatDouble(Double.POSITIVE_INFINITY)).isEqualTo("inf");
  }

  @Test
  void malformedTypesAreRefused() {
    assertThatThrownBy(() -> new Resp3.MapReply(List.of(bulk("k"))))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Resp3.VerbatimReply("text", new byte[0]))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
