package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Value recovery on a real shard ({@code respawn up --recovery online|offline}, three
 * processes): after a kill -9 of the primary, the witness that takes over holds the keys only as
 * timestamps, and every value the old primary acknowledged is served by it, pulled from the
 * backup. Online, it serves while values are still being pulled (a GET of a key not here yet waits
 * for a priority pull); offline, it serves nothing until every value is here. The dead primary is
 * not restarted within the test (so leadership stays with the witness).
 */
class RecoveryIT {
  static final int KEYS = 40_000;
  static final int VALUE_BYTES = 200;
  @TempDir Path tmp;

  static Map<String, String> info(int port) {
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

  /**
   * Waits until member 1 leads and takes a write (the witness may win the first election and
   * then hand leadership back to it).
   */
  static void awaitSteadyPrimary(int port) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      try (Jedis j = new Jedis("127.0.0.1", port, 5_000)) {
        if (j.info("replication").contains("respawn_role:primary")
            && "OK".equals(j.set("probe", "1")) && j.del("probe") == 1) {
          return;
        }
      } catch (RuntimeException e) {
        // not yet
      }
      Thread.sleep(50);
    }
    throw new IllegalStateException("member 1 on port " + port + " did not lead within 60 s");
  }

  /**
   * Writes (SET, or DEL for a null value) every key of {@code keys} to its value in {@code
   * values} with one pipeline per attempt, to whichever member leads: writes answered MOVED are
   * sent again to the member it names (they did not take effect). Every other answer must be OK
   * (or 1 for DEL).
   */
  static void writeAll(int firstPort, List<String> keys, Map<String, String> values)
      throws InterruptedException {
    List<String> left = keys;
    int port = firstPort;
    for (int attempt = 0; !left.isEmpty(); attempt++) {
      assertThat(attempt).as("writes still redirected after 50 attempts").isLessThan(50);
      List<String> again = new ArrayList<>();
      try (Jedis j = new Jedis("127.0.0.1", port, 30_000)) {
        Pipeline p = j.pipelined();
        List<Response<?>> replies = new ArrayList<>();
        for (String k : left) {
          replies.add(values.get(k) == null ? p.del(k) : p.set(k, values.get(k)));
        }
        p.syncAndReturnAll(); // errors come back as values rather than thrown
        for (int i = 0; i < left.size(); i++) {
          try {
            Object r = replies.get(i).get();
            assertThat(r).as(left.get(i)).isIn("OK", 1L);
          } catch (redis.clients.jedis.exceptions.JedisMovedDataException moved) {
            again.add(left.get(i));
            port = moved.getTargetNode().getPort();
          } catch (redis.clients.jedis.exceptions.JedisDataException busy) {
            // TRYAGAIN while leadership moves under the load: not carried out; again.
            assertThat(busy.getMessage()).startsWith("TRYAGAIN").doesNotContain("too many");
            again.add(left.get(i));
          }
        }
      }
      if (!again.isEmpty()) {
        Thread.sleep(50);
      }
      left = again;
    }
  }

  /**
   * Runs {@code op} as a cluster client would: follows MOVED, and asks again after an answer
   * that says the command did not run (TRYAGAIN other than a full write queue, LOADING,
   * CLUSTERDOWN), for up to 60 s.
   */
  static <T> T retrying(int port, java.util.function.Function<Jedis, T> op)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    RuntimeException last = null;
    while (System.nanoTime() < deadline) {
      try (Jedis j = new Jedis("127.0.0.1", port, 10_000)) {
        return op.apply(j);
      } catch (redis.clients.jedis.exceptions.JedisMovedDataException moved) {
        port = moved.getTargetNode().getPort();
        last = moved;
      } catch (redis.clients.jedis.exceptions.JedisDataException e) {
        String m = String.valueOf(e.getMessage());
        boolean notRun = m.startsWith("LOADING") || m.startsWith("CLUSTERDOWN")
            || (m.startsWith("TRYAGAIN") && !m.contains("too many writes"));
        if (!notRun) {
          throw e;
        }
        last = e;
      }
      Thread.sleep(20);
    }
    throw new AssertionError("no answer within 60 s", last);
  }

  /** Waits until the member on {@code port} answers INFO (it may start after the others). */
  static void awaitAnswers(int port) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      try {
        info(port);
        return;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }

  private static String value(int i, int round) {
    String head = "v" + round + ":" + i + ":";
    return head + "x".repeat(VALUE_BYTES - head.length());
  }

  @ParameterizedTest
  @ValueSource(strings = {"online", "offline"})
  void everyAcknowledgedValueIsServedAfterKillMinus9(String mode) throws Exception {
    int port = ShardProcess.freePortRange(3);
    Path data = tmp.resolve("data");
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1", "--recovery", mode,
        "--restart-delay-ms", "600000")) {
      int primary = port;
      awaitSteadyPrimary(primary);
      int witness = port + 2;
      awaitAnswers(witness);
      assertThat(info(witness).get("respawn_recovery_mode")).isEqualTo(mode);
      // Every key written once, a tenth of them twice, and a tenth deleted: each acknowledged.
      // (A write answered MOVED did not take effect: leadership moved under the load; it is
      // written again where the shard says.)
      Map<String, String> acknowledged = new LinkedHashMap<>();
      for (int round = 0; round < 2; round++) {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < KEYS; i += round == 0 ? 1 : 10) {
          keys.add("key:" + i);
        }
        for (int from = 0; from < keys.size(); from += 1_000) {
          for (String k : keys.subList(from, Math.min(keys.size(), from + 1_000))) {
            acknowledged.put(k, value(Integer.parseInt(k.substring(4)), round));
          }
          writeAll(port, keys.subList(from, Math.min(keys.size(), from + 1_000)), acknowledged);
        }
      }
      List<String> deleted = new ArrayList<>();
      for (int i = 5; i < KEYS; i += 10) {
        deleted.add("key:" + i);
        acknowledged.put("key:" + i, null);
      }
      writeAll(port, deleted, acknowledged);
      // The kill must hit member 1 while it leads, so that the witness takes over.
      awaitSteadyPrimary(primary);

      long killedAt = System.nanoTime();
      assertThat(new ProcessBuilder("kill", "-9", Long.toString(ShardProcess.pidAt(primary)))
          .start().waitFor()).isZero();

      // The first GET the witness answers, and what INFO said right after it.
      long deadline = killedAt + TimeUnit.SECONDS.toNanos(60);
      String first = null;
      List<String> errors = new ArrayList<>();
      Map<String, String> afterFirst = null;
      while (first == null && System.nanoTime() < deadline) {
        try (Jedis j = new Jedis("127.0.0.1", witness, 10_000)) {
          first = j.get("key:" + (KEYS - 1));
          afterFirst = info(witness);
        } catch (RuntimeException e) {
          if (errors.size() < 20) {
            errors.add(e.getMessage());
          }
          Thread.sleep(20);
        }
      }
      long firstMillis = (System.nanoTime() - killedAt) / 1_000_000;
      assertThat(first).as("a read on the witness after the kill; errors " + errors + "\n"
          + shard.memberLogs()).isEqualTo(acknowledged.get("key:" + (KEYS - 1)));
      System.out.println("recovery IT (" + mode + "): kill -9 to the first read on the witness "
          + firstMillis + " ms; INFO then: keys left "
          + afterFirst.get("respawn_recovery_keys_left") + ", phase "
          + afterFirst.get("respawn_recovery_phase") + ", errors seen " + errors);
      if (mode.equals("offline")) {
        assertThat(afterFirst.get("respawn_recovery_keys_left")).as("offline serves only once "
            + "every value is here").isEqualTo("0");
      } else {
        assertThat(Long.parseLong(afterFirst.get("respawn_recovery_keys_left")))
            .as("online serves while values are still being pulled\n" + shard.memberLogs())
            .isPositive();
      }

      // A write of a key whose value may not be here yet, read back at once.
      long redirectedReads = 0;
      assertThat(RecoveryIT.<String>retrying(witness, j -> j.set("key:3", "new"))).isEqualTo("OK");
      assertThat(RecoveryIT.<String>retrying(witness, j -> j.get("key:3"))).isEqualTo("new");
      acknowledged.put("key:3", "new");
      assertThat(RecoveryIT.<Long>retrying(witness, j -> j.append("key:7", "+")))
          .isEqualTo(acknowledged.get("key:7").length() + 1L);
      acknowledged.put("key:7", acknowledged.get("key:7") + "+");
      try (Jedis j = new Jedis("127.0.0.1", witness, 10_000)) {
        // Every acknowledged value, read back in pipelined batches (online: many are pulled on
        // demand while the background pull goes on).
        List<String> keys = new ArrayList<>(acknowledged.keySet());
        for (int from = 0; from < keys.size(); from += 1_000) {
          Pipeline p = j.pipelined();
          List<Response<String>> got = new ArrayList<>();
          List<String> batch = keys.subList(from, Math.min(keys.size(), from + 1_000));
          for (String k : batch) {
            got.add(p.get(k));
          }
          p.syncAndReturnAll(); // errors come back as values rather than thrown
          for (int k = 0; k < batch.size(); k++) {
            String read;
            try {
              read = got.get(k).get();
            } catch (redis.clients.jedis.exceptions.JedisDataException moved) {
              // The shard answers MOVED (to this same member) or TRYAGAIN for a read it could
              // not serve at that instant, e.g. its lease lapsed on a loaded machine; a client
              // follows it or asks again.
              redirectedReads++;
              String key = batch.get(k);
              read = retrying(witness, c -> c.get(key));
            }
            assertThat(read).as(batch.get(k)).isEqualTo(acknowledged.get(batch.get(k)));
          }
        }
      }
      assertThat(RecoveryIT.<Long>retrying(witness, Jedis::dbSize)).isEqualTo(acknowledged.values().stream()
          .filter(v -> v != null).count() + 0L);
      Map<String, String> end = info(witness);
      System.out.println("recovery IT (" + mode + "): at the end " + end.get("respawn_keys_pulled")
          + " keys pulled, " + end.get("respawn_recovery_priority_pulls") + " priority pulls, "
          + "average latency " + end.get("respawn_recovery_priority_latency_avg_us") + " us, "
          + "recovery took " + end.get("respawn_recovery_last_ms") + " ms; " + redirectedReads
          + " reads redirected");
      assertThat(end.get("respawn_recovery_keys_left")).isEqualTo("0");
      assertThat(end.get("respawn_recovery_phase")).isEqualTo("none");
      if (mode.equals("offline")) {
        assertThat(end.get("respawn_recovery_priority_pulls")).isEqualTo("0");
        // Offline, nothing asks for a key by itself: the scan of the backup's logs brings them.
        assertThat(Long.parseLong(end.get("respawn_recovery_batch_keys")))
            .as("values streamed by BatchPull\n" + shard.memberLogs()).isPositive();
      }
      // The backup streamed its logs on its own thread and ended the scan (done, or cancelled
      // once every value was here): its GC runs again.
      Map<String, String> backupInfo = info(port + 1);
      assertThat(Long.parseLong(backupInfo.get("respawn_pull_batch_scans"))).isPositive();
      long scanEndDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
      while (!shard.memberLogs().contains("GC resumed") && System.nanoTime() < scanEndDeadline) {
        Thread.sleep(100);
      }
      assertThat(shard.memberLogs()).as("the backup's scan ended").contains("GC resumed");
      assertThat(shard.terminate()).isZero();
    }
  }
}
