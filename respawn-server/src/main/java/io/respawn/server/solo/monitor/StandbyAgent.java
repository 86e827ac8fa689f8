package io.respawn.server.solo.monitor;

import io.respawn.storage.KvStore;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standby's end of the control connection ({@link ControlLine}): waits, warm, for the
 * monitor's orders and carries them out — recover a store directory, then serve it or drop it.
 *
 * <pre>
 *   IDLE --RECOVER--&gt; RECOVERING --done--&gt; RECOVERED --SERVE--&gt; SERVING
 *     ^                    |                    |
 *     +-------ABORT--------+--------ABORT-------+
 * </pre>
 *
 * Recovery runs on its own thread so that the control thread keeps reading: an ABORT that
 * arrives while the log is still being replayed waits for the replay to end (it cannot be
 * interrupted half-way without leaving the engine half-open), then closes the store. The reply to
 * RECOVER is then {@code -ERR aborted} and the reply to ABORT {@code +IDLE}, in that order.
 *
 * <p>Threads: the caller's ({@link #run}: accepts the one control connection and reads it) and
 * one recovery thread per RECOVER. Replies are written under the output stream's lock.
 */
public final class StandbyAgent {
  private static final Logger log = LoggerFactory.getLogger(StandbyAgent.class);

  /** How long a standby waits for its monitor to connect before giving up and exiting. */
  public static final int CONNECT_WAIT_MILLIS = 60_000;

  /** Why {@link #run} returned. */
  public enum Outcome {
    /** The monitor went away before this standby served: the process should exit. */
    RELEASED,
    /** This standby serves the store now; the caller keeps it running until it stops. */
    SERVING
  }

  private final ServerSocket control;
  private final String token;
  private final StandbyTarget target;
  private final Object lock = new Object();
  private KvStore recovered;
  private Path recoveredDir;
  private CompletableFuture<Void> recovering;
  private volatile boolean abortRequested;
  private StandbyTarget.Serving serving;

  /**
   * @param control the listening loopback socket the monitor connects to (its port is printed
   *     in the standby's ready line)
   * @param token what HELLO must carry
   */
  public StandbyAgent(ServerSocket control, String token, StandbyTarget target) {
    if (token == null || token.isEmpty()) {
      throw new IllegalArgumentException("a standby needs a non-empty control token");
    }
    this.control = control;
    this.token = token;
    this.target = target;
  }

  /** The node this standby serves as, once {@link #run} returned {@link Outcome#SERVING}. */
  public StandbyTarget.Serving serving() {
    synchronized (lock) {
      return serving;
    }
  }

  /**
   * Accepts the monitor's connection (rejecting connections that do not say HELLO with the
   * token) and obeys it until it closes. Returns SERVING if by then this standby serves.
   */
  public Outcome run() throws IOException {
    control.setSoTimeout(CONNECT_WAIT_MILLIS);
    while (true) {
      Socket socket;
      try {
        socket = control.accept();
      } catch (SocketTimeoutException e) {
        log.warn("no monitor connected within {} ms: exiting", CONNECT_WAIT_MILLIS);
        return Outcome.RELEASED;
      }
      try (socket) {
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(CONNECT_WAIT_MILLIS);
        InputStream in = new BufferedInputStream(socket.getInputStream());
        OutputStream out = socket.getOutputStream();
        String hello;
        try {
          hello = ControlLine.read(in);
        } catch (IOException e) {
          continue;
        }
        if (hello == null || !hello.startsWith("HELLO ") || !sameToken(hello.substring(6))) {
          log.warn("control connection from {} without the right HELLO: closed",
              socket.getRemoteSocketAddress());
          continue;
        }
        socket.setSoTimeout(0); // the monitor may stay quiet for as long as it likes now
        control.close(); // one monitor per standby
        ControlLine.write(out, "+OK " + ProcessHandle.current().pid());
        obey(in, out);
      }
      awaitRecovery();
      synchronized (lock) {
        if (serving != null) {
          log.info("control connection closed; serving on port {} continues", serving.port());
          return Outcome.SERVING;
        }
        closeRecovered();
      }
      log.info("control connection closed before this standby was needed: exiting");
      return Outcome.RELEASED;
    }
  }

  private boolean sameToken(String offered) {
    return MessageDigest.isEqual(offered.getBytes(StandardCharsets.UTF_8),
        token.getBytes(StandardCharsets.UTF_8));
  }

  private void obey(InputStream in, OutputStream out) throws IOException {
    String line;
    while (true) {
      try {
        line = ControlLine.read(in);
      } catch (IOException e) {
        log.warn("control connection failed: {}", e.getMessage());
        return;
      }
      if (line == null) {
        return;
      }
      int space = line.indexOf(' ');
      String word = space < 0 ? line : line.substring(0, space);
      String arg = space < 0 ? "" : line.substring(space + 1);
      switch (word) {
        case "PING" -> ControlLine.write(out, "+PONG");
        case "RECOVER" -> startRecovery(out, arg);
        case "SERVE" -> ControlLine.write(out, serve(arg));
        case "ABORT" -> {
          abortRequested = true;
          awaitRecovery();
          synchronized (lock) {
            closeRecovered();
            abortRequested = false;
          }
          ControlLine.write(out, "+IDLE");
        }
        default -> ControlLine.write(out, "-ERR unknown control command '" + word + "'");
      }
    }
  }

  private void startRecovery(OutputStream out, String dir) throws IOException {
    synchronized (lock) {
      if (serving != null || recovered != null || recovering != null) {
        ControlLine.write(out, "-ERR RECOVER needs an idle standby");
        return;
      }
      if (dir.isEmpty()) {
        ControlLine.write(out, "-ERR RECOVER needs a directory");
        return;
      }
      Path storeDir = Path.of(dir);
      recovering = CompletableFuture.runAsync(() -> recover(out, storeDir),
          r -> new Thread(r, "respawn-standby-recovery").start());
    }
  }

  private void recover(OutputStream out, Path storeDir) {
    long started = System.nanoTime();
    String reply;
    try {
      KvStore store = target.recover(storeDir);
      long millis = (System.nanoTime() - started) / 1_000_000;
      synchronized (lock) {
        if (abortRequested) {
          closeQuietly(store);
          reply = "-ERR aborted";
        } else {
          recovered = store;
          recoveredDir = storeDir;
          reply = "+RECOVERED " + store.keyCount() + " " + millis;
        }
      }
      log.info("recovered {} in {} ms", storeDir, millis);
    } catch (IOException | RuntimeException e) {
      log.error("recovery of {} failed: {}", storeDir, e.toString(), e);
      reply = "-ERR recovery failed: " + oneLine(e);
    }
    try {
      ControlLine.write(out, reply);
    } catch (IOException e) {
      log.warn("could not report recovery: {}", e.getMessage());
    } finally {
      synchronized (lock) {
        recovering = null;
      }
    }
  }

  private String serve(String arg) {
    int port;
    try {
      port = Integer.parseInt(arg.trim());
    } catch (NumberFormatException e) {
      return "-ERR SERVE needs a port, got '" + arg + "'";
    }
    if (port < 0 || port > 65535) {
      return "-ERR port must be between 0 and 65535, got " + port;
    }
    synchronized (lock) {
      if (serving != null) {
        return "-ERR already serving on port " + serving.port();
      }
      if (recovered == null) {
        return "-ERR SERVE needs a recovered store";
      }
      try {
        serving = target.serve(recovered, recoveredDir, port);
      } catch (IOException | RuntimeException e) {
        log.error("cannot serve on port {}: {}", port, e.toString(), e);
        return "-ERR cannot serve: " + oneLine(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "-ERR interrupted";
      }
      recovered = null; // the server owns it now
      log.info("serving {} on port {}", recoveredDir, serving.port());
      return "+SERVING " + serving.port();
    }
  }

  private void awaitRecovery() {
    CompletableFuture<Void> r;
    synchronized (lock) {
      r = recovering;
    }
    if (r != null) {
      r.join();
    }
  }

  /** Caller holds {@code lock}. */
  private void closeRecovered() {
    if (recovered != null) {
      closeQuietly(recovered);
      recovered = null;
      recoveredDir = null;
    }
  }

  private void closeQuietly(KvStore store) {
    try {
      target.discard(store);
    } catch (IOException | RuntimeException e) {
      log.warn("closing a recovered store failed: {}", e.toString());
    }
  }

  private static String oneLine(Throwable e) {
    return String.valueOf(e.getMessage()).replace('\n', ' ').replace('\r', ' ');
  }
}
