package io.respawn.server.resp;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.FullBulkStringRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The RESP front end on an embedded channel: decoding byte by byte, limits, malformed input,
 * reply ordering and back-pressure. The command thread is replaced by a sink that records
 * requests and, optionally, answers them at once on the test thread.
 */
class RespPipelineTest {
  private final List<List<String>> submitted = new ArrayList<>();
  private Function<Request, Reply> responder = r -> null;
  private final List<EmbeddedChannel> channels = new ArrayList<>();

  private final CommandSink sink = (connection, requests) -> {
    List<Reply> replies = new ArrayList<>();
    for (Request r : requests) {
      submitted.add(describe(r));
      Reply reply = responder.apply(r);
      if (reply != null) {
        replies.add(reply);
      }
    }
    if (!replies.isEmpty()) {
      connection.deliver(replies);
    }
  };

  private static List<String> describe(Request r) {
    if (r.isProtocolError()) {
      return List.of("PROTOCOL-ERROR", r.protocolError());
    }
    List<String> out = new ArrayList<>();
    for (byte[] a : r.args()) {
      out.add(new String(a, StandardCharsets.UTF_8));
    }
    return out;
  }

  /** Answers every command with +OK, protocol errors with the error and close. */
  private static Reply okOrError(Request r) {
    if (r.isProtocolError()) {
      return Reply.thenClose(new ErrorRedisMessage("ERR Protocol error: " + r.protocolError()));
    }
    return Reply.now(new SimpleStringRedisMessage("OK"));
  }

  private EmbeddedChannel channel(RespLimits limits, ClientRegistry registry) {
    EmbeddedChannel ch = new EmbeddedChannel(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel c) {
        RespPipeline.install(c.pipeline(), sink, registry, limits);
      }
    });
    channels.add(ch);
    return ch;
  }

  private EmbeddedChannel channel() {
    return channel(RespLimits.DEFAULTS, new ClientRegistry(100));
  }

  @AfterEach
  void releaseAll() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  private static void writeByteByByte(EmbeddedChannel ch, String s) {
    for (byte b : s.getBytes(StandardCharsets.ISO_8859_1)) {
      ch.runPendingTasks();
      if (!ch.isOpen()) {
        return; // closed after a protocol error: the rest would be refused anyway
      }
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    }
  }

  private static String output(EmbeddedChannel ch) {
    return output(ch, Integer.MAX_VALUE);
  }

  /**
   * What the server wrote, as a reading client gets it: takes the written buffers (each at most
   * {@code bufferBytesMax}) and lets the server resume writing, until it writes nothing more.
   */
  private static String output(EmbeddedChannel ch, int bufferBytesMax) {
    StringBuilder sb = new StringBuilder();
    while (true) {
      ch.runPendingTasks();
      Object o = ch.readOutbound();
      if (o == null) {
        return sb.toString();
      }
      ByteBuf buf = (ByteBuf) o;
      int size = buf.readableBytes();
      sb.append(buf.toString(StandardCharsets.ISO_8859_1));
      buf.release();
      assertThat(size).as("bytes in one written buffer").isLessThanOrEqualTo(bufferBytesMax);
    }
  }

  @Test
  void decodesAMultibulkCommandFedOneByteAtATime() {
    EmbeddedChannel ch = channel();
    writeByteByByte(ch, "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhe\r\no\r\n");
    assertThat(submitted).containsExactly(List.of("SET", "k", "he\r\no"));
    writeByteByByte(ch, "*1\r\n$0\r\n\r\n");
    assertThat(submitted.get(1)).containsExactly("");
  }

  @Test
  void decodesInlineCommandsWithQuotesAndIgnoresEmptyOnes() {
    EmbeddedChannel ch = channel();
    writeByteByByte(ch, "SET \"a b\" 'c d' \"\\x41\\n\"\r\n\r\n*0\r\nPING\r\n");
    assertThat(submitted).containsExactly(List.of("SET", "a b", "c d", "A\n"), List.of("PING"));
  }

  @Test
  void inlineCommandsMayEndInABareLineFeed() {
    EmbeddedChannel ch = channel(); // netcat sends LF, telnet CRLF; Redis takes both
    writeByteByByte(ch, "SET k v\nGET k\r\n\nPING\n");
    assertThat(submitted)
        .containsExactly(List.of("SET", "k", "v"), List.of("GET", "k"), List.of("PING"));
  }

  @Test
  void pipelinedCommandsInOneReadAreOneSubmission() {
    List<Integer> batchSizes = new ArrayList<>();
    CommandSink counting = (c, requests) -> batchSizes.add(requests.size());
    EmbeddedChannel ch = new EmbeddedChannel(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel c) {
        RespPipeline.install(c.pipeline(), counting, new ClientRegistry(10), RespLimits.DEFAULTS);
      }
    });
    channels.add(ch);
    ch.writeInbound(Unpooled.copiedBuffer("PING\r\n*1\r\n$4\r\nPING\r\nPING\r\n", StandardCharsets.US_ASCII));
    assertThat(batchSizes).containsExactly(3);
  }

  @Test
  void repliesLeaveInRequestOrderEvenWhenALaterOneIsReadyFirst() {
    CompletableFuture<Void> firstAck = new CompletableFuture<>();
    List<Reply> planned = new ArrayList<>(List.of(
        Reply.after(firstAck, new SimpleStringRedisMessage("first")),
        Reply.now(new SimpleStringRedisMessage("second")),
        Reply.now(new SimpleStringRedisMessage("third"))));
    responder = r -> planned.remove(0);
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("SET a 1\r\nGET a\r\nGET b\r\n", StandardCharsets.US_ASCII));
    assertThat(output(ch)).isEmpty();
    firstAck.complete(null);
    assertThat(output(ch)).isEqualTo("+first\r\n+second\r\n+third\r\n");
  }

  @Test
  void aFailedAcknowledgementBecomesAnErrorReply() {
    CompletableFuture<Void> ack = new CompletableFuture<>();
    responder = r -> Reply.after(ack, new SimpleStringRedisMessage("OK"));
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("SET a 1\r\n", StandardCharsets.US_ASCII));
    ack.completeExceptionally(new io.respawn.storage.StorageException("disk full\nreally"));
    assertThat(output(ch)).isEqualTo("-ERR disk full really\r\n");
  }

  @Test
  void bulkLengthOverTheLimitIsAProtocolErrorAnsweredAfterEarlierCommands() {
    responder = RespPipelineTest::okOrError;
    EmbeddedChannel ch = channel(RespLimits.DEFAULTS.withBulkLengthMax(10), new ClientRegistry(10));
    writeByteByByte(ch, "PING\r\n*2\r\n$3\r\nSET\r\n$11\r\nhello world\r\nPING\r\n");
    assertThat(submitted.get(0)).containsExactly("PING");
    assertThat(submitted.get(1)).containsExactly("PROTOCOL-ERROR", "invalid bulk length");
    assertThat(submitted).hasSize(2);
    assertThat(output(ch)).isEqualTo("+OK\r\n-ERR Protocol error: invalid bulk length\r\n");
    ch.runPendingTasks();
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void tooManyArgumentsIsRefusedAtTheHeader() {
    responder = RespPipelineTest::okOrError;
    RespLimits limits = new RespLimits(1024, 3, 1024, 4096, 16, 1 << 20, 10);
    EmbeddedChannel ch = channel(limits, new ClientRegistry(10));
    ch.writeInbound(Unpooled.copiedBuffer("*4\r\n", StandardCharsets.US_ASCII));
    assertThat(output(ch)).isEqualTo("-ERR Protocol error: invalid multibulk length\r\n");
    assertThat(ch.isOpen()).isFalse();
  }

  @Test
  void hugeAnnouncedArrayIsRefusedWithoutAllocating() {
    responder = RespPipelineTest::okOrError;
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("*2147483647\r\n", StandardCharsets.US_ASCII));
    assertThat(output(ch)).isEqualTo("-ERR Protocol error: invalid multibulk length\r\n");
  }

  @Test
  void requestBytesOverTheLimitIsAProtocolError() {
    responder = RespPipelineTest::okOrError;
    RespLimits limits = new RespLimits(100, 10, 1024, 150, 16, 1 << 20, 10);
    EmbeddedChannel ch = channel(limits, new ClientRegistry(10));
    ch.writeInbound(Unpooled.copiedBuffer("*3\r\n$3\r\nSET\r\n$100\r\n", StandardCharsets.US_ASCII));
    ch.writeInbound(Unpooled.copiedBuffer("x".repeat(100) + "\r\n$100\r\n", StandardCharsets.US_ASCII));
    assertThat(output(ch)).startsWith("-ERR Protocol error: request too large");
  }

  @Test
  void inlineLineOverTheLimitIsRefusedWhetherCompleteOrNot() {
    responder = RespPipelineTest::okOrError;
    RespLimits limits = new RespLimits(1024, 10, 16, 4096, 16, 1 << 20, 10);
    EmbeddedChannel whole = channel(limits, new ClientRegistry(10));
    whole.writeInbound(Unpooled.copiedBuffer("SET " + "x".repeat(40) + "\r\n", StandardCharsets.US_ASCII));
    assertThat(output(whole)).startsWith("-ERR Protocol error: too big inline request");
    EmbeddedChannel partial = channel(limits, new ClientRegistry(10));
    partial.writeInbound(Unpooled.copiedBuffer("x".repeat(40), StandardCharsets.US_ASCII));
    assertThat(output(partial)).startsWith("-ERR Protocol error:");
    assertThat(partial.isOpen()).isFalse();
  }

  @Test
  void malformedInputGetsAProtocolErrorAndCloses() {
    for (String bad : List.of(
        "*2\r\n$3\r\nGET\r\n:1\r\n",            // integer where a bulk string belongs
        "*2\r\n$3\r\nGET\r\n*1\r\n$1\r\na\r\n",  // nested array
        "*1\r\n$3\r\nGETX\r\n",                 // bulk string longer than announced
        "*1\r\n$abc\r\n",                       // bad length
        "*1\r\n$-5\r\n",                        // negative length
        "SET \"unbalanced\r\n")) {              // inline quotes
      submitted.clear();
      responder = RespPipelineTest::okOrError;
      EmbeddedChannel ch = channel();
      writeByteByByte(ch, bad);
      String out = output(ch);
      assertThat(out).as(bad).startsWith("-ERR Protocol error: ");
      assertThat(out.indexOf("\r\n")).as(bad).isEqualTo(out.length() - 2);
      assertThat(ch.isOpen()).as(bad).isFalse();
      assertThat(submitted).as(bad).hasSize(1);
    }
  }

  @Test
  void protocolErrorTextsAreRedisOwn() {
    // Each checked against redis-server 7.0: same input, same reply, then the connection closes.
    RespLimits limits = new RespLimits(1024, 3, 64, 4096, 16, 1 << 20, 10);
    Map<String, String> cases = new LinkedHashMap<>();
    cases.put("*2\r\n$3\r\nGET\r\n:1\r\n", "expected '$', got ':'");
    cases.put("*2\r\n$3\r\nGET\r\n*1\r\n$1\r\na\r\n", "expected '$', got '*'");
    cases.put("*1\r\n$abc\r\n", "invalid bulk length");
    cases.put("*1\r\n$-5\r\n", "invalid bulk length");
    cases.put("*1\r\n$1025\r\n", "invalid bulk length"); // over bulkLengthMax
    cases.put("*x\r\n", "invalid multibulk length");
    cases.put("*4\r\n", "invalid multibulk length"); // over argCountMax
    cases.put("x".repeat(100), "too big inline request");
    cases.put("SET \"unbalanced\r\n", "unbalanced quotes in request");
    for (Map.Entry<String, String> c : cases.entrySet()) {
      submitted.clear();
      responder = RespPipelineTest::okOrError;
      EmbeddedChannel ch = channel(limits, new ClientRegistry(10));
      writeByteByByte(ch, c.getKey());
      assertThat(output(ch)).as(c.getKey()).isEqualTo("-ERR Protocol error: " + c.getValue() + "\r\n");
      assertThat(ch.isOpen()).as(c.getKey()).isFalse();
    }
  }

  @Test
  void aNegativeMultibulkLengthIsIgnoredAsInRedis() {
    responder = RespPipelineTest::okOrError;
    EmbeddedChannel ch = channel();
    writeByteByByte(ch, "*-10\r\nPING\r\n*-1\r\n*0\r\n*1\r\n$4\r\nPING\r\n");
    assertThat(submitted).containsExactly(List.of("PING"), List.of("PING"));
    assertThat(output(ch)).isEqualTo("+OK\r\n+OK\r\n");
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void aLineStartingWithAnotherRespTypeIsAnInlineCommandAsInRedis() {
    responder = RespPipelineTest::okOrError;
    EmbeddedChannel ch = channel();
    writeByteByByte(ch, "+PING\r\n$3\r\n");
    assertThat(submitted).containsExactly(List.of("+PING"), List.of("$3"));
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void aLargeReplyLeavesInBoundedChunksWithItsExactBytes() {
    byte[][] values = new byte[3][];
    List<RedisMessage> children = new ArrayList<>();
    StringBuilder expected = new StringBuilder("*4\r\n");
    for (int i = 0; i < values.length; i++) {
      values[i] = new byte[1_000_000 + i];
      Arrays.fill(values[i], (byte) ('a' + i));
      children.add(new FullBulkStringRedisMessage(Unpooled.wrappedBuffer(values[i])));
      expected.append('$').append(values[i].length).append("\r\n")
          .append(new String(values[i], StandardCharsets.ISO_8859_1)).append("\r\n");
    }
    children.add(new IntegerRedisMessage(7));
    expected.append(":7\r\n");
    responder = r -> Reply.now(new ArrayRedisMessage(children));
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("MGET a b c\r\n", StandardCharsets.US_ASCII));
    String out = output(ch, ClientConnection.CHUNK_BYTES + 64);
    assertThat(out.length()).isEqualTo(expected.length());
    assertThat(out.equals(expected.toString())).as("the reply's bytes").isTrue();
  }

  @Test
  void aLargeArgumentBeingReceivedCountsOnceAsTheClientsInput() {
    EmbeddedChannel ch = channel();
    RequestDecoder decoder = ch.pipeline().get(RequestDecoder.class);
    ch.writeInbound(Unpooled.copiedBuffer("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n",
        StandardCharsets.US_ASCII));
    byte[] piece = new byte[64 * 1024];
    Arrays.fill(piece, (byte) 'v');
    for (int i = 0; i < 8; i++) {
      ch.writeInbound(Unpooled.wrappedBuffer(piece));
    }
    // Half of a 1 MiB argument has arrived: it is in the argument's array (grown with what came),
    // not in the read buffer, and counted once.
    assertThat(decoder.bufferedBytes()).isLessThan(1024);
    assertThat(decoder.heldBytes()).isBetween(512L * 1024, 1024L * 1024 + 1024);
    assertThat(submitted).isEmpty();
    for (int i = 0; i < 8; i++) {
      ch.writeInbound(Unpooled.wrappedBuffer(piece));
    }
    ch.writeInbound(Unpooled.copiedBuffer("\r\n", StandardCharsets.US_ASCII));
    assertThat(submitted).hasSize(1);
    assertThat(submitted.get(0).get(2)).hasSize(1024 * 1024);
    assertThat(decoder.heldBytes()).isZero();
  }

  /** A client that does not read: its socket buffer stays full, so nothing more is encoded. */
  private static void stopReading(EmbeddedChannel ch) {
    ch.unsafe().outboundBuffer().setUserDefinedWritability(1, false);
  }

  private static Reply bulkOf(int bytes) {
    return Reply.now(new FullBulkStringRedisMessage(Unpooled.wrappedBuffer(new byte[bytes])));
  }

  @Test
  void aClientOverTheHardOutputLimitIsDisconnectedAndOthersAreNot() {
    ClientRegistry registry = new ClientRegistry(10, new ClientBufferLimits(2 << 20, 0, 0, 0));
    responder = r -> bulkOf(Integer.parseInt(new String(r.args()[1], StandardCharsets.US_ASCII)));
    EmbeddedChannel greedy = channel(RespLimits.DEFAULTS, registry);
    EmbeddedChannel modest = channel(RespLimits.DEFAULTS, registry);
    stopReading(greedy);
    stopReading(modest);
    greedy.writeInbound(Unpooled.copiedBuffer("GET 3000000\r\n", StandardCharsets.US_ASCII));
    modest.writeInbound(Unpooled.copiedBuffer("GET 1000000\r\n", StandardCharsets.US_ASCII));
    greedy.runPendingTasks();
    modest.runPendingTasks();
    assertThat(greedy.isOpen()).isFalse();
    assertThat(modest.isOpen()).isTrue();
    assertThat(registry.bufferedBytes()).isBetween(1_000_000L, 1_100_000L);
  }

  @Test
  void aClientOverTheSoftOutputLimitForItsDurationIsDisconnected() throws Exception {
    ClientRegistry registry = new ClientRegistry(10, new ClientBufferLimits(0, 1 << 20, 1, 0));
    responder = r -> bulkOf(2 << 20);
    EmbeddedChannel ch = channel(RespLimits.DEFAULTS, registry);
    stopReading(ch);
    ch.writeInbound(Unpooled.copiedBuffer("GET big\r\n", StandardCharsets.US_ASCII));
    ch.runPendingTasks();
    assertThat(ch.isOpen()).as("over the soft limit, not yet for 1 s").isTrue();
    Thread.sleep(1_100);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).as("over the soft limit for 1 s").isFalse();
    assertThat(registry.bufferedBytes()).isZero();
  }

  @Test
  void underTheSoftLimitAgainInTimeTheClientStays() throws Exception {
    ClientRegistry registry = new ClientRegistry(10, new ClientBufferLimits(0, 1 << 20, 1, 0));
    responder = r -> bulkOf(2 << 20);
    EmbeddedChannel ch = channel(RespLimits.DEFAULTS, registry);
    stopReading(ch);
    ch.writeInbound(Unpooled.copiedBuffer("GET big\r\n", StandardCharsets.US_ASCII));
    ch.runPendingTasks();
    ch.unsafe().outboundBuffer().setUserDefinedWritability(1, true); // reads again
    assertThat(output(ch).length()).isEqualTo((2 << 20) + 12);
    Thread.sleep(1_100);
    ch.runScheduledPendingTasks();
    assertThat(ch.isOpen()).isTrue();
  }

  @Test
  void overTheLimitForAllClientsTheBiggestIsDisconnected() {
    ClientRegistry registry = new ClientRegistry(10, new ClientBufferLimits(0, 0, 0, 3 << 20));
    responder = r -> bulkOf(Integer.parseInt(new String(r.args()[1], StandardCharsets.US_ASCII)));
    EmbeddedChannel small = channel(RespLimits.DEFAULTS, registry);
    EmbeddedChannel big = channel(RespLimits.DEFAULTS, registry);
    EmbeddedChannel last = channel(RespLimits.DEFAULTS, registry);
    for (EmbeddedChannel ch : List.of(small, big, last)) {
      stopReading(ch);
    }
    small.writeInbound(Unpooled.copiedBuffer("GET 1000000\r\n", StandardCharsets.US_ASCII));
    small.runPendingTasks();
    big.writeInbound(Unpooled.copiedBuffer("GET 1800000\r\n", StandardCharsets.US_ASCII));
    big.runPendingTasks();
    assertThat(registry.evictedTotal()).isZero();
    // The third client's reply pushes the total over 3 MiB: the biggest goes, not the newest.
    last.writeInbound(Unpooled.copiedBuffer("GET 1000000\r\n", StandardCharsets.US_ASCII));
    last.runPendingTasks();
    big.runPendingTasks();
    assertThat(big.isOpen()).isFalse();
    assertThat(small.isOpen()).isTrue();
    assertThat(last.isOpen()).isTrue();
    assertThat(registry.evictedTotal()).isEqualTo(1);
    assertThat(registry.bufferedBytes()).isBetween(2_000_000L, 2_200_000L);
  }

  @Test
  void readsPauseAtPipelineDepthAndResumeWhenAnswered() {
    List<ClientConnection> held = new ArrayList<>();
    int[] count = {0};
    CommandSink holding = (c, requests) -> {
      held.add(c);
      count[0] += requests.size();
    };
    RespLimits limits = new RespLimits(1024, 10, 1024, 4096, 4, 1 << 20, 10);
    EmbeddedChannel ch = new EmbeddedChannel(new ChannelInitializer<Channel>() {
      @Override
      protected void initChannel(Channel c) {
        RespPipeline.install(c.pipeline(), holding, new ClientRegistry(10), limits);
      }
    });
    channels.add(ch);
    ch.writeInbound(Unpooled.copiedBuffer("PING\r\n".repeat(5), StandardCharsets.US_ASCII));
    assertThat(ch.config().isAutoRead()).isFalse();
    List<Reply> replies = new ArrayList<>();
    for (int i = 0; i < count[0]; i++) {
      replies.add(Reply.now(new SimpleStringRedisMessage("PONG")));
    }
    held.get(0).deliver(replies);
    assertThat(output(ch)).isEqualTo("+PONG\r\n".repeat(5));
    assertThat(ch.config().isAutoRead()).isTrue();
  }

  @Test
  void connectionsOverClientsMaxAreRefused() {
    ClientRegistry registry = new ClientRegistry(1);
    EmbeddedChannel first = channel(RespLimits.DEFAULTS, registry);
    EmbeddedChannel second = channel(RespLimits.DEFAULTS, registry);
    assertThat(output(second)).isEqualTo("-ERR max number of clients reached\r\n");
    assertThat(second.isOpen()).isFalse();
    assertThat(first.isOpen()).isTrue();
    assertThat(registry.size()).isEqualTo(1);
    assertThat(registry.rejectedTotal()).isEqualTo(1);
  }

  @Test
  void quitClosesAfterItsReply() {
    responder = r -> Arrays.equals(r.args()[0], "QUIT".getBytes())
        ? Reply.thenClose(new SimpleStringRedisMessage("OK"))
        : Reply.now(new SimpleStringRedisMessage("PONG"));
    EmbeddedChannel ch = channel();
    ch.writeInbound(Unpooled.copiedBuffer("PING\r\nQUIT\r\n", StandardCharsets.US_ASCII));
    assertThat(output(ch)).isEqualTo("+PONG\r\n+OK\r\n");
    assertThat(ch.isOpen()).isFalse();
  }

  @SuppressWarnings("unused")
  private static RedisMessage unused() {
    return null;
  }
}
