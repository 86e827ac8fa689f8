package io.respawn.bench.e1;

import io.etcd.jetcd.KV;
import io.respawn.bench.CsvChart;
import io.respawn.bench.e1.E1Workload.Mix;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code respawn bench e1}: experiment E1 (DESIGN §11). Starts every system on loopback, loads
 * the same records into each, and then runs rounds; every round measures every (workload,
 * system) cell once, the systems in a different order each round, so the machine's drift
 * spreads over all of them. Writes the medians over the rounds to {@code OUT/e1.csv}, every
 * round to {@code OUT/e1-rounds.csv}, a chart to {@code OUT/e1.png} and the {@code
 * redis-benchmark} figures to {@code OUT/e1-redis-benchmark.csv}; prints the must-show ratios.
 *
 * <p>Systems: the Respawn shard (1 primary + 1 backup + 1 witness) with ORDERED and with
 * DURABLE acknowledgements (two connection settings on one shard), Redis with {@code
 * appendfsync everysec}, Redis primary + replica with {@code WAIT 1 0} after every write, and a
 * three-member etcd. Every process it starts is stopped by its pid when it ends.
 */
@Command(name = "e1", mixinStandardHelpOptions = true,
    description = "Experiment E1: the shard vs Redis (everysec; replica + WAIT) vs etcd under YCSB B, C and write-only, plus redis-benchmark.")
public final class E1Bench implements Callable<Integer> {
  /** The systems E1 measures, by their CSV name. */
  enum Store {
    RESPAWN_ORDERED("respawn-ordered"),
    RESPAWN_DURABLE("respawn-durable"),
    REDIS_EVERYSEC("redis-everysec"),
    REDIS_REPLICA_WAIT("redis-replica-wait"),
    ETCD("etcd");

    final String label;

    Store(String label) {
      this.label = label;
    }

    static Store of(String label) {
      for (Store s : values()) {
        if (s.label.equals(label)) {
          return s;
        }
      }
      throw new IllegalArgumentException("unknown system '" + label + "' ("
          + String.join(", ", Arrays.stream(values()).map(v -> v.label).toList()) + ")");
    }

    boolean respawn() {
      return this == RESPAWN_ORDERED || this == RESPAWN_DURABLE;
    }
  }

  static final String HEADER = "system,workload,ops_per_sec,p50_ms,p99_ms";
  static final int SECONDS_MAX = 3_600;
  static final int THREADS_MAX = 1_024;
  static final long RECORDS_MAX = 100_000_000;

  @Option(names = "--seconds", defaultValue = "20",
      description = "Measured seconds per cell (default: ${DEFAULT-VALUE}).")
  double seconds;

  @Option(names = "--warmup-seconds", defaultValue = "2",
      description = "Unmeasured seconds before each cell's measurement (default: ${DEFAULT-VALUE}).")
  double warmupSeconds;

  @Option(names = "--warmup-round-seconds", defaultValue = "20",
      description = "Seconds each system runs each workload once, unmeasured, after loading and"
          + " before round 1, so that no system is measured while its JIT still compiles"
          + " (0: none; default: ${DEFAULT-VALUE}).")
  double warmupRoundSeconds;

  @Option(names = "--rounds", defaultValue = "3",
      description = "Rounds; the tables give the median over them (default: ${DEFAULT-VALUE}).")
  int rounds;

  @Option(names = "--threads", defaultValue = "8",
      description = "YCSB client threads, one connection each (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--records", defaultValue = "100000",
      description = "Records loaded into every system before the rounds (default: ${DEFAULT-VALUE}).")
  long records;

  @Option(names = "--value-bytes", defaultValue = "496",
      description = "Stored bytes per record (default: ${DEFAULT-VALUE}); keys are 16 bytes.")
  int valueBytes;

  @Option(names = "--systems", split = ",",
      defaultValue = "respawn-ordered,respawn-durable,redis-everysec,redis-replica-wait,etcd",
      description = "Systems to run (default: ${DEFAULT-VALUE}).")
  List<String> systemNames;

  @Option(names = "--workloads", split = ",", defaultValue = "ycsb-b,ycsb-c,write-only",
      description = "Workloads to run (default: ${DEFAULT-VALUE}).")
  List<String> workloadNames;

  @Option(names = "--redis-benchmark-requests", defaultValue = "200000",
      description = "Requests per redis-benchmark test (-n); 0 skips redis-benchmark (default: ${DEFAULT-VALUE}).")
  long redisBenchmarkRequests;

  @Option(names = "--redis-benchmark-clients", defaultValue = "50",
      description = "redis-benchmark connections (-c) (default: ${DEFAULT-VALUE}).")
  int redisBenchmarkClients;

  @Option(names = "--out", defaultValue = "docs/bench",
      description = "Directory for e1.csv, e1-rounds.csv, e1.png, e1-redis-benchmark.csv (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--data", defaultValue = "data/e1",
      description = "Directory under which each run makes its own data directory (default: ${DEFAULT-VALUE}); not a tmpfs, or DURABLE and etcd measure memory.")
  Path data;

  @Option(names = "--keep-data", description = "Keep the run's data directory (default: removed at the end).")
  boolean keepData;

  @Option(names = "--member-java-opts",
      description = "JVM options of the shard's member processes (default: this JVM's own options, as respawn up).")
  String memberJavaOpts;

  @Option(names = "--timeout-ms", defaultValue = "10000",
      description = "Client timeout per request (default: ${DEFAULT-VALUE}).")
  int timeoutMillis;

  @Spec CommandSpec spec;

  private PrintWriter roundsCsv;
  private final Map<String, List<double[]>> cells = new LinkedHashMap<>();
  private final Map<String, List<double[]>> rbCells = new LinkedHashMap<>();
  private long errorsTotal;
  private final List<String> redisBenchmarkFailures = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    List<Store> systems = parse(systemNames, Store::of, "--systems");
    List<Mix> mixes = parse(workloadNames, Mix::of, "--workloads");
    check();
    requireInstalled(systems);
    Path runDir = data.toAbsolutePath().normalize()
        .resolve("run-" + Instant.now().toString().replace(':', '-'));
    Files.createDirectories(runDir);
    Files.createDirectories(out);
    String loadBefore = loadAverage();
    System.out.printf(Locale.ROOT,
        "respawn bench e1: %s; %s; %d rounds of %.0f s per cell (+%.0f s warm-up), %d threads,"
            + " %d records, 16-byte keys, %d-byte values; data %s; load %s%n",
        systems.stream().map(s -> s.label).toList(), mixes.stream().map(m -> m.label).toList(),
        rounds, seconds, warmupSeconds, threads, records, valueBytes, runDir, loadBefore);
    try (LocalProcesses processes = new LocalProcesses();
        Peers peers = Peers.start(systems, processes, runDir, jvmOptions());
        PrintWriter rows = new PrintWriter(Files.newBufferedWriter(out.resolve("e1-rounds.csv"),
            StandardCharsets.UTF_8))) {
      roundsCsv = rows;
      rows.println("round,system,workload,ops_per_sec,p50_ms,p99_ms,errors,redirects,"
          + "server_cpu_us_per_op,client_cpu_us_per_op");
      rows.flush();
      loadAll(systems, peers);
      warmUpAll(systems, mixes, peers);
      for (int round = 1; round <= rounds; round++) {
        for (Mix mix : mixes) {
          for (Store s : rotate(systems, round - 1)) {
            measure(round, s, mix, peers);
          }
        }
        if (redisBenchmarkRequests > 0) {
          redisBenchmarkRound(round, systems, peers);
        }
      }
    } finally {
      if (!keepData) {
        io.respawn.server.shard.ShardMember.deleteTree(runDir);
      }
    }
    writeMedians(systems, mixes);
    System.out.println("load before: " + loadBefore + "; after: " + loadAverage());
    for (String f : redisBenchmarkFailures) {
      System.out.println("redis-benchmark failed: " + f);
    }
    if (errorsTotal > 0) {
      System.out.println("respawn bench e1: " + errorsTotal + " operations failed");
      return 1;
    }
    return 0;
  }

  private void check() {
    if (!(seconds > 0 && seconds <= SECONDS_MAX)) {
      throw bad("--seconds must be in (0, " + SECONDS_MAX + "], got " + seconds);
    }
    if (!(warmupSeconds >= 0 && warmupSeconds <= SECONDS_MAX)) {
      throw bad("--warmup-seconds must be in [0, " + SECONDS_MAX + "], got " + warmupSeconds);
    }
    if (!(warmupRoundSeconds >= 0 && warmupRoundSeconds <= SECONDS_MAX)) {
      throw bad("--warmup-round-seconds must be in [0, " + SECONDS_MAX + "], got "
          + warmupRoundSeconds);
    }
    if (rounds < 1 || rounds > 1_000) {
      throw bad("--rounds must be in [1, 1000], got " + rounds);
    }
    if (threads < 1 || threads > THREADS_MAX) {
      throw bad("--threads must be in [1, " + THREADS_MAX + "], got " + threads);
    }
    if (records < threads || records > RECORDS_MAX) {
      throw bad("--records must be in [--threads, " + RECORDS_MAX + "], got " + records);
    }
    int least = RecordCodec.encodedBytes(1, 0) + 1;
    if (valueBytes < least || valueBytes > 1 << 20) {
      throw bad("--value-bytes must be in [" + least + ", 1048576], got " + valueBytes);
    }
    if (redisBenchmarkRequests < 0 || redisBenchmarkClients < 1 || redisBenchmarkClients > 10_000) {
      throw bad("--redis-benchmark-requests must be >= 0 and --redis-benchmark-clients in"
          + " [1, 10000]");
    }
    if (timeoutMillis < 1) {
      throw bad("--timeout-ms must be >= 1, got " + timeoutMillis);
    }
  }

  private ParameterException bad(String message) {
    return new ParameterException(spec.commandLine(), message);
  }

  private <T> List<T> parse(List<String> names, java.util.function.Function<String, T> of,
      String flag) {
    List<T> parsed = new ArrayList<>();
    for (String n : names) {
      try {
        T t = of.apply(n.trim());
        if (!parsed.contains(t)) {
          parsed.add(t);
        }
      } catch (IllegalArgumentException e) {
        throw bad(flag + ": " + e.getMessage());
      }
    }
    if (parsed.isEmpty()) {
      throw bad(flag + " names nothing");
    }
    return parsed;
  }

  /** Refuses to start when a program a requested system needs is not installed. */
  private void requireInstalled(List<Store> systems) {
    boolean redis = systems.contains(Store.REDIS_EVERYSEC)
        || systems.contains(Store.REDIS_REPLICA_WAIT);
    if (redis && !onPath("redis-server")) {
      throw bad("redis-server is not installed: run scripts/install-test-deps.sh, or leave the"
          + " redis-* systems out of --systems");
    }
    if (redisBenchmarkRequests > 0 && !onPath("redis-benchmark")) {
      throw bad("redis-benchmark is not installed: run scripts/install-test-deps.sh, or pass"
          + " --redis-benchmark-requests 0");
    }
    if (systems.contains(Store.ETCD) && !onPath("etcd")) {
      throw bad("etcd is not installed: run scripts/install-etcd.sh, or leave etcd out of"
          + " --systems");
    }
  }

  /** Whether {@code program} is an executable file in a directory of PATH. */
  public static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }

  private List<String> jvmOptions() {
    return memberJavaOpts != null
        ? Arrays.stream(memberJavaOpts.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList()
        : ManagementFactory.getRuntimeMXBean().getInputArguments();
  }

  /** The YCSB DB for one client thread of {@code s}. */
  private Supplier<KvDb> dbs(Store s, Peers peers) {
    return switch (s) {
      case RESPAWN_ORDERED -> () -> new RedisKvDb(new RedisKvDb.Target("127.0.0.1",
          peers.shard.primaryPort(), "ORDERED", 0, timeoutMillis));
      case RESPAWN_DURABLE -> () -> new RedisKvDb(new RedisKvDb.Target("127.0.0.1",
          peers.shard.primaryPort(), "DURABLE", 0, timeoutMillis));
      case REDIS_EVERYSEC -> () -> new RedisKvDb(new RedisKvDb.Target("127.0.0.1",
          peers.redisEverysec.port, null, 0, timeoutMillis));
      case REDIS_REPLICA_WAIT -> () -> new RedisKvDb(new RedisKvDb.Target("127.0.0.1",
          peers.redisPrimary.port, null, 1, timeoutMillis));
      case ETCD -> {
        KV kv = peers.etcd.client().getKVClient();
        yield () -> new EtcdKvDb(kv, timeoutMillis);
      }
    };
  }

  /** Loads the records into every store once (the shard once for both its systems). */
  private void loadAll(List<Store> systems, Peers peers) throws Exception {
    boolean shardLoaded = false;
    for (Store s : systems) {
      if (s.respawn()) {
        if (shardLoaded) {
          continue;
        }
        shardLoaded = true;
      }
      ClosedLoop.Result r = ClosedLoop.load(dbs(s, peers),
          E1Workload.properties(Mix.YCSB_C, records, valueBytes), threads);
      System.out.printf(Locale.ROOT, "load %-18s %d records in %.1f s (%.0f/s)%s%s%n",
          s.respawn() ? "respawn" : s.label, r.operations(), r.seconds(),
          r.operations() / r.seconds(),
          r.redirects() > 0 ? ", " + r.redirects() + " MOVED followed" : "", r.errors() > 0 ? ", " + r.errors()
              + " FAILED, first: " + r.firstError() : "");
      if (r.errors() > 0) {
        throw new IllegalStateException("loading " + s.label + " failed: " + r.firstError());
      }
    }
  }

  /**
   * Runs every workload on every system once for {@link #warmupRoundSeconds}, unmeasured. A JVM
   * server compiles its hot paths during the first seconds of each new workload (on the shard's
   * members, the C2 compiler threads took ~20 us of CPU per operation during the first 17 s of
   * YCSB-B after loading, at load 10-20, and nothing afterwards; in a write-only run after a
   * 3 s round they still took 0.1-0.5 of a core on the primary for the next 40 s); without this
   * round the first round measured that, not the server. Every system gets the same round; 20 s
   * by default, the longest such compile phase seen.
   */
  private void warmUpAll(List<Store> systems, List<Mix> mixes, Peers peers) throws Exception {
    if (warmupRoundSeconds == 0) {
      return;
    }
    for (Mix mix : mixes) {
      for (Store s : systems) {
        ClosedLoop.Result r = ClosedLoop.run(dbs(s, peers),
            E1Workload.properties(mix, records, valueBytes), threads, 0, warmupRoundSeconds,
            () -> 0L);
        errorsTotal += r.errors();
        System.out.printf(Locale.ROOT, "warm-up %-10s %-18s %9.0f ops/s (not measured)%s%n",
            mix.label, s.label, r.opsPerSec(), r.errors() > 0 ? "  " + r.errors()
                + " errors, first: " + r.firstError() : "");
      }
    }
  }

  private void measure(int round, Store s, Mix mix, Peers peers) throws Exception {
    List<Long> pids = peers.pids(s);
    ClosedLoop.Result r = ClosedLoop.run(dbs(s, peers),
        E1Workload.properties(mix, records, valueBytes), threads, warmupSeconds, seconds,
        () -> ProcessCpu.micros(pids));
    double ops = r.opsPerSec();
    double cpuPerOp = r.serverCpuMicrosPerOp();
    double p50 = r.percentileMillis(50);
    double p99 = r.percentileMillis(99);
    errorsTotal += r.errors();
    cells.computeIfAbsent(s.label + "," + mix.label, k -> new ArrayList<>())
        .add(new double[] {ops, p50, p99});
    double clientCpuPerOp = r.clientCpuMicrosPerOp();
    roundsCsv.printf(Locale.ROOT, "%d,%s,%s,%.0f,%.3f,%.3f,%d,%d,%.1f,%.1f%n", round, s.label,
        mix.label, ops, p50, p99, r.errors(), r.redirects(), cpuPerOp, clientCpuPerOp);
    roundsCsv.flush();
    System.out.printf(Locale.ROOT,
        "round %d %-10s %-18s %9.0f ops/s  p50 %7.3f ms  p99 %8.3f ms  server CPU %6.1f us/op"
            + "  client CPU %6.1f us/op%s%s%n",
        round, mix.label, s.label, ops, p50, p99, cpuPerOp, clientCpuPerOp,
        r.redirects() > 0 ? "  " + r.redirects() + " MOVED followed" : "",
        r.errors() > 0 ? "  " + r.errors() + " errors, first: " + r.firstError() : "");
  }

  private void redisBenchmarkRound(int round, List<Store> systems, Peers peers)
      throws Exception {
    List<String[]> targets = new ArrayList<>();
    if (peers.shard != null) {
      targets.add(new String[] {Store.RESPAWN_ORDERED.label,
          Integer.toString(peers.shard.primaryPort())});
    }
    if (peers.redisEverysec != null) {
      targets.add(new String[] {Store.REDIS_EVERYSEC.label,
          Integer.toString(peers.redisEverysec.port)});
    }
    for (String[] t : rotate(targets, round - 1)) {
      for (int pipeline : new int[] {1, 16}) {
        List<RedisBenchmark.Row> rows;
        try {
          rows = RedisBenchmark.run(Integer.parseInt(t[1]), redisBenchmarkClients, pipeline,
              redisBenchmarkRequests, valueBytes, records);
        } catch (IOException e) {
          // Recorded, not fatal: the YCSB cells of the run still count.
          redisBenchmarkFailures.add("round " + round + " " + t[0] + " -P " + pipeline + ": "
              + e.getMessage());
          System.out.println("round " + round + " redis-benchmark " + t[0] + " -P " + pipeline
              + " FAILED " + RedisBenchmark.ATTEMPTS_MAX + " times: " + e.getMessage());
          continue;
        }
        for (RedisBenchmark.Row row : rows) {
          rbCells.computeIfAbsent(t[0] + "," + row.test() + "," + pipeline,
              k -> new ArrayList<>()).add(new double[] {row.requestsPerSec(), row.p50Millis(),
                  row.p99Millis()});
          System.out.printf(Locale.ROOT,
              "round %d redis-benchmark %-16s %s -P %-2d %9.0f req/s  p50 %7.3f ms  p99 %8.3f ms%s%n",
              round, t[0], row.test(), pipeline, row.requestsPerSec(), row.p50Millis(),
              row.p99Millis(), row.repeats() > 0 ? "  (after " + row.repeats()
                  + " failed runs)" : "");
        }
      }
    }
  }

  private void writeMedians(List<Store> systems, List<Mix> mixes) throws IOException {
    Path csv = out.resolve("e1.csv");
    List<String> lines = new ArrayList<>(List.of(HEADER));
    for (Mix mix : mixes) {
      for (Store s : systems) {
        List<double[]> rs = cells.get(s.label + "," + mix.label);
        if (rs != null) {
          lines.add(String.format(Locale.ROOT, "%s,%s,%.0f,%.3f,%.3f", s.label, mix.label,
              median(rs, 0), median(rs, 1), median(rs, 2)));
        }
      }
    }
    Files.write(csv, lines, StandardCharsets.UTF_8);
    CsvChart.render(csv, out.resolve("e1.png"),
        "E1: ops/s, median of " + rounds + " rounds, " + threads + " YCSB threads",
        "system", List.of("workload"), "ops_per_sec");
    System.out.println("\n" + String.join("\n", lines));
    if (!rbCells.isEmpty()) {
      List<String> rb = new ArrayList<>(List.of(
          "system,test,pipeline,requests_per_sec,p50_ms,p99_ms"));
      for (Map.Entry<String, List<double[]>> e : rbCells.entrySet()) {
        rb.add(String.format(Locale.ROOT, "%s,%.0f,%.3f,%.3f", e.getKey(),
            median(e.getValue(), 0), median(e.getValue(), 1), median(e.getValue(), 2)));
      }
      Files.write(out.resolve("e1-redis-benchmark.csv"), rb, StandardCharsets.UTF_8);
      System.out.println("\n" + String.join("\n", rb));
    }
    System.out.println();
    ratio("write-only", Store.RESPAWN_ORDERED, Store.REDIS_REPLICA_WAIT, 1.5);
    ratio("write-only", Store.RESPAWN_DURABLE, Store.ETCD, 5.0);
    for (String w : List.of("ycsb-b", "ycsb-c")) {
      ratio(w, Store.RESPAWN_ORDERED, Store.REDIS_EVERYSEC, 0.8);
      ratio(w, Store.RESPAWN_DURABLE, Store.REDIS_EVERYSEC, 0.8);
    }
  }

  private void ratio(String workload, Store a, Store b, double target) {
    List<double[]> ra = cells.get(a.label + "," + workload);
    List<double[]> rb = cells.get(b.label + "," + workload);
    if (ra == null || rb == null) {
      return;
    }
    double x = median(ra, 0) / median(rb, 0);
    System.out.printf(Locale.ROOT, "%-10s %s / %s = %.2fx (target >= %.1fx: %s)%n",
        workload, a.label, b.label, x, target, x >= target ? "met" : "NOT met");
  }

  static double median(List<double[]> rows, int column) {
    double[] v = rows.stream().mapToDouble(r -> r[column]).sorted().toArray();
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /** {@code list} rotated left by {@code by}: round r starts with another system. */
  static <T> List<T> rotate(List<T> list, int by) {
    List<T> r = new ArrayList<>(list);
    java.util.Collections.rotate(r, -(by % Math.max(1, list.size())));
    return r;
  }

  static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException e) {
      return "unknown";
    }
  }


  /** The running systems; each field is null when no requested system needs it. */
  static final class Peers implements AutoCloseable {
    RespawnShard shard;
    RedisPeer redisEverysec;
    RedisPeer redisPrimary;
    RedisPeer redisReplica;
    EtcdCluster etcd;

    static Peers start(List<Store> systems, LocalProcesses processes, Path dir,
        List<String> jvmOptions) throws Exception {
      Peers p = new Peers();
      try {
        if (systems.stream().anyMatch(Store::respawn)) {
          p.shard = RespawnShard.start(dir.resolve("respawn"), jvmOptions);
          System.out.println("respawn shard: primary on port " + p.shard.primaryPort()
              + ", pids " + p.shard.pid(1) + " " + p.shard.pid(2) + " " + p.shard.pid(3));
        }
        if (systems.contains(Store.REDIS_EVERYSEC)) {
          p.redisEverysec = RedisPeer.start(processes, dir.resolve("redis-everysec"), 0);
          System.out.println("redis everysec: port " + p.redisEverysec.port + ", pid "
              + p.redisEverysec.process.pid());
        }
        if (systems.contains(Store.REDIS_REPLICA_WAIT)) {
          p.redisPrimary = RedisPeer.start(processes, dir.resolve("redis-primary"), 0);
          p.redisReplica = RedisPeer.start(processes, dir.resolve("redis-replica"),
              p.redisPrimary.port);
          System.out.println("redis primary + replica: ports " + p.redisPrimary.port
              + ", " + p.redisReplica.port + ", pids " + p.redisPrimary.process.pid() + " "
              + p.redisReplica.process.pid());
        }
        if (systems.contains(Store.ETCD)) {
          p.etcd = EtcdCluster.start(processes, dir.resolve("etcd"));
          System.out.println("etcd: " + p.etcd.clientUrls + ", pids "
              + p.etcd.members.stream().map(Process::pid).toList());
        }
      } catch (Exception e) {
        p.close();
        throw e;
      }
      return p;
    }

    /** The server processes of {@code s}: the ones whose CPU a cell of {@code s} charges. */
    List<Long> pids(Store s) {
      return switch (s) {
        case RESPAWN_ORDERED, RESPAWN_DURABLE -> List.of(shard.pid(1), shard.pid(2), shard.pid(3));
        case REDIS_EVERYSEC -> List.of(redisEverysec.process.pid());
        case REDIS_REPLICA_WAIT -> List.of(redisPrimary.process.pid(), redisReplica.process.pid());
        case ETCD -> etcd.members.stream().map(Process::pid).toList();
      };
    }

    @Override
    public void close() {
      if (etcd != null) {
        etcd.close();
      }
      for (RedisPeer r : new RedisPeer[] {redisReplica, redisPrimary, redisEverysec}) {
        if (r != null) {
          LocalProcesses.stop(r.process);
        }
      }
      if (shard != null) {
        shard.close();
      }
    }
  }
}
