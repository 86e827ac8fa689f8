package io.respawn.bench.backup;

import io.respawn.bench.CsvChart;
import io.respawn.bench.LocalJedis;
import io.respawn.server.shard.LoopbackPorts;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupStats;
import io.respawn.storage.backup.BackupStore;
import io.respawn.storage.backup.PopularitySampler;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;

/**
 * The backup role's storage on a real directory (DESIGN.md §3; the backup rows), with the
 * E1 record shape — 16-byte keys, 496-byte values:
 *
 * <ul>
 *   <li>{@code ack}: one writer applying as fast as it can; each apply is acknowledged once its
 *       record is in the mapped persistent buffer (no fsync). Writeback and GC run meanwhile.
 *   <li>{@code writeback}: the buffer filled with writeback stopped, then drained by one pass —
 *       the ring's msync, the copy into the logs in writeback blocks, their fsync: MB/s of
 *       records moved to durable logs.
 *   <li>{@code gc}: a log with half its records stale, collected until no segment qualifies:
 *       read and rewrite rates and bytes rewritten per byte reclaimed.
 *   <li>{@code memory}: DRAM per key at {@code --keys} keys for the backup (anonymous RSS growth
 *       of a child JVM with a fixed pre-touched heap, see {@link MemoryProbe}), the engine
 *       (the primary's table, keys and values off the heap; measured the same way) and Redis
 *       ({@code used_memory} and RSS), in the same run.
 *   <li>{@code keepup}: the write-only E1 load (zipfian 0.99 over {@code --keys} keys, popularity
 *       sampled at 0.001 and reported every second), offered at {@code --keepup-rate} writes/s,
 *       for {@code --keepup-seconds}; the buffer's fill every 100 ms, to show that writeback keeps
 *       up (the buffer never fills). With rate 0 the writer runs flat out, and the disk sets the
 *       pace through buffer-full waits.
 * </ul>
 */
@Command(
    name = "backup",
    mixinStandardHelpOptions = true,
    description = "Backup role storage: buffer ack rate, writeback MB/s, GC cost, DRAM per key "
        + "(vs the engine and Redis), and a keep-up run under the write-only E1 load.")
public final class BackupBench implements Callable<Integer> {

  /** What can be run. */
  enum Row { memory, ack, writeback, gc, keepup }

  static final int KEY_BYTES = 16;
  static final int VALUE_BYTES = 496;

  @Option(names = "--rows", split = ",", description = "Rows to run: ${COMPLETION-CANDIDATES}. Default: all")
  List<Row> rows = List.of(Row.values());

  @Option(names = "--dir", description = "Directory to write in (emptied per row). Default: ${DEFAULT-VALUE}")
  Path dir = Path.of("data", "bench-backup");

  @Option(names = "--keys", description = "Distinct keys. Default: ${DEFAULT-VALUE}")
  int keys = 1_000_000;

  @Option(names = "--seconds", description = "Measured seconds of the ack row. Default: ${DEFAULT-VALUE}")
  double seconds = 5;

  @Option(names = "--keepup-seconds", description = "Length of the keep-up run. Default: ${DEFAULT-VALUE}")
  int keepupSeconds = 60;

  @Option(names = "--keepup-rate", description = "Writes/s the keep-up writer offers; 0 = as fast "
      + "as it can (then the disk, not writeback, sets the pace). Default: ${DEFAULT-VALUE}, about "
      + "what one Respawn node answers for SET (docs/benchmarks.md)")
  int keepupRate = 100_000;

  @Option(names = "--block-bytes", description = "writebackBlockBytes. Default: the BackupConfig default")
  int blockBytes = BackupConfig.defaults().writebackBlockBytes();

  @Option(names = "--redis-server", description = "redis-server binary for the memory row; 'none' to skip. Default: ${DEFAULT-VALUE}")
  String redisServer = "redis-server";

  @Option(names = "--csv", description = "Also write every result as CSV (row,metric,value).")
  Path csvOut;

  @Option(names = "--keepup-csv", description = "Also write the keep-up run's per-second series as CSV.")
  Path keepupCsv;

  @Option(names = "--keepup-png", description = "Also render the keep-up run's buffer fill per second as PNG.")
  Path keepupPng;

  private final List<String> results = new ArrayList<>();
  private final PrintStream out = System.out;

  @Override
  public Integer call() throws Exception {
    if (keys < 1000 || keys > 100_000_000) {
      throw new CommandLine.ParameterException(new CommandLine(this), "--keys must be 1000..100000000");
    }
    if (seconds <= 0 || seconds > 3600 || keepupSeconds < 1 || keepupSeconds > 3600) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--seconds must be in (0, 3600], --keepup-seconds in [1, 3600]");
    }
    out.printf("backup bench: dir=%s, %d keys, %d-byte keys, %d-byte values, writeback blocks of %d bytes%n",
        dir.toAbsolutePath(), keys, KEY_BYTES, VALUE_BYTES, blockBytes);
    for (Row row : rows) {
      io.respawn.server.shard.ShardMember.deleteTree(dir);
      Files.createDirectories(dir);
      switch (row) {
        case memory -> memory();
        case ack -> ack();
        case writeback -> writeback();
        case gc -> gc();
        case keepup -> keepup();
      }
    }
    io.respawn.server.shard.ShardMember.deleteTree(dir);
    if (csvOut != null) {
      if (csvOut.toAbsolutePath().getParent() != null) {
        Files.createDirectories(csvOut.toAbsolutePath().getParent());
      }
      Files.writeString(csvOut, "row,metric,value\n" + String.join("\n", results) + "\n",
          StandardCharsets.UTF_8);
    }
    return 0;
  }

  private void result(String row, String metric, double value) {
    results.add(String.format(Locale.ROOT, "%s,%s,%.3f", row, metric, value));
  }

  static byte[] key(long i) {
    return String.format("key:%012d", i).getBytes(StandardCharsets.US_ASCII);
  }

  private BackupConfig config(boolean threads) {
    return BackupConfig.defaults().toBuilder()
        .writebackBlockBytes(blockBytes)
        .writebackIntervalMillis(threads ? 5 : 0)
        .gcIntervalMillis(threads ? 100 : 0)
        .build();
  }

  // ---------------------------------------------------------------- ack

  private void ack() throws Exception {
    BackupConfig config = config(true).toBuilder().expectedKeys(keys).build();
    byte[] value = new byte[VALUE_BYTES];
    new SplittableRandom(1).nextBytes(value);
    byte[][] keyBytes = keysUpFront();
    SplittableRandom random = new SplittableRandom(2);
    Histogram latency = new Histogram(TimeUnit.SECONDS.toNanos(10), 3);
    long index = 0;
    long ops = 0;
    BackupStats before;
    BackupStats after;
    double elapsed;
    long cpuBefore;
    long cpuNanos;
    try (BackupStore store = BackupStore.open(dir, config)) {
      long warmupEnd = System.nanoTime() + TimeUnit.SECONDS.toNanos(1);
      while (System.nanoTime() < warmupEnd) {
        store.apply(keyBytes[random.nextInt(keys)], value, 1, ++index);
      }
      before = store.stats();
      cpuBefore = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
      long start = System.nanoTime();
      long end = start + (long) (seconds * 1e9);
      long now = start;
      while (now < end) {
        byte[] k = keyBytes[random.nextInt(keys)];
        store.apply(k, value, 1, ++index);
        long t = System.nanoTime();
        latency.recordValue(Math.min(t - now, latency.getHighestTrackableValue()));
        now = t;
        ops++;
      }
      elapsed = (now - start) / 1e9;
      cpuNanos = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpuBefore;
      after = store.stats();
    }
    double rate = ops / elapsed;
    double cpuPerOp = (double) cpuNanos / ops;
    out.printf("%nack: one writer, %d-byte records (%d B key + %d B value), acknowledged in the mapped buffer%n",
        49 + KEY_BYTES + VALUE_BYTES, KEY_BYTES, VALUE_BYTES);
    out.printf("  %,.0f writes/s  (%.1f MB/s of key+value)  p50 %.2f us  p99 %.2f us  p99.9 %.2f us  max %.0f us%n",
        rate, rate * (KEY_BYTES + VALUE_BYTES) / 1e6, latency.getValueAtPercentile(50) / 1e3,
        latency.getValueAtPercentile(99) / 1e3, latency.getValueAtPercentile(99.9) / 1e3,
        latency.getMaxValue() / 1e3);
    out.printf("  writer thread CPU %.2f us per write (%,.0f writes/s per core; it had %.0f%% of a core)%n",
        cpuPerOp / 1e3, 1e9 / cpuPerOp, 100.0 * cpuNanos / (elapsed * 1e9));
    out.printf("  buffer-full waits %d, buffer high water %.1f%% of the ring, writeback passes %d%n",
        after.bufferFullWaits() - before.bufferFullWaits(),
        100.0 * after.bufferHighWaterBytes() / after.ringBytes(),
        after.writebackPasses() - before.writebackPasses());
    result("ack", "writes_per_sec", rate);
    result("ack", "cpu_us_per_write", cpuPerOp / 1e3);
    result("ack", "p50_us", latency.getValueAtPercentile(50) / 1e3);
    result("ack", "p99_us", latency.getValueAtPercentile(99) / 1e3);
    result("ack", "p999_us", latency.getValueAtPercentile(99.9) / 1e3);
    result("ack", "buffer_full_waits", after.bufferFullWaits() - before.bufferFullWaits());
  }

  private byte[][] keysUpFront() {
    byte[][] k = new byte[keys][];
    for (int i = 0; i < keys; i++) {
      k[i] = key(i);
    }
    return k;
  }

  // ---------------------------------------------------------------- writeback

  private void writeback() throws Exception {
    // A 256 MiB buffer, filled to 3/4 with writeback stopped, then drained by one pass.
    BackupConfig config = config(false).toBuilder().bufferBytes(256L << 20)
        .expectedKeys(keys).build();
    byte[] value = new byte[VALUE_BYTES];
    new SplittableRandom(3).nextBytes(value);
    long recordBytes = 49 + KEY_BYTES + VALUE_BYTES;
    int perRound = (int) (config.ringBytes() * 3 / 4 / (recordBytes + 7));
    out.printf("%nwriteback: fill 3/4 of a %d MiB buffer (%,d records) with writeback stopped, then one pass%n",
        config.bufferBytes() >> 20, perRound);
    List<Double> rates = new ArrayList<>();
    long index = 0;
    try (BackupStore store = BackupStore.open(dir, config)) {
      for (int round = 0; round < 3; round++) {
        for (int i = 0; i < perRound; i++) {
          store.apply(key((long) round * perRound + i), value, 1, ++index);
        }
        BackupStats before = store.stats();
        long cpu0 = ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
        long start = System.nanoTime();
        store.flush(); // without a writeback thread the pass runs here
        double elapsed = (System.nanoTime() - start) / 1e9;
        double cpu = (ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime() - cpu0) / 1e9;
        BackupStats after = store.stats();
        double mb = perRound * recordBytes / 1e6;
        rates.add(mb / elapsed);
        out.printf("  round %d: %.1f MB of records in %.3f s = %.1f MB/s (%.1f MB written to the "
            + "logs; the pass used %.2f s of CPU)%n", round + 1, mb, elapsed, mb / elapsed,
            (after.writebackBytes() - before.writebackBytes()) / 1e6, cpu);
      }
    }
    rates.sort(Comparator.naturalOrder());
    out.printf("  median %.1f MB/s%n", rates.get(1));
    result("writeback", "mb_per_sec_median", rates.get(1));
  }

  // ---------------------------------------------------------------- gc

  private void gc() throws Exception {
    int n = Math.min(keys, 400_000);
    BackupConfig config = config(false).toBuilder().segmentBytesMax(32L << 20)
        .expectedKeys(n).build();
    byte[] value = new byte[VALUE_BYTES];
    new SplittableRandom(4).nextBytes(value);
    SplittableRandom random = new SplittableRandom(5);
    long index = 0;
    try (BackupStore store = BackupStore.open(dir, config)) {
      for (int i = 0; i < n; i++) {
        store.apply(key(i), value, 1, ++index);
      }
      for (int i = 0; i < n; i++) {
        if (random.nextBoolean()) {
          store.apply(key(i), value, 1, ++index); // half the keys written again: garbage
        }
      }
      store.flush();
      BackupStats before = store.stats();
      long start = System.nanoTime();
      while (store.collectGarbage(false)) {
        // collect every segment that qualifies
      }
      store.flush(); // the rewrites reach the logs
      double elapsed = (System.nanoTime() - start) / 1e9;
      BackupStats after = store.stats();
      long logBefore = before.hotBytes() + before.coldBytes();
      long logAfter = after.hotBytes() + after.coldBytes();
      long rewritten = after.gcRecordsRewritten() - before.gcRecordsRewritten();
      long read = after.gcBytesRead() - before.gcBytesRead();
      long rewrittenBytes = rewritten * (49 + KEY_BYTES + VALUE_BYTES);
      long reclaimed = logBefore - logAfter;
      out.printf("%ngc: %,d keys, half written twice (log %.1f MB, %.0f%% stale), collected until no segment qualifies%n",
          n, logBefore / 1e6, 100.0 * (1 - (double) (before.hotLiveBytes() + before.coldLiveBytes()) / logBefore));
      out.printf("  %d segments in %.2f s: read %.1f MB/s, rewrote %,d records (%.1f MB), dropped %,d; "
          + "reclaimed %.1f MB; %.2f bytes rewritten per byte reclaimed%n",
          after.gcSegments() - before.gcSegments(), elapsed, read / 1e6 / elapsed, rewritten,
          rewrittenBytes / 1e6, after.gcRecordsDropped() - before.gcRecordsDropped(),
          reclaimed / 1e6, reclaimed == 0 ? Double.NaN : (double) rewrittenBytes / reclaimed);
      result("gc", "read_mb_per_sec", read / 1e6 / elapsed);
      result("gc", "reclaimed_mb", reclaimed / 1e6);
      result("gc", "rewritten_per_reclaimed", reclaimed == 0 ? Double.NaN : (double) rewrittenBytes / reclaimed);
      result("gc", "seconds", elapsed);
    }
  }

  // ---------------------------------------------------------------- memory

  private void memory() throws Exception {
    byte[] value = new byte[VALUE_BYTES];
    new SplittableRandom(6).nextBytes(value);
    out.printf("%nmemory: %,d keys, %d-byte keys, %d-byte values%n", keys, KEY_BYTES, VALUE_BYTES);

    // Each store in a child JVM with a fixed, pre-touched heap: its anonymous RSS grows only by
    // what the store keeps (see MemoryProbe).
    java.util.Map<String, Long> backup = probe(MemoryProbe.Role.backup);
    double backupPerKey = (double) backup.get("rssAnonGrowth") / keys;
    double offHeap = (double) backup.get("offHeap") / keys;
    out.printf("  backup:  %.1f B/key anonymous RSS growth (index off-heap %.1f B/key, live heap %.1f B/key;"
        + " fixed pre-touched heap, the mapped buffer is NVMM's stand-in)%n",
        backupPerKey, offHeap, (double) backup.get("heapGrowth") / keys);
    result("memory", "backup_rss_bytes_per_key", backupPerKey);
    result("memory", "backup_index_offheap_bytes_per_key", offHeap);
    io.respawn.server.shard.ShardMember.deleteTree(dir.resolve("backup"));

    java.util.Map<String, Long> engine = probe(MemoryProbe.Role.engine);
    double enginePerKey = (double) engine.get("rssAnonGrowth") / keys;
    out.printf("  engine:  %.1f B/key anonymous RSS growth (used memory off-heap %.1f B/key, live heap"
        + " %.1f B/key; the primary's table: keys and values in off-heap slabs)%n",
        enginePerKey, (double) engine.get("offHeap") / keys, (double) engine.get("heapGrowth") / keys);
    result("memory", "engine_rss_bytes_per_key", enginePerKey);
    result("memory", "engine_used_memory_bytes_per_key", (double) engine.get("offHeap") / keys);
    io.respawn.server.shard.ShardMember.deleteTree(dir.resolve("engine"));

    double redisPerKey = redisBytesPerKey(value);
    out.printf("  backup / engine = %.3f%s%n", backupPerKey / enginePerKey,
        Double.isNaN(redisPerKey) ? "" : String.format(Locale.ROOT, ", backup / Redis used_memory = %.3f",
            backupPerKey / redisPerKey));
    result("memory", "backup_over_engine", backupPerKey / enginePerKey);
    if (!Double.isNaN(redisPerKey)) {
      result("memory", "backup_over_redis", backupPerKey / redisPerKey);
    }
  }

  /** Runs {@link MemoryProbe} for role in a child JVM; its figures by name. */
  private java.util.Map<String, Long> probe(MemoryProbe.Role role) throws Exception {
    String java = ProcessHandle.current().info().command().orElse("java");
    Process probe = new ProcessBuilder(java, "-Xms256m", "-Xmx256m", "-XX:+AlwaysPreTouch",
        "-XX:+UseParallelGC", "-cp", System.getProperty("java.class.path"),
        MemoryProbe.class.getName(), role.name(), String.valueOf(keys),
        dir.resolve(role.name()).toString())
        .redirectErrorStream(true).start();
    String line = null;
    List<String> output = new ArrayList<>();
    try (var reader = probe.inputReader()) {
      for (String l; (l = reader.readLine()) != null; ) {
        output.add(l);
        if (l.startsWith("rssAnonGrowth=")) {
          line = l;
        }
      }
    }
    if (probe.waitFor() != 0 || line == null) {
      throw new IllegalStateException("memory probe (" + role + ") failed (exit "
          + probe.exitValue() + "): " + String.join("\n", output));
    }
    java.util.Map<String, Long> probed = new java.util.HashMap<>();
    for (String kv : line.split(" ")) {
      String[] p = kv.split("=");
      probed.put(p[0], Long.parseLong(p[1]));
    }
    return probed;
  }

  /** Loads the keys into a fresh redis-server; returns used_memory growth per key (NaN if none). */
  private double redisBytesPerKey(byte[] value) throws Exception {
    if (redisServer.equals("none")) {
      return Double.NaN;
    }
    int port = LoopbackPorts.free();
    Process redis;
    try {
      redis = new ProcessBuilder(redisServer, "--port", String.valueOf(port), "--bind", "127.0.0.1",
          "--save", "", "--appendonly", "no", "--dir", dir.toAbsolutePath().toString())
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    } catch (IOException e) {
      out.println("  redis:   not run (" + e.getMessage() + ")");
      return Double.NaN;
    }
    try (Jedis jedis = connect(port)) {
      long used0 = Long.parseLong(info(jedis, "used_memory"));
      long rss0 = rssOf(redis.pid());
      for (int i = 0; i < keys; i += 10_000) {
        Pipeline p = jedis.pipelined();
        for (int j = i; j < Math.min(keys, i + 10_000); j++) {
          p.set(key(j), value);
        }
        p.sync();
      }
      long used1 = Long.parseLong(info(jedis, "used_memory"));
      long rss1 = rssOf(redis.pid());
      double perKey = (double) (used1 - used0) / keys;
      out.printf("  redis:   %.1f B/key used_memory, %.1f B/key RSS growth (%s, no persistence)%n",
          perKey, (double) (rss1 - rss0) / keys, info(jedis, "redis_version"));
      result("memory", "redis_used_memory_bytes_per_key", perKey);
      result("memory", "redis_rss_bytes_per_key", (double) (rss1 - rss0) / keys);
      return perKey;
    } finally {
      redis.destroy();
      if (!redis.waitFor(10, TimeUnit.SECONDS)) {
        redis.destroyForcibly();
      }
    }
  }

  private static Jedis connect(int port) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try {
        Jedis j = LocalJedis.connect(port, 2_000);
        j.ping();
        return j;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        Thread.sleep(50);
      }
    }
  }

  private static String info(Jedis jedis, String field) {
    for (String line : jedis.info().split("\r\n")) {
      if (line.startsWith(field + ":")) {
        return line.substring(field.length() + 1);
      }
    }
    throw new IllegalStateException("INFO has no " + field);
  }

  /** VmRSS of a process in bytes. */
  private static long rssOf(long pid) throws IOException {
    return statusField(Path.of("/proc", String.valueOf(pid), "status"), "VmRSS:");
  }

  private static long statusField(Path status, String field) throws IOException {
    for (String line : Files.readAllLines(status)) {
      if (line.startsWith(field)) {
        return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]) * 1024;
      }
    }
    return -1;
  }

  // ---------------------------------------------------------------- keep-up

  private void keepup() throws Exception {
    BackupConfig config = config(true).toBuilder().expectedKeys(keys).build();
    Zipf zipf = new Zipf(keys, 0.99, 7);
    byte[][] keyBytes = keysUpFront();
    byte[] value = new byte[VALUE_BYTES];
    new SplittableRandom(8).nextBytes(value);
    PopularitySampler sampler = new PopularitySampler(0.001, 1 << 16, 9);
    AtomicBoolean stop = new AtomicBoolean();
    AtomicLong ops = new AtomicLong();
    AtomicReference<Throwable> error = new AtomicReference<>();
    List<String> series = new ArrayList<>();
    out.printf("%nkeepup: write-only E1 load for %d s: one writer offering %s, zipfian 0.99 over "
        + "%,d keys, popularity sampled at 0.001 and reported every second%n", keepupSeconds,
        keepupRate == 0 ? "as many writes as it can" : String.format("%,d writes/s", keepupRate), keys);
    out.printf("  %4s %10s %12s %14s %10s %10s %12s%n", "s", "writes/s", "buffer max", "writeback MB/s",
        "gc segs", "hot keys", "full waits");
    long maxUsed = 0;
    BackupStats first;
    BackupStats last;
    long startNanos;
    try (BackupStore store = BackupStore.open(dir, config)) {
      first = store.stats();
      Thread writer = new Thread(() -> {
        long index = 0;
        // Paced every 64 writes; a writer more than 10 ms behind its schedule (starved of CPU)
        // moves the schedule instead of bursting to catch up, so the offered rate never
        // exceeds keepupRate.
        long due = System.nanoTime();
        long step = keepupRate > 0 ? (long) (64 * 1e9 / keepupRate) : 0;
        try {
          while (!stop.get()) {
            if (keepupRate > 0 && (index & 63) == 0) {
              long now = System.nanoTime();
              due = Math.max(due + step, now - 10_000_000L);
              if (due - now > 100_000) {
                java.util.concurrent.locks.LockSupport.parkNanos(due - now);
              }
            }
            byte[] k = keyBytes[(int) zipf.next()];
            store.apply(k, value, 1, ++index);
            sampler.observe(k);
            ops.lazySet(index);
          }
        } catch (Throwable t) {
          error.set(t);
        }
      }, "bench-backup-writer");
      startNanos = System.nanoTime();
      writer.start();
      BackupStats previous = first;
      long previousOps = 0;
      for (int second = 1; second <= keepupSeconds && error.get() == null; second++) {
        long secondMax = 0;
        for (int tick = 0; tick < 10; tick++) {
          long wake = startNanos + (second - 1) * 1_000_000_000L + (tick + 1) * 100_000_000L;
          long sleep = wake - System.nanoTime();
          if (sleep > 0) {
            TimeUnit.NANOSECONDS.sleep(sleep);
          }
          secondMax = Math.max(secondMax, store.stats().bufferUsedBytes());
        }
        store.reportPopularity(sampler.drainReport());
        BackupStats now = store.stats();
        long nowOps = ops.get();
        maxUsed = Math.max(maxUsed, secondMax);
        double wbMb = (now.writebackBytes() - previous.writebackBytes()) / 1e6;
        out.printf("  %4d %,10d %11.1f%% %14.1f %10d %10d %12d%n", second, nowOps - previousOps,
            100.0 * secondMax / now.ringBytes(), wbMb, now.gcSegments(), now.hotKeys(),
            now.bufferFullWaits());
        series.add(String.format(Locale.ROOT, "buffer_max_pct,%d,%.2f,%d,%.1f", second,
            100.0 * secondMax / now.ringBytes(), nowOps - previousOps, wbMb));
        previous = now;
        previousOps = nowOps;
      }
      stop.set(true);
      writer.join(30_000);
      last = store.stats();
    }
    if (error.get() != null) {
      throw new IllegalStateException("keep-up writer failed", error.get());
    }
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    long total = ops.get();
    out.printf("  total: %,d writes in %.1f s = %,.0f writes/s (%.1f MB/s of records); buffer at most "
        + "%.1f%% full (%.1f of %d MiB), %d buffer-full waits; GC collected %d segments "
        + "(rewrote %,d records, dropped %,d); hot log %.1f MB live, cold log %.1f MB live%n",
        total, elapsed, total / elapsed, total * (49.0 + KEY_BYTES + VALUE_BYTES) / elapsed / 1e6,
        100.0 * maxUsed / last.ringBytes(), maxUsed / 1048576.0, last.ringBytes() >> 20,
        last.bufferFullWaits() - first.bufferFullWaits(), last.gcSegments(),
        last.gcRecordsRewritten(), last.gcRecordsDropped(), last.hotLiveBytes() / 1e6,
        last.coldLiveBytes() / 1e6);
    result("keepup", "writes_per_sec", total / elapsed);
    result("keepup", "buffer_max_pct", 100.0 * maxUsed / last.ringBytes());
    result("keepup", "buffer_full_waits", last.bufferFullWaits() - first.bufferFullWaits());
    result("keepup", "gc_segments", last.gcSegments());
    if (keepupCsv != null || keepupPng != null) {
      Path csv = keepupCsv != null ? keepupCsv : Files.createTempFile("keepup", ".csv");
      if (csv.toAbsolutePath().getParent() != null) {
        Files.createDirectories(csv.toAbsolutePath().getParent());
      }
      Files.writeString(csv, "series,second,buffer_max_pct,writes,writeback_mb\n"
          + String.join("\n", series) + "\n", StandardCharsets.UTF_8);
      if (keepupPng != null) {
        CsvChart.render(csv, keepupPng, "backup buffer fill (% of ring, max per second) under the "
            + "write-only E1 load", "series", List.of("second"), "buffer_max_pct");
        out.println("  chart: " + keepupPng);
      }
      if (keepupCsv == null) {
        Files.delete(csv);
      }
    }
  }
}
