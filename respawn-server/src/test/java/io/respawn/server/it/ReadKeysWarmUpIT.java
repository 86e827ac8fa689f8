package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * The keys clients only read come back first after a failover (online recovery, three
 * processes). Every key is written once, in bulk, so each record sits in the backup's cold log;
 * then clients read a few hundred of them many times and write none. The primary samples those
 * reads and reports them; the backup's popular set ranks them first, though its hot log holds few
 * of them (only keys in the popular set when written back go there; the segments are larger than
 * the data, so none is sealed and GC moves nothing). After
 * a kill -9 of the primary the witness pulls the popular set by key hash before and right after
 * its election, so GETs of the read keys are served from installed values, with no priority
 * pull, while the copy of the cold log is still under way. Before the popular set was pulled by
 * hash the warm-up staged only the (here empty) hot log, and each such GET waited for a pull.
 */
class ReadKeysWarmUpIT {
  static final int KEYS = 100_000;
  static final int READ_KEYS = 300;
  static final int READS_PER_KEY = 30;
  static final int VALUE_BYTES = 1000;

  @TempDir Path tmp;

  private static long field(Map<String, String> info, String name) {
    String v = info.get(name);
    if (v == null) {
      throw new AssertionError("no INFO field " + name + ": " + info);
    }
    return Long.parseLong(v);
  }

  private static String readKey(int i) {
    return "key:" + (i * (KEYS / READ_KEYS) + 7);
  }

  private static String value(int i) {
    String head = "v:" + i + ":";
    return head + "x".repeat(VALUE_BYTES - head.length());
  }

  @Test
  void getsOfKeysThatWereOnlyReadNeedNoPriorityPullAfterAFailover() throws Exception {
    int port = ShardProcess.freePortRange(3);
    Path data = tmp.resolve("data");
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1", "--recovery", "online",
        "--restart-delay-ms", "600000",
        "--member-config", "popularity-sample-probability=1", // every read counts
        "--member-config", "popularity-report-ms=200",
        "--member-config", "backup-hot-keys=2000",
        "--member-config", "backup-segment-bytes=" + (512 << 20))) {
      int primary = port;
      int backup = port + 1;
      int witness = port + 2;
      RecoveryIT.awaitSteadyPrimary(primary);
      RecoveryIT.awaitAnswers(witness);
      Map<String, String> acknowledged = new LinkedHashMap<>();
      List<String> batch = new ArrayList<>();
      for (int i = 0; i < KEYS; i++) {
        acknowledged.put("key:" + i, value(i));
        batch.add("key:" + i);
        if (batch.size() == 1_000) {
          RecoveryIT.writeAll(primary, batch, acknowledged);
          batch = new ArrayList<>();
        }
      }
      RecoveryIT.awaitSteadyPrimary(primary);

      // Reads only: every read key READS_PER_KEY times, against one sample of each written key.
      long reportsBefore = field(RecoveryIT.info(backup), "respawn_popularity_reports_received");
      try (Jedis j = new Jedis("127.0.0.1", primary, 10_000)) {
        for (int round = 0; round < READS_PER_KEY; round++) {
          Pipeline p = j.pipelined();
          List<Response<String>> got = new ArrayList<>();
          for (int i = 0; i < READ_KEYS; i++) {
            got.add(p.get(readKey(i)));
          }
          p.sync();
          for (int i = 0; i < READ_KEYS; i++) {
            assertThat(got.get(i).get()).isEqualTo(acknowledged.get(readKey(i)));
          }
        }
      }
      // Two reports after the reads: the backup's popular set has them.
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      Map<String, String> backupInfo = RecoveryIT.info(backup);
      while (field(backupInfo, "respawn_popularity_reports_received") < reportsBefore + 3
          && System.nanoTime() < deadline) {
        Thread.sleep(100);
        backupInfo = RecoveryIT.info(backup);
      }
      assertThat(field(backupInfo, "respawn_backup_popular_keys"))
          .isGreaterThanOrEqualTo(READ_KEYS);
      // The load's writes were sampled too, and those in the popular set when written back went
      // to the hot log: most records, and so most read keys, are in the cold log all the same.
      assertThat(field(backupInfo, "respawn_backup_keys_hot")).as(backupInfo.toString())
          .isLessThan(KEYS / 4);
      RecoveryIT.awaitSteadyPrimary(primary);

      assertThat(new ProcessBuilder("kill", "-9", Long.toString(ShardProcess.pidAt(primary)))
          .start().waitFor()).isZero();

      // The witness leads and has pulled the popular set (the scan went past it) while it still
      // lacks most values (the cold log's copy goes on).
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      Map<String, String> atGets = Map.of();
      while (System.nanoTime() < deadline) {
        try {
          atGets = RecoveryIT.info(witness);
        } catch (RuntimeException e) {
          Thread.sleep(10);
          continue;
        }
        String background = atGets.getOrDefault("respawn_recovery_background", "none");
        if ("1".equals(atGets.get("respawn_recovering"))
            && (background.equals("batch-hot") || background.equals("batch-cold"))) {
          break;
        }
        if (atGets.get("respawn_recovering") != null && "0".equals(atGets.get("respawn_recovering"))
            && field(atGets, "respawn_recoveries") > 0) {
          break; // done already: asserted below
        }
        Thread.sleep(5);
      }
      long pullsBefore = field(atGets, "respawn_recovery_priority_pulls");
      long leftBefore = field(atGets, "respawn_recovery_keys_left");
      assertThat(leftBefore).as("the copy is still under way when the read keys are read; "
          + "INFO " + atGets + "\n" + shard.memberLogs()).isGreaterThan(KEYS / 4);
      try (Jedis j = new Jedis("127.0.0.1", witness, 10_000)) {
        Pipeline p = j.pipelined();
        List<Response<String>> got = new ArrayList<>();
        for (int i = 0; i < READ_KEYS; i++) {
          got.add(p.get(readKey(i)));
        }
        p.sync();
        for (int i = 0; i < READ_KEYS; i++) {
          assertThat(got.get(i).get()).isEqualTo(acknowledged.get(readKey(i)));
        }
      }
      Map<String, String> after = RecoveryIT.info(witness);
      System.out.println("read-keys warm-up IT: at the GETs " + leftBefore + " keys left, "
          + "background " + atGets.get("respawn_recovery_background") + ", staged installed "
          + atGets.get("respawn_recovery_staged_installed") + ", batch keys "
          + atGets.get("respawn_recovery_batch_keys") + "; priority pulls " + pullsBefore
          + " before the GETs, " + after.get("respawn_recovery_priority_pulls") + " after");
      assertThat(field(after, "respawn_recovery_priority_pulls") - pullsBefore)
          .as("GETs of keys only read before the failover waited for priority pulls; INFO "
              + after).isZero();

      // And every value is served in the end.
      deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      while (!"0".equals(RecoveryIT.info(witness).get("respawn_recovering"))
          && System.nanoTime() < deadline) {
        Thread.sleep(100);
      }
      try (Jedis j = new Jedis("127.0.0.1", witness, 10_000)) {
        for (int i = 0; i < KEYS; i += 97) {
          assertThat(j.get("key:" + i)).isEqualTo(acknowledged.get("key:" + i));
        }
      }
      assertThat(shard.terminate()).isZero();
    }
  }
}
