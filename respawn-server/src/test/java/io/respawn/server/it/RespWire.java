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
 * A byte-exact RESP2 connection for differential tests: sends commands as arrays of bulk strings
 * (arguments given as ISO-8859-1 strings, so every byte value can be sent) and renders each reply
 * so that two servers' replies compare equal exactly when their bytes and types are equal:
 * {@code +OK}, {@code -ERR ...}, {@code :1}, {@code "bulk"} with {@code \xHH} escapes for bytes
 * outside printable ASCII, {@code (nil)}, {@code [a, b]}, {@code (nil array)}. Reads time out
 * after {@code readTimeoutMillis}.
 */
final class RespWire implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RespWire(int port, int readTimeoutMillis) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(readTimeoutMillis);
    socket.setTcpNoDelay(true);
    in = new BufferedInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  void send(String... args) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
    for (String a : args) {
      byte[] bytes = a.getBytes(StandardCharsets.ISO_8859_1);
      b.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      b.writeBytes(bytes);
      b.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
    }
    out.write(b.toByteArray());
    out.flush();
  }

  String call(String... args) throws IOException {
    send(args);
    return read();
  }

  String read() throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("connection closed");
    }
    String line = line();
    switch (type) {
      case '+':
        return "+" + line;
      case '-':
        return "-" + line;
      case ':':
        return ":" + line;
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return "(nil)";
        }
        byte[] bytes = in.readNBytes(n + 2);
        return quote(bytes, n);
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return "(nil array)";
        }
        StringJoiner j = new StringJoiner(", ", "[", "]");
        for (int i = 0; i < n; i++) {
          j.add(read());
        }
        return j.toString();
      }
      default:
        throw new IOException("unexpected reply type '" + (char) type + "' " + line);
    }
  }

  static String quote(byte[] bytes, int n) {
    StringBuilder sb = new StringBuilder(n + 2).append('"');
    for (int i = 0; i < n; i++) {
      int c = bytes[i] & 0xff;
      if (c == '"' || c == '\\') {
        sb.append('\\').append((char) c);
      } else if (c >= 0x20 && c < 0x7f) {
        sb.append((char) c);
      } else {
        sb.append(String.format("\\x%02x", c));
      }
    }
    return sb.append('"').toString();
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
    return b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
