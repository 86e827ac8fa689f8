package io.respawn.bench.e1;

import io.respawn.server.shard.LoopbackPorts;
import io.respawn.server.shard.ShardLayout;
import io.respawn.server.shard.ShardSupervisor;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;

/**
 * The Respawn shard E1 measures: what {@code respawn up} starts (one primary, one backup, one
 * witness, each its own process on loopback, kept running by a {@link ShardSupervisor}) on a
 * free port range, data under {@code dir}. Clients talk to the configured primary (member 1);
 * each connection picks its acknowledgement level with {@code RESPAWN DURABILITY}.
 */
final class RespawnShard implements AutoCloseable {
  static final String SHAPE = "1+1+1";
  static final long READY_TIMEOUT_MILLIS = 60_000;
  static final long STOP_TIMEOUT_MILLIS = 30_000;

  final ShardLayout layout;
  private final ShardSupervisor supervisor;
  /** Stops the members if the benchmark is interrupted (Ctrl-C) before {@link #close}. */
  private final Thread hook;

  private RespawnShard(ShardLayout layout, ShardSupervisor supervisor) {
    this.layout = layout;
    this.supervisor = supervisor;
    this.hook = new Thread(supervisor::stop, "e1-stop-shard");
  }

  /** Starts the members with {@code jvmOptions} and waits until the primary takes a write. */
  static RespawnShard start(Path dir, List<String> jvmOptions)
      throws IOException, InterruptedException {
    int members = 3;
    int port = LoopbackPorts.freeRange(members, ShardLayout.PEER_PORT_OFFSET);
    ShardLayout layout = ShardLayout.of(dir, "127.0.0.1", port, SHAPE);
    List<Path> configs = layout.prepare();
    ShardSupervisor sup = new ShardSupervisor(layout.members(),
        id -> ShardSupervisor.javaMember(configs.get(id - 1),
            layout.memberDir(id).resolve("respawn.log"), jvmOptions, List.of()),
        1_000, STOP_TIMEOUT_MILLIS);
    RespawnShard shard = new RespawnShard(layout, sup);
    Runtime.getRuntime().addShutdownHook(shard.hook);
    try {
      sup.start();
      shard.awaitPrimary();
    } catch (IOException | RuntimeException | InterruptedException e) {
      shard.close();
      throw e;
    }
    return shard;
  }

  /** RESP port of the configured primary. */
  int primaryPort() {
    return layout.respPort(1);
  }

  /** The member processes' pids (member 1 first). */
  long pid(int member) {
    return supervisor.pid(member);
  }

  private void awaitPrimary() throws IOException, InterruptedException {
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MILLIS;
    String last = "no answer";
    while (System.currentTimeMillis() < deadline) {
      if (supervisor.failure() != null) {
        throw new IOException("the shard did not start: " + supervisor.failure());
      }
      try (Jedis j = new Jedis(new HostAndPort("127.0.0.1", primaryPort()),
          DefaultJedisClientConfig.builder().timeoutMillis(1_000)
              .protocol(RedisProtocol.RESP2).build())) {
        // Steady state: member 1 leads (a witness that won the first election hands
        // leadership back to it) and holds every value, and it takes a write.
        if (j.info("replication").contains("respawn_role:primary")
            && "OK".equals(j.set("e1:probe", "1"))) {
          return;
        }
        last = "member 1 does not lead yet";
      } catch (RuntimeException e) {
        last = e.toString();
      }
      Thread.sleep(100);
    }
    throw new IOException("the shard's primary (port " + primaryPort()
        + ") took no write within " + READY_TIMEOUT_MILLIS + " ms: " + last
        + " (see " + layout.memberDir(1).resolve("respawn.log") + ")");
  }

  @Override
  public void close() {
    supervisor.stop();
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException e) {
      // already shutting down: the hook stops the members (stop is idempotent)
    }
  }
}
