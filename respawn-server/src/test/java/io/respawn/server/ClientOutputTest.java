package io.respawn.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.resp.ClientBufferLimits;
import io.respawn.server.resp.RespLimits;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Durability;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The server's command loop and connections together, over real loopback sockets, in process (on
 * the reference map store): what a client's output does to the execution of its requests.
 */
class ClientOutputTest {
  static final int VALUE_BYTES = 1_000_000;

  @TempDir Path tmp;
  MapKvStore store;
  RespawnServer server;

  @BeforeEach
  void start() throws Exception {
    store = new MapKvStore();
    store.apply(List.of(Mutation.put(bytes("big"), new byte[VALUE_BYTES])));
    ServerConfig config = new ServerConfig("127.0.0.1", 0, tmp, Durability.ORDERED, null,
        RespLimits.DEFAULTS, ClientBufferLimits.DEFAULTS, 1, StorageConfig.defaults(), 0);
    server = RespawnServer.start(config, dir -> store);
  }

  @AfterEach
  void stop() {
    server.close();
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.US_ASCII);
  }

  private Socket connect(int receiveBufferBytes) throws IOException {
    Socket s = new Socket();
    if (receiveBufferBytes > 0) {
      s.setReceiveBufferSize(receiveBufferBytes);
    }
    s.connect(new InetSocketAddress("127.0.0.1", server.port()), 5_000);
    s.setSoTimeout(10_000);
    return s;
  }

  /** Reads one reply line (a bulk's header, or a simple reply) without its CRLF. */
  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\n') {
      if (c < 0) {
        return null;
      }
      if (c != '\r') {
        b.write(c);
      }
    }
    return b.toString(StandardCharsets.US_ASCII);
  }

  private String call(String inline) throws IOException {
    try (Socket s = connect(0)) {
      s.getOutputStream().write(bytes(inline + "\r\n"));
      return line(new BufferedInputStream(s.getInputStream()));
    }
  }

  private long keyspaceHits() throws IOException {
    try (Socket s = connect(0)) {
      s.getOutputStream().write(bytes("INFO stats\r\n"));
      InputStream in = new BufferedInputStream(s.getInputStream());
      int length = Integer.parseInt(line(in).substring(1));
      String info = new String(in.readNBytes(length), StandardCharsets.US_ASCII);
      for (String l : info.split("\r\n")) {
        if (l.startsWith("keyspace_hits:")) {
          return Long.parseLong(l.substring("keyspace_hits:".length()));
        }
      }
      throw new AssertionError("no keyspace_hits in " + info);
    }
  }

  @Test
  void aCommandPipelinedAfterQuitIsNotExecuted() throws Exception {
    try (Socket s = connect(0)) {
      s.getOutputStream().write(bytes("SET a 1\r\nQUIT\r\nSET b 2\r\n*2\r\n$3\r\nDEL\r\n$1\r\na\r\n"));
      InputStream in = new BufferedInputStream(s.getInputStream());
      assertThat(line(in)).isEqualTo("+OK");
      assertThat(line(in)).isEqualTo("+OK");
      assertThat(in.read()).as("closed after QUIT's reply").isEqualTo(-1);
    }
    assertThat(call("EXISTS a")).isEqualTo(":1");
    assertThat(call("EXISTS b")).isEqualTo(":0");
  }

  @Test
  void aClientThatDoesNotReadGetsFewOfItsRequestsExecutedAndOthersAreServed() throws Exception {
    int gets = 300; // 300 MB of replies
    try (Socket greedy = connect(64 * 1024)) {
      greedy.getOutputStream().write(bytes("GET big\r\n".repeat(gets)));
      Thread.sleep(500);
      // Executed: what the socket buffers took plus what waits for them, not all 300.
      long executed = keyspaceHits();
      assertThat(executed).isLessThan(30);
      assertThat(call("PING")).isEqualTo("+PONG");
      // Reading the replies lets the rest run, in order, each one whole.
      InputStream in = new BufferedInputStream(greedy.getInputStream(), 1 << 16);
      for (int i = 0; i < gets; i++) {
        assertThat(line(in)).isEqualTo("$" + VALUE_BYTES);
        in.skipNBytes(VALUE_BYTES + 2L);
      }
    }
    assertThat(keyspaceHits()).isEqualTo(gets);
  }
}
