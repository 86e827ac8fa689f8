package io.respawn.server.solo.sentinel;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A bare RESP2/RESP3 client over a socket for tests: sends commands as arrays of bulk strings
 * and reads one reply as plain Java values: simple strings and bulk strings as String, errors as
 * {@link Err}, integers as Long, arrays, sets and pushes as List (a push as {@link Push}), maps
 * as LinkedHashMap, nulls as null. Verbatim strings lose their format prefix.
 */
final class RespSocket implements AutoCloseable {
  record Err(String message) {}

  record Push(List<Object> items) {}

  final Socket socket;
  private final InputStream in;
  private final OutputStream out;

  RespSocket(int port) throws IOException {
    this(port, 0);
  }

  RespSocket(int port, int receiveBufferBytes) throws IOException {
    socket = new Socket();
    if (receiveBufferBytes > 0) {
      socket.setReceiveBufferSize(receiveBufferBytes);
    }
    socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
    socket.setSoTimeout(10_000);
    in = new BufferedInputStream(socket.getInputStream());
    out = socket.getOutputStream();
  }

  void send(String... args) throws IOException {
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
  }

  Object call(String... args) throws IOException {
    send(args);
    return read();
  }

  /** The raw bytes of the next reply of a call, for wire-exact checks. */
  String callRaw(String... args) throws IOException {
    send(args);
    ByteArrayOutputStream copy = new ByteArrayOutputStream();
    readInto(copy);
    return copy.toString(StandardCharsets.UTF_8);
  }

  Object read() throws IOException {
    return readInto(null);
  }

  private Object readInto(ByteArrayOutputStream copy) throws IOException {
    String line = line(copy);
    char type = line.charAt(0);
    String rest = line.substring(1);
    switch (type) {
      case '+':
        return rest;
      case '-':
        return new Err(rest);
      case ':':
        return Long.parseLong(rest);
      case '_':
        return null;
      case '#':
        return rest.equals("t");
      case ',':
        return rest;
      case '$':
      case '=': {
        int n = Integer.parseInt(rest);
        if (n < 0) {
          return null;
        }
        byte[] bytes = in.readNBytes(n + 2);
        if (bytes.length < n + 2) {
          throw new java.io.EOFException("connection closed inside a bulk string");
        }
        if (copy != null) {
          copy.writeBytes(bytes);
        }
        String s = new String(bytes, 0, n, StandardCharsets.UTF_8);
        return type == '=' ? s.substring(4) : s;
      }
      case '*':
      case '~':
      case '>': {
        int n = Integer.parseInt(rest);
        if (n < 0) {
          return null;
        }
        List<Object> items = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
          items.add(readInto(copy));
        }
        return type == '>' ? new Push(items) : items;
      }
      case '%': {
        int n = Integer.parseInt(rest);
        Map<Object, Object> map = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
          map.put(readInto(copy), readInto(copy));
        }
        return map;
      }
      default:
        throw new IOException("unexpected reply line: " + line);
    }
  }

  private String line(ByteArrayOutputStream copy) throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) != '\n') {
      if (c < 0) {
        throw new java.io.EOFException("connection closed; read so far: " + b);
      }
      b.write(c);
    }
    if (copy != null) {
      copy.writeBytes(b.toByteArray());
      copy.write('\n');
    }
    String s = b.toString(StandardCharsets.UTF_8);
    return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
  }

  /** A RESP2 flat array of alternating names and values as a map. */
  @SuppressWarnings("unchecked")
  static Map<String, String> fields(Object reply) {
    if (reply instanceof Map<?, ?> m) {
      Map<String, String> out = new LinkedHashMap<>();
      m.forEach((k, v) -> out.put((String) k, (String) v));
      return out;
    }
    List<Object> flat = (List<Object>) reply;
    Map<String, String> out = new LinkedHashMap<>();
    for (int i = 0; i < flat.size(); i += 2) {
      out.put((String) flat.get(i), (String) flat.get(i + 1));
    }
    return out;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
