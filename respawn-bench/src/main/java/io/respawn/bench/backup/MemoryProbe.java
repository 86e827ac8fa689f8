package io.respawn.bench.backup;

import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupStats;
import io.respawn.storage.backup.BackupStore;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/**
 * Child process of {@link BackupBench}'s memory row: loads keys into a backup store and prints
 * what the process's DRAM grew by. Run with a fixed, pre-touched heap ({@code -Xms = -Xmx},
 * {@code -XX:+AlwaysPreTouch}), so anonymous RSS does not grow with young-generation garbage:
 * its growth is the index's off-heap memory plus whatever else the store really keeps. A small
 * throwaway store runs first so that the JIT's memory is not counted as the store's. The mapped
 * buffer is file-backed (not anonymous) and stands in for NVMM, so it is not DRAM here.
 *
 * <p>Output, one line: {@code rssAnonGrowth=<bytes> heapGrowth=<bytes> indexOffHeap=<bytes>}.
 */
public final class MemoryProbe {
  private MemoryProbe() {}

  public static void main(String[] args) throws Exception {
    int keys = Integer.parseInt(args[0]);
    Path dir = Path.of(args[1]);
    Files.createDirectories(dir);
    byte[] value = new byte[BackupBench.VALUE_BYTES];
    new SplittableRandom(6).nextBytes(value);
    // Warm up first (the JIT's compiler arenas would otherwise count as growth), in a throwaway
    // store small enough that what it frees cannot hide the real store's memory.
    Path warm = dir.resolve("warm-up");
    try (BackupStore store = BackupStore.open(warm, BackupConfig.defaults())) {
      for (int i = 0; i < 50_000; i++) {
        store.apply(BackupBench.key(i), value, 1, i + 1);
      }
      store.flush();
    }
    long rss0 = rssAnon();
    long heap0 = heapAfterGc();
    try (BackupStore store = BackupStore.open(dir.resolve("store"), BackupConfig.defaults())) {
      for (int i = 0; i < keys; i++) {
        store.apply(BackupBench.key(i), value, 1, i + 1);
      }
      store.flush();
      long heap1 = heapAfterGc();
      long rss1 = rssAnon();
      BackupStats s = store.stats();
      if (s.keys() != keys) {
        throw new IllegalStateException("stored " + s.keys() + " keys, not " + keys);
      }
      System.out.println("rssAnonGrowth=" + (rss1 - rss0) + " heapGrowth=" + (heap1 - heap0)
          + " indexOffHeap=" + s.indexOffHeapBytes());
    }
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
