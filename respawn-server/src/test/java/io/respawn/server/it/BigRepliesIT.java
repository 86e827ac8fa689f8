package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * The storm from issue 7 against a real server process: 20 clients each pipelining 2,000 GETs of
 * a 1 MB value (40 GB of replies), plus 2 clients that pipeline as much and never read. The storm
 * must finish (or the server disconnect offenders); the server's resident memory must stay under
 * the bound documented in docs/operations.md (data set + heap max + --clients-buffer-bytes-max +
 * 256 MiB); a well-behaved client's PING must keep being answered; and SIGTERM in the middle of
 * the storm must stop the process within 5 s.
 */
class BigRepliesIT {
  static final int CLIENTS = 20;
  static final int STALLED_CLIENTS = 2;
  static final int GETS_PER_CLIENT = 2_000;
  static final int VALUE_BYTES = 1 << 20;
  static final long HEAP_MAX_BYTES = 512L << 20; // ServerProcess runs -Xmx512m
  static final long CLIENTS_BUFFER_BYTES_MAX = 128L << 20;
  static final long JVM_OVERHEAD_BYTES = 256L << 20;
  static final long RSS_BOUND_BYTES =
      VALUE_BYTES + HEAP_MAX_BYTES + CLIENTS_BUFFER_BYTES_MAX + JVM_OVERHEAD_BYTES;

  @TempDir Path tmp;

  private ServerProcess start() throws Exception {
    ServerProcess server = ServerProcess.start(tmp.resolve("data"), ServerProcess.freePort(),
        "--clients-buffer-bytes-max", Long.toString(CLIENTS_BUFFER_BYTES_MAX));
    try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 10_000)) {
      jedis.set("big".getBytes(StandardCharsets.US_ASCII), new byte[VALUE_BYTES]);
    }
    return server;
  }

  /** Outcome of one storm client. */
  record Outcome(int repliesRead, boolean disconnected) {}

  /** Opens a client that pipelines its GETs; reads and checks every reply unless stalled. */
  private static Outcome stormClient(int port, boolean reads, AtomicBoolean stop) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
      s.setSoTimeout(60_000);
      OutputStream out = s.getOutputStream();
      Thread writer = new Thread(() -> {
        try {
          out.write("*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n".repeat(GETS_PER_CLIENT)
              .getBytes(StandardCharsets.US_ASCII));
          out.flush();
        } catch (IOException e) {
          // disconnected by the server: the reader sees it too
        }
      });
      writer.setDaemon(true);
      writer.start();
      if (!reads) {
        while (!stop.get()) {
          sleep(50);
        }
        return new Outcome(0, false);
      }
      InputStream in = new BufferedInputStream(s.getInputStream(), 1 << 16);
      byte[] header = ("$" + VALUE_BYTES + "\r\n").getBytes(StandardCharsets.US_ASCII);
      byte[] seen = new byte[header.length];
      int read = 0;
      try {
        while (read < GETS_PER_CLIENT && !stop.get()) {
          if (in.readNBytes(seen, 0, seen.length) < seen.length) {
            return new Outcome(read, true);
          }
          assertThat(new String(seen, StandardCharsets.US_ASCII))
              .isEqualTo(new String(header, StandardCharsets.US_ASCII));
          in.skipNBytes(VALUE_BYTES + 2L);
          read++;
        }
      } catch (java.io.EOFException | java.net.SocketException e) {
        return new Outcome(read, true);
      }
      return new Outcome(read, false);
    }
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static long rssBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/status"))) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // the process is gone
    }
    return 0;
  }

  /** Samples the server's RSS and a well-behaved client's PING round trips while a storm runs. */
  private static final class Watch implements AutoCloseable {
    final AtomicLong rssMax = new AtomicLong();
    final List<Long> pingNanos = Collections.synchronizedList(new ArrayList<>());
    final AtomicLong pingFailures = new AtomicLong();
    final AtomicBoolean stop = new AtomicBoolean();
    final Thread rss;
    final Thread ping;

    Watch(ServerProcess server) {
      rss = new Thread(() -> {
        while (!stop.get()) {
          rssMax.accumulateAndGet(rssBytes(server.pid()), Math::max);
          sleep(50);
        }
      }, "rss-sampler");
      ping = new Thread(() -> {
        try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 30_000)) {
          while (!stop.get()) {
            long t0 = System.nanoTime();
            try {
              assertThat(jedis.ping()).isEqualTo("PONG");
              pingNanos.add(System.nanoTime() - t0);
            } catch (RuntimeException e) {
              pingFailures.incrementAndGet();
              return;
            }
            sleep(20);
          }
        }
      }, "pinger");
      rss.start();
      ping.start();
    }

    long pingMaxMillis() {
      synchronized (pingNanos) {
        return pingNanos.stream().mapToLong(Long::longValue).max().orElse(0) / 1_000_000;
      }
    }

    long pingP99Millis() {
      synchronized (pingNanos) {
        List<Long> sorted = new ArrayList<>(pingNanos);
        Collections.sort(sorted);
        return sorted.isEmpty() ? 0 : sorted.get((int) (sorted.size() * 0.99)) / 1_000_000;
      }
    }

    @Override
    public void close() throws InterruptedException {
      stop.set(true);
      rss.join(10_000);
      ping.join(35_000);
    }
  }

  @Test
  void theStormFinishesWithinTheMemoryBoundWhilePingsAreAnswered() throws Exception {
    try (ServerProcess server = start()) {
      long rssBefore = rssBytes(server.pid());
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS + STALLED_CLIENTS);
      AtomicBoolean stop = new AtomicBoolean();
      List<Future<Outcome>> readers = new ArrayList<>();
      List<Future<Outcome>> stalled = new ArrayList<>();
      long t0 = System.nanoTime();
      int pings;
      try (Watch watch = new Watch(server)) {
        for (int i = 0; i < STALLED_CLIENTS; i++) {
          stalled.add(pool.submit(() -> stormClient(server.port(), false, stop)));
        }
        for (int i = 0; i < CLIENTS; i++) {
          readers.add(pool.submit(() -> stormClient(server.port(), true, stop)));
        }
        int completed = 0;
        int disconnected = 0;
        for (Future<Outcome> f : readers) {
          Outcome o = f.get(10, TimeUnit.MINUTES);
          if (o.disconnected()) {
            disconnected++;
          } else {
            assertThat(o.repliesRead()).isEqualTo(GETS_PER_CLIENT);
            completed++;
          }
        }
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0);
        stop.set(true);
        for (Future<Outcome> f : stalled) {
          f.get(1, TimeUnit.MINUTES);
        }
        pings = watch.pingNanos.size();
        watch.close();
        System.out.printf("BigRepliesIT: storm of %d x %d GETs of %d bytes in %d s: %d clients"
                + " completed, %d disconnected; server RSS %d MiB before, %d MiB max (bound %d"
                + " MiB); %d PINGs answered during it, p99 %d ms, max %d ms%n",
            CLIENTS, GETS_PER_CLIENT, VALUE_BYTES, seconds, completed, disconnected,
            rssBefore >> 20, watch.rssMax.get() >> 20, RSS_BOUND_BYTES >> 20, pings,
            watch.pingP99Millis(), watch.pingMaxMillis());
        assertThat(completed + disconnected).isEqualTo(CLIENTS);
        assertThat(watch.rssMax.get()).as(server.logTail()).isLessThan(RSS_BOUND_BYTES);
        assertThat(watch.pingFailures.get()).as("PING failures").isZero();
        assertThat(pings).as("PINGs answered during the storm").isGreaterThan(10);
        assertThat(watch.pingMaxMillis()).as("slowest PING during the storm, ms").isLessThan(2_000);
      } finally {
        stop.set(true);
        pool.shutdownNow();
      }
      try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 10_000)) {
        assertThat(jedis.strlen("big")).isEqualTo(VALUE_BYTES);
      }
      assertThat(server.terminate()).as(server.logTail()).isZero();
    }
  }

  @Test
  void sigtermStopsTheNodeWithinFiveSecondsInTheMiddleOfTheStorm() throws Exception {
    try (ServerProcess server = start()) {
      ExecutorService pool = Executors.newFixedThreadPool(CLIENTS + STALLED_CLIENTS);
      AtomicBoolean stop = new AtomicBoolean();
      try {
        for (int i = 0; i < CLIENTS + STALLED_CLIENTS; i++) {
          boolean reads = i >= STALLED_CLIENTS;
          pool.submit(() -> stormClient(server.port(), reads, stop));
        }
        Thread.sleep(3_000);
        long t0 = System.nanoTime();
        int exit = server.terminate(5, TimeUnit.SECONDS);
        long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        System.out.printf("BigRepliesIT: SIGTERM during the storm: exit %d after %d ms%n", exit,
            millis);
        assertThat(exit).as(server.logTail()).isZero();
        assertThat(server.logTail()).contains("stopped cleanly");
      } finally {
        stop.set(true);
        pool.shutdownNow();
      }
    }
  }
}
