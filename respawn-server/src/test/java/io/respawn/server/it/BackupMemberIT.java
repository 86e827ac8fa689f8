package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
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
 * The backup member of a real shard ({@code respawn up}, three processes) keeps its values in the
 * backup store in its data directory: INFO's backup section counts them; after {@code kill -9}
 * and the supervisor's restart it recovers that store (its log says so) and loses nothing; and
 * when the primary is killed, the witness that takes over pulls every value from the backup,
 * which answers from the backup store.
 */
class BackupMemberIT {
  static final int KEYS = 3000;
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
    String v = info(port).get(name);
    if (v == null) {
      throw new AssertionError("no INFO field " + name + " on port " + port + ": " + info(port));
    }
    return Long.parseLong(v);
  }

  /**
   * Polls until cond holds (any exception counts as "not yet"), at most timeoutSeconds; a
   * timeout fails with the members' last log lines (a failure on a loaded CI machine must be
   * diagnosable from its report alone).
   */
  private static void await(ShardProcess shard, String what, long timeoutSeconds,
      java.util.function.BooleanSupplier cond)
      throws InterruptedException {
    await(shard, what, timeoutSeconds, cond, () -> "");
  }

  /** As above; a timeout's message also holds {@code lastSeen} (what the condition saw last). */
  private static void await(ShardProcess shard, String what, long timeoutSeconds,
      java.util.function.BooleanSupplier cond, java.util.function.Supplier<String> lastSeen)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (System.nanoTime() < deadline) {
      try {
        if (cond.getAsBoolean()) {
          return;
        }
      } catch (RuntimeException | AssertionError e) {
        // not yet
      }
      Thread.sleep(100);
    }
    throw new AssertionError("timed out after " + timeoutSeconds + " s waiting for " + what
        + "; " + lastSeen.get() + "\n" + shard.memberLogs());
  }

  /** Waits until no witness stands in for the backup (the primary's INFO). */
  private static void awaitNoStandIn(ShardProcess shard) throws InterruptedException {
    await(shard, "no stand-in in force", 60,
        () -> "none".equals(info(shard.primaryPort()).get("respawn_stand_ins")));
  }

  /**
   * Writes keys [from, to) to the primary and waits for the backup's acknowledgement; on an error
   * (leadership moved on a loaded machine) writes them all again to whichever member is primary
   * then (SET is idempotent).
   */
  private static void write(ShardProcess shard, int from, int to) throws InterruptedException {
    String what = "keys " + from + ".." + to + " written and acknowledged by the backup";
    await(shard, what, 60, () -> {
      try (Jedis j = new Jedis("127.0.0.1", shard.primaryPort(), 10_000)) {
        Pipeline p = j.pipelined();
        List<Response<String>> replies = new ArrayList<>();
        for (int i = from; i < to; i++) {
          replies.add(p.set("key:" + i, "value-" + i));
        }
        p.sync();
        for (Response<String> r : replies) {
          if (!"OK".equals(r.get())) {
            return false;
          }
        }
        return j.waitReplicas(1, 10_000) == 1;
      }
    });
  }

  @Test
  void theBackupMemberKeepsValuesOnItsBackupStoreSurvivesKillNineAndServesAFailover()
      throws Exception {
    int port = ShardProcess.freePortRange(3);
    Path data = tmp.resolve("data");
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1")) {
      int backup = port + 1;
      int witness = port + 2;
      assertThat(info(backup).get("respawn_config_role")).isEqualTo("backup");
      // A witness that leads holds every value it applies in full (so it would pull none of them
      // later): it may win the first election when its process comes up first, and it hands
      // leadership back once the primary is caught up. Write once the primary leads.
      shard.awaitConfiguredPrimaryLeads(60);
      // A witness standing in for the backup gets full entries and applies their values too:
      // the backup's process may come up after the primary's election, and the primary stands
      // the witness in until it caught up. Write once it has.
      awaitNoStandIn(shard);
      write(shard, 0, KEYS);
      await(shard, "the backup store holds every key", 30,
          () -> field(backup, "respawn_backup_keys") == KEYS);
      assertThat(field(backup, "respawn_backup_index_bytes")).isPositive();
      assertThat(Files.exists(data.resolve("node-2").resolve("backup").resolve("backup.buffer")))
          .as("the backup store's buffer file in the member's data directory").isTrue();
      assertThat(info(witness)).doesNotContainKey("respawn_backup_keys");

      // kill -9 of the backup: the supervisor starts it again; it recovers its store.
      long backupPid = ShardProcess.pidAt(backup);
      new ProcessBuilder("kill", "-9", Long.toString(backupPid)).start().waitFor();
      await(shard, "the backup is back", 60, () -> ShardProcess.pidAt(backup) != backupPid);
      Path backupLog = data.resolve("node-2").resolve("respawn.log");
      assertThat(Files.readString(backupLog)).as(shard.memberLogs())
          .contains("backup store recovered through entry");
      await(shard, "the restarted backup holds every key", 30,
          () -> field(backup, "respawn_backup_keys") == KEYS);
      write(shard, KEYS, KEYS + 100);
      await(shard, "the backup caught up", 30,
          () -> field(backup, "respawn_backup_keys") == KEYS + 100);

      // kill -9 of the primary: the witness leads and pulls every value from the backup.
      awaitNoStandIn(shard);
      int oldPrimary = shard.primaryPort();
      long answeredBefore = field(backup, "respawn_pull_keys_answered");
      new ProcessBuilder("kill", "-9", Long.toString(ShardProcess.pidAt(oldPrimary))).start()
          .waitFor();
      await(shard, "a write after the primary died", 60, () -> {
        try (Jedis j = new Jedis("127.0.0.1", witness, 2_000)) {
          return "OK".equals(j.set("after", "kill"));
        }
      });
      // Online recovery (the default) serves before every value is back and goes on copying in
      // the background: wait for the copy to finish.
      await(shard, "the backup sent the new primary every value", 60,
          () -> field(backup, "respawn_pull_keys_answered") - answeredBefore >= KEYS + 100);
      // Every value is back on the witness: pulled, or (the last writes, when its log was behind
      // the backup's at the kill) applied in full from the entries it caught up with before its
      // election; the first KEYS were written long before and can only have been pulled. The
      // restarted primary may have taken leadership back meanwhile (the witness gives it back
      // only once it holds every value, NodeLoop.maybeGiveBack) and the witness keeps keys only
      // again: then its counts of pulled keys and of finished recoveries (neither goes down)
      // are what is left to show it.
      String[] lastSeen = {"nothing yet"};
      await(shard, "the new primary holds every value", 60, () -> {
        Map<String, String> i = info(witness);
        lastSeen[0] = "status " + i.get("respawn_status") + ", recovering "
            + i.get("respawn_recovering") + ", keys unknown " + i.get("respawn_keys_unknown")
            + ", keys pulled " + i.get("respawn_keys_pulled") + ", recoveries finished "
            + i.get("respawn_recoveries");
        boolean recovered = Long.parseLong(i.get("respawn_keys_pulled")) >= KEYS
            && Long.parseLong(i.get("respawn_recoveries")) >= 1;
        boolean leads = "leader".equals(i.get("respawn_status"));
        return recovered && (!leads || "0".equals(i.get("respawn_recovering"))
            && "0".equals(i.get("respawn_keys_unknown")));
      }, () -> "the witness's INFO last said: " + lastSeen[0]);
      // Every value, read from whichever member is primary now (the witness may have handed
      // leadership back to the restarted primary meanwhile).
      int[] next = {0};
      String[] wrong = {null};
      await(shard, "every value read back", 60, () -> {
        try (Jedis j = new Jedis("127.0.0.1", shard.primaryPort(), 10_000)) {
          for (; next[0] < KEYS + 100; next[0]++) {
            String v = j.get("key:" + next[0]);
            if (!("value-" + next[0]).equals(v)) {
              wrong[0] = "key:" + next[0] + " = " + v;
              return true;
            }
          }
          return true;
        }
      });
      assertThat(wrong[0]).as("a value lost or wrong after the failover").isNull();
      assertThat(shard.terminate()).isZero();
    }
  }
}
