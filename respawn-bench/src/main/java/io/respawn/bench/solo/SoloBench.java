package io.respawn.bench.solo;

import io.respawn.bench.CsvChart;
import io.respawn.server.cli.MonitorCommand;
import io.respawn.server.shard.LoopbackPorts;
import io.respawn.server.solo.monitor.FailoverMode;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * {@code respawn bench solo}: experiment E3 on the solo deployment. For a short and a long
 * recovery (volumes of two sizes) and each timeout and mode ({@code reds}, {@code specreds},
 * {@code oracle}), runs {@code respawn monitor} on a fresh copy of the volume with a DURABLE
 * writer that follows the monitor, and meanwhile stalls the serving node (SIGSTOP, SIGCONT after
 * each {@code --stalls-s}) and kills it (kill -9). Per cell and scenario: the failover latency as
 * the client sees it (event to the first acknowledged write invoked after it; median over the
 * repetitions), the takeovers the monitor made, the writes that saw an error before they were
 * acknowledged, and the acknowledged writes missing when every key is read back at the end.
 * Writes {@code e3-solo.csv} and {@code e3-solo.png} (the kill scenario) into {@code --out}, and
 * {@code e3-solo-phases.csv}: one row per takeover, where its time went (detection, standby,
 * super or fence, recovery, promote, serve, client switch; see the monitor's {@code TakeoverPhases}).
 *
 * <p>Sizes: unless {@code --short-mb}/{@code --long-mb} say otherwise, the volumes are sized at
 * the start of the run for recoveries of {@code --short-s} and {@code --long-s} seconds: a
 * calibration store of {@link #CALIBRATION_KEYS} keys is recovered here (in this JVM, warm, as
 * after a crash) to measure keys recovered per second, each volume is built with that many
 * keys, its own recovery is measured the same way, and a volume more than 25 % off its target is
 * rebuilt once, scaled by the miss. The recoveries the standbys then report are in the output.
 */
@Command(name = "solo", mixinStandardHelpOptions = true,
    description = "E3 solo: failover latency and stalls for REDS, SpecREDS and the oracle.")
public final class SoloBench implements Callable<Integer> {
  static final String HEADER =
      "mode,timeout_s,recovery,scenario,failover_ms,failovers,client_errors,lost";

  @Option(names = "--out", defaultValue = "docs/bench", description = "Output directory (default ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--work", description = "Where volumes are built (default: a new temporary directory, deleted at the end).")
  Path work;

  @Option(names = "--modes", split = ",", defaultValue = "reds,specreds,oracle", description = "Modes (default ${DEFAULT-VALUE}).")
  List<String> modes;

  @Option(names = "--timeouts-s", split = ",", defaultValue = "1,10", description = "Short and long detector timeouts, in seconds (default ${DEFAULT-VALUE}).")
  List<Double> timeoutsSeconds;

  @Option(names = "--short-mb", defaultValue = "0", description = "Volume size (MiB of values) for the short recovery; 0 (default): sized by a calibration for --short-s.")
  long shortMb;

  @Option(names = "--long-mb", defaultValue = "0", description = "Volume size (MiB of values) for the long recovery; 0 (default): sized by a calibration for --long-s.")
  long longMb;

  @Option(names = "--short-s", defaultValue = "1", description = "Recovery time the short volume is sized for when --short-mb is 0 (default ${DEFAULT-VALUE}).")
  double shortSeconds;

  @Option(names = "--long-s", defaultValue = "8", description = "Recovery time the long volume is sized for when --long-mb is 0 (default ${DEFAULT-VALUE}).")
  double longSeconds;

  @Option(names = "--value-bytes", defaultValue = "16", description = "Value size of the volume's keys (default ${DEFAULT-VALUE}: recovery time grows with keys more than bytes, so small values give the most recovery per byte of memory).")
  int valueBytes;

  @Option(names = "--kills", defaultValue = "2", description = "kill -9 events per cell (default ${DEFAULT-VALUE}).")
  int kills;

  @Option(names = "--stalls-s", split = ",", defaultValue = "0.5,3", description = "Stall lengths (SIGSTOP .. SIGCONT), in seconds (default ${DEFAULT-VALUE}).")
  List<Double> stallsSeconds;

  @Option(names = "--stall-reps", defaultValue = "1", description = "Events per stall length and cell (default ${DEFAULT-VALUE}).")
  int stallReps;

  @Option(names = "--suspect-ms", defaultValue = "300", description = "SpecREDS's suspicion threshold (default ${DEFAULT-VALUE}).")
  long suspectMillis;

  @Option(names = "--gap-ms", defaultValue = "1500", description = "Quiet time after each event before the next (default ${DEFAULT-VALUE}).")
  long gapMillis;

  @Option(names = "--pace-us", defaultValue = "2000", description = "The writer's pause between writes (default ${DEFAULT-VALUE}).")
  long paceMicros;

  /** One CSV row. */
  record Row(String mode, double timeoutSeconds, String recovery, String scenario,
      long failoverMillis, int failovers, long clientErrors, long lost) {
    String csv() {
      return String.join(",", mode, fmt(timeoutSeconds), recovery, scenario,
          Long.toString(failoverMillis), Integer.toString(failovers),
          Long.toString(clientErrors), Long.toString(lost));
    }
  }

  /** What one event measured. */
  private record Event(String scenario, long failoverMillis, int failovers, long clientErrors,
      long firstSeq, long lastSeq) {}

  /** The calibration store's median recovery, once measured. */
  private long calibrationMillis = 1;

  /**
   * The keys whose recovery should take {@code targetMillis}, from two measured points: recovery
   * time grows faster than the keys (a bigger index misses the caches more: 1.4 M keys took 1 s
   * and 11 M keys 27 s on the E3 machine, not 8 s), so the rescale fits {@code t = a * keys^b}
   * through both points ({@code b} clamped to [1, 3]) instead of assuming {@code b = 1}.
   */
  static long keysFor(double targetMillis, long keys1, long millis1, long keys2, long millis2) {
    double b = 1;
    if (keys1 != keys2 && millis1 > 0 && millis2 > 0) {
      b = Math.log((double) millis2 / millis1) / Math.log((double) keys2 / keys1);
      b = Math.max(1, Math.min(3, b));
    }
    double keys = keys2 * Math.pow(targetMillis / Math.max(1, millis2), 1 / b);
    return Math.max(1, Math.min(VOLUME_KEYS_MAX, Math.round(keys)));
  }

  /** Keys of the calibration store (16 MiB of log at 16-byte values). */
  static final long CALIBRATION_KEYS = 1_000_000;
  /** Largest volume built: 100 M keys. */
  static final long VOLUME_KEYS_MAX = 100_000_000;
  static final String PHASES_HEADER = "mode,timeout_s,recovery,scenario,failover_ms,cause,"
      + "detect_ms,standby_ms,super_ms,recover_ms,standby_recover_ms,promote_ms,serve_ms,"
      + "client_ms";

  /**
   * Where one takeover's time went, from the event the bench caused: detect (event to the
   * monitor's decision), then the monitor's phases, then client (switch published to the first
   * write acknowledged after the event).
   */
  record PhaseRow(String mode, double timeoutSeconds, String recovery, String scenario,
      long failoverMillis, String cause, long detectMillis, long standbyMillis, long superMillis,
      long recoverMillis, long standbyRecoverMillis, long promoteMillis, long serveMillis,
      long clientMillis) {
    String csv() {
      return String.join(",", mode, fmt(timeoutSeconds), recovery, scenario,
          Long.toString(failoverMillis), cause, Long.toString(detectMillis),
          Long.toString(standbyMillis), Long.toString(superMillis), Long.toString(recoverMillis),
          Long.toString(standbyRecoverMillis), Long.toString(promoteMillis),
          Long.toString(serveMillis), Long.toString(clientMillis));
    }
  }

  private final List<Row> rows = new ArrayList<>();
  private final List<PhaseRow> phaseRows = new ArrayList<>();
  private int events;
  private long lostTotal;

  public List<Row> rows() {
    return rows;
  }

  public List<PhaseRow> phaseRows() {
    return phaseRows;
  }

  public int events() {
    return events;
  }

  public long lostTotal() {
    return lostTotal;
  }

  @Override
  public Integer call() throws Exception {
    validate();
    Files.createDirectories(out);
    boolean ownWork = work == null;
    Path root = ownWork ? Files.createTempDirectory("respawn-e3-solo") : work;
    Files.createDirectories(root);
    System.out.printf("respawn bench solo: modes %s, timeouts %s s, short %s, long %s, "
        + "%d kills and %s s stalls x %d per cell; load %s%n", modes, timeoutsSeconds,
        shortMb > 0 ? shortMb + " MiB" : "sized for " + fmt(shortSeconds) + " s",
        longMb > 0 ? longMb + " MiB" : "sized for " + fmt(longSeconds) + " s", kills,
        stallsSeconds, stallReps, load());
    Map<String, List<Long>> recoveries = new LinkedHashMap<>();
    try {
      double keysPerSecond = shortMb > 0 && longMb > 0 ? 0 : calibrate(root);
      for (String recovery : List.of("short", "long")) {
        long mb = recovery.equals("short") ? shortMb : longMb;
        double seconds = recovery.equals("short") ? shortSeconds : longSeconds;
        Path template = root.resolve("template-" + recovery);
        long keys = mb > 0 ? Math.max(1, mb * (1L << 20) / valueBytes)
            : Math.round(keysPerSecond * seconds);
        long t0 = System.nanoTime();
        buildVolume(template, keys);
        long recoveredMillis = measureRecovery(template);
        System.out.printf("volume %s: %d keys of %d B (%d MiB of values) built in %d ms; "
            + "recovers here in %d ms%n", recovery, keys, valueBytes,
            keys * valueBytes >> 20, (System.nanoTime() - t0) / 1_000_000, recoveredMillis);
        double miss = recoveredMillis / (seconds * 1000);
        if (mb == 0 && (miss < 0.8 || miss > 1.25)) {
          keys = keysFor(seconds * 1000, CALIBRATION_KEYS, calibrationMillis, keys,
              recoveredMillis);
          buildVolume(template, keys);
          recoveredMillis = measureRecovery(template);
          System.out.printf("volume %s rebuilt for %s s: %d keys (%d MiB of values); recovers "
              + "here in %d ms%n", recovery, fmt(seconds), keys, keys * valueBytes >> 20,
              recoveredMillis);
        }
        for (double timeout : timeoutsSeconds) {
          List<Long> rec = runGroup(template, root, timeout, recovery);
          recoveries.computeIfAbsent(recovery, r -> new ArrayList<>()).addAll(rec);
          writeCsvs();
        }
        io.respawn.server.shard.ShardMember.deleteTree(template);
      }
    } finally {
      if (ownWork) {
        io.respawn.server.shard.ShardMember.deleteTree(root);
      }
    }
    writeCsvs();
    Path kills = Files.createTempFile("e3-solo-kill", ".csv");
    List<String> killLines = new ArrayList<>();
    killLines.add(HEADER);
    for (Row r : rows) {
      if (r.scenario().equals("kill")) {
        killLines.add(r.csv());
      }
    }
    Files.write(kills, killLines, StandardCharsets.UTF_8);
    CsvChart.render(kills, out.resolve("e3-solo.png"),
        "E3 solo: kill -9 -> first DURABLE write acknowledged (ms)", "mode",
        List.of("timeout_s", "recovery"), "failover_ms");
    Files.deleteIfExists(kills);
    printTable(recoveries);
    return lostTotal == 0 ? 0 : 1;
  }

  /**
   * Writes {@code e3-solo.csv} and {@code e3-solo-phases.csv} with every row so far: after each
   * group, so a run cut short leaves what it measured.
   */
  private void writeCsvs() throws IOException {
    List<String> lines = new ArrayList<>();
    lines.add(HEADER);
    for (Row r : rows) {
      lines.add(r.csv());
    }
    Files.write(out.resolve("e3-solo.csv"), lines, StandardCharsets.UTF_8);
    List<String> phaseLines = new ArrayList<>();
    phaseLines.add(PHASES_HEADER);
    for (PhaseRow r : phaseRows) {
      phaseLines.add(r.csv());
    }
    Files.write(out.resolve("e3-solo-phases.csv"), phaseLines, StandardCharsets.UTF_8);
  }

  /**
   * Keys per second a warm log engine recovers on this machine after a crash: the median of
   * three recoveries of a store of {@link #CALIBRATION_KEYS} keys, after one that warms the JIT.
   */
  private double calibrate(Path root) throws IOException, InterruptedException {
    Path dir = root.resolve("calibration");
    buildVolume(dir, CALIBRATION_KEYS);
    measureRecovery(dir); // warms the JIT
    List<Long> millis = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      millis.add(measureRecovery(dir));
    }
    Collections.sort(millis);
    calibrationMillis = Math.max(1, millis.get(1));
    double rate = CALIBRATION_KEYS * 1000.0 / calibrationMillis;
    System.out.printf("calibration: %d keys of %d B recovered in %s ms (median %d): %.0f keys/s;"
        + " load %s%n", CALIBRATION_KEYS, valueBytes, millis, millis.get(1), rate, load());
    io.respawn.server.shard.ShardMember.deleteTree(dir);
    return rate;
  }

  /**
   * Recovers a volume's store in this JVM as a standby would after a crash (no clean-shutdown
   * mark), closes it, and returns the milliseconds the open took.
   */
  private static long measureRecovery(Path volume) throws IOException {
    Path store = MonitorCommand.firstStore(volume);
    Files.deleteIfExists(store.resolve(io.respawn.storage.LogFormat.CLEAN_SHUTDOWN_FILE));
    long t0 = System.nanoTime();
    LogEngine engine = LogEngine.open(new FileChannelDisk(store), StorageConfig.defaults());
    long millis = (System.nanoTime() - t0) / 1_000_000;
    engine.close();
    return millis;
  }

  private void validate() {
    for (String m : modes) {
      FailoverMode.valueOf(m.toUpperCase(Locale.ROOT));
    }
    if (kills < 0 || stallReps < 0 || shortMb < 0 || longMb < 0 || valueBytes < 1) {
      throw new IllegalArgumentException("counts and sizes must be >= 0");
    }
    if (!(shortSeconds > 0 && shortSeconds <= 600 && longSeconds > 0 && longSeconds <= 600)) {
      throw new IllegalArgumentException("--short-s and --long-s must be in (0, 600]");
    }
  }

  /** One monitor run: stalls, then kills; returns the recoveries the monitor reported. */
  /** One mode's monitor in a group: its run, its writer and its events. */
  private static final class Cell {
    final String mode;
    final double timeoutSeconds;
    final String recovery;
    final Path volume;
    final List<Event> done = new ArrayList<>();
    MonitorRun run;
    DurableWriter writer;

    Cell(String mode, double timeoutSeconds, String recovery, Path volume) {
      this.mode = mode;
      this.timeoutSeconds = timeoutSeconds;
      this.recovery = recovery;
      this.volume = volume;
    }
  }

  /**
   * One timeout and recovery, every mode side by side: a monitor per mode on its own copy of the
   * volume, each with its writer, all running at once; the events go round the modes (the first
   * mode of each round rotates), and before every event the bench waits until every monitor has
   * a warm standby again, so no standby's JVM warms up while another mode is measured. Modes
   * compared this way see the same machine load, to within one event. Returns the recoveries the
   * monitors reported.
   */
  private List<Long> runGroup(Path template, Path root, double timeoutSeconds, String recovery)
      throws Exception {
    long timeoutMillis = Math.round(timeoutSeconds * 1000);
    List<Cell> cells = new ArrayList<>();
    for (String mode : modes) {
      Path volume = root.resolve(mode + "-" + fmt(timeoutSeconds) + "-" + recovery);
      copyTree(template, volume);
      cells.add(new Cell(mode, timeoutSeconds, recovery, volume));
    }
    List<Long> recoveredMillis = new ArrayList<>();
    try {
      for (Cell c : cells) {
        int port = LoopbackPorts.free();
        System.out.printf("%s timeout %s s, %s recovery: starting the monitor (load %s)%n",
            c.mode, fmt(timeoutSeconds), recovery, load());
        c.run = MonitorRun.start(c.volume, c.mode, timeoutMillis,
            Math.min(suspectMillis, timeoutMillis), port, 600_000);
        c.writer = new DurableWriter(c.run::primary, paceMicros, 0);
        c.writer.start();
      }
      Thread.sleep(gapMillis);
      List<String> scenarios = new ArrayList<>();
      List<Long> stallsMillis = new ArrayList<>();
      for (double stall : stallsSeconds) {
        for (int i = 0; i < stallReps; i++) {
          scenarios.add("stall-" + fmt(stall) + "s");
          stallsMillis.add(Math.round(stall * 1000));
        }
      }
      for (int i = 0; i < kills; i++) {
        scenarios.add("kill");
        stallsMillis.add(-1L);
      }
      for (int round = 0; round < scenarios.size(); round++) {
        for (int k = 0; k < cells.size(); k++) {
          Cell c = cells.get((round + k) % cells.size());
          for (Cell other : cells) {
            other.run.awaitStandby(600_000);
          }
          System.out.printf("  %-8s", c.mode);
          c.done.add(event(c, scenarios.get(round), stallsMillis.get(round)));
        }
      }
      for (Cell c : cells) {
        c.writer.stop();
      }
      for (Cell c : cells) {
        aggregate(c, readBack(c.run, c.writer.acknowledged()));
        recoveredMillis.addAll(c.run.recoveryMillis());
      }
    } finally {
      for (Cell c : cells) {
        if (c.writer != null) {
          c.writer.stop();
        }
        if (c.run != null) {
          c.run.close();
        }
        io.respawn.server.shard.ShardMember.deleteTree(c.volume);
      }
    }
    return recoveredMillis;
  }

  /** One row per scenario of a cell, attributing each lost key to the event whose window holds it. */
  private void aggregate(Cell c, List<Long> missing) {
    long lost = missing.size();
    lostTotal += lost;
    if (lost > 0) {
      System.out.println("LOST acknowledged DURABLE writes (" + c.mode + "): "
          + missing.subList(0, Math.min(20, missing.size())));
    }
    Map<String, List<Event>> byScenario = new LinkedHashMap<>();
    for (Event e : c.done) {
      byScenario.computeIfAbsent(e.scenario(), s -> new ArrayList<>()).add(e);
    }
    long attributed = 0;
    for (Map.Entry<String, List<Event>> s : byScenario.entrySet()) {
      List<Long> latencies = new ArrayList<>();
      int failovers = 0;
      long errors = 0;
      long lostHere = 0;
      for (Event e : s.getValue()) {
        latencies.add(e.failoverMillis());
        failovers += e.failovers();
        errors += e.clientErrors();
        for (long k : missing) {
          if (k >= e.firstSeq() && k <= e.lastSeq()) {
            lostHere++;
          }
        }
      }
      attributed += lostHere;
      Collections.sort(latencies);
      rows.add(new Row(c.mode, c.timeoutSeconds, c.recovery, s.getKey(),
          latencies.get(latencies.size() / 2), failovers, errors, lostHere));
    }
    if (attributed != lost) {
      System.out.println("note: " + (lost - attributed) + " lost writes outside any event window");
    }
    System.out.printf("  %s: %d acknowledged writes read back, %d missing; recoveries %s ms%n",
        c.mode, c.writer.acknowledged().size(), lost, c.run.recoveryMillis());
  }

  /**
   * Reads every acknowledged key from the node the monitor names; returns those missing or
   * holding another value. Retries (for at most a minute) while the node cannot be reached.
   */
  private static List<Long> readBack(MonitorRun run, Map<Long, Boolean> acked)
      throws IOException, InterruptedException {
    List<Long> keys = new ArrayList<>(acked.keySet());
    Collections.sort(keys);
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (true) {
      MonitorRun.Node p = run.primary();
      List<Long> missing = new ArrayList<>();
      try (Jedis j = new Jedis(new redis.clients.jedis.HostAndPort(p.address().getHostString(),
          p.address().getPort()), redis.clients.jedis.DefaultJedisClientConfig.builder()
              .timeoutMillis(60_000).protocol(redis.clients.jedis.RedisProtocol.RESP2).build())) {
        for (int from = 0; from < keys.size(); from += 1000) {
          List<Long> chunk = keys.subList(from, Math.min(keys.size(), from + 1000));
          Pipeline pl = j.pipelined();
          List<Response<String>> got = new ArrayList<>();
          for (long k : chunk) {
            got.add(pl.get("e3:" + k));
          }
          pl.sync();
          for (int i = 0; i < chunk.size(); i++) {
            if (!Long.toString(chunk.get(i)).equals(got.get(i).get())) {
              missing.add(chunk.get(i));
            }
          }
        }
        return missing;
      } catch (redis.clients.jedis.exceptions.JedisException e) {
        if (System.nanoTime() > deadline) {
          throw new IOException("cannot read back from " + p.address() + ": " + e.getMessage()
              + "; see " + run.log(), e);
        }
        System.out.println("  read-back from " + p.address() + " failed (" + e.getMessage()
            + "); retrying");
        Thread.sleep(500);
      }
    }
  }

  /** Waits (bounded) until every thread of {@code pid} is stopped (state T in /proc). */
  private static void awaitStopped(long pid) throws IOException, InterruptedException {
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    long deadline = System.nanoTime() + 5_000_000_000L;
    while (System.nanoTime() < deadline) {
      boolean all = true;
      try (Stream<Path> s = Files.list(tasks)) {
        for (Path t : (Iterable<Path>) s::iterator) {
          String stat = Files.readString(t.resolve("stat"));
          char state = stat.charAt(stat.lastIndexOf(')') + 2);
          all &= state == 'T' || state == 't';
        }
      } catch (IOException e) {
        return; // gone
      }
      if (all) {
        return;
      }
      Thread.sleep(1);
    }
    throw new IOException("pid " + pid + " not stopped 5 s after SIGSTOP");
  }

  /** One event: a stall of {@code stallMillis} or, when negative, a kill -9. */
  private Event event(Cell c, String scenario, long stallMillis) throws Exception {
    MonitorRun run = c.run;
    DurableWriter writer = c.writer;
    run.awaitStandby(600_000);
    int failovers0 = run.failovers();
    int aborts0 = run.aborts();
    long errors0 = writer.clientErrors();
    long firstSeq = writer.lastSeq();
    long pid = run.primary().pid();
    int phases0 = run.phases().size();
    long eventAtMillis;
    // The event counts from the moment the signal was delivered (the kill command returned).
    if (stallMillis < 0) {
      signal("KILL", pid);
      writer.eventAt(System.nanoTime());
      eventAtMillis = System.currentTimeMillis();
    } else {
      signal("STOP", pid);
      awaitStopped(pid);
      writer.eventAt(System.nanoTime());
      eventAtMillis = System.currentTimeMillis();
      Thread.sleep(stallMillis);
      if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
        signal("CONT", pid); // else the monitor's fence killed it while it was stopped
      }
    }
    long deadline = System.nanoTime() + 600_000_000_000L;
    while (writer.recoveredAfterNanos() < 0) {
      if (System.nanoTime() > deadline) {
        throw new IOException(scenario + ": no write acknowledged within 600 s; see " + run.log());
      }
      Thread.sleep(5);
    }
    long failoverMillis = writer.recoveredAfterNanos() / 1_000_000;
    Thread.sleep(gapMillis);
    run.awaitStandby(600_000); // the pool replaced the standby a takeover or abort used
    events++;
    Event e = new Event(scenario, failoverMillis, run.failovers() - failovers0,
        writer.clientErrors() - errors0, firstSeq + 1, writer.lastSeq());
    System.out.printf("  %-10s %6d ms  failovers %d  aborted speculations %d  client errors %d%n",
        scenario, failoverMillis, e.failovers(), run.aborts() - aborts0, e.clientErrors());
    List<Map<String, String>> phases = run.phases();
    for (Map<String, String> p : phases.subList(phases0, phases.size())) {
      PhaseRow r = new PhaseRow(c.mode, c.timeoutSeconds, c.recovery, scenario,
          failoverMillis, p.getOrDefault("cause", "?"),
          num(p, "detected_at_ms") - eventAtMillis, num(p, "standby_ms"), num(p, "super_ms"),
          num(p, "recover_ms"), num(p, "standby_recover_ms"), num(p, "promote_ms"),
          num(p, "serve_ms"), eventAtMillis + failoverMillis - num(p, "switched_at_ms"));
      phaseRows.add(r);
      System.out.printf("    phases: %s detect %d, standby %d, super %d, recover %d (standby %d),"
          + " promote %d, serve %d, client %d ms%n", r.cause(), r.detectMillis(),
          r.standbyMillis(), r.superMillis(), r.recoverMillis(), r.standbyRecoverMillis(),
          r.promoteMillis(), r.serveMillis(), r.clientMillis());
    }
    return e;
  }

  private static long num(Map<String, String> phases, String key) {
    try {
      return Long.parseLong(phases.getOrDefault(key, "-1"));
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static void signal(String sig, long pid) throws IOException, InterruptedException {
    int rc = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start()
        .waitFor();
    if (rc != 0) {
      throw new IOException("kill -" + sig + " " + pid + " failed (" + rc + ")");
    }
  }

  /** Writes {@code keys} keys of {@code --value-bytes} into a fresh volume's store. */
  private void buildVolume(Path volume, long keys) throws IOException, InterruptedException {
    if (keys < 1 || keys > VOLUME_KEYS_MAX) {
      throw new IllegalArgumentException("a volume of " + keys + " keys: must be 1.."
          + VOLUME_KEYS_MAX);
    }
    io.respawn.server.shard.ShardMember.deleteTree(volume);
    Path store = MonitorCommand.firstStore(volume);
    byte[] value = new byte[valueBytes];
    java.util.Arrays.fill(value, (byte) 'x');
    try (LogEngine engine = LogEngine.open(new FileChannelDisk(store), StorageConfig.defaults())) {
      List<Mutation> batch = new ArrayList<>();
      for (long k = 0; k < keys; k++) {
        batch.add(Mutation.put(("vol:" + k).getBytes(StandardCharsets.US_ASCII), value));
        if (batch.size() == 1000 || k == keys - 1) {
          engine.apply(batch);
          batch = new ArrayList<>();
        }
      }
      engine.flushAll().join();
    }
  }

  private void printTable(Map<String, List<Long>> recoveries) {
    System.out.println();
    System.out.println("recovery reported by the standbys (ms): " + recoveries);
    System.out.printf("%-9s %9s %-8s %-11s %11s %9s %13s %5s%n", "mode", "timeout_s", "recovery",
        "scenario", "failover_ms", "failovers", "client_errors", "lost");
    for (Row r : rows) {
      System.out.printf("%-9s %9s %-8s %-11s %11d %9d %13d %5d%n", r.mode(),
          fmt(r.timeoutSeconds()), r.recovery(), r.scenario(), r.failoverMillis(), r.failovers(),
          r.clientErrors(), r.lost());
    }
    for (Row r : rows) {
      if (!r.mode().equals("specreds") || !r.scenario().equals("kill")) {
        continue;
      }
      for (Row o : rows) {
        if (o.mode().equals("oracle") && o.scenario().equals("kill")
            && o.timeoutSeconds() == r.timeoutSeconds() && o.recovery().equals(r.recovery())) {
          System.out.printf("specreds / oracle, timeout %s s, %s recovery: %.2f%n",
              fmt(r.timeoutSeconds()), r.recovery(),
              (double) r.failoverMillis() / Math.max(1, o.failoverMillis()));
        }
      }
    }
    System.out.println();
    System.out.println("kill -9 phases, medians per cell (ms): detect, standby, super/fence, "
        + "recover, promote, serve, client; failover");
    Map<String, List<PhaseRow>> cells = new LinkedHashMap<>();
    for (PhaseRow r : phaseRows) {
      if (r.scenario().equals("kill")) {
        cells.computeIfAbsent(r.mode() + " " + fmt(r.timeoutSeconds()) + " s " + r.recovery(),
            k -> new ArrayList<>()).add(r);
      }
    }
    for (Map.Entry<String, List<PhaseRow>> c : cells.entrySet()) {
      List<PhaseRow> l = c.getValue();
      System.out.printf("%-22s %6d %6d %6d %7d %6d %6d %6d  %7d%n", c.getKey(),
          median(l, PhaseRow::detectMillis), median(l, PhaseRow::standbyMillis),
          median(l, PhaseRow::superMillis), median(l, PhaseRow::recoverMillis),
          median(l, PhaseRow::promoteMillis), median(l, PhaseRow::serveMillis),
          median(l, PhaseRow::clientMillis), median(l, PhaseRow::failoverMillis));
    }
    System.out.printf("events %d, acknowledged DURABLE writes lost %d; load %s%n", events,
        lostTotal, load());
  }

  private static long median(List<PhaseRow> rows,
      java.util.function.ToLongFunction<PhaseRow> f) {
    long[] v = rows.stream().mapToLong(f).sorted().toArray();
    return v.length == 0 ? -1 : v[v.length / 2];
  }

  static String fmt(double seconds) {
    return seconds == Math.rint(seconds) ? Long.toString((long) seconds)
        : Double.toString(seconds);
  }

  private static String load() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    io.respawn.server.shard.ShardMember.deleteTree(to);
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }
}
