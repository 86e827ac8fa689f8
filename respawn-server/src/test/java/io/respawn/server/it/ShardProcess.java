package io.respawn.server.it;

import io.respawn.server.shard.LoopbackPorts;
import io.respawn.server.shard.ShardLayout;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import redis.clients.jedis.Jedis;

/**
 * {@code respawn up} as a test fixture: the supervisor process and the member processes it
 * starts on consecutive ports. Waits for its "serving" line; {@link #close} sends SIGTERM (as
 * Ctrl-C would) and checks that every member is gone.
 */
final class ShardProcess implements AutoCloseable {
  static final long START_TIMEOUT_SECONDS = 60;
  private final Process up;
  private final int firstPort;
  private final int members;
  private final Path data;
  private final StringBuffer output = new StringBuffer();

  private ShardProcess(Process up, int firstPort, int members, Path data) {
    this.up = up;
    this.firstPort = firstPort;
    this.members = members;
    this.data = data;
  }

  /**
   * A first RESP port such that it and the next {@code count - 1}, and their peer ports, are free
   * now and below the ephemeral range ({@link LoopbackPorts}).
   */
  static int freePortRange(int count) throws IOException {
    return LoopbackPorts.freeRange(count, ShardLayout.PEER_PORT_OFFSET);
  }

  static ShardProcess start(Path data, int firstPort, String shape, String... extra)
      throws IOException, InterruptedException {
    String classpath = System.getProperty("surefire.test.class.path");
    if (classpath == null || classpath.isBlank()) {
      classpath = System.getProperty("java.class.path");
    }
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-ea", "-Xmx256m", "-XX:+UseSerialGC",
        "-cp", classpath, "io.respawn.server.cli.RespawnCommand", "up", "--port",
        Integer.toString(firstPort), "--data", data.toString(), "--shape", shape,
        "--member-java-opts", "-ea -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1"));
    cmd.addAll(List.of(extra));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    int members = 1;
    for (String part : shape.split("\\+")) {
      members += Integer.parseInt(part);
    }
    ShardProcess shard = new ShardProcess(p, firstPort, members - 1, data);
    CompletableFuture<Boolean> ready = new CompletableFuture<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader r = new BufferedReader(
          new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        String line;
        while ((line = r.readLine()) != null) {
          shard.output.append(line).append('\n');
          if (line.startsWith("respawn: serving")) {
            ready.complete(true);
          }
        }
      } catch (IOException e) {
        // gone
      }
      ready.complete(false);
    }, "up-output");
    reader.setDaemon(true);
    reader.start();
    try {
      if (!ready.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        throw new IllegalStateException("respawn up exited before serving:\n" + shard.output
            + shard.memberLogs());
      }
    } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
      shard.close();
      throw new IllegalStateException("respawn up did not serve within " + START_TIMEOUT_SECONDS
          + " s:\n" + shard.output + shard.memberLogs(), e);
    }
    return shard;
  }

  int port(int member) {
    return firstPort + member - 1;
  }

  int members() {
    return members;
  }

  String output() {
    return output.toString();
  }

  /** Process id of the member answering on {@code port} (INFO's process_id). */
  static long pidAt(int port) {
    try (Jedis j = new Jedis("127.0.0.1", port, 2_000)) {
      for (String line : j.info("server").split("\r?\n")) {
        if (line.startsWith("process_id:")) {
          return Long.parseLong(line.substring("process_id:".length()).trim());
        }
      }
    }
    throw new IllegalStateException("no process_id in INFO of port " + port);
  }

  /**
   * Waits until the configured primary (member 1) leads, at most {@code seconds}; returns its
   * port. Right after start-up another member (the witness, when its process came up first) may
   * win the first election and hand leadership back once member 1 caught up: a test that reads
   * "the primary" before then names the wrong member.
   */
  int awaitConfiguredPrimaryLeads(int seconds) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    int leader = primaryPort();
    while (leader != port(1) && System.nanoTime() < deadline) {
      Thread.sleep(100);
      leader = primaryPort();
    }
    if (leader != port(1)) {
      throw new AssertionError("the configured primary (port " + port(1) + ") does not lead "
          + "after " + seconds + " s; the leader is on port " + leader + "\n" + memberLogs());
    }
    return leader;
  }

  /** The RESP port of the member that is primary now (CLUSTER SLOTS of any member), or -1. */
  int primaryPort() {
    for (int m = 1; m <= members; m++) {
      try (Jedis j = new Jedis("127.0.0.1", port(m), 1_000)) {
        List<Object> slots = j.clusterSlots();
        if (!slots.isEmpty()) {
          List<?> primary = (List<?>) ((List<?>) slots.get(0)).get(2);
          return (int) (long) (Long) primary.get(1);
        }
      } catch (RuntimeException e) {
        // next member
      }
    }
    return -1;
  }

  /**
   * The last lines of every member's log: the members {@code respawn up} started and any member
   * a test added beside them ({@code node-N} directories after theirs, e.g. a replacement).
   */
  String memberLogs() {
    StringBuilder b = new StringBuilder();
    int last = members;
    try (java.util.stream.Stream<Path> dirs = Files.list(data)) {
      for (Path d : (Iterable<Path>) dirs::iterator) {
        String name = d.getFileName().toString();
        if (name.matches("node-\\d+") && Files.isDirectory(d)) {
          last = Math.max(last, Integer.parseInt(name.substring("node-".length())));
        }
      }
    } catch (IOException e) {
      // the data directory is gone: the members' logs with it
    }
    for (int m = 1; m <= last; m++) {
      Path log = data.resolve("node-" + m).resolve("respawn.log");
      try {
        List<String> lines = Files.exists(log) ? Files.readAllLines(log) : List.of();
        b.append("--- node-").append(m).append(" (last 40 lines)\n");
        lines.subList(Math.max(0, lines.size() - 40), lines.size())
            .forEach(l -> b.append(l).append('\n'));
      } catch (IOException e) {
        b.append("(unreadable ").append(log).append(")\n");
      }
    }
    return b.toString();
  }

  /** SIGTERM to {@code respawn up}; returns its exit code. */
  int terminate() throws InterruptedException {
    up.destroy();
    if (!up.waitFor(60, TimeUnit.SECONDS)) {
      up.destroyForcibly();
      throw new IllegalStateException("respawn up did not exit 60 s after SIGTERM");
    }
    return up.exitValue();
  }

  @Override
  public void close() {
    if (up.isAlive()) {
      List<ProcessHandle> children = up.descendants().toList();
      try {
        terminate();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      children.forEach(ProcessHandle::destroyForcibly);
    }
  }
}
