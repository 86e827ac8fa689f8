package io.respawn.server.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real {@code redis-server} (the reference the differential tests compare against) on a free
 * loopback port with its own temporary directory, persistence off. Installed by
 * {@code scripts/install-test-deps.sh}; a test that needs it fails with that advice if it is
 * missing. {@link #close} kills the process (by its pid) if it is still alive.
 */
final class RedisServerProcess implements AutoCloseable {
  static final long START_TIMEOUT_MILLIS = 10_000;

  private final Process process;
  private final int port;

  private RedisServerProcess(Process process, int port) {
    this.process = process;
    this.port = port;
  }

  static RedisServerProcess start(Path dir) throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int port = ServerProcess.freePort();
    Path log = dir.resolve("redis-" + port + ".log");
    Process p;
    try {
      p = new ProcessBuilder(List.of("redis-server", "--port", Integer.toString(port),
          "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
          "--dir", dir.toString(), "--logfile", log.toString()))
          .redirectErrorStream(true).redirectOutput(dir.resolve("redis-stdout.log").toFile())
          .start();
    } catch (IOException e) {
      throw new IllegalStateException(
          "redis-server not found (run scripts/install-test-deps.sh): " + e.getMessage(), e);
    }
    RedisServerProcess server = new RedisServerProcess(p, port);
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(START_TIMEOUT_MILLIS);
    while (!server.answersPing()) {
      if (!p.isAlive() || System.nanoTime() > deadline) {
        server.close();
        throw new IllegalStateException("redis-server did not start on port " + port + ": "
            + (Files.exists(log) ? Files.readString(log) : "(no log)"));
      }
      Thread.sleep(20);
    }
    return server;
  }

  private boolean answersPing() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 200);
      s.setSoTimeout(1_000);
      s.getOutputStream().write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
      byte[] reply = s.getInputStream().readNBytes(7);
      return new String(reply, StandardCharsets.US_ASCII).equals("+PONG\r\n");
    } catch (IOException e) {
      return false;
    }
  }

  int port() {
    return port;
  }

  /** The redis-server process (to watch it exit after SHUTDOWN). */
  Process process() {
    return process;
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
