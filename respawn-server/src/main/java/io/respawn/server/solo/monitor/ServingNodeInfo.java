package io.respawn.server.solo.monitor;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Asks a serving node the monitor did not start ({@code respawn monitor --primary HOST:PORT})
 * who it is: waits until it answers {@code PING}, then reads {@code process_id} from {@code INFO
 * server} (the field Redis and {@code respawn solo} report), so the oracle can watch its process
 * and the bench can signal it.
 */
final class ServingNodeInfo {
  private static final byte[] PING = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);
  private static final byte[] INFO_SERVER =
      "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n".getBytes(StandardCharsets.US_ASCII);
  /** Largest INFO reply read; INFO server is a few hundred bytes. */
  static final int INFO_BYTES_MAX = 64 * 1024;
  private static final int LINE_BYTES_MAX = 1024;
  private static final long RETRY_MILLIS = 200;

  private ServingNodeInfo() {}

  /**
   * Waits (at most {@code waitMillis}) until the node at {@code address} answers PING with
   * {@code +PONG}, then returns its {@code process_id}, or -1 if INFO does not say.
   *
   * @throws IOException if the node did not answer in time (with the last reason)
   */
  static long awaitPid(InetSocketAddress address, long waitMillis)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + waitMillis * 1_000_000;
    IOException last;
    while (true) {
      try (Socket s = new Socket()) {
        s.connect(address, 2_000);
        s.setSoTimeout(5_000);
        OutputStream out = s.getOutputStream();
        InputStream in = new BufferedInputStream(s.getInputStream());
        out.write(PING);
        out.flush();
        String pong = line(in);
        if (!pong.equals("+PONG")) {
          throw new IOException("PING answered '" + pong + "'");
        }
        out.write(INFO_SERVER);
        out.flush();
        return pidOf(bulk(in));
      } catch (IOException e) {
        last = e;
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("the serving node at " + address + " did not answer within "
            + waitMillis + " ms: " + last.getMessage(), last);
      }
      Thread.sleep(RETRY_MILLIS);
    }
  }

  /** The {@code process_id} of an INFO reply, or -1. */
  static long pidOf(String info) {
    for (String l : info.split("\r\n")) {
      if (l.startsWith("process_id:")) {
        try {
          return Long.parseLong(l.substring("process_id:".length()).trim());
        } catch (NumberFormatException e) {
          return -1;
        }
      }
    }
    return -1;
  }

  private static String bulk(InputStream in) throws IOException {
    String header = line(in);
    if (header.startsWith("-")) {
      throw new IOException("INFO answered '" + header + "'");
    }
    if (!header.startsWith("$")) {
      throw new IOException("INFO answered '" + header + "', not a bulk string");
    }
    int length;
    try {
      length = Integer.parseInt(header.substring(1));
    } catch (NumberFormatException e) {
      throw new IOException("bad INFO length '" + header + "'");
    }
    if (length < 0 || length > INFO_BYTES_MAX) {
      throw new IOException("INFO reply of " + length + " bytes (at most " + INFO_BYTES_MAX + ")");
    }
    byte[] body = in.readNBytes(length);
    if (body.length != length) {
      throw new IOException("connection closed inside the INFO reply");
    }
    return new String(body, StandardCharsets.UTF_8);
  }

  private static String line(InputStream in) throws IOException {
    StringBuilder b = new StringBuilder();
    while (true) {
      int c = in.read();
      if (c < 0) {
        throw new IOException("connection closed by the node");
      }
      if (c == '\n') {
        return b.toString().trim();
      }
      if (b.length() >= LINE_BYTES_MAX) {
        throw new IOException("reply line longer than " + LINE_BYTES_MAX + " bytes");
      }
      b.append((char) c);
    }
  }
}
