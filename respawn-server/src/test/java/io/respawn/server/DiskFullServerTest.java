package io.respawn.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.server.resp.RespLimits;
import io.respawn.storage.Durability;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.crash.SpaceLimitedDisk;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * A full disk through real commands: a server on a disk that fills up ({@link SpaceLimitedDisk}
 * over the real data directory) and a Jedis client. Writes are refused with Redis's MISCONF
 * error while reads are served, DEL and FLUSHALL are accepted, writes resume by themselves once
 * space is freed, and every acknowledged key is there after a restart.
 */
class DiskFullServerTest {
  static final long CAPACITY_BYTES = 3 << 20;

  @TempDir Path tmp;
  private RespawnServer server;
  private SpaceLimitedDisk disk;
  private final Map<String, String> acked = new LinkedHashMap<>();

  private RespawnServer start(long capacityBytes) throws Exception {
    StorageConfig storage = StorageConfig.defaults()
        .withSizes(256 << 10, 2 << 20, 1 << 10, 1 << 20)
        .withFlushIntervalMillis(10)
        .withCompaction(0, 0.5, 0)
        .withDiskReserveBytes(256 << 10);
    ServerConfig config = new ServerConfig("127.0.0.1", 0, tmp.resolve("data"), Durability.ORDERED,
        null, RespLimits.DEFAULTS, 1, storage);
    return RespawnServer.start(config, dir -> {
      disk = new SpaceLimitedDisk(
          new FileChannelDisk(Files.createDirectories(dir.resolve("store"))), capacityBytes);
      return LogEngine.open(disk, storage);
    });
  }

  @AfterEach
  void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static String value(int i) {
    return i + ":" + "v".repeat(4000);
  }

  /** SETs new keys until the server refuses one; returns the refusal. */
  private String fill(Jedis jedis, String prefix) {
    for (int i = 0; i < 100_000; i++) {
      String key = prefix + i;
      try {
        jedis.set(key, value(i));
        acked.put(key, value(i));
      } catch (JedisDataException e) {
        assertThat(jedis.exists(key)).as("a refused SET is not applied").isFalse();
        return e.getMessage();
      }
    }
    throw new AssertionError("the disk never filled");
  }

  private void assertAcknowledgedKeysServed(Jedis jedis) {
    assertThat(jedis.dbSize()).isEqualTo(acked.size());
    acked.forEach((k, v) -> assertThat(jedis.get(k)).as(k).isEqualTo(v));
  }

  /** Retries a SET until it is accepted (the engine probes for room every second). */
  private void awaitWritesResume(Jedis jedis, String key) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        jedis.set(key, "resumed");
        acked.put(key, "resumed");
        return;
      } catch (JedisDataException e) {
        assertThat(e.getMessage()).startsWith("MISCONF");
        assertThat(System.nanoTime()).as("writes did not resume").isLessThan(deadline);
        Thread.sleep(50);
      }
    }
  }

  @Test
  void writesAreRefusedReadsServedDeletesAcceptedAndWritesResumeOnceSpaceIsFreed()
      throws Exception {
    server = start(CAPACITY_BYTES);
    try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 10_000)) {
      String first = fill(jedis, "k");
      assertThat(first).containsAnyOf("MISCONF", "disk full");
      assertThatThrownBy(() -> jedis.set("more", "x"))
          .isInstanceOf(JedisDataException.class)
          .hasMessage("MISCONF Errors writing to the log: No space left on device (disk full; "
              + "writes resume by themselves once the disk has room; reads, DEL, UNLINK and "
              + "FLUSHALL still work)");
      assertThatThrownBy(() -> jedis.incr("counter")).hasMessageStartingWith("MISCONF");
      assertThat(jedis.info("persistence")).contains("respawn_disk_full:1");
      assertAcknowledgedKeysServed(jedis);
      assertThat(jedis.ping()).isEqualTo("PONG");

      for (int i = 0; i < 20; i++) {
        assertThat(jedis.del("k" + i)).isEqualTo(1);
        acked.remove("k" + i);
      }
      assertAcknowledgedKeysServed(jedis);
      assertThatThrownBy(() -> jedis.set("more", "x")).hasMessageStartingWith("MISCONF");

      disk.capacity(CAPACITY_BYTES + (4 << 20)); // another process frees space
      awaitWritesResume(jedis, "after-space-freed");
      assertThat(jedis.info("persistence")).contains("respawn_disk_full:0");

      String again = fill(jedis, "second");
      assertThat(again).containsAnyOf("MISCONF", "disk full");
      long usedWhenFull = disk.usedBytes();
      assertThat(jedis.flushAll()).isEqualTo("OK");
      acked.clear();
      assertThat(jedis.dbSize()).isZero();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
      while (disk.usedBytes() > usedWhenFull / 4 && System.nanoTime() < deadline) {
        Thread.sleep(20); // the old segments go once the FLUSHALL is durable
      }
      assertThat(disk.usedBytes()).as("FLUSHALL shrank the log").isLessThan(usedWhenFull / 4);
      awaitWritesResume(jedis, "after-flushall");
      for (int i = 0; i < 50; i++) {
        jedis.set("last" + i, value(i));
        acked.put("last" + i, value(i));
      }
      assertAcknowledgedKeysServed(jedis);
    }
    server.close();
    server = start(CAPACITY_BYTES + (64 << 20));
    try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 10_000)) {
      assertAcknowledgedKeysServed(jedis); // every acknowledged key, nothing else
    }
  }
}
