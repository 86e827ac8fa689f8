package io.respawn.bench.mirror;

import io.respawn.mirror.WanLink;
import io.respawn.server.mirror.WanRelay;
import io.respawn.server.shard.LoopbackPorts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;

/**
 * A primary site and its mirror for the experiments: two {@code respawn server} processes on
 * loopback (this JVM's java and class path) joined by a {@link WanRelay} running in this JVM, so
 * the experiment sets delay and loss and cuts the link itself. The primary can be killed with
 * SIGKILL; {@link #close} kills whatever is left and deletes the data directories.
 */
final class SitePair implements AutoCloseable {
  static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  private static final long START_TIMEOUT_MILLIS = 60_000;

  final WanRelay relay;
  final Process mirror;
  final int mirrorPort;
  Process primary;
  final int primaryPort;
  private final Path root;

  private SitePair(WanRelay relay, Process mirror, int mirrorPort, Process primary,
      int primaryPort, Path root) {
    this.relay = relay;
    this.mirror = mirror;
    this.mirrorPort = mirrorPort;
    this.primary = primary;
    this.primaryPort = primaryPort;
    this.root = root;
  }

  /**
   * Starts relay, mirror and primary. {@code primaryFlags} are extra flags of the primary (its
   * default --mirror-ack, FEC, pacing).
   */
  static SitePair start(WanLink.Settings link, long seed, List<String> primaryFlags)
      throws IOException, InterruptedException {
    Path root = Files.createTempDirectory("respawn-mirror-bench");
    int mirrorUdp = LoopbackPorts.freeUdp();
    WanRelay relay = WanRelay.start(new InetSocketAddress(LOOPBACK, 0),
        new InetSocketAddress(LOOPBACK, mirrorUdp), link, seed,
        new InetSocketAddress(LOOPBACK, 0));
    Process mirror = null;
    try {
      int mirrorPort = freePort();
      mirror = server(root.resolve("mirror"), mirrorPort, List.of("--mirror-of",
          "127.0.0.1:" + relay.farAddress().getPort(), "--mirror-port",
          Integer.toString(mirrorUdp)));
      int primaryPort = freePort();
      List<String> flags = new ArrayList<>(List.of("--mirror-to",
          "127.0.0.1:" + relay.listenAddress().getPort()));
      flags.addAll(primaryFlags);
      Process primary = server(root.resolve("primary"), primaryPort, flags);
      return new SitePair(relay, mirror, mirrorPort, primary, primaryPort, root);
    } catch (IOException | InterruptedException | RuntimeException e) {
      if (mirror != null) {
        mirror.destroyForcibly();
      }
      relay.close();
      throw e;
    }
  }

  private static int freePort() throws IOException {
    return LoopbackPorts.free();
  }

  private static Process server(Path data, int port, List<String> extra)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xms256m", "-Xmx1g", "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
        "io.respawn.server.cli.RespawnCommand", "server", "--port", Integer.toString(port),
        "--data", data.toString(), "--log-level", "WARN"));
    cmd.addAll(extra);
    Files.createDirectories(data);
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    CompletableFuture<Boolean> ready = new CompletableFuture<>();
    List<String> output = new ArrayList<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String line = r.readLine(); line != null; line = r.readLine()) {
          synchronized (output) {
            if (output.size() < 50) {
              output.add(line);
            }
          }
          if (line.startsWith("respawn: serving RESP on")) {
            ready.complete(true);
          }
        }
      } catch (IOException e) {
        // the process is gone
      }
      ready.complete(false);
    }, "bench-server-" + port);
    reader.setDaemon(true);
    reader.start();
    boolean ok;
    try {
      ok = ready.get(START_TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      ok = false;
    }
    if (!ok) {
      p.destroyForcibly();
      synchronized (output) {
        throw new IOException("server on port " + port + " did not start: " + output);
      }
    }
    return p;
  }

  /** A client that speaks RESP2 without trying HELLO first. */
  static Jedis jedis(int port, int timeoutMillis) {
    return new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
        .timeoutMillis(timeoutMillis).autoNegotiateProtocol(false).build());
  }

  /** The primary's RESPAWN MIRROR STATUS as name → value. */
  Map<String, String> primaryStatus() {
    return status(primaryPort);
  }

  private static Map<String, String> status(int port) {
    try (Jedis j = jedis(port, 30_000)) {
      Map<String, String> map = new HashMap<>();
      String text = new String((byte[]) j.sendCommand(
          () -> "RESPAWN".getBytes(StandardCharsets.UTF_8), "MIRROR", "STATUS"),
          StandardCharsets.UTF_8);
      for (String line : text.split("\r\n")) {
        int colon = line.indexOf(':');
        if (colon > 0) {
          map.put(line.substring(0, colon), line.substring(colon + 1));
        }
      }
      return map;
    }
  }

  /** Waits (bounded) until the mirror applied everything the primary offered. */
  void awaitDrained(long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (!"0".equals(primaryStatus().get("lag_writes"))) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("the mirror did not catch up within " + timeoutMillis
            + " ms: " + primaryStatus());
      }
      Thread.sleep(50);
    }
  }

  /**
   * The disaster: SIGKILL the primary site, then cut the link at its entrance. A dead process
   * sends nothing more, but what it handed to the network before it died is already in the
   * relay's socket buffer, which on a busy machine the relay may not have read yet: that is
   * inside the link (it left the site), so the cut waits until the relay has taken it all (no
   * datagram from the primary for 100 ms). Returns the relay's statistics line at the cut.
   */
  String killPrimaryAndCut() throws InterruptedException {
    primary.destroyForcibly();
    primary.waitFor(10, TimeUnit.SECONDS);
    String before = relay.controlNow("stats");
    for (int quiet = 0; quiet < 2; ) {
      Thread.sleep(50);
      String now = relay.controlNow("stats");
      quiet = forwardOffered(now) == forwardOffered(before) ? quiet + 1 : 0;
      before = now;
    }
    String cut = relay.controlNow("cut");
    if (!cut.startsWith("OK")) {
      throw new IllegalStateException("relay: " + cut);
    }
    return before;
  }

  /** Datagrams the primary offered the link so far (every fate), from a stats line. */
  private static long forwardOffered(String stats) {
    return forward(stats, "");
  }

  /** Datagrams the link lost towards the mirror (random and burst), from a stats line. */
  static long forwardLost(String stats) {
    return forward(stats, "lost_");
  }

  /** Sum of the forward direction's fates whose names start with {@code prefix}. */
  private static long forward(String stats, String prefix) {
    String forward = stats.substring(stats.indexOf("forward"), stats.indexOf("backward"));
    long total = 0;
    for (String field : forward.split(" ")) {
      int eq = field.indexOf('=');
      if (eq > 0 && field.startsWith(prefix)) {
        total += Long.parseLong(field.substring(eq + 1));
      }
    }
    return total;
  }

  /**
   * Waits until the mirror has applied what reached it: its applied position has not moved for
   * {@code quietMillis} (bounded by 60 s). An operator promotes once the mirror is quiet too.
   */
  void awaitMirrorQuiet(long quietMillis) throws InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    String last = mirrorStatus().get("applied_position");
    long since = System.nanoTime();
    while (System.nanoTime() < deadline) {
      Thread.sleep(50);
      String now = mirrorStatus().get("applied_position");
      if (!now.equals(last)) {
        last = now;
        since = System.nanoTime();
      } else if (System.nanoTime() - since >= quietMillis * 1_000_000) {
        return;
      }
    }
  }

  Map<String, String> mirrorStatus() {
    return status(mirrorPort);
  }

  /** RESPAWN MIRROR PROMOTE on the mirror; returns the last applied position. */
  long promote() {
    try (Jedis m = jedis(mirrorPort, 30_000)) {
      String reply = new String((byte[]) m.sendCommand(
          () -> "RESPAWN".getBytes(StandardCharsets.UTF_8), "MIRROR", "PROMOTE"),
          StandardCharsets.UTF_8);
      return Long.parseLong(reply.split(" ")[4]);
    }
  }

  @Override
  public void close() {
    for (Process p : new Process[] {primary, mirror}) {
      if (p != null && p.isAlive()) {
        p.destroyForcibly();
        try {
          p.waitFor(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }
    relay.close();
    try {
      io.respawn.server.shard.ShardMember.deleteTree(root);
    } catch (IOException e) {
      // a temp directory left behind
    }
  }
}
