package io.respawn.server.it;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.StringJoiner;

/**
 * A raw socket client that reads RESP2 and RESP3 replies and renders each with its wire type, so
 * a test sees exactly what the server sent: {@code +OK}, {@code -ERR x}, {@code :1},
 * {@code $text}, {@code $nil}, {@code *[a, b]}, {@code *nil}, {@code %{k: v}}, {@code ~[a]},
 * {@code >[a]}, {@code _}, {@code #t}, {@code ,1.5}, {@code =txt:text}, {@code (123}. Used to run
 * the same sequences against Respawn and Redis and compare. Reads time out after 5 s.
 */
final class TypedClient implements AutoCloseable {
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  TypedClient(int port) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(5_000);
    in = new BufferedInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  /** Sends a command as a RESP array of bulk strings, without reading. */
  TypedClient send(String... args) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    b.writeBytes(("*" + args.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
    for (String a : args) {
      byte[] bytes = a.getBytes(StandardCharsets.UTF_8);
      b.writeBytes(("$" + bytes.length + "\r\n").getBytes(StandardCharsets.US_ASCII));
      b.writeBytes(bytes);
      b.writeBytes(new byte[] {'\r', '\n'});
    }
    out.write(b.toByteArray());
    out.flush();
    return this;
  }

  /** Sends a command and reads its reply. */
  String call(String... args) throws IOException {
    return send(args).read();
  }

  String read() throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new EOFException("connection closed");
    }
    String line = line();
    switch (type) {
      case '+', '-', ':', '_', '#', ',', '(' -> {
        return (char) type + line;
      }
      case '$', '=' -> {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return "$nil";
        }
        byte[] b = in.readNBytes(n + 2);
        return (char) type + new String(b, 0, n, StandardCharsets.UTF_8);
      }
      case '*', '~', '>' -> {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return "*nil";
        }
        StringJoiner j = new StringJoiner(", ", (char) type + "[", "]");
        for (int i = 0; i < n; i++) {
          j.add(read());
        }
        return j.toString();
      }
      case '%' -> {
        int n = Integer.parseInt(line);
        StringJoiner j = new StringJoiner(", ", "%{", "}");
        for (int i = 0; i < n; i++) {
          j.add(read() + ": " + read());
        }
        return j.toString();
      }
      default -> throw new IOException("unexpected reply type " + (char) type + line);
    }
  }

  /** True if nothing arrives within {@code millis} (the connection stays open). */
  boolean silentFor(int millis) throws IOException {
    socket.setSoTimeout(millis);
    try {
      in.mark(1);
      int b = in.read();
      if (b < 0) {
        throw new EOFException("connection closed");
      }
      in.reset();
      return false;
    } catch (SocketTimeoutException e) {
      return true;
    } finally {
      socket.setSoTimeout(5_000);
    }
  }

  /** True if the server closes the connection (EOF or reset) within the read timeout. */
  boolean closedByServer() throws IOException {
    try {
      return in.read() < 0;
    } catch (java.net.SocketException e) {
      return true;
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
