package io.respawn.bench.backup;

import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupStats;
import io.respawn.storage.backup.BackupStore;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Child process of {@link BackupBench}'s memory row: loads keys into one role's store and prints
 * what the process's DRAM grew by. Run with a fixed, pre-touched heap ({@code -Xms = -Xmx},
 * {@code -XX:+AlwaysPreTouch}), so anonymous RSS does not grow with young-generation garbage:
 * its growth is the store's off-heap memory plus whatever else it really keeps. A small
 * throwaway store runs first so that the JIT's memory is not counted as the store's.
 *
 * <ul>
 *   <li>{@code backup}: a {@link BackupStore}. The mapped buffer is file-backed (not anonymous)
 *       and stands in for NVMM, so it is not DRAM here.
 *   <li>{@code engine}: the {@link LogEngine}, the primary's (and the single node's) memory
 *       table: keys and values in off-heap slabs, loaded in batches of 1,000 puts.
 * </ul>
 *
 * <p>Output, one line: {@code rssAnonGrowth=<bytes> heapGrowth=<bytes> offHeap=<bytes>}, where
 * offHeap is what the store itself reports (the backup's index, the engine's used memory).
 */
public final class MemoryProbe {
  private MemoryProbe() {}

  /** The role whose store is measured. */
  enum Role { backup, engine }

  public static void main(String[] args) throws Exception {
    Role role = Role.valueOf(args[0]);
    int keys = Integer.parseInt(args[1]);
    Path dir = Path.of(args[2]);
    Files.createDirectories(dir);
    byte[] value = new byte[BackupBench.VALUE_BYTES];
    new SplittableRandom(6).nextBytes(value);
    // Warm up first (the JIT's compiler arenas would otherwise count as growth), in a throwaway
    // store small enough that what it frees cannot hide the real store's memory.
    load(role, dir.resolve("warm-up"), 50_000, value, false);
    load(role, dir.resolve("store"), keys, value, true);
  }

  /** Loads keys into a fresh store; when report, prints the growth line before closing it. */
  private static void load(Role role, Path dir, int keys, byte[] value, boolean report)
      throws Exception {
    long rss0 = report ? rssAnon() : 0;
    long heap0 = report ? heapAfterGc() : 0;
    switch (role) {
      case backup -> {
        try (BackupStore store = BackupStore.open(dir, BackupConfig.defaults())) {
          for (int i = 0; i < keys; i++) {
            store.apply(BackupBench.key(i), value, 1, i + 1);
          }
          store.flush();
          BackupStats s = store.stats();
          check(s.keys(), keys);
          if (report) {
            print(rss0, heap0, s.indexOffHeapBytes());
          }
        }
      }
      case engine -> {
        Files.createDirectories(dir);
        try (LogEngine engine = LogEngine.open(new FileChannelDisk(dir),
            StorageConfig.defaults().withCompaction(0, 0.5, 0))) {
          for (int i = 0; i < keys; i += 1000) {
            List<Mutation> batch = new ArrayList<>(1000);
            for (int j = i; j < Math.min(keys, i + 1000); j++) {
              batch.add(Mutation.put(BackupBench.key(j), value));
            }
            engine.apply(batch);
          }
          engine.flushAll().join();
          check(engine.keyCount(), keys);
          if (report) {
            print(rss0, heap0, engine.memoryUsedBytes());
          }
        }
      }
    }
  }

  private static void check(long stored, int keys) {
    if (stored != keys) {
      throw new IllegalStateException("stored " + stored + " keys, not " + keys);
    }
  }

  private static void print(long rss0, long heap0, long offHeap) throws java.io.IOException {
    long heap1 = heapAfterGc();
    long rss1 = rssAnon();
    System.out.println("rssAnonGrowth=" + (rss1 - rss0) + " heapGrowth=" + (heap1 - heap0)
        + " offHeap=" + offHeap);
  }

  private static long heapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  static long rssAnon() throws java.io.IOException {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("RssAnon:")) {
        return Long.parseLong(line.substring(8).trim().split("\\s+")[0]) * 1024;
      }
    }
    throw new IllegalStateException("no RssAnon in /proc/self/status");
  }
}
