package io.respawn.bench.e1;

import io.respawn.bench.LocalJedis;
import io.respawn.server.shard.LoopbackPorts;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import redis.clients.jedis.Jedis;

/**
 * A {@code redis-server} on loopback for E1: append-only file with {@code appendfsync everysec}
 * (Redis's recommended persistence), RDB snapshots off ({@code save ""}: a fork every minute
 * under load would only add noise; the AOF is the persistence compared), AOF rewriting at
 * Redis's defaults, data under {@code dir}. Optionally the replica of another one.
 */
final class RedisPeer {
  static final long READY_TIMEOUT_MILLIS = 30_000;

  final int port;
  final Process process;

  private RedisPeer(int port, Process process) {
    this.port = port;
    this.process = process;
  }

  /** Starts a Redis server; {@code primaryPort > 0} makes it that server's replica. */
  static RedisPeer start(LocalProcesses processes, Path dir, int primaryPort)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    int port = LoopbackPorts.free();
    List<String> cmd = new ArrayList<>(List.of("redis-server",
        "--port", Integer.toString(port), "--bind", "127.0.0.1", "--dir", dir.toString(),
        "--daemonize", "no", "--save", "", "--appendonly", "yes",
        "--appendfsync", "everysec", "--logfile", ""));
    if (primaryPort > 0) {
      cmd.addAll(List.of("--replicaof", "127.0.0.1", Integer.toString(primaryPort)));
    }
    Process p = processes.start(cmd, dir.resolve("redis.log"));
    RedisPeer peer = new RedisPeer(port, p);
    peer.awaitReady(primaryPort > 0);
    return peer;
  }

  private void awaitReady(boolean replica) throws InterruptedException, IOException {
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MILLIS;
    String last = "no answer";
    while (System.currentTimeMillis() < deadline) {
      if (!process.isAlive()) {
        throw new IOException("redis-server on port " + port + " exited with "
            + process.exitValue() + " (see its redis.log)");
      }
      try (Jedis j = connect(1_000)) {
        String info = j.info("replication");
        if (!replica || info.contains("master_link_status:up")) {
          return;
        }
        last = "replication link not up yet";
      } catch (RuntimeException e) {
        last = e.toString();
      }
      Thread.sleep(100);
    }
    throw new IOException("redis-server on port " + port + " not ready within "
        + READY_TIMEOUT_MILLIS + " ms: " + last);
  }

  Jedis connect(int timeoutMillis) {
    return LocalJedis.connect(port, timeoutMillis);
  }
}
