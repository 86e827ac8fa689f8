package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A 512 MB value (Redis's proto-max-bulk-len) with the default flags: SET, STRLEN, GET back byte
 * for byte, and the same after a restart. The value streams through the socket from a 1 MiB
 * buffer, so the test itself holds no 512 MB array.
 */
class LargeValueIT {
  static final int VALUE_BYTES = 512 << 20;
  static final int CHUNK_BYTES = 1 << 20;

  @TempDir Path tmp;

  @Test
  void a512MegabyteValueIsStoredReadBackAndSurvivesARestart() throws Exception {
    int port = ServerProcess.freePort();
    Path data = tmp.resolve("data");
    // The server holds the value in its heap, plus a copy while it is written to the log.
    List<String> jvm = List.of("-Xmx3g");
    long sentCrc;
    try (ServerProcess server = ServerProcess.start(data, port, jvm);
        Socket socket = connect(port)) {
      OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
      InputStream in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
      out.write(("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + VALUE_BYTES + "\r\n")
          .getBytes(StandardCharsets.US_ASCII));
      sentCrc = streamValue(out);
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      out.flush();
      assertThat(line(in)).as(server.logTail()).isEqualTo("+OK");
      command(out, "STRLEN", "big");
      assertThat(line(in)).isEqualTo(":" + VALUE_BYTES);
      command(out, "GET", "big");
      assertThat(readBulkCrc(in)).isEqualTo(sentCrc);
      assertThat(server.terminate()).as(server.logTail()).isZero();
    }
    try (ServerProcess server = ServerProcess.start(data, port, jvm);
        Socket socket = connect(port)) {
      OutputStream out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
      InputStream in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
      command(out, "STRLEN", "big");
      assertThat(line(in)).as(server.logTail()).isEqualTo(":" + VALUE_BYTES);
      command(out, "GET", "big");
      assertThat(readBulkCrc(in)).isEqualTo(sentCrc);
    }
  }

  private static Socket connect(int port) throws IOException {
    Socket socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(120_000);
    return socket;
  }

  /** Writes VALUE_BYTES of seeded random bytes; returns their CRC-32C. */
  private static long streamValue(OutputStream out) throws IOException {
    Random random = new Random(512);
    byte[] chunk = new byte[CHUNK_BYTES];
    CRC32C crc = new CRC32C();
    for (int sent = 0; sent < VALUE_BYTES; sent += CHUNK_BYTES) {
      random.nextBytes(chunk);
      crc.update(chunk);
      out.write(chunk);
    }
    return crc.getValue();
  }

  private static void command(OutputStream out, String... args) throws IOException {
    StringBuilder sb = new StringBuilder("*").append(args.length).append("\r\n");
    for (String a : args) {
      sb.append('$').append(a.length()).append("\r\n").append(a).append("\r\n");
    }
    out.write(sb.toString().getBytes(StandardCharsets.US_ASCII));
    out.flush();
  }

  private static String line(InputStream in) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) != '\n') {
      if (b < 0) {
        throw new IOException("connection closed after '" + bytes + "'");
      }
      if (b != '\r') {
        bytes.write(b);
      }
    }
    return bytes.toString(StandardCharsets.US_ASCII);
  }

  /** Reads a bulk reply of VALUE_BYTES, streaming; returns its CRC-32C. */
  private static long readBulkCrc(InputStream in) throws IOException {
    assertThat(line(in)).isEqualTo("$" + VALUE_BYTES);
    CRC32C crc = new CRC32C();
    byte[] chunk = new byte[CHUNK_BYTES];
    long left = VALUE_BYTES;
    while (left > 0) {
      int n = in.read(chunk, 0, (int) Math.min(chunk.length, left));
      if (n < 0) {
        throw new IOException("connection closed with " + left + " bytes of the value to come");
      }
      crc.update(chunk, 0, n);
      left -= n;
    }
    assertThat(line(in)).isEmpty();
    return crc.getValue();
  }
}
