package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupStore;
import io.respawn.storage.backup.LogKind;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Popularity end to end on real processes: the primary samples the keys clients read and write
 * and reports their hashes to the backup over the peer transport; the backup's GC moves the
 * records of a small set of keys that clients keep reading into the hot log, though they are not
 * written again. INFO shows the reports and the backup's hot and cold key counts; after a clean
 * stop the backup's store, opened offline, holds every one of those keys in the hot log.
 */
class PopularityIT {
  static final int KEYS = 20_000;
  static final int HOT = 100;
  static final int VALUE_BYTES = 1000;
  /** Popularity reports (one per popularity-report-ms) after which the read keys dominate. */
  static final int REPORTS_OF_READS = 5;

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

  private static long field(Map<String, String> info, String name) {
    String v = info.get(name);
    if (v == null) {
      throw new AssertionError("no INFO field " + name + ": " + info);
    }
    return Long.parseLong(v);
  }

  /** The hot keys: spread over the first three quarters of the keys (sealed log segments). */
  private static String hotKey(int i) {
    return "key:" + (i * (KEYS * 3 / 4 / HOT));
  }

  @Test
  void keysThatClientsKeepReadingMoveToTheBackupsHotLogWithoutBeingWritten() throws Exception {
    int port = ShardProcess.freePortRange(3);
    Path data = tmp.resolve("data");
    String value = "v".repeat(VALUE_BYTES);
    Map<String, String> backupInfo;
    try (ShardProcess shard = ShardProcess.start(data, port, "1+1+1",
        "--member-config", "popularity-sample-probability=1",
        "--member-config", "popularity-report-ms=200",
        "--member-config", "backup-hot-keys=" + HOT,
        "--member-config", "backup-segment-bytes=" + (9 << 20))) {
      int backup = port + 1;
      // Every key written once (and sampled once, at probability 1).
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      int written = 0;
      while (written < KEYS && System.nanoTime() < deadline) {
        try (Jedis j = new Jedis("127.0.0.1", shard.primaryPort(), 10_000)) {
          while (written < KEYS) {
            int to = Math.min(KEYS, written + 1000);
            Pipeline p = j.pipelined();
            List<Response<String>> replies = new ArrayList<>();
            for (int i = written; i < to; i++) {
              replies.add(p.set("key:" + i, value));
            }
            p.sync();
            for (Response<String> r : replies) {
              assertThat(r.get()).isEqualTo("OK");
            }
            written = to;
          }
        } catch (RuntimeException e) {
          Thread.sleep(200); // leadership moved on a loaded machine: write the batch again
        }
      }
      assertThat(written).as("keys written").isEqualTo(KEYS);

      // Clients keep reading the hot keys; the primary samples every read.
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong reads = new AtomicLong();
      Thread reader = new Thread(() -> {
        while (!stop.get()) {
          try (Jedis j = new Jedis("127.0.0.1", shard.primaryPort(), 5_000)) {
            while (!stop.get()) {
              Pipeline p = j.pipelined();
              for (int i = 0; i < HOT; i++) {
                p.get(hotKey(i));
              }
              p.sync();
              reads.addAndGet(HOT);
              Thread.sleep(20);
            }
          } catch (RuntimeException e) {
            // retry against the primary of the moment
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "hot-reader");
      // GC moves a record only when it collects the segment holding it (drift rewrites sealed
      // segments once the popular set changed, oldest first). Before the read keys dominate the
      // popular set, GC may rewrite a hot key into the cold log, into a segment that is still
      // open then. Once they dominate (REPORTS_OF_READS reports since the reads began: each
      // carries about ten samples of every hot key against at most one of any other; the set is
      // full from the start since every written key was sampled once), every rewrite places them
      // in the hot log, so the test waits until every cold segment that existed at that moment
      // is gone (the open one seals as later rewrites fill it): the cold log's oldest segment id
      // is past the newest id of that moment.
      long reportsBeforeReads = field(info(backup), "respawn_popularity_reports_received");
      reader.start();
      try {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        backupInfo = info(backup);
        long newestAtDominance = Long.MAX_VALUE;
        while (System.nanoTime() < until) {
          backupInfo = info(backup);
          if (newestAtDominance == Long.MAX_VALUE
              && field(backupInfo, "respawn_backup_popular_keys") >= HOT
              && field(backupInfo, "respawn_popularity_reports_received")
                  >= reportsBeforeReads + REPORTS_OF_READS) {
            newestAtDominance = field(backupInfo, "respawn_backup_newest_segment");
          }
          if (field(backupInfo, "respawn_backup_cold_oldest_segment") > newestAtDominance) {
            break;
          }
          Thread.sleep(500);
        }
        System.out.println("PopularityIT: " + reads.get() + " reads; newest segment at dominance "
            + newestAtDominance
            + "; backup INFO " + backupInfo);
      } finally {
        stop.set(true);
        reader.join(10_000);
      }
      assertThat(field(backupInfo, "respawn_popularity_reports_received")).isPositive();
      assertThat(field(backupInfo, "respawn_popularity_hashes_received")).isPositive();
      assertThat(field(backupInfo, "respawn_backup_popular_keys")).isPositive();
      assertThat(field(backupInfo, "respawn_backup_keys")).isEqualTo(KEYS);
      assertThat(field(backupInfo, "respawn_backup_keys_hot")).as(backupInfo.toString())
          .isGreaterThanOrEqualTo(HOT);
      assertThat(field(backupInfo, "respawn_backup_keys_cold")).isPositive();
      assertThat(field(info(shard.primaryPort()), "respawn_popularity_reports_sent"))
          .isPositive();
      assertThat(shard.terminate()).isZero();
    }

    // Offline: where the backup's store keeps each key now.
    BackupConfig config = BackupConfig.defaults().toBuilder().segmentBytesMax(9 << 20)
        .hotKeysMax(HOT).writebackIntervalMillis(0).gcIntervalMillis(0).build();
    try (BackupStore store = BackupStore.open(data.resolve("node-2").resolve("backup"), config)) {
      List<String> notHot = new ArrayList<>();
      for (int i = 0; i < HOT; i++) {
        if (store.logOf(hotKey(i).getBytes(StandardCharsets.UTF_8)) != LogKind.HOT) {
          notHot.add(hotKey(i));
        }
      }
      assertThat(notHot).as("hot keys outside the hot log; backup INFO was " + backupInfo)
          .isEmpty();
      long[] places = store.liveKeysByPlace();
      assertThat(places[1]).as("the hot log holds mostly the hot set: " + places[1] + " keys")
          .isLessThan(KEYS / 4);
    }
  }
}
