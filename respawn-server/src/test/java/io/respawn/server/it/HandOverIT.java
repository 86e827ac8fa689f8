package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisCluster;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * Planned stops (DESIGN §5.5) on real processes: {@code RESPAWN HANDOVER} on the primary (three
 * times, each followed by the witness giving leadership back) and SIGTERM of the primary's
 * process each move leadership to another member while writer threads write continuously
 * through one JedisCluster; the writers (which follow MOVED, as configured by default) see no
 * failed request, and every acknowledged value is there afterwards.
 */
class HandOverIT {
  @TempDir Path tmp;

  /** Writer threads sharing one JedisCluster; each writes w:T:N = N in a loop. */
  static final int WRITER_THREADS = 4;

  /** Writes key w:T:N = N in a loop per thread T through one JedisCluster, counting failures. */
  private static final class Writer implements AutoCloseable {
    final JedisCluster jedis;
    final AtomicBoolean running = new AtomicBoolean(true);
    final AtomicLong acked = new AtomicLong();
    final List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    final Set<String> ackedKeys = ConcurrentHashMap.newKeySet();
    final List<Thread> threads = new ArrayList<>();

    Writer(int seedPort) {
      jedis = new JedisCluster(Set.of(new HostAndPort("127.0.0.1", seedPort)),
          DefaultJedisClientConfig.builder().connectionTimeoutMillis(1_000)
              .socketTimeoutMillis(5_000).build(), 5, Duration.ofSeconds(10));
      for (int t = 0; t < WRITER_THREADS; t++) {
        String prefix = "w:" + t + ":";
        Thread thread = new Thread(() -> {
          for (long n = 0; running.get(); n++) {
            try {
              jedis.set(prefix + n, Long.toString(n));
              acked.incrementAndGet();
              ackedKeys.add(prefix + n);
            } catch (RuntimeException e) {
              errors.add(e);
            }
          }
        }, "handover-writer-" + t);
        threads.add(thread);
        thread.start();
      }
    }

    void stop() throws InterruptedException {
      running.set(false);
      for (Thread t : threads) {
        t.join(30_000);
      }
    }

    /** Waits until {@code more} further writes are acknowledged (at most 30 s). */
    void awaitProgress(long more) throws InterruptedException {
      long target = acked.get() + more;
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (acked.get() < target && System.nanoTime() < deadline) {
        Thread.sleep(10);
      }
      assertThat(acked.get()).as("writes acknowledged; errors " + errors).isGreaterThanOrEqualTo(
          target);
    }

    @Override
    public void close() throws InterruptedException {
      stop();
      jedis.close();
    }
  }

  private static String respawnHandOver(int port) {
    try (Jedis j = new Jedis("127.0.0.1", port, 10_000)) {
      return redis.clients.jedis.util.SafeEncoder.encode(
          (byte[]) j.sendCommand(() -> "RESPAWN".getBytes(), "HANDOVER"));
    }
  }

  @Test
  void clientsFollowingMovedSeeNoFailedRequestAcrossHandOverAndSigterm() throws Exception {
    int port = ShardProcess.freePortRange(3);
    try (ShardProcess shard = ShardProcess.start(tmp.resolve("data"), port, "1+1+1")) {
      int backup = port + 1;
      try (Writer w = new Writer(backup)) {
        w.awaitProgress(200);
        int primary = shard.awaitConfiguredPrimaryLeads(30);
        // A member that is not the primary refuses, naming the primary.
        assertThatThrownBy(() -> respawnHandOver(backup)).isInstanceOf(JedisDataException.class)
            .hasMessageContaining("not the primary").hasMessageContaining(":" + primary);

        for (int round = 1; round <= 3; round++) {
          assertThat(respawnHandOver(primary)).as("RESPAWN HANDOVER, round " + round)
              .isEqualTo("OK");
          // The old primary stopped leading; members name the new one once they hear from it.
          long movedDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
          while (shard.primaryPort() == primary && System.nanoTime() < movedDeadline) {
            Thread.sleep(10);
          }
          assertThat(shard.primaryPort()).as("leadership moved").isNotEqualTo(primary);
          w.awaitProgress(200);
          assertThat(w.errors).as("failed requests across RESPAWN HANDOVER").isEmpty();

          // The witness leads now and gives leadership back to the configured primary once
          // that one is caught up (a second planned transfer).
          long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
          while (shard.primaryPort() != primary && System.nanoTime() < deadline) {
            Thread.sleep(50);
          }
          assertThat(shard.primaryPort()).as("leadership back on the configured primary")
              .isEqualTo(primary);
          w.awaitProgress(200);
          assertThat(w.errors).as("failed requests across giving leadership back").isEmpty();
        }
        // Then stop the primary's process with SIGTERM.
        long pid = ShardProcess.pidAt(primary);
        assertThat(new ProcessBuilder("kill", "-TERM", Long.toString(pid)).start().waitFor())
            .isZero();
        long exitDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)
            && System.nanoTime() < exitDeadline) {
          Thread.sleep(20);
        }
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
            .as("the primary's process exited after SIGTERM").isFalse();
        w.awaitProgress(200);
        assertThat(w.errors).as("failed requests across SIGTERM of the primary").isEmpty();
        w.stop();
        // Every acknowledged write is there.
        assertThat(w.ackedKeys).hasSizeGreaterThanOrEqualTo(1400);
        for (String key : Set.copyOf(w.ackedKeys)) {
          assertThat(w.jedis.get(key)).as("acknowledged " + key)
              .isEqualTo(key.substring(key.lastIndexOf(':') + 1));
        }
      }
      assertThat(shard.terminate()).isZero();
    }
  }
}
