package io.respawn.server.cli;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A minimal blocking RESP2 client for the operator commands ({@code respawn status}, {@code
 * respawn member}) and a witness's rehearsal of serving: {@link #call} sends one command and reads
 * its reply; {@link #send}, {@link #flush} and {@link #reply} pipeline. Replies come back as
 * String (simple, bulk), Long (integer), List (array), null (nil), or a thrown {@link RespError}.
 * Lengths are bounded so a wrong peer cannot make it allocate without limit.
 */
public final class RespClient implements AutoCloseable {
  private static final int BULK_BYTES_MAX = 64 << 20;
  private static final int ARRAY_LENGTH_MAX = 1 << 20;
  private final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  public RespClient(String host, int port, int timeoutMillis) throws IOException {
    socket = new Socket();
    socket.connect(new InetSocketAddress(host, port), timeoutMillis);
    socket.setSoTimeout(timeoutMillis);
    in = new BufferedInputStream(socket.getInputStream());
    out = new BufferedOutputStream(socket.getOutputStream());
  }

  /** Sends one command and returns its reply. */
  public Object call(String... args) throws IOException {
    send(args);
    flush();
    return reply();
  }

  /** Buffers one command; it goes out with {@link #flush} (or when the buffer fills). */
  public void send(String... args) throws IOException {
    StringBuilder b = new StringBuilder();
    b.append('*').append(args.length).append("\r\n");
    for (String a : args) {
      byte[] bytes = a.getBytes(StandardCharsets.UTF_8);
      b.append('$').append(bytes.length).append("\r\n").append(a).append("\r\n");
    }
    out.write(b.toString().getBytes(StandardCharsets.UTF_8));
  }

  public void flush() throws IOException {
    out.flush();
  }

  /** The next reply, in the order the commands were sent. */
  public Object reply() throws IOException {
    return read();
  }

  private Object read() throws IOException {
    int type = in.read();
    if (type < 0) {
      throw new IOException("connection closed");
    }
    String line = line();
    switch (type) {
      case '+':
        return line;
      case '-':
        throw new RespError(line);
      case ':':
        return Long.parseLong(line);
      case '$': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        if (n > BULK_BYTES_MAX) {
          throw new IOException("bulk of " + n + " bytes exceeds " + BULK_BYTES_MAX);
        }
        byte[] data = in.readNBytes(n);
        in.readNBytes(2);
        return new String(data, StandardCharsets.UTF_8);
      }
      case '*': {
        int n = Integer.parseInt(line);
        if (n < 0) {
          return null;
        }
        if (n > ARRAY_LENGTH_MAX) {
          throw new IOException("array of " + n + " items exceeds " + ARRAY_LENGTH_MAX);
        }
        List<Object> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          items.add(read());
        }
        return items;
      }
      default:
        throw new IOException("not a RESP reply (type byte " + type + ")");
    }
  }

  private String line() throws IOException {
    StringBuilder b = new StringBuilder();
    int c;
    while ((c = in.read()) != '\r') {
      if (c < 0) {
        throw new IOException("connection closed mid-reply");
      }
      if (b.length() > 1 << 16) {
        throw new IOException("reply line too long");
      }
      b.append((char) c);
    }
    in.read(); // \n
    return b.toString();
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }

  /** An error reply. */
  static final class RespError extends IOException {
    private static final long serialVersionUID = 1L;

    RespError(String message) {
      super(message);
    }
  }
}
