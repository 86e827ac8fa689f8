package io.respawn.bench.memory;

import io.respawn.storage.memory.RecordTable;
import io.respawn.storage.memory.SlabAllocator;
import io.respawn.storage.memory.WitnessTable;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code respawn bench witness-apply}: CPU per key a witness spends applying witness-form entries
 * to its key table, in this process: first writes of N new keys, then 2 N writes to random known
 * keys, in entries of {@code --entry-keys} keys with a reclaim after each entry (as a shard member
 * applies them). Rounds alternate the table ({@link WitnessTable#recordAll}) with the
 * copy-on-write apply it replaced (a new record per newer write, published with a second probe,
 * the old one retired), so the ratio is measured side by side; medians of the rounds.
 */
@Command(name = "witness-apply", mixinStandardHelpOptions = true,
    description = "CPU per applied key of the witness's key table, against copy-on-write records.")
public final class WitnessApplyBench implements Callable<Integer> {
  @Option(names = "--keys", defaultValue = "1000000", description = "Keys (default: ${DEFAULT-VALUE}).")
  int keys;

  @Option(names = "--entry-keys", defaultValue = "8",
      description = "Keys per applied entry (default: ${DEFAULT-VALUE}).")
  int entryKeys;

  @Option(names = "--rounds", defaultValue = "5", description = "Rounds of each (default: ${DEFAULT-VALUE}).")
  int rounds;

  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  @Override
  public Integer call() {
    if (keys < 1 || keys > 50_000_000 || entryKeys < 1 || entryKeys > 10_000 || rounds < 1) {
      System.err.println("--keys must be 1..50000000, --entry-keys 1..10000, --rounds >= 1");
      return 2;
    }
    byte[][] names = new byte[keys][];
    for (int i = 0; i < keys; i++) {
      names[i] = String.format(Locale.ROOT, "key:%012d", i).getBytes(StandardCharsets.US_ASCII);
    }
    Random random = new Random(1);
    int[] overwrites = new int[2 * keys];
    Arrays.setAll(overwrites, i -> random.nextInt(keys));
    double[][] table = new double[2][rounds];
    double[][] copying = new double[2][rounds];
    for (int r = 0; r < rounds; r++) {
      double[] c = runCopying(names, overwrites);
      double[] t = runTable(names, overwrites);
      copying[0][r] = c[0];
      copying[1][r] = c[1];
      table[0][r] = t[0];
      table[1][r] = t[1];
      System.out.printf(Locale.ROOT, "round %d  copy-on-write %6.0f / %6.0f  table %6.0f / %6.0f ns per key%n",
          r, c[0], c[1], t[0], t[1]);
    }
    System.out.printf(Locale.ROOT, "%,d keys, %d per entry, medians of %d rounds, ns of CPU per key:%n",
        keys, entryKeys, rounds);
    System.out.printf(Locale.ROOT, "new keys:   copy-on-write %6.0f  table %6.0f  (%.2fx)%n",
        median(copying[0]), median(table[0]), median(copying[0]) / median(table[0]));
    System.out.printf(Locale.ROOT, "overwrites: copy-on-write %6.0f  table %6.0f  (%.2fx)%n",
        median(copying[1]), median(table[1]), median(copying[1]) / median(table[1]));
    return 0;
  }

  private double[] runTable(byte[][] names, int[] overwrites) {
    try (WitnessTable w = new WitnessTable()) {
      List<byte[]> entry = new ArrayList<>(entryKeys);
      long index = 0;
      long t0 = CPU.getCurrentThreadCpuTime();
      for (byte[] name : names) {
        entry.add(name);
        if (entry.size() == entryKeys) {
          w.recordAll(entry, 1, ++index);
          entry.clear();
          w.reclaim();
        }
      }
      long t1 = CPU.getCurrentThreadCpuTime();
      for (int k : overwrites) {
        entry.add(names[k]);
        if (entry.size() == entryKeys) {
          w.recordAll(entry, 1, ++index);
          entry.clear();
          w.reclaim();
        }
      }
      long t2 = CPU.getCurrentThreadCpuTime();
      return new double[] {(t1 - t0) / (double) names.length, (t2 - t1) / (double) overwrites.length};
    }
  }

  private double[] runCopying(byte[][] names, int[] overwrites) {
    try (RecordTable t = new RecordTable(16)) {
      long index = 0;
      int inEntry = 0;
      long t0 = CPU.getCurrentThreadCpuTime();
      for (byte[] name : names) {
        recordByCopy(t, name, 1, ++index);
        if (++inEntry == entryKeys) {
          inEntry = 0;
          t.reclaim();
        }
      }
      long t1 = CPU.getCurrentThreadCpuTime();
      for (int k : overwrites) {
        recordByCopy(t, names[k], 1, ++index);
        if (++inEntry == entryKeys) {
          inEntry = 0;
          t.reclaim();
        }
      }
      long t2 = CPU.getCurrentThreadCpuTime();
      return new double[] {(t1 - t0) / (double) names.length, (t2 - t1) / (double) overwrites.length};
    }
  }

  /** The apply WitnessTable.record did before it rewrote known keys in place. */
  private static void recordByCopy(RecordTable t, byte[] key, long term, long index) {
    SlabAllocator memory = t.memory();
    long hash = t.hash(key);
    long current = t.find(hash, key);
    if (current != 0) {
      MemorySegment c = memory.chunk(current);
      long meta = RecordTable.metaOffset(SlabAllocator.offset(current));
      long storedTerm = c.get(LE_LONG, meta);
      long storedIndex = c.get(LE_LONG, meta + 8);
      if (!new WitnessTable.Timestamp(term, index).isNewerThan(storedTerm, storedIndex)) {
        return;
      }
    }
    long ref = t.newRecord(0, key, 0);
    MemorySegment c = memory.chunk(ref);
    long meta = RecordTable.metaOffset(SlabAllocator.offset(ref));
    c.set(LE_LONG, meta, term);
    c.set(LE_LONG, meta + 8, index);
    t.put(hash, ref);
  }

  private static final java.lang.foreign.ValueLayout.OfLong LE_LONG =
      java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED.withOrder(java.nio.ByteOrder.LITTLE_ENDIAN);

  private static double median(double[] values) {
    double[] s = values.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
