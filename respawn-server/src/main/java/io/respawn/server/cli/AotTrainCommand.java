package io.respawn.server.cli;

import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.server.resp.RespLimits;
import io.respawn.server.shard.ShardMember;
import io.respawn.server.shard.TakeoverRehearsal;
import io.respawn.storage.Durability;
import io.respawn.storage.StorageConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code respawn aot-train --dir DIR}: the training run of the JVM's ahead-of-time cache (JDK 25,
 * {@code -XX:AOTCacheOutput}), which the launcher runs once after each build (bin/respawn). It
 * starts a single-node server on a loopback port of its own with the log engine in {@code
 * DIR}, sends it {@link #COMMANDS} commands of the kinds clients send most (one per round trip,
 * and pipelined bursts), stops it, then runs a shard member's takeover rehearsal (value
 * recovery and serving on scratch stores, {@link TakeoverRehearsal}). The JVM records the
 * classes this loads and links and the methods' profiles; later JVMs started with the cache
 * find those classes already parsed and linked: a server answers its first PING in ~0.6 s
 * instead of ~1.2 s, and the start-up state its first young collections copy is smaller (docs/
 * operations.md, "The start-up cache"). Hidden: nothing but the launcher needs it. Deletes
 * {@code DIR} when done.
 */
@Command(name = "aot-train", hidden = true,
    description = "Training run for the JVM's ahead-of-time cache (the launcher runs it).")
final class AotTrainCommand implements Callable<Integer> {
  /** Commands sent to the scratch server: enough for the JIT's profiles of the request path. */
  static final int COMMANDS = 40_000;
  private static final int BURST_EVERY = 16;
  private static final int BURST = 32;

  @Option(names = "--dir", required = true, paramLabel = "DIR",
      description = "Scratch directory (created, deleted when done).")
  Path dir;

  @Override
  public Integer call() throws Exception {
    ShardMember.deleteTree(dir); // what a training killed midway left
    Files.createDirectories(dir);
    long start = System.nanoTime();
    long answered;
    try {
      answered = serveScratchServer(dir.resolve("server"));
      TakeoverRehearsal.runForTraining(dir.resolve("rehearsal"));
    } finally {
      ShardMember.deleteTree(dir);
    }
    System.out.printf("aot-train: %d commands served, takeover rehearsed, %d ms%n", answered,
        (System.nanoTime() - start) / 1_000_000);
    return 0;
  }

  private static long serveScratchServer(Path data) throws Exception {
    ServerConfig config = new ServerConfig("127.0.0.1", 0, data, Durability.ORDERED, null,
        RespLimits.DEFAULTS, 1, StorageConfig.defaults());
    long answered = 0;
    String value = "v".repeat(100);
    try (RespawnServer server = RespawnServer.start(config);
        RespClient client = new RespClient("127.0.0.1", server.port(), 10_000)) {
      for (int round = 0; answered < COMMANDS; round++) {
        String key = "train:" + (round % 10_000);
        expect(client.call("SET", key, value), "OK");
        expect(client.call("GET", key), value);
        client.call("INCR", "train:counter:" + (round % 100));
        client.call("EXPIRE", key, "3600");
        answered += 4;
        if (round % BURST_EVERY == 0) {
          for (int i = 0; i < BURST; i++) {
            client.send("SET", "train:burst:" + i, value);
            client.send("GET", "train:burst:" + i);
          }
          client.flush();
          for (int i = 0; i < 2 * BURST; i++) {
            client.reply();
          }
          client.call("MSET", "train:m1", value, "train:m2", value);
          client.call("MGET", "train:m1", "train:m2", "train:absent");
          client.call("DEL", "train:m1");
          client.call("PING");
          answered += 2 * BURST + 4;
        }
      }
      client.call("INFO");
      client.call("DBSIZE");
    }
    return answered;
  }

  private static void expect(Object reply, String wanted) {
    if (!wanted.equals(reply)) {
      throw new IllegalStateException("aot-train: the scratch server answered " + reply
          + " where " + wanted + " was expected");
    }
  }
}
