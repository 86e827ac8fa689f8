package io.respawn.server.it;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.StringJoiner;

/**
 * A raw socket client that sends arbitrary bytes (malformed on purpose) and reads RESP2 replies,
 * rendered as text: {@code +OK}, {@code -ERR ...}, {@code :1}, {@code $value}, {@code $nil},
 * {@code [a, b]}. Reads time out after 10 s.
 */
final class RawClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RawClient(int port) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(10_000);
    in = new BufferedInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  RawClient send(String raw) throws IOException {
    return send(raw.getBytes(StandardCharsets.ISO_8859_1));
  }

  RawClient send(byte[] raw) throws IOException {
    out.write(raw);
    out.flush();
    return this;
  }

  /** Sends a command as a RESP array of bulk strings. */
  RawClient command(String... args) throws IOException {
    StringBuilder sb = new StringBuilder("*").append(args.length).append("\r\n");
    for (String a : args) {
      sb.append('$').append(a.getBytes(StandardCharsets.UTF_8).length).append("\r\n")
          .append(a).append("\r\n");
    }
    return send(sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  String read() throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("connection closed");
    }
    String line = line();
    switch (type) {
      case '+': return "+" + line;
      case '-': return "-" + line;
      case ':': return ":" + line;
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return "$nil";
        }
        byte[] b = in.readNBytes(n + 2);
        return "$" + new String(b, 0, n, StandardCharsets.UTF_8);
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return "[nil]";
        }
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (int i = 0; i < n; i++) {
          j.add(read());
        }
        return j.toString();
      }
      default: throw new IOException("unexpected reply type " + (char) type + line);
    }
  }

  /** True if the server closed the connection (EOF within the read timeout). */
  boolean isClosedByServer() throws IOException {
    try {
      return in.read() < 0;
    } catch (java.net.SocketException e) {
      return true; // reset
    }
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\r') {
      if (c < 0) {
        throw new EOFException("connection closed mid-line");
      }
      b.write(c);
    }
    if (in.read() != '\n') {
      throw new IOException("missing LF");
    }
    return b.toString(StandardCharsets.UTF_8);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
