package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Crash safety of acknowledged DURABLE writes: cycles of (start the server with --durability
 * DURABLE, several clients overwrite keys with increasing values and record every acknowledged
 * one, SIGKILL the process at a random moment, restart, check). Each key must hold its last
 * acknowledged value or a later attempted one (a write in flight at the kill may or may not have
 * landed). Pairs written by one MSET must never be half-applied. Seeded; the seed is printed.
 */
class KillNineIT {
  static final int CYCLES = 20;
  static final int WRITERS = 4;
  static final int KEYS_PER_WRITER = 25;

  @TempDir Path tmp;

  /** Per key: highest value acknowledged, highest value sent. */
  private final AtomicLongArray acked = new AtomicLongArray(WRITERS * KEYS_PER_WRITER);
  private final AtomicLongArray attempted = new AtomicLongArray(WRITERS * KEYS_PER_WRITER);
  private long checkedAcks;
  private long pairsChecked;
  private long nextPairValue;

  @Test
  void acknowledgedDurableWritesSurviveKillMinus9() throws Exception {
    long seed = System.nanoTime();
    System.out.println("KillNineIT seed " + seed);
    Random random = new Random(seed);
    Path data = tmp.resolve("data");
    int port = ServerProcess.freePort();
    long ackedTotal = 0;
    for (int cycle = 0; cycle < CYCLES; cycle++) {
      try (ServerProcess server = ServerProcess.start(data, port, "--durability", "DURABLE")) {
        verify(server, "before cycle " + cycle + " (seed " + seed + ")");
        ackedTotal += writeUntilKilled(server, 150 + random.nextInt(450));
      }
    }
    try (ServerProcess server = ServerProcess.start(data, port, "--durability", "DURABLE")) {
      verify(server, "after the last cycle (seed " + seed + ")");
      server.terminate();
    }
    System.out.printf("KillNineIT: %d cycles, %d acknowledged writes, %d key checks, %d MSET pair"
        + " checks, 0 lost%n", CYCLES, ackedTotal, checkedAcks, pairsChecked);
    assertThat(ackedTotal).as("the workload made progress").isGreaterThan(CYCLES * 10L);
  }

  private static String key(int index) {
    return "w" + (index / KEYS_PER_WRITER) + ":k" + (index % KEYS_PER_WRITER);
  }

  private void verify(ServerProcess server, String when) {
    try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 10_000)) {
      for (int i = 0; i < acked.length(); i++) {
        long a = acked.get(i);
        long t = attempted.get(i);
        String value = jedis.get(key(i));
        if (a == 0 && value == null) {
          continue;
        }
        assertThat(value).as("%s: %s was acknowledged at %d", when, key(i), a).isNotNull();
        long v = Long.parseLong(value);
        assertThat(v).as("%s: %s lost acknowledged value %d (attempted up to %d)",
            when, key(i), a, t).isBetween(a, t);
        // A value that landed counts as acknowledged from now on: it must never go back.
        acked.set(i, v);
        attempted.set(i, v);
        checkedAcks++;
      }
      List<String> pair = jedis.mget("pair:a", "pair:b");
      assertThat(pair.get(0)).as("%s: MSET pair half-applied", when).isEqualTo(pair.get(1));
      pairsChecked++;
    }
  }

  /** Runs the writers until the server is SIGKILLed after {@code killAfterMillis}. */
  private long writeUntilKilled(ServerProcess server, long killAfterMillis) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    long[] counts = new long[WRITERS + 1];
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) {
      int writer = w;
      threads.add(new Thread(() -> {
        try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 10_000)) {
          for (int n = 0; !stop.get(); n++) {
            int index = writer * KEYS_PER_WRITER + n % KEYS_PER_WRITER;
            long value = attempted.get(index) + 1;
            attempted.set(index, value);
            jedis.set(key(index), Long.toString(value));
            acked.set(index, value);
            counts[writer]++;
          }
        } catch (RuntimeException e) {
          // the server was killed mid-request
        }
      }, "writer-" + w));
    }
    threads.add(new Thread(() -> {
      try (Jedis jedis = new Jedis("127.0.0.1", server.port(), 10_000)) {
        while (!stop.get()) {
          String v = Long.toString(++nextPairValue);
          jedis.mset("pair:a", v, "pair:b", v);
          counts[WRITERS]++;
        }
      } catch (RuntimeException e) {
        // killed
      }
    }, "pair-writer"));
    threads.forEach(Thread::start);
    Thread.sleep(killAfterMillis);
    server.kill9();
    stop.set(true);
    for (Thread t : threads) {
      t.join(15_000);
      assertThat(t.isAlive()).as(t.getName() + " stopped").isFalse();
    }
    long total = 0;
    for (long c : counts) {
      total += c;
    }
    return total;
  }
}
