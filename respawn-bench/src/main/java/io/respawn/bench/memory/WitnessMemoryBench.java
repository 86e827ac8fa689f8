package io.respawn.bench.memory;

import io.respawn.storage.memory.WitnessTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code respawn bench witness-memory}: the witness's key table at N keys, in this process: the
 * table's own count of the bytes it uses (records rounded to their size class, plus the slot
 * table) and the process's resident-set growth while it was filled, both per key. The primary's
 * memory per key is measured against Redis through real servers by {@code
 * scripts/bench-memory.sh}.
 */
@Command(name = "witness-memory", mixinStandardHelpOptions = true,
    description = "Memory per key of the witness's off-heap key table (key -> term, index).")
public final class WitnessMemoryBench implements Callable<Integer> {
  @Option(names = "--keys", defaultValue = "1000000", description = "Keys (default: ${DEFAULT-VALUE}).")
  int keys;

  @Option(names = "--key-bytes", defaultValue = "16",
      description = "Key length; keys are key:%012d padded or cut to it (default: ${DEFAULT-VALUE}).")
  int keyBytes;

  @Override
  public Integer call() throws Exception {
    if (keys < 1 || keyBytes < 16 || keyBytes > 1024) {
      System.err.println("--keys must be >= 1 and --key-bytes between 16 and 1024");
      return 2;
    }
    try (WitnessTable table = new WitnessTable()) {
      // Warm the code paths and let the JVM settle before the baseline.
      for (int i = 0; i < 10_000; i++) {
        table.record(key(-1 - i), 1, i + 1);
      }
      table.clear();
      table.reclaim();
      table.reclaim();
      System.gc();
      long rss0 = rssBytes();
      long used0 = table.memoryUsedBytes();
      for (int i = 0; i < keys; i++) {
        table.record(key(i), 1 + i / 100_000, i + 1);
        if ((i & 1023) == 0) {
          table.reclaim();
        }
      }
      table.reclaim();
      table.reclaim();
      System.gc();
      long rss1 = rssBytes();
      long used1 = table.memoryUsedBytes();
      System.out.printf(Locale.ROOT, "%-28s %12s %14s %12s%n", "role", "keys", "used/key", "RSS growth/key");
      System.out.printf(Locale.ROOT, "%-28s %,12d %14.1f %12.1f%n", "witness (" + keyBytes + "-byte keys)",
          keys, (double) (used1 - used0) / keys, (double) (rss1 - rss0) / keys);
      System.out.printf(Locale.ROOT, "records %,d bytes (%.1f per key), slot table and free %,d bytes%n",
          table.recordBytes(), (double) table.recordBytes() / keys, used1 - table.recordBytes());
    }
    return 0;
  }

  /** One buffer for every key (the table copies it), so filling makes no heap garbage. */
  private byte[] keyBuffer;

  /** key:%012d (as redis-benchmark's keys), padded with 'x' to keyBytes; negative i allowed. */
  private byte[] key(int i) {
    if (keyBuffer == null) {
      keyBuffer = new byte[keyBytes];
      byte[] prefix = "key:".getBytes(StandardCharsets.US_ASCII);
      System.arraycopy(prefix, 0, keyBuffer, 0, prefix.length);
      java.util.Arrays.fill(keyBuffer, 16, keyBytes, (byte) 'x');
    }
    long v = i < 0 ? 1_000_000_000_000L + i : i;
    for (int d = 15; d >= 4; d--) {
      keyBuffer[d] = (byte) ('0' + v % 10);
      v /= 10;
    }
    return keyBuffer;
  }

  /** This process's resident set (VmRSS), or -1 where /proc is absent. */
  static long rssBytes() throws IOException {
    Path status = Path.of("/proc/self/status");
    if (!Files.exists(status)) {
      return -1;
    }
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
      }
    }
    return -1;
  }
}
