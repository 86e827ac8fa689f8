package io.respawn.server.solo.monitor;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/**
 * Heartbeats the serving node: sends RESP {@code PING} every {@code intervalMillis} on one
 * connection and records when a {@code +PONG} last came back, and whether the connection was
 * lost or refused since. Detectors ({@link FailureDetector}) read these two facts; the probe
 * itself decides nothing.
 *
 * <p>A PING stays outstanding until answered: a stalled node gets no second PING, so when it
 * wakes its answer arrives at once and the probe notices within one read. Between PINGs the probe
 * keeps reading the connection rather than sleeping, so a node whose process died (a kill -9
 * closes its sockets at once) is seen as a lost connection within a millisecond or so, not at the
 * next PING. A closed or refused connection is retried every interval.
 *
 * <p>Owns its thread ({@code respawn-heartbeat}); the two facts are volatile fields any thread
 * reads.
 */
final class HeartbeatProbe implements AutoCloseable {
  private static final byte[] PING = "*1\r\n$4\r\nPING\r\n".getBytes(StandardCharsets.US_ASCII);
  /** A reply line longer than this is not a PONG; the connection is dropped. */
  private static final int REPLY_BYTES_MAX = 1024;

  private final long intervalMillis;
  private final Thread thread;
  private volatile InetSocketAddress target;
  private volatile long lastReplyNanos;
  private volatile long lostAtNanos = -1;
  private volatile boolean stopped;

  /** Starts probing {@code target}; counts the start as a reply (the node was just seen up). */
  HeartbeatProbe(InetSocketAddress target, long intervalMillis) {
    if (intervalMillis < 1 || intervalMillis > 60_000) {
      throw new IllegalArgumentException("heartbeat interval must be 1..60000 ms, got "
          + intervalMillis);
    }
    this.target = target;
    this.intervalMillis = intervalMillis;
    this.lastReplyNanos = System.nanoTime();
    this.thread = new Thread(this::run, "respawn-heartbeat");
    thread.setDaemon(true);
    thread.start();
  }

  /** When the last PONG arrived (System.nanoTime). */
  long lastReplyNanos() {
    return lastReplyNanos;
  }

  /** When the connection was last lost or refused after the last PONG, or -1 if not since. */
  long connectionLostAtNanos() {
    return lostAtNanos;
  }

  /**
   * Probes a new serving node from now on (after a failover); its start counts as a reply. The
   * probe's thread drops its connection to the old target within one interval (its reads time
   * out that often); until then what it hears from the old one counts for nothing.
   */
  void retarget(InetSocketAddress newTarget) {
    target = newTarget;
    lastReplyNanos = System.nanoTime();
    lostAtNanos = -1;
  }

  /**
   * The probe's loop. The connection is confined to this thread (another thread closing it under
   * a read once killed the thread with a NullPointerException, after which the node looked
   * silent for good); any failure counts as a lost connection and the loop goes on.
   */
  private void run() {
    InetSocketAddress current = null;
    Socket socket = null;
    InputStream in = null;
    while (!stopped) {
      try {
        if (socket == null || current != target) {
          closeQuietly(socket);
          socket = null;
          current = target;
          Socket s = new Socket();
          s.setTcpNoDelay(true);
          try {
            s.connect(current, (int) Math.max(1, intervalMillis));
            s.setSoTimeout((int) Math.max(1, intervalMillis));
          } catch (IOException e) {
            closeQuietly(s);
            throw e;
          }
          socket = s;
          in = new BufferedInputStream(s.getInputStream(), 64);
        }
        OutputStream out = socket.getOutputStream();
        out.write(PING);
        out.flush();
        awaitPong(in, current);
        if (current == target) {
          lastReplyNanos = System.nanoTime();
          lostAtNanos = -1;
        }
        awaitQuiet(socket, in, current, intervalMillis);
      } catch (IOException | RuntimeException e) {
        if (current == target && lostAtNanos < 0) {
          lostAtNanos = System.nanoTime();
        }
        closeQuietly(socket);
        socket = null;
        sleepQuietly(intervalMillis);
      } catch (InterruptedException e) {
        break;
      }
    }
    closeQuietly(socket);
  }

  /**
   * Waits {@code millis} before the next PING, reading the connection meanwhile: nothing may
   * arrive (the node sends only replies); end of stream means the node's process is gone.
   */
  private void awaitQuiet(Socket s, InputStream in, InetSocketAddress current, long millis)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + millis * 1_000_000;
    while (!stopped && current == target) {
      long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
      if (leftMillis < 1) {
        break;
      }
      s.setSoTimeout((int) leftMillis);
      int b;
      try {
        b = in.read();
      } catch (SocketTimeoutException e) {
        continue;
      } finally {
        s.setSoTimeout((int) Math.max(1, intervalMillis));
      }
      if (b < 0) {
        throw new IOException("connection closed by the node");
      }
      throw new IOException("the node sent a byte nobody asked for: " + b);
    }
    if (Thread.interrupted()) {
      throw new InterruptedException();
    }
  }

  /** Reads one reply line; waits through read timeouts while the target stays the same. */
  private void awaitPong(InputStream in, InetSocketAddress current) throws IOException {
    StringBuilder line = new StringBuilder();
    while (true) {
      int b;
      try {
        b = in.read();
      } catch (SocketTimeoutException e) {
        if (stopped || current != target) {
          throw new IOException("probe retargeted or stopped");
        }
        continue; // still silent: the detector sees the silence grow
      }
      if (b < 0) {
        throw new IOException("connection closed by the node");
      }
      if (b == '\n') {
        break;
      }
      if (line.length() > REPLY_BYTES_MAX) {
        throw new IOException("reply to PING too long");
      }
      line.append((char) b);
    }
    String reply = line.toString().trim();
    // A -LOADING or -ERR reply still proves the process runs, but it is not serving: not a pong.
    if (!reply.equals("+PONG")) {
      throw new IOException("PING answered '" + reply + "'");
    }
  }

  private static void closeQuietly(Socket s) {
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        // gone already
      }
    }
  }

  private static void sleepQuietly(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    stopped = true;
    thread.interrupt();
  }
}
