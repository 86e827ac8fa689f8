package io.respawn.server.resp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Arguments long enough to be copied out as they arrive decode like any other, however chunked. */
class LargeArgumentDecodingTest {

  private static byte[] set(byte[] value) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$" + value.length + "\r\n")
        .getBytes(StandardCharsets.US_ASCII));
    out.writeBytes(value);
    out.writeBytes("\r\n*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII));
    return out.toByteArray();
  }

  @Test
  void aLargeArgumentArrivesWholeHoweverItIsChunked() {
    byte[] value = new byte[300 << 10];
    new Random(1).nextBytes(value);
    byte[] input = set(value);
    for (int chunk : new int[] {1, 7, 1000, 65536, input.length}) {
      EmbeddedChannel ch = new EmbeddedChannel(new RequestDecoder(RespLimits.DEFAULTS));
      for (int at = 0; at < input.length; at += chunk) {
        ch.writeInbound(Unpooled.wrappedBuffer(
            Arrays.copyOfRange(input, at, Math.min(input.length, at + chunk))));
      }
      Request set = ch.readInbound();
      assertThat(set.args().length).isEqualTo(3);
      assertThat(set.args()[2]).as("chunks of %d", chunk).isEqualTo(value);
      Request ping = ch.readInbound();
      assertThat(new String(ping.args()[0], StandardCharsets.US_ASCII)).isEqualTo("PING");
      assertThat((Object) ch.readInbound()).isNull();
      ch.finishAndReleaseAll();
    }
  }

  @Test
  void aLargeArgumentLongerThanAnnouncedIsAProtocolError() {
    byte[] value = new byte[100 << 10];
    byte[] input = set(value);
    input[input.length - "*1\r\n$4\r\nPING\r\n".length() - 2] = 'x'; // where its CR belongs
    EmbeddedChannel ch = new EmbeddedChannel(new RequestDecoder(RespLimits.DEFAULTS));
    assertThatThrownBy(() -> ch.writeInbound(Unpooled.wrappedBuffer(input)))
        .isInstanceOf(DecoderException.class)
        .hasMessageContaining("bulk string longer than its announced length");
    ch.finishAndReleaseAll();
  }
}
