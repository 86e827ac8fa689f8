package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Speculative takeover on a real shard ({@code respawn up --takeover speculative}, three
 * processes): a primary stopped with SIGSTOP for less than its lease is suspected by the witness
 * (which warms up) but causes no failover and no client error; a kill -9 of the primary fails
 * over. The lease is 1 s here (the election timeout just above the ~1.02 s promise) so that a
 * loaded test machine's scheduling hiccups stay well inside it.
 */
class TakeoverIT {
  @TempDir Path tmp;

  private static Map<String, String> info(int port) {
    Map<String, String> out = new LinkedHashMap<>();
    try (Jedis j = new Jedis("127.0.0.1", port, 5_000)) {
      for (String line : j.info().split("\r?\n")) {
        int colon = line.indexOf(':');
        if (colon > 0 && !line.startsWith("#")) {
          out.put(line.substring(0, colon), line.substring(colon + 1).trim());
        }
      }
    }
    return out;
  }

  private static long field(int port, String name) {
    return Long.parseLong(info(port).get(name));
  }

  private static void signal(String sig, long pid) throws Exception {
    assertThat(new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).start().waitFor())
        .isZero();
  }

  @Test
  void aShortStallCausesNoFailoverAndAKillFailsOver() throws Exception {
    int port = ShardProcess.freePortRange(3);
    Path data = tmp.resolve("data");
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1", "--takeover",
        "speculative", "--phi-acceptable-pause-ms", "100", "--lease-ms", "1000",
        "--election-timeout-ms", "1100")) {
      // The configured primary leads: at start the witness may win the first election (its
      // process came up first) and then gives leadership back once the primary caught up.
      final int primary = shard.awaitConfiguredPrimaryLeads(30);
      int witness = port + 2;
      assertThat(info(witness).get("respawn_takeover")).isEqualTo("speculative");
      long term = field(primary, "respawn_term");
      long episodesBefore = field(witness, "respawn_suspicion_episodes");

      // A client writes throughout; every write must succeed (it may wait out the stall).
      AtomicBoolean running = new AtomicBoolean(true);
      AtomicLong written = new AtomicLong();
      AtomicLong errors = new AtomicLong();
      StringBuilder firstError = new StringBuilder();
      Thread writer = new Thread(() -> {
        try (Jedis j = new Jedis("127.0.0.1", primary, 10_000)) {
          for (long i = 0; running.get(); i++) {
            try {
              if ("OK".equals(j.set("k" + (i % 100), "v" + i))) {
                written.incrementAndGet();
              }
            } catch (RuntimeException e) {
              if (errors.getAndIncrement() == 0) {
                firstError.append(e);
              }
            }
          }
        }
      }, "takeover-it-writer");
      writer.start();
      Thread.sleep(500);

      long pid = ShardProcess.pidAt(primary);
      signal("STOP", pid);
      Thread.sleep(400); // past soft suspicion (~226 ms), well inside the 1 s lease
      signal("CONT", pid);
      Thread.sleep(2_000);
      running.set(false);
      writer.join(30_000);

      assertThat(errors.get()).as("client errors across the stall: " + firstError).isZero();
      assertThat(written.get()).isPositive();
      for (int m = 0; m < 3; m++) {
        assertThat(field(port + m, "respawn_term")).as("member %d's term after the stall\n%s",
            m + 1, shard.memberLogs()).isEqualTo(term);
      }
      assertThat(shard.primaryPort()).isEqualTo(primary);
      assertThat(field(witness, "respawn_suspicion_episodes"))
          .as("the witness suspected the stalled primary\n" + shard.memberLogs())
          .isGreaterThan(episodesBefore);
      assertThat(Files.readString(data.resolve("node-3").resolve("respawn.log")))
          .contains("suspects leader").contains("speculative takeover");

      // kill -9: the witness takes over once the lease has run out and its warm-up is done.
      Path witnessLog = data.resolve("node-3").resolve("respawn.log");
      int logBeforeKill = Files.readString(witnessLog).length();
      long killedAt = System.nanoTime();
      signal("9", pid);
      long deadline = killedAt + TimeUnit.SECONDS.toNanos(30);
      boolean wrote = false;
      while (!wrote && System.nanoTime() < deadline) {
        try (Jedis j = new Jedis("127.0.0.1", witness, 2_000)) {
          wrote = "OK".equals(j.set("after", "kill"));
        } catch (RuntimeException e) {
          Thread.sleep(20);
        }
      }
      long failoverMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertThat(wrote).as("a write on the witness after the kill\n" + shard.memberLogs()).isTrue();
      System.out.println("takeover IT: kill -9 to the first write on the witness " + failoverMillis
          + " ms (speculative, lease 1000 ms)");
      assertThat(field(witness, "respawn_term")).isGreaterThan(term);
      String afterKill = Files.readString(witnessLog).substring(logBeforeKill);
      int warmedUp = afterKill.indexOf("speculative takeover may campaign");
      assertThat(warmedUp).as("the witness reported its warm-up done after the kill\n" + afterKill)
          .isNotNegative();
      assertThat(afterKill.indexOf("leading in term")).as("and led only after that\n" + afterKill)
          .isGreaterThan(warmedUp);
      assertThat(shard.terminate()).isZero();
    }
  }
}
