package io.respawn.bench.e2;

import io.respawn.bench.LocalJedis;
import io.respawn.server.shard.LoopbackPorts;
import io.respawn.server.shard.ShardLayout;
import io.respawn.server.shard.ShardSupervisor;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.markers.SeriesMarkers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.exceptions.JedisMovedDataException;

/**
 * {@code respawn bench e2}: experiment E2 (DESIGN §11; the seed's §7.5, §7.7 and §7.8). For each
 * repetition and recovery mode ({@code online}, {@code offline}; the order alternates between
 * repetitions): starts a fresh 1+1+1 shard on loopback (three processes, member config {@code
 * recovery = MODE}), loads the records, runs YCSB workload B (zipfian) at a fixed rate from
 * closed-loop client threads, kills the primary with SIGKILL after the steady-state period, and
 * goes on until the witness that took over has every value again plus a tail. Latency is cut
 * into 100 ms windows ({@link Windows}); the SLOs are multiples of the steady-state p99.9 and
 * p50 of the same run, measured before the kill.
 *
 * <p>Writes {@code OUT/e2.csv} (every window of every run), {@code OUT/e2-recovery.csv} (the
 * witness's recovery INFO every 100 ms after the kill), {@code OUT/e2-summary.csv} (one row
 * per run and the medians per mode), {@code OUT/e2-ttr.csv} (median TTR per mode and SLO) and
 * {@code OUT/e2.png} (p99.9 and p50 per window through the failover, the median run of each
 * mode), and prints the must-show ratios. The killed member is not restarted during a run (the
 * shard's restart delay is longer than the run), so leadership stays with the witness.
 *
 * <p>The backup reads the values it sends from its disk, not from the page cache: a backup store
 * answers pulls with direct reads ({@code O_DIRECT}, the store's default; the run prints the
 * backup's INFO {@code respawn_pull_reads}, "direct" unless the file system refused it). The page
 * cache is not dropped: that would disturb every other process on the machine.
 */
@Command(name = "e2", mixinStandardHelpOptions = true,
    description = "Experiment E2: latency per 100 ms window through a kill -9 of the primary, online vs offline value recovery; TTR for a grid of SLOs.")
public final class E2Bench implements Callable<Integer> {
  static final String WINDOWS_HEADER = "mode,rep,t_ms,ops_per_sec,p50_ms,p99_ms,p999_ms";
  /** Operations slower than the p99.9 SLO (see {@link #slowOps}). */
  static final String SLOW_OPS_HEADER = "mode,rep,client,completed_ms,latency_ms,op";
  /** {@code e2-slow-ops.csv} lists operations slower than this many times the steady p99.9. */
  static final double SLOW_OPS_SLO_MULTIPLE = 2;
  /** The witness's INFO every 100 ms from the kill until it has every value. */
  static final String RECOVERY_HEADER = "mode,rep,t_ms,status,background,keys_left,keys_pulled,"
      + "batch_keys,priority_pulls,priority_waiting_keys,priority_latency_avg_us,"
      + "priority_latency_last_us,copy_rate_mib_s,copy_floor_mib_s,copy_target_us";
  static final String SUMMARY_HEADER = "mode,rep,records,value_bytes,rate,steady_p50_ms,"
      + "steady_p999_ms,elected_ms,recovered_ms,copy_ms,ttr_p999x2_ms,ttr_p50x2_ms,"
      + "p50_back_after_election_ms,priority_pulls,priority_latency_avg_us,failed_ops,"
      + "load_average,witness_led_before_kill,failover_in_steady,witness_warmups_before_kill,"
      + "snapshots_in_steady";
  static final String TTR_HEADER = "mode,slo,slo_ms,ttr_ms";
  /** The SLO grid: quantile and multiple of its steady-state value. */
  static final List<String[]> SLOS = List.of(new String[] {"p99.9", "1.5"},
      new String[] {"p99.9", "2"}, new String[] {"p99.9", "3"}, new String[] {"p99.9", "5"},
      new String[] {"p99.9", "10"}, new String[] {"p50", "1.5"}, new String[] {"p50", "2"},
      new String[] {"p50", "3"});
  /**
   * Fixed bounds on a window's p99.9, in ms, reported beside the grid as SLOs {@code
   * p99.9max<N>ms}: a run's steady p99.9, and with it every multiple's SLO, varied from 2 to 6
   * ms between runs of one build on the development machine, so these compare builds and modes
   * on one bound.
   */
  static final List<Integer> P999_BOUNDS_MILLIS = List.of(10, 20, 50);
  static final long RESTART_DELAY_MILLIS = TimeUnit.MINUTES.toMillis(30);
  static final long READY_TIMEOUT_MILLIS = 120_000;
  /** Records one loading round trip writes (pipelined MSETs). */
  static final int LOAD_BATCH = 2_048;
  static final int LOAD_KEYS_PER_MSET = 32;
  static final long RECORDS_MAX = 100_000_000;

  @Option(names = "--records", defaultValue = "4194304",
      description = "Records loaded (default: ${DEFAULT-VALUE}: 2 GiB of 512-byte records, the "
          + "issue's size; use fewer for quick runs).")
  long records;

  @Option(names = "--value-bytes", defaultValue = "496",
      description = "Value size; keys are 16 bytes (default: ${DEFAULT-VALUE}, 512 B records as the seed's).")
  int valueBytes;

  @Option(names = "--load-connections", defaultValue = "4",
      description = "Connections loading the records at once (default: ${DEFAULT-VALUE}).")
  int loadConnections;

  @Option(names = "--rate", defaultValue = "2000",
      description = "Operations per second over all client threads, below saturation (default: ${DEFAULT-VALUE}).")
  int rate;

  @Option(names = "--threads", defaultValue = "8", description = "Client threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--zipfian", defaultValue = "0.99",
      description = "Zipfian constant of the key choice (default: ${DEFAULT-VALUE}, YCSB's).")
  double zipfian;

  @Option(names = "--steady-seconds", defaultValue = "10",
      description = "Run before the kill; its last part (after 2 s of warm-up) gives the steady-state latencies (default: ${DEFAULT-VALUE}).")
  int steadySeconds;

  @Option(names = "--thread-cpu",
      description = "Also sample every thread's CPU and run-queue wait of the members and this "
          + "process every 100 ms (Linux /proc) into e2-threads.csv, from 2 s before the kill.")
  boolean threadCpu;

  @Option(names = "--thread-states",
      description = "Also sample the members' event loops and pull threads about every "
          + "millisecond (Linux /proc) and write the time each was blocked in the kernel "
          + "(uninterruptible sleep, by wait channel) per 100 ms into e2-blocked.csv, from 2 s "
          + "before the kill.")
  boolean threadStates;

  @Option(names = "--tail-seconds", defaultValue = "5",
      description = "Run after the new primary has every value again (default: ${DEFAULT-VALUE}).")
  int tailSeconds;

  @Option(names = "--after-seconds-max", defaultValue = "120",
      description = "Longest run after the kill (default: ${DEFAULT-VALUE}).")
  int afterSecondsMax;

  @Option(names = "--repetitions", defaultValue = "3",
      description = "Runs per mode, interleaved; medians are reported (default: ${DEFAULT-VALUE}).")
  int repetitions;

  @Option(names = "--modes", defaultValue = "online,offline", split = ",",
      description = "Recovery modes to run (default: ${DEFAULT-VALUE}).")
  List<String> modes;

  @Option(names = "--out", defaultValue = "docs/bench", description = "Output directory (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--work-dir", description = "Where the shards keep their data (default: a new temporary directory, deleted afterwards).")
  Path workDir;

  @Option(names = "--member-java-opts",
      description = "JVM options of the member processes (default: this JVM's own).")
  String memberJavaOpts;

  @Spec CommandSpec spec;

  /** What one run measured. */
  record Run(String mode, int rep, List<Windows.Window> windows, long killNanos,
      double steadyP50Millis, double steadyP999Millis, double electedMillis,
      double recoveredMillis, long copyMillis, long priorityPulls, long priorityLatencyAvgMicros,
      long failedOps, double loadAverage, List<String> progress, long witnessLedBefore,
      long failoverInSteady, long witnessWarmUpsBeforeKill, long snapshotsInSteady,
      List<String> slowOps, List<String> threadRows, List<String> blockedRows) {

    double ttr(String quantile, double multiple) {
      double steady = quantile.equals("p50") ? steadyP50Millis : steadyP999Millis;
      return Windows.ttrMillis(windows, killNanos, quantile, steady * multiple);
    }
  }

  @Override
  public Integer call() throws Exception {
    check();
    Files.createDirectories(out);
    Path root = workDir != null ? Files.createDirectories(workDir)
        : Files.createTempDirectory("respawn-e2-");
    List<Run> runs = new ArrayList<>();
    boolean keepRoot = false;
    try {
      for (int rep = 1; rep <= repetitions; rep++) {
        List<String> order = new ArrayList<>(modes);
        if (rep % 2 == 0) {
          java.util.Collections.reverse(order);
        }
        for (String mode : order) {
          Path dir = root.resolve(mode + "-" + rep);
          Run r = null;
          try {
            r = runOnce(dir, mode, rep);
          } catch (InterruptedException e) {
            throw e;
          } catch (Exception e) {
            // A run that fails keeps its member logs (and any thread dump) for a look; the
            // other runs go on.
            keepRoot = true;
            System.out.printf(Locale.ROOT, "e2: %s rep %d FAILED: %s; its member logs are in "
                + "%s%n", mode, rep, e, dir);
          } finally {
            if (workDir == null && r != null) {
              io.respawn.server.shard.ShardMember.deleteTree(dir); // a run at the default size leaves ~7 GiB: not six of them at once
            }
          }
          if (r == null) {
            continue;
          }
          runs.add(r);
          System.out.printf(Locale.ROOT, "e2: %s rep %d: steady p50 %.2f ms p99.9 %.2f ms; "
                  + "elected %.0f ms, every value back %.0f ms after the kill (copy %d ms); "
                  + "TTR p99.9x2 %.0f ms, p50x2 %.0f ms; %d priority pulls (avg %d us); "
                  + "%d failed ops; load %.1f%n", mode, rep, r.steadyP50Millis(),
              r.steadyP999Millis(), r.electedMillis(), r.recoveredMillis(), r.copyMillis(),
              r.ttr("p99.9", 2), r.ttr("p50", 2), r.priorityPulls(),
              r.priorityLatencyAvgMicros(), r.failedOps(), r.loadAverage());
          writeAll(runs);
        }
      }
    } finally {
      if (workDir == null && !keepRoot) {
        io.respawn.server.shard.ShardMember.deleteTree(root);
      }
    }
    report(runs);
    return 0;
  }

  private void check() {
    if (records < 1 || records > RECORDS_MAX) {
      throw new ParameterException(spec.commandLine(), "--records must be in [1, "
          + RECORDS_MAX + "], got " + records);
    }
    if (valueBytes < 1 || valueBytes > 1 << 20) {
      throw new ParameterException(spec.commandLine(), "--value-bytes must be in [1, 1048576]");
    }
    if (loadConnections < 1 || loadConnections > 64) {
      throw new ParameterException(spec.commandLine(), "--load-connections must be in [1, 64]");
    }
    if (rate < 1 || threads < 1 || threads > 1024 || rate / threads > 1_000_000) {
      throw new ParameterException(spec.commandLine(), "--rate must be >= 1 and --threads in "
          + "[1, 1024]");
    }
    if (steadySeconds < 3 || tailSeconds < 1 || afterSecondsMax < 1 || repetitions < 1) {
      throw new ParameterException(spec.commandLine(), "--steady-seconds must be >= 3, "
          + "--tail-seconds, --after-seconds-max and --repetitions >= 1");
    }
    for (String m : modes) {
      if (!m.equals("online") && !m.equals("offline")) {
        throw new ParameterException(spec.commandLine(), "--modes takes online and offline, got "
            + m);
      }
      for (int rep = 1; workDir != null && rep <= repetitions; rep++) {
        // A shard started on an earlier run's directory would open that run's data, not load
        // a fresh data set (one did, and its primary never took a write).
        Path earlier = workDir.resolve(m + "-" + rep);
        if (Files.exists(earlier)) {
          throw new ParameterException(spec.commandLine(), "--work-dir " + workDir
              + " already holds " + earlier.getFileName() + " from an earlier run: delete it "
              + "or name another directory");
        }
      }
    }
  }

  private Run runOnce(Path dir, String mode, int rep) throws Exception {
    int port = LoopbackPorts.freeRange(3, ShardLayout.PEER_PORT_OFFSET);
    ShardLayout layout = ShardLayout.of(dir, "127.0.0.1", port, "1+1+1");
    List<Path> configs = layout.prepare(Map.of("recovery", mode));
    List<String> jvm = memberJavaOpts != null
        ? Arrays.stream(memberJavaOpts.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList()
        : ManagementFactory.getRuntimeMXBean().getInputArguments();
    ShardSupervisor sup = new ShardSupervisor(layout.members(),
        id -> ShardSupervisor.javaMember(configs.get(id - 1),
            layout.memberDir(id).resolve("respawn.log"), jvm, List.of()),
        RESTART_DELAY_MILLIS, 30_000);
    List<Integer> ports = List.of(port, port + 1, port + 2);
    ThreadCpu cpu = null;
    ThreadStates states = null;
    try {
      sup.start();
      awaitSteadyPrimary(sup, port, layout);
      byte[] value = new byte[valueBytes];
      ThreadLocalRandom.current().nextBytes(value);
      long loadStart = System.nanoTime();
      load(ports, value);
      System.out.printf(Locale.ROOT, "e2: %s rep %d: loaded %d records in %.1f s%n", mode, rep,
          records, (System.nanoTime() - loadStart) / 1e9);
      awaitSteadyPrimary(sup, port, layout);
      try {
        awaitAnswers(port + 2);
      } catch (RuntimeException e) {
        Path dump = layout.memberDir(3).resolve("threads.txt");
        threadDump(sup.pid(3), dump);
        throw new IOException("the witness answered no INFO within " + READY_TIMEOUT_MILLIS
            + " ms after the load; its thread dump is in " + dump, e);
      }
      // The load's last snapshot captures (the primary's and the backup's: a full image of the
      // data, 2 GiB at the default size, walked and forced to disk) run for seconds after it;
      // the steady state starts once they are over.
      long settled = awaitSnapshotsSettled(List.of(port, port + 1));
      System.out.printf(Locale.ROOT, "e2: %s rep %d: snapshot captures settled after %.1f s%n",
          mode, rep, settled / 1e3);
      long capturesBefore = snapshotCaptures(List.of(port, port + 1));
      // A failover while loading (a loaded machine delays the primary's heartbeats) leaves a
      // witness that has led, pulled values and given leadership back: say so, it changes what
      // the kill measures.
      long witnessLedBefore;
      try {
        witnessLedBefore = Math.max(0, longField(info(port + 2), "respawn_recoveries"));
      } catch (RuntimeException e) {
        witnessLedBefore = -1; // unknown: the witness did not answer INFO in time
      }
      if (witnessLedBefore > 0) {
        System.out.printf(Locale.ROOT, "e2: %s rep %d: the witness led %d time(s) during the "
            + "load (a failover before the kill)%n", mode, rep, witnessLedBefore);
      }

      collectOwnGarbage(mode, rep, "before the steady phase");
      long origin = System.nanoTime();
      long intervalNanos = Math.max(1, threads * 1_000_000_000L / rate);
      long endMax = origin + TimeUnit.SECONDS.toNanos(steadySeconds + afterSecondsMax);
      List<ShardClient> clients = new ArrayList<>();
      List<Thread> running = new ArrayList<>();
      long[] stopAt = {endMax};
      for (int t = 0; t < threads; t++) {
        ShardClient c = new ShardClient(ports, 0, new ShardClient.KeyChooser(records, zipfian),
            value, intervalNanos, origin, origin + t);
        clients.add(c);
      }
      cpu = threadCpu ? new ThreadCpu(Map.of("primary", sup.pid(1), "backup",
          sup.pid(2), "witness", sup.pid(3), "bench", ProcessHandle.current().pid())) : null;
      states = threadStates ? new ThreadStates(Map.of("primary", sup.pid(1),
          "backup", sup.pid(2), "witness", sup.pid(3))) : null;
      // The clients stop at endMax or when told (once recovery is done and the tail has run).
      StoppableClients stoppable = new StoppableClients(clients, endMax);
      for (int t = 0; t < threads; t++) {
        Thread th = new Thread(stoppable.body(t), "e2-client-" + t);
        running.add(th);
        th.start();
      }
      sleepUntil(origin + TimeUnit.SECONDS.toNanos(steadySeconds));
      // A failover during the steady phase (the primary stalled long enough for the witness to
      // take over) leaves the kill nothing to measure and the steady state a recovery: say so.
      long capturesAtKill = snapshotCaptures(List.of(port, port + 1));
      long capturesInSteady = capturesBefore < 0 || capturesAtKill < 0 ? -1
          : capturesAtKill - capturesBefore;
      if (capturesInSteady > 0) {
        System.out.printf(Locale.ROOT, "e2: %s rep %d: %d snapshot capture(s) of the primary or "
            + "the backup ended during the steady phase%n", mode, rep, capturesInSteady);
      }
      long failoverInSteady = -1;
      long warmUpsBeforeKill = -1;
      try {
        Map<String, String> w = info(port + 2);
        warmUpsBeforeKill = longField(w, "respawn_recovery_warmups");
        failoverInSteady = "leader".equals(w.get("respawn_status"))
            || longField(w, "respawn_recoveries") > Math.max(0, witnessLedBefore) ? 1 : 0;
      } catch (RuntimeException e) {
        // the witness did not answer in time: unknown
      }
      if (failoverInSteady != 0) {
        System.out.printf(Locale.ROOT, "e2: %s rep %d: %s%n", mode, rep, failoverInSteady > 0
            ? "the witness took over DURING THE STEADY PHASE: this run measures no kill"
            : "the witness did not answer INFO before the kill");
      }
      long kill = System.nanoTime();
      long pid = sup.pid(1);
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL
      // While the shard elects a new primary (no operation can complete for 250 ms or more).
      collectOwnGarbage(mode, rep, "at the kill");
      double loadAverage = ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
      // Watch the witness: when it leads, and when it has every value again.
      double elected = -1;
      double recovered = -1;
      Map<String, String> info = Map.of();
      List<String> progress = new ArrayList<>();
      long nextSampleNanos = kill;
      // One connection, the shard section only: the watch must cost the new primary little
      // (a full INFO reads /proc, and a connection per poll is an accept on its event loop).
      Jedis watch = null;
      while (System.nanoTime() < endMax) {
        try {
          if (watch == null) {
            watch = LocalJedis.connect(port + 2, 2_000);
          }
          info = fields(watch.info("shard"));
          double t = (System.nanoTime() - kill) / 1e6;
          if (System.nanoTime() >= nextSampleNanos) { // the witness's recovery, every 100 ms
            nextSampleNanos += Windows.WINDOW_NANOS;
            progress.add(String.format(Locale.ROOT,
                "%s,%d,%.0f,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.1f,%.1f,%s",
                mode, rep, t, info.getOrDefault("respawn_status", ""),
                info.getOrDefault("respawn_recovery_background", ""),
                info.getOrDefault("respawn_recovery_keys_left", ""),
                info.getOrDefault("respawn_keys_pulled", ""),
                info.getOrDefault("respawn_recovery_batch_keys", ""),
                info.getOrDefault("respawn_recovery_priority_pulls", ""),
                info.getOrDefault("respawn_recovery_priority_waiting_keys", ""),
                info.getOrDefault("respawn_recovery_priority_latency_avg_us", ""),
                info.getOrDefault("respawn_recovery_priority_latency_last_us", ""),
                longField(info, "respawn_recovery_copy_rate_bytes_per_s") / 1048576.0,
                longField(info, "respawn_recovery_copy_floor_bytes_per_s") / 1048576.0,
                info.getOrDefault("respawn_recovery_copy_target_us", "")));
          }
          boolean leads = "leader".equals(info.get("respawn_status"));
          if (leads && elected < 0) {
            elected = t;
          }
          if (leads && "none".equals(info.get("respawn_recovery_phase"))) {
            recovered = t;
            break;
          }
        } catch (RuntimeException e) {
          // the witness is busy; ask again on a new connection
          if (watch != null) {
            watch.close();
            watch = null;
          }
        }
        Thread.sleep(20);
      }
      if (watch != null) {
        watch.close();
      }
      stopAt[0] = Math.min(endMax, System.nanoTime() + TimeUnit.SECONDS.toNanos(tailSeconds));
      stoppable.stopAt(stopAt[0]);
      for (Thread th : running) {
        th.join();
      }
      List<String> threadRows = List.of();
      if (cpu != null) {
        cpu.close();
        threadRows = cpu.rows(mode, rep, kill, kill - TimeUnit.SECONDS.toNanos(2));
      }
      List<String> blockedRows = List.of();
      if (states != null) {
        states.close();
        blockedRows = states.rows(mode, rep, kill, kill - TimeUnit.SECONDS.toNanos(2));
      }
      Windows all = new Windows();
      long failed = 0;
      for (ShardClient c : clients) {
        all.addAll(c.samples);
        failed += c.failed;
      }
      long killRel = kill - origin;
      long warm = TimeUnit.SECONDS.toNanos(2);
      double steadyP50 = all.quantileMillis(warm, killRel, 0.5);
      double steadyP999 = all.quantileMillis(warm, killRel, 0.999);
      long windowsBefore = (killRel - warm) / Windows.WINDOW_NANOS;
      List<Windows.Window> windows = all.windows(killRel - windowsBefore * Windows.WINDOW_NANOS,
          stopAt[0] - origin);
      try {
        info = info(port + 2);
      } catch (RuntimeException e) {
        // keep the last one read
      }
      try {
        Map<String, String> backupInfo = info(port + 1);
        System.out.printf(Locale.ROOT, "e2: %s rep %d: the backup's pull reads: %s, %s bytes "
            + "read directly%n", mode, rep, backupInfo.get("respawn_pull_reads"),
            backupInfo.get("respawn_pull_direct_bytes"));
      } catch (RuntimeException e) {
        // the backup is busy: the line is for the record only
      }
      return new Run(mode, rep, windows, killRel, steadyP50, steadyP999, elected, recovered,
          longField(info, "respawn_recovery_last_ms"),
          longField(info, "respawn_recovery_priority_pulls"),
          longField(info, "respawn_recovery_priority_latency_avg_us"), failed, loadAverage,
          progress, witnessLedBefore, failoverInSteady, warmUpsBeforeKill, capturesInSteady,
          slowOps(mode, rep, clients, warm, killRel, SLOW_OPS_SLO_MULTIPLE * steadyP999), threadRows,
          blockedRows);
    } finally {
      if (cpu != null) {
        cpu.close(); // a run that failed midway leaves no sampler behind (idempotent)
      }
      if (states != null) {
        states.close();
      }
      sup.stop();
    }
  }

  /**
   * Collects this JVM's garbage now, so that its own young collections (8-9 ms each, about every
   * 20-30 s at E2's allocation rate: the clients' replies, the recovery watch's INFO) do not fall
   * into the measured windows, where a client thread stopped by its own JVM counts as the store's
   * latency. Called before the steady phase and right after the kill, while the shard elects.
   */
  private static void collectOwnGarbage(String mode, int rep, String when) {
    long start = System.nanoTime();
    System.gc();
    System.out.printf(Locale.ROOT, "e2: %s rep %d: the benchmark's own collection %s took %.1f "
        + "ms%n", mode, rep, when, (System.nanoTime() - start) / 1e6);
  }

  /**
   * Rows of {@code e2-slow-ops.csv}: every operation from the end of the warm-up ({@code
   * fromNanos}) on that took longer than {@code sloMillis} (the p99.9 SLO), with its client
   * thread and kind, so a window that misses the SLO shows whether one operation or every client
   * stalled, and on reads or writes; the steady phase's own misses are there too.
   */
  private static List<String> slowOps(String mode, int rep, List<ShardClient> clients,
      long fromNanos, long killRel, double sloMillis) {
    List<String> rows = new ArrayList<>();
    for (int t = 0; t < clients.size(); t++) {
      for (ShardClient.SlowOp op : clients.get(t).slow) {
        if (op.completedNanos() >= fromNanos && op.latencyNanos() / 1e6 > sloMillis) {
          rows.add(String.format(Locale.ROOT, "%s,%d,%d,%.1f,%.3f,%s", mode, rep, t,
              (op.completedNanos() - killRel) / 1e6, op.latencyNanos() / 1e6,
              op.read() ? "get" : "set"));
        }
      }
    }
    return rows;
  }

  /** Clients that stop at a time set once the run knows it. */
  private static final class StoppableClients {
    private final List<ShardClient> clients;
    private volatile long stopAtNanos;

    StoppableClients(List<ShardClient> clients, long stopAtNanos) {
      this.clients = clients;
      this.stopAtNanos = stopAtNanos;
    }

    void stopAt(long nanos) {
      stopAtNanos = nanos;
    }

    Runnable body(int t) {
      return () -> clients.get(t).runUntil(() -> stopAtNanos);
    }
  }

  private static long longField(Map<String, String> info, String name) {
    String v = info.get(name);
    try {
      return v == null ? -1 : Long.parseLong(v);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * Writes every record once to whichever member leads (following MOVED): {@code --load-connections}
   * threads, each taking the next {@link #LOAD_BATCH} records, pipelining them as MSETs of {@link
   * #LOAD_KEYS_PER_MSET} keys (one round trip per batch), and writing a batch again while any of
   * its MSETs was refused (TRYAGAIN under load, MOVED after a failover: an MSET is all or nothing,
   * and writing a value twice is harmless).
   */
  private void load(List<Integer> ports, byte[] value) throws Exception {
    java.util.concurrent.atomic.AtomicLong nextBatch = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicInteger leader =
        new java.util.concurrent.atomic.AtomicInteger(ports.get(0));
    java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
    long batches = (records + LOAD_BATCH - 1) / LOAD_BATCH;
    List<java.util.concurrent.Future<Void>> loaders = new ArrayList<>();
    java.util.concurrent.ExecutorService pool =
        java.util.concurrent.Executors.newFixedThreadPool(loadConnections);
    long startNanos = System.nanoTime();
    long[] nextReport = {startNanos + TimeUnit.SECONDS.toNanos(10)};
    try {
      for (int c = 0; c < loadConnections; c++) {
        loaders.add(pool.submit(() -> {
          Jedis j = null;
          int jPort = -1;
          try {
            for (long b; (b = nextBatch.getAndIncrement()) < batches; ) {
              long from = b * LOAD_BATCH;
              int n = (int) Math.min(LOAD_BATCH, records - from);
              for (int attempt = 0; ; attempt++) {
                if (attempt == 100) {
                  throw new IllegalStateException("loading: writes still refused after 100 "
                      + "attempts");
                }
                int port = leader.get();
                try {
                  if (j == null || jPort != port) {
                    if (j != null) {
                      j.close();
                    }
                    j = LocalJedis.connect(port, 30_000);
                    jPort = port;
                  }
                  if (loadBatch(j, from, n, value, leader)) {
                    break;
                  }
                } catch (redis.clients.jedis.exceptions.JedisConnectionException e) {
                  if (j != null) {
                    j.close();
                  }
                  j = null;
                  leader.compareAndSet(port, ports.get((ports.indexOf(port) + 1) % ports.size()));
                }
                Thread.sleep(50);
              }
              long total = done.addAndGet(n);
              synchronized (nextReport) {
                long now = System.nanoTime();
                if (now >= nextReport[0]) {
                  nextReport[0] = now + TimeUnit.SECONDS.toNanos(10);
                  System.out.printf(Locale.ROOT, "e2: loading: %d of %d records (%.0f a second)%n",
                      total, records, total / ((now - startNanos) / 1e9));
                }
              }
            }
          } finally {
            if (j != null) {
              j.close();
            }
          }
          return null;
        }));
      }
      for (java.util.concurrent.Future<Void> f : loaders) {
        try {
          f.get();
        } catch (java.util.concurrent.ExecutionException e) {
          throw e.getCause() instanceof Exception x ? x : e;
        }
      }
    } finally {
      pool.shutdownNow();
    }
  }

  /** One pipelined batch of MSETs; false if any was refused (the batch is written again). */
  private static boolean loadBatch(Jedis j, long from, int n, byte[] value,
      java.util.concurrent.atomic.AtomicInteger leader) {
    Pipeline p = j.pipelined();
    List<Response<String>> replies = new ArrayList<>();
    for (int at = 0; at < n; at += LOAD_KEYS_PER_MSET) {
      int k = Math.min(LOAD_KEYS_PER_MSET, n - at);
      byte[][] args = new byte[2 * k][];
      for (int i = 0; i < k; i++) {
        args[2 * i] = ShardClient.KeyChooser.keyName(from + at + i);
        args[2 * i + 1] = value;
      }
      replies.add(p.mset(args));
    }
    p.sync();
    boolean all = true;
    for (Response<String> r : replies) {
      try {
        all &= "OK".equals(r.get());
      } catch (JedisMovedDataException moved) {
        leader.set(moved.getTargetNode().getPort());
        all = false;
      } catch (RuntimeException busy) {
        all = false; // TRYAGAIN under load: write it again
      }
    }
    return all;
  }

  private static void awaitSteadyPrimary(ShardSupervisor sup, int port, ShardLayout layout)
      throws IOException, InterruptedException {
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MILLIS;
    String last = "no answer";
    while (System.currentTimeMillis() < deadline) {
      if (sup.failure() != null) {
        throw new IOException("the shard did not start: " + sup.failure());
      }
      try (Jedis j = LocalJedis.connect(port, 2_000)) {
        if (j.info("replication").contains("respawn_role:primary")
            && "OK".equals(j.set("e2:probe", "1"))) {
          j.del("e2:probe");
          return;
        }
        last = "member 1 does not lead yet";
      } catch (RuntimeException e) {
        last = e.toString();
      }
      Thread.sleep(100);
    }
    throw new IOException("member 1 (port " + port + ") took no write within "
        + READY_TIMEOUT_MILLIS + " ms: " + last + " (see "
        + layout.memberDir(1).resolve("respawn.log") + ")");
  }

  /** Longest wait for the load's snapshot captures to end. */
  static final long SNAPSHOT_SETTLE_MILLIS_MAX = 300_000;

  /** Snapshot captures the members on {@code ports} finished so far (-1 if one did not answer). */
  private static long snapshotCaptures(List<Integer> ports) {
    long sum = 0;
    for (int p : ports) {
      try {
        long c = longField(info(p), "respawn_snapshot_captures");
        if (c < 0) {
          return -1;
        }
        sum += c;
      } catch (RuntimeException e) {
        return -1;
      }
    }
    return sum;
  }

  /**
   * Waits until no snapshot capture of the members on {@code ports} runs ({@code
   * respawn_snapshot_capturing}) and none ended for three times the longest last capture's
   * duration plus 5 s (a capture the load started, of an image up to twice the last one's size,
   * ends within that), at most {@link #SNAPSHOT_SETTLE_MILLIS_MAX}; returns how long it waited
   * (ms). A capture still running counts: a backup's capture reads every value from its logs on
   * disk and can outlast the quiet time, then run on through the kill.
   */
  private static long awaitSnapshotsSettled(List<Integer> ports) throws InterruptedException {
    long start = System.currentTimeMillis();
    long last = snapshotCaptures(ports);
    long changedAt = start;
    while (System.currentTimeMillis() - start < SNAPSHOT_SETTLE_MILLIS_MAX) {
      long captureMillis = 0;
      boolean capturing = false;
      for (int p : ports) {
        try {
          Map<String, String> info = info(p);
          captureMillis = Math.max(captureMillis,
              longField(info, "respawn_snapshot_capture_ms_last"));
          capturing |= longField(info, "respawn_snapshot_capturing") > 0;
        } catch (RuntimeException e) {
          capturing = true; // busy: ask again
        }
      }
      long now = System.currentTimeMillis();
      if (capturing) {
        changedAt = now; // one is running now: it must end, then the quiet time counts
      } else if (now - changedAt >= 3 * captureMillis + 5_000) {
        return now - start;
      }
      Thread.sleep(200);
      long c = snapshotCaptures(ports);
      if (c != last) {
        last = c;
        changedAt = System.currentTimeMillis();
      }
    }
    return System.currentTimeMillis() - start;
  }

  /** Writes the thread dump of process {@code pid} to {@code file} (jcmd Thread.print), if it can. */
  private static void threadDump(long pid, Path file) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    try {
      Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "Thread.print")
          .redirectErrorStream(true).redirectOutput(file.toFile()).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      System.out.printf(Locale.ROOT, "e2: no thread dump of pid %d: %s%n", pid, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void awaitAnswers(int port) throws InterruptedException {
    long deadline = System.currentTimeMillis() + READY_TIMEOUT_MILLIS;
    while (true) {
      try {
        info(port);
        return;
      } catch (RuntimeException e) {
        if (System.currentTimeMillis() > deadline) {
          throw e;
        }
        Thread.sleep(100);
      }
    }
  }

  static Map<String, String> info(int port) {
    try (Jedis j = LocalJedis.connect(port, 2_000)) {
      return fields(j.info());
    }
  }

  /** INFO's text as field → value. */
  static Map<String, String> fields(String info) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String line : info.split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith("#")) {
        m.put(line.substring(0, colon), line.substring(colon + 1).trim());
      }
    }
    return m;
  }

  // ---- output ----

  /** Writes {@code header} and every run's rows from {@code rows} to the CSV file {@code file}. */
  private static void writeRows(Path file, String header, List<Run> runs,
      java.util.function.Function<Run, List<String>> rows) throws IOException {
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(file))) {
      w.println(header);
      for (Run r : runs) {
        rows.apply(r).forEach(w::println);
      }
    }
  }

  private void writeAll(List<Run> runs) throws IOException {
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("e2.csv")))) {
      w.println(WINDOWS_HEADER);
      for (Run r : runs) {
        for (Windows.Window win : r.windows()) {
          w.printf(Locale.ROOT, "%s,%d,%d,%.0f,%s,%s,%s%n", r.mode(), r.rep(),
              Math.round((win.startNanos() - r.killNanos()) / 1e6), win.opsPerSecond(),
              num(win.p50Millis()), num(win.p99Millis()), num(win.p999Millis()));
        }
      }
    }
    try (PrintWriter w = new PrintWriter(
        Files.newBufferedWriter(out.resolve("e2-recovery.csv")))) {
      w.println(RECOVERY_HEADER);
      for (Run r : runs) {
        r.progress().forEach(w::println);
      }
    }
    writeRows(out.resolve("e2-slow-ops.csv"), SLOW_OPS_HEADER, runs, Run::slowOps);
    if (threadCpu) {
      writeRows(out.resolve("e2-threads.csv"), ThreadCpu.HEADER, runs, Run::threadRows);
    }
    if (threadStates) {
      writeRows(out.resolve("e2-blocked.csv"), ThreadStates.HEADER, runs, Run::blockedRows);
    }
    try (PrintWriter w = new PrintWriter(
        Files.newBufferedWriter(out.resolve("e2-summary.csv")))) {
      w.println(SUMMARY_HEADER);
      for (Run r : runs) {
        w.println(summaryRow(r.mode(), Integer.toString(r.rep()), List.of(r)));
      }
      for (String mode : modes) {
        List<Run> of = runs.stream().filter(r -> r.mode().equals(mode)).toList();
        if (!of.isEmpty()) {
          w.println(summaryRow(mode, "median", of));
        }
      }
    }
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(out.resolve("e2-ttr.csv")))) {
      w.println(TTR_HEADER);
      for (String mode : modes) {
        List<Run> of = runs.stream().filter(r -> r.mode().equals(mode)).toList();
        if (of.isEmpty()) {
          continue;
        }
        for (String[] slo : SLOS) {
          double multiple = Double.parseDouble(slo[1]);
          double sloMillis = median(of.stream().mapToDouble(r -> (slo[0].equals("p50")
              ? r.steadyP50Millis() : r.steadyP999Millis()) * multiple).toArray());
          w.printf(Locale.ROOT, "%s,%sx%s,%.3f,%s%n", mode, slo[0], slo[1], sloMillis,
              num(medianTtr(of, slo[0], multiple)));
        }
        for (int bound : P999_BOUNDS_MILLIS) {
          w.printf(Locale.ROOT, "%s,p99.9max%dms,%.3f,%s%n", mode, bound, (double) bound,
              num(medianTtr(of, r -> Windows.ttrMillis(r.windows(), r.killNanos(), "p99.9",
                  bound))));
        }
      }
    }
    chart(runs);
  }

  private String summaryRow(String mode, String rep, List<Run> of) {
    return String.format(Locale.ROOT,
        "%s,%s,%d,%d,%d,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s",
        mode,
        rep, records, valueBytes, rate,
        num(median(of, Run::steadyP50Millis)), num(median(of, Run::steadyP999Millis)),
        num(median(of, Run::electedMillis)), num(median(of, Run::recoveredMillis)),
        num(median(of, r -> r.copyMillis())), num(medianTtr(of, "p99.9", 2)),
        num(medianTtr(of, "p50", 2)), num(median(of, E2Bench::p50BackAfterElection)),
        num(median(of, r -> r.priorityPulls())),
        num(median(of, r -> r.priorityLatencyAvgMicros())),
        num(median(of, r -> r.failedOps())), num(median(of, Run::loadAverage)),
        num(median(of, r -> r.witnessLedBefore())), num(median(of, r -> r.failoverInSteady())),
        num(median(of, r -> r.witnessWarmUpsBeforeKill())),
        num(median(of, r -> r.snapshotsInSteady())));
  }

  /** TTR of the median SLO kind for runs; a run not repaired (-1) counts as the longest. */
  private static double medianTtr(List<Run> of, String quantile, double multiple) {
    return medianTtr(of, r -> r.ttr(quantile, multiple));
  }

  /** The median of {@code ttr} over runs; a run not repaired (-1) counts as the longest. */
  private static double medianTtr(List<Run> of, java.util.function.ToDoubleFunction<Run> ttr) {
    double[] v = of.stream().mapToDouble(r -> {
      double t = ttr.applyAsDouble(r);
      return t < 0 ? Double.POSITIVE_INFINITY : t;
    }).toArray();
    double m = median(v);
    return Double.isInfinite(m) ? -1 : m;
  }

  /** Median latency back within 2x its steady state, counted from the election. */
  static double p50BackAfterElection(Run r) {
    double ttr = r.ttr("p50", 2);
    return ttr < 0 || r.electedMillis() < 0 ? -1 : Math.max(0, ttr - r.electedMillis());
  }

  private static double median(List<Run> of, java.util.function.ToDoubleFunction<Run> f) {
    return median(of.stream().mapToDouble(f).toArray());
  }

  static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length == 0 ? Double.NaN : s.length % 2 == 1 ? s[s.length / 2]
        : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  private static String num(double v) {
    return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
  }

  /** p99.9 and p50 per window through the failover: the median run (by p99.9x2 TTR) per mode. */
  private void chart(List<Run> runs) throws IOException {
    XYChart c = new XYChartBuilder().width(1000).height(560)
        .title("E2: latency per 100 ms window through a kill -9 of the primary (t = 0)")
        .xAxisTitle("time since the kill (s)").yAxisTitle("latency (ms, log)").build();
    c.getStyler().setYAxisLogarithmic(true);
    c.getStyler().setMarkerSize(0);
    for (String mode : modes) {
      List<Run> of = new ArrayList<>(runs.stream().filter(r -> r.mode().equals(mode)).toList());
      if (of.isEmpty()) {
        continue;
      }
      of.sort(Comparator.comparingDouble(r -> {
        double t = r.ttr("p99.9", 2);
        return t < 0 ? Double.POSITIVE_INFINITY : t;
      }));
      Run r = of.get(of.size() / 2);
      for (String q : List.of("p99.9", "p50")) {
        List<Double> xs = new ArrayList<>();
        List<Double> ys = new ArrayList<>();
        for (Windows.Window w : r.windows()) {
          double y = w.millis(q);
          xs.add((w.startNanos() + Windows.WINDOW_NANOS - r.killNanos()) / 1e9);
          ys.add(w.operations() == 0 || Double.isNaN(y) ? Double.NaN : Math.max(0.01, y));
        }
        c.addSeries(mode + " " + q + " (rep " + r.rep() + ")", xs, ys)
            .setMarker(SeriesMarkers.NONE);
      }
      double slo = r.steadyP999Millis() * 2;
      double x0 = (r.windows().get(0).startNanos() - r.killNanos()) / 1e9;
      double x1 = (r.windows().get(r.windows().size() - 1).startNanos() - r.killNanos()) / 1e9;
      c.addSeries(mode + " SLO 2x steady p99.9", List.of(x0, x1), List.of(slo, slo))
          .setMarker(SeriesMarkers.NONE);
    }
    BitmapEncoder.saveBitmap(c, out.resolve("e2.png").toString(),
        BitmapEncoder.BitmapFormat.PNG);
  }

  private void report(List<Run> runs) {
    System.out.println("mode     p99.9x2 TTR ms   p50x2 TTR ms   elected ms   all values back ms");
    Map<String, Double> ttr = new LinkedHashMap<>();
    for (String mode : modes) {
      List<Run> of = runs.stream().filter(r -> r.mode().equals(mode)).toList();
      ttr.put(mode, medianTtr(of, "p99.9", 2));
      System.out.printf(Locale.ROOT, "%-8s %14.0f %14.0f %12.0f %20.0f%n", mode,
          medianTtr(of, "p99.9", 2), medianTtr(of, "p50", 2), median(of, Run::electedMillis),
          median(of, Run::recoveredMillis));
    }
    if (ttr.containsKey("online") && ttr.containsKey("offline")) {
      double on = ttr.get("online");
      double off = ttr.get("offline");
      System.out.printf(Locale.ROOT, "must show: online TTR (p99.9 2x steady) <= 1/5 of "
          + "offline's: %.0f ms vs %.0f ms (ratio %.2f): %s%n", on, off, on / off,
          on >= 0 && off > 0 && on * 5 <= off ? "HOLDS" : "MISSED");
      double back = median(runs.stream().filter(r -> r.mode().equals("online")).toList(),
          E2Bench::p50BackAfterElection);
      System.out.printf(Locale.ROOT, "must show: online median back within 2x steady < 1 s "
          + "after the election: %.0f ms: %s%n", back, back >= 0 && back < 1000 ? "HOLDS"
          : "MISSED");
    }
  }

  // ---- helpers ----

  private static void sleepUntil(long nanos) throws InterruptedException {
    for (long left; (left = nanos - System.nanoTime()) > 0; ) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }

}
