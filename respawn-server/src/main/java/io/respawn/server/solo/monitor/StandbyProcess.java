package io.respawn.server.solo.monitor;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monitor's handle on one warm standby process ({@code respawn standby}): starts it, waits
 * for its ready line, opens the control connection ({@link ControlLine}) and sends it orders,
 * each answered by a future that completes with the standby's reply.
 *
 * <p>Threads: any thread may send (sends are serialized); one reader thread per standby
 * ({@code respawn-standby-N-reader}) completes the futures in order. The process's own output
 * goes to a log file.
 */
public final class StandbyProcess implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StandbyProcess.class);
  /** The line a standby prints once warm: {@code respawn: standby ready, control port N}. */
  public static final String READY_PREFIX = "respawn: standby ready, control port ";

  private final int id;
  private final Process process;
  private final Socket socket;
  private final OutputStream out;
  private final ArrayDeque<CompletableFuture<String>> pending = new ArrayDeque<>();
  private volatile boolean closed;

  /** How a standby is started: the JVM, its options and the standby's own flags. */
  public record Launch(List<String> jvmArgs, List<String> standbyArgs, Path logDir,
      long readyTimeoutMillis) {
    public Launch {
      jvmArgs = List.copyOf(jvmArgs);
      standbyArgs = List.copyOf(standbyArgs);
      if (readyTimeoutMillis < 1) {
        throw new IllegalArgumentException("readyTimeoutMillis must be >= 1, got "
            + readyTimeoutMillis);
      }
    }
  }

  private StandbyProcess(int id, Process process, Socket socket) throws IOException {
    this.id = id;
    this.process = process;
    this.socket = socket;
    this.out = socket.getOutputStream();
  }

  /**
   * Starts standby number {@code id} with this JVM's class path and waits (at most the launch's
   * ready timeout) until it is warm and has accepted the control connection.
   */
  public static StandbyProcess start(int id, Launch launch) throws IOException,
      InterruptedException, TimeoutException {
    byte[] random = new byte[16];
    new SecureRandom().nextBytes(random);
    String token = HexFormat.of().formatHex(random);
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElse("java"));
    cmd.addAll(launch.jvmArgs());
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add("io.respawn.server.cli.RespawnCommand");
    cmd.add("standby");
    cmd.addAll(launch.standbyArgs());
    ProcessBuilder pb = new ProcessBuilder(cmd);
    pb.environment().put(ControlLine.TOKEN_ENV, token);
    pb.redirectError(ProcessBuilder.Redirect.appendTo(
        launch.logDir().resolve("standby-" + id + ".log").toFile()));
    Process p = pb.start();
    try {
      int port = awaitReady(p, launch.readyTimeoutMillis());
      Socket s = new Socket();
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setTcpNoDelay(true);
      StandbyProcess standby = new StandbyProcess(id, p, s);
      CompletableFuture<String> hello = standby.send("HELLO " + token);
      standby.startReader(s.getInputStream());
      String ok = hello.get(launch.readyTimeoutMillis(), TimeUnit.MILLISECONDS);
      if (!ok.startsWith("+OK")) {
        standby.close();
        throw new IOException("standby " + id + " refused HELLO: " + ok);
      }
      return standby;
    } catch (IOException | InterruptedException | TimeoutException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    } catch (java.util.concurrent.ExecutionException e) {
      p.destroyForcibly();
      throw new IOException("standby " + id + ": " + e.getCause().getMessage(), e.getCause());
    }
  }

  /** Reads the standby's stdout until its ready line; the rest of stdout is drained. */
  private static int awaitReady(Process p, long timeoutMillis) throws IOException,
      InterruptedException, TimeoutException {
    CompletableFuture<Integer> ready = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          if (!ready.isDone() && line.startsWith(READY_PREFIX)) {
            String rest = line.substring(READY_PREFIX.length()).trim();
            int end = rest.indexOf(' ');
            ready.complete(Integer.parseInt(end < 0 ? rest : rest.substring(0, end)));
          }
        }
        ready.completeExceptionally(new IOException("standby exited before it was ready (exit "
            + p.waitFor() + ")"));
      } catch (IOException | RuntimeException | InterruptedException e) {
        ready.completeExceptionally(e);
      }
    }, "respawn-standby-stdout");
    reader.setDaemon(true);
    reader.start();
    try {
      return ready.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    }
  }

  private void startReader(InputStream raw) {
    Thread t = new Thread(() -> {
      InputStream in = new BufferedInputStream(raw);
      IOException failure = null;
      try {
        String line;
        while ((line = ControlLine.read(in)) != null) {
          CompletableFuture<String> f;
          synchronized (pending) {
            f = pending.poll();
          }
          if (f == null) {
            log.warn("standby {} sent an unrequested line: {}", id, line);
          } else {
            f.complete(line);
          }
        }
      } catch (IOException e) {
        failure = e;
      }
      IOException gone = new IOException("standby " + id + " closed its control connection"
          + (failure == null ? "" : ": " + failure.getMessage()));
      synchronized (pending) {
        for (CompletableFuture<String> f : pending) {
          f.completeExceptionally(gone);
        }
        pending.clear();
        closed = true;
      }
    }, "respawn-standby-" + id + "-reader");
    t.setDaemon(true);
    t.start();
  }

  /** Sends one order; the future completes with the reply line (or fails if the link goes). */
  public CompletableFuture<String> send(String line) {
    CompletableFuture<String> f = new CompletableFuture<>();
    synchronized (pending) {
      if (closed) {
        f.completeExceptionally(new IOException("standby " + id + " is gone"));
        return f;
      }
      pending.add(f);
      try {
        ControlLine.write(out, line);
      } catch (IOException e) {
        pending.remove(f);
        f.completeExceptionally(e);
      }
    }
    return f;
  }

  /** RECOVER: completes with the reply ({@code +RECOVERED keys millis} or an error). */
  public CompletableFuture<String> recover(Path storeDir) {
    return send("RECOVER " + storeDir.toAbsolutePath());
  }

  /** SERVE: completes with the reply ({@code +SERVING port} or an error). */
  public CompletableFuture<String> serve(int port) {
    return send("SERVE " + port);
  }

  /** ABORT: completes with {@code +IDLE} once a recovered or recovering store is closed. */
  public CompletableFuture<String> abort() {
    return send("ABORT");
  }

  public int id() {
    return id;
  }

  public long pid() {
    return process.pid();
  }

  public Process process() {
    return process;
  }

  /** Whether the process is alive and the control connection open. */
  public boolean usable() {
    return !closed && process.isAlive();
  }

  /**
   * Closes the control connection. A standby that was not serving exits by itself; one that
   * serves keeps serving (it is the store).
   */
  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // already closed
    }
  }

  /** Kills the process (SIGKILL): for a standby that must not serve, or at monitor exit. */
  public void kill() {
    close();
    process.destroyForcibly();
  }

  @Override
  public String toString() {
    return "standby " + id + " (pid " + process.pid() + ")";
  }
}
