package io.respawn.bench.storage;

import io.respawn.bench.CsvChart;
import io.respawn.bench.backup.BackupBench;
import io.respawn.bench.backup.BlockSizeBench;
import io.respawn.storage.Durability;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.HdrHistogram.Histogram;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Storage engine throughput and latency on a real directory (experiment E4, second half):
 * ORDERED acknowledgements vs DURABLE acknowledgements (group commit) vs a plain FileChannel loop
 * that does one write and one fsync per write, for several writer-thread counts. Each cell starts
 * from an empty directory and runs for a fixed time after a short warm-up; it prints ops/s,
 * p50/p99 latency and how many fsyncs were issued per acknowledged write.
 */
@Command(
    name = "storage",
    mixinStandardHelpOptions = true,
    description = "Storage engine: ORDERED vs DURABLE vs fsync-per-write, ops/s and latency.",
    subcommands = {BlockSizeBench.class, BackupBench.class})
public final class StorageBench implements Callable<Integer> {

  /** What a cell measures. */
  enum Mode {
    /** Engine, acknowledged when the batch is written in order (osync). */
    ORDERED,
    /** Engine, acknowledged after a (shared) fsync (dsync). */
    DURABLE,
    /** Baseline: FileChannel write + force per operation, no combining. */
    FSYNC_PER_WRITE
  }

  @Option(names = "--dir", description = "Directory to write in (emptied per cell). Default: ${DEFAULT-VALUE}")
  Path dir = Path.of("data", "bench-storage");

  @Option(names = "--seconds", description = "Measured seconds per cell. Default: ${DEFAULT-VALUE}")
  double seconds = 3;

  @Option(names = "--warmup-seconds", description = "Unmeasured warm-up per cell. Default: ${DEFAULT-VALUE}")
  double warmupSeconds = 0.5;

  @Option(names = "--threads", split = ",", description = "Writer thread counts. Default: ${DEFAULT-VALUE}")
  List<Integer> threads = List.of(1, 8, 50);

  @Option(names = "--modes", split = ",", description = "Modes to run: ${COMPLETION-CANDIDATES}. Default: all")
  List<Mode> modes = List.of(Mode.ORDERED, Mode.DURABLE, Mode.FSYNC_PER_WRITE);

  @Option(names = "--value-bytes", description = "Value size in bytes. Default: ${DEFAULT-VALUE}")
  int valueBytes = 100;

  @Option(names = "--csv", description = "Also write the cells as CSV to this file.")
  Path csvOut;

  @Option(names = "--png", description = "Also render ops/s per mode and thread count as a PNG chart.")
  Path pngOut;

  @Option(names = "--keys", description = "Distinct keys written (uniformly). Default: ${DEFAULT-VALUE}")
  int keys = 100_000;

  /** One measured cell. */
  record Cell(Mode mode, int threads, long ops, double seconds, Histogram latencyNanos, long fsyncs) {
    double opsPerSecond() {
      return ops / seconds;
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new StorageBench()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    validate();
    PrintStream out = System.out;
    out.printf("storage bench: dir=%s, %d-byte values, %d keys, %.1f s per cell (+%.1f s warm-up)%n",
        dir.toAbsolutePath(), valueBytes, keys, seconds, warmupSeconds);
    List<Cell> cells = new ArrayList<>();
    for (int t : threads) {
      for (Mode mode : modes) {
        Cell cell = run(mode, t);
        cells.add(cell);
        out.printf("  done: %-15s threads=%-3d %,12.0f ops/s%n", mode, t, cell.opsPerSecond());
      }
    }
    printTable(out, cells);
    if (csvOut != null || pngOut != null) {
      Path csv = csvOut != null ? csvOut : Files.createTempFile("storage-bench", ".csv");
      writeCsv(csv, cells);
      if (pngOut != null) {
        CsvChart.render(csv, pngOut, "respawn bench storage: " + valueBytes + "-byte writes (ops/s)",
            "mode", List.of("threads"), "ops_per_sec");
        out.println("chart: " + pngOut);
      }
      if (csvOut == null) {
        Files.delete(csv);
      }
    }
    try {
      Files.deleteIfExists(dir); // only if empty: never remove what we did not create
    } catch (java.nio.file.DirectoryNotEmptyException keep) {
      // the user's directory holds other files
    }
    return 0;
  }

  private void validate() {
    if (seconds <= 0 || seconds > 3600) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--seconds " + seconds + " must be > 0 and <= 3600");
    }
    if (valueBytes < 0 || valueBytes > (1 << 20)) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--value-bytes " + valueBytes + " must be >= 0 and <= 1048576");
    }
    for (int t : threads) {
      if (t < 1 || t > 1024) {
        throw new CommandLine.ParameterException(new CommandLine(this),
            "--threads " + t + " must be >= 1 and <= 1024");
      }
    }
    if (keys < 1) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--keys must be >= 1");
    }
  }

  /** A writer's loop body: one acknowledged write. */
  private interface Op {
    void write(SplittableRandom random, byte[] value) throws Exception;
  }

  private Cell run(Mode mode, int threadCount) throws Exception {
    Path cellDir = dir.resolve(mode.name().toLowerCase() + "-" + threadCount);
    io.respawn.server.shard.ShardMember.deleteTree(cellDir);
    Files.createDirectories(cellDir);
    if (mode == Mode.FSYNC_PER_WRITE) {
      try (FileChannel channel = FileChannel.open(cellDir.resolve("fsync-per-write.log"),
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        AtomicLong end = new AtomicLong();
        AtomicLong fsyncs = new AtomicLong();
        int recordBytes = 16 + 8 + valueBytes;
        return measure(mode, threadCount, fsyncs::get, (random, value) -> {
          ByteBuffer record = ByteBuffer.allocate(recordBytes);
          record.put(key(random)).putLong(0).put(value).flip();
          long at = end.getAndAdd(recordBytes);
          while (record.hasRemaining()) {
            at += channel.write(record, at);
          }
          channel.force(false);
          fsyncs.incrementAndGet();
        });
      } finally {
        io.respawn.server.shard.ShardMember.deleteTree(cellDir);
      }
    }
    CountingDisk disk = new CountingDisk(new FileChannelDisk(cellDir));
    try (LogEngine engine = LogEngine.open(disk, StorageConfig.defaults().withCompaction(0, 0.5, 0))) {
      Durability durability = mode == Mode.DURABLE ? Durability.DURABLE : Durability.ORDERED;
      return measure(mode, threadCount, disk.flushes::sum, (random, value) -> {
        // Blocking on the future is what a synchronous client does; for DURABLE the waiting
        // thread runs (or joins) the group fsync itself.
        engine.apply(List.of(Mutation.put(key(random), value)))
            .acknowledged(durability)
            .get(30, TimeUnit.SECONDS);
      });
    } finally {
      io.respawn.server.shard.ShardMember.deleteTree(cellDir);
    }
  }

  private byte[] key(SplittableRandom random) {
    return String.format("key:%012d", random.nextInt(keys)).getBytes(StandardCharsets.US_ASCII);
  }

  /** Runs the writers for warm-up + measured time; counts fsyncs only in the measured part. */
  private Cell measure(Mode mode, int threadCount, java.util.function.LongSupplier fsyncCounter,
      Op op) throws Exception {
    long warmupNanos = (long) (warmupSeconds * 1e9);
    long measureNanos = (long) (seconds * 1e9);
    long start = System.nanoTime();
    long measureFrom = start + warmupNanos;
    long stopAt = measureFrom + measureNanos;
    List<Thread> workers = new ArrayList<>();
    List<Histogram> histograms = new ArrayList<>();
    AtomicLong ops = new AtomicLong();
    List<Throwable> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    AtomicLong fsyncsAtStart = new AtomicLong(-1);
    for (int t = 0; t < threadCount; t++) {
      Histogram histogram = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
      histograms.add(histogram);
      SplittableRandom random = new SplittableRandom(1000 + t);
      Thread worker = new Thread(() -> {
        byte[] value = new byte[valueBytes];
        random.nextBytes(value);
        long mine = 0;
        try {
          while (true) {
            long before = System.nanoTime();
            if (before >= stopAt) {
              break;
            }
            op.write(random, value);
            long after = System.nanoTime();
            if (before >= measureFrom && after <= stopAt) {
              histogram.recordValue(Math.min(after - before, histogram.getHighestTrackableValue()));
              mine++;
            }
          }
        } catch (Throwable e) {
          errors.add(e);
        }
        ops.addAndGet(mine);
      }, "bench-writer-" + t);
      workers.add(worker);
    }
    workers.forEach(Thread::start);
    long sleepNanos = measureFrom - System.nanoTime();
    if (sleepNanos > 0) {
      TimeUnit.NANOSECONDS.sleep(sleepNanos);
    }
    fsyncsAtStart.set(fsyncCounter.getAsLong());
    long fsyncsAtStop = -1;
    for (Thread w : workers) {
      long left = stopAt - System.nanoTime();
      if (left > 0) {
        TimeUnit.NANOSECONDS.sleep(left);
      }
      if (fsyncsAtStop < 0) {
        fsyncsAtStop = fsyncCounter.getAsLong();
      }
      w.join(TimeUnit.SECONDS.toMillis(60));
      if (w.isAlive()) {
        throw new IllegalStateException("writer " + w.getName() + " did not stop");
      }
    }
    if (!errors.isEmpty()) {
      throw new IllegalStateException(mode + " with " + threadCount + " threads failed", errors.get(0));
    }
    Histogram all = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
    histograms.forEach(all::add);
    return new Cell(mode, threadCount, ops.get(), seconds, all, fsyncsAtStop - fsyncsAtStart.get());
  }

  /**
   * Prints the table. "vs fsync" compares with one fsync per write at the same thread count
   * (where the kernel already merges concurrent fsyncs); "vs 1x fsync" with the single-thread
   * fsync-per-write loop, i.e. with one fsync per acknowledged write done in order.
   */
  static void printTable(PrintStream out, List<Cell> cells) {
    out.println();
    out.printf("%-16s %7s %12s %10s %10s %10s %9s %11s%n",
        "mode", "threads", "ops/s", "p50 us", "p99 us", "fsyncs/op", "vs fsync", "vs 1x fsync");
    double serial = baseline(cells, 1);
    for (Cell c : cells) {
      out.printf("%-16s %7d %,12.0f %10.1f %10.1f %10.3f %8.1fx %10.1fx%n",
          c.mode(), c.threads(), c.opsPerSecond(),
          c.latencyNanos().getValueAtPercentile(50) / 1e3,
          c.latencyNanos().getValueAtPercentile(99) / 1e3,
          c.ops() == 0 ? 0.0 : (double) c.fsyncs() / c.ops(),
          c.opsPerSecond() / baseline(cells, c.threads()),
          c.opsPerSecond() / serial);
    }
  }

  static void writeCsv(Path csv, List<Cell> cells) throws IOException {
    StringBuilder b = new StringBuilder("mode,threads,ops_per_sec,p50_us,p99_us,fsyncs_per_op\n");
    for (Cell c : cells) {
      b.append(String.format(java.util.Locale.ROOT, "%s,%d,%.0f,%.1f,%.1f,%.4f%n",
          c.mode(), c.threads(), c.opsPerSecond(),
          c.latencyNanos().getValueAtPercentile(50) / 1e3,
          c.latencyNanos().getValueAtPercentile(99) / 1e3,
          c.ops() == 0 ? 0.0 : (double) c.fsyncs() / c.ops()));
    }
    if (csv.getParent() != null) {
      Files.createDirectories(csv.getParent());
    }
    Files.writeString(csv, b.toString(), StandardCharsets.UTF_8);
  }

  private static double baseline(List<Cell> cells, int threads) {
    return cells.stream()
        .filter(b -> b.mode() == Mode.FSYNC_PER_WRITE && b.threads() == threads)
        .mapToDouble(Cell::opsPerSecond).findFirst().orElse(Double.NaN);
  }
}
