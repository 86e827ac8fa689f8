package io.respawn.server.solo.monitor;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * The control connection between the monitor and a warm standby: text lines on a loopback TCP
 * connection that the standby listens for and the monitor opens.
 *
 * <pre>
 *  line  := word *( SP argument ) LF        US-ASCII except the path (UTF-8), at most
 *                                            LINE_BYTES_MAX bytes including the LF
 *
 *  monitor -> standby                       standby -> monitor (one reply per command, in order)
 *  HELLO &lt;token&gt;                            +OK &lt;pid&gt;            (must be the first line)
 *  PING                                     +PONG
 *  RECOVER &lt;store directory, rest of line&gt;  +RECOVERED &lt;keys&gt; &lt;millis&gt;  | -ERR &lt;why&gt;
 *  SERVE &lt;port&gt;                             +SERVING &lt;port&gt;        | -ERR &lt;why&gt;
 *  ABORT                                    +IDLE                  (drops a recovered store)
 * </pre>
 *
 * The token is a random value the monitor hands the standby in its environment, so another local
 * process that finds the port cannot drive the standby. A standby that loses its control
 * connection before it serves exits (no orphans when the monitor dies); once serving, it is the
 * store and outlives the monitor.
 */
final class ControlLine {
  /** Longest line either side accepts, LF included. */
  static final int LINE_BYTES_MAX = 8192;

  /** Environment variable that carries the HELLO token to a standby the monitor starts. */
  static final String TOKEN_ENV = "RESPAWN_STANDBY_TOKEN";

  private ControlLine() {}

  /** Reads one line without its LF, or null at end of stream; refuses over-long lines. */
  static String read(InputStream in) throws IOException {
    byte[] buf = new byte[256];
    int n = 0;
    while (true) {
      int b = in.read();
      if (b < 0) {
        if (n == 0) {
          return null;
        }
        throw new IOException("control connection closed mid-line");
      }
      if (b == '\n') {
        return new String(buf, 0, n, StandardCharsets.UTF_8);
      }
      if (n + 1 >= LINE_BYTES_MAX) {
        throw new IOException("control line longer than " + LINE_BYTES_MAX + " bytes");
      }
      if (n == buf.length) {
        buf = java.util.Arrays.copyOf(buf, buf.length * 2);
      }
      buf[n++] = (byte) b;
    }
  }

  /** Writes one line (the LF is added); refuses lines with an LF or over the limit. */
  static void write(OutputStream out, String line) throws IOException {
    byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
    if (line.indexOf('\n') >= 0 || line.indexOf('\r') >= 0) {
      throw new IllegalArgumentException("control line holds a line break: " + line);
    }
    if (bytes.length > LINE_BYTES_MAX) {
      throw new IllegalArgumentException("control line of " + bytes.length + " bytes exceeds "
          + LINE_BYTES_MAX);
    }
    synchronized (out) {
      out.write(bytes);
      out.flush();
    }
  }
}
