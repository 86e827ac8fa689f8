package io.respawn.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.netty.util.ResourceLeakDetector;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded fuzzing of the RESP front end against a naive model: a stream of valid commands, with
 * random corruption, split into random chunks. Whatever the input, the pipeline must not throw,
 * must decode the same requests however the bytes are chunked, must answer every request it
 * accepted (in order), and must close after a protocol error, which is always the last thing
 * answered. The seed is in the test name.
 */
class RespFuzzTest {
  static List<Long> seeds() {
    List<Long> seeds = new ArrayList<>();
    for (long s = 1; s <= 150; s++) {
      seeds.add(s * 7919);
    }
    return seeds;
  }

  private static byte[] randomStream(Random r) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    int commands = 1 + r.nextInt(8);
    for (int c = 0; c < commands; c++) {
      int argc = 1 + r.nextInt(4);
      if (r.nextInt(5) == 0) {
        StringBuilder line = new StringBuilder();
        for (int a = 0; a < argc; a++) {
          line.append(a == 0 ? "" : " ").append(r.nextBoolean() ? "arg" + a : "\"q " + a + "\"");
        }
        out.writeBytes((line + "\r\n").getBytes(StandardCharsets.US_ASCII));
        continue;
      }
      out.writeBytes(("*" + argc + "\r\n").getBytes(StandardCharsets.US_ASCII));
      for (int a = 0; a < argc; a++) {
        byte[] arg = new byte[r.nextInt(40)];
        r.nextBytes(arg);
        out.writeBytes(("$" + arg.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
        out.writeBytes(arg);
        out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
      }
    }
    byte[] bytes = out.toByteArray();
    int corruptions = r.nextInt(3); // sometimes none: the stream must then decode cleanly
    for (int i = 0; i < corruptions && bytes.length > 0; i++) {
      String alphabet = "*$:+-\r\n0-9x \"";
      bytes[r.nextInt(bytes.length)] = (byte) alphabet.charAt(r.nextInt(alphabet.length()));
    }
    return bytes;
  }

  /** Feeds bytes in random chunks; returns [requests seen, output text, open?]. */
  private static Object[] run(byte[] input, Random chunking, RespLimits limits) {
    List<String> requests = new ArrayList<>();
    CommandSink sink = (connection, batch) -> {
      List<Reply> replies = new ArrayList<>();
      for (Request req : batch) {
        if (req.isProtocolError()) {
          requests.add("ERROR");
          replies.add(Reply.thenClose(new ErrorRedisMessage("ERR Protocol error: " + req.protocolError())));
        } else {
          requests.add(Integer.toString(req.args().length));
          replies.add(Reply.now(new SimpleStringRedisMessage("OK")));
        }
      }
      connection.deliver(replies);
    };
    EmbeddedChannel ch = new EmbeddedChannel(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel c) {
        RespPipeline.install(c.pipeline(), sink, new ClientRegistry(10), limits);
      }
    });
    int pos = 0;
    while (pos < input.length && ch.isOpen()) {
      int n = chunking == null ? input.length : 1 + chunking.nextInt(Math.min(16, input.length - pos));
      n = Math.min(n, input.length - pos);
      ch.writeInbound(Unpooled.wrappedBuffer(input, pos, n));
      ch.runPendingTasks();
      pos += n;
    }
    ch.runPendingTasks();
    StringBuilder out = new StringBuilder();
    Object o;
    while ((o = ch.readOutbound()) != null) {
      out.append(((ByteBuf) o).toString(StandardCharsets.ISO_8859_1));
      ((ByteBuf) o).release();
    }
    boolean open = ch.isOpen();
    ch.finishAndReleaseAll();
    return new Object[] {requests, out.toString(), open};
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void randomInputIsDecodedConsistentlyAndNeverHarmsTheServer(long seed) {
    ResourceLeakDetector.setLevel(ResourceLeakDetector.Level.PARANOID);
    Random r = new Random(seed);
    byte[] input = randomStream(r);
    RespLimits limits = new RespLimits(32, 3, 64, 1024, 1024, 1 << 20, 10);
    Object[] whole = run(input, null, limits);
    Object[] chunked = run(input, new Random(seed + 1), limits);
    @SuppressWarnings("unchecked")
    List<String> requests = (List<String>) whole[0];
    assertThat(chunked[0]).as("same requests however chunked").isEqualTo(requests);
    assertThat(chunked[1]).as("same replies however chunked").isEqualTo(whole[1]);
    String out = (String) whole[1];
    int errorAt = requests.indexOf("ERROR");
    if (errorAt >= 0) {
      assertThat(errorAt).as("nothing after a protocol error").isEqualTo(requests.size() - 1);
      assertThat(whole[2]).as("closed after a protocol error").isEqualTo(false);
      assertThat(out).endsWith("\r\n").contains("-ERR Protocol error: ");
      assertThat(out.split("\r\n")).hasSize(requests.size());
    } else {
      assertThat(whole[2]).isEqualTo(true);
      assertThat(out).isEqualTo("+OK\r\n".repeat(requests.size()));
    }
  }
}
