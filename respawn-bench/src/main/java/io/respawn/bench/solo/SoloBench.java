package io.respawn.bench.solo;

import io.respawn.bench.CsvChart;
import io.respawn.server.cli.MonitorCommand;
import io.respawn.server.solo.monitor.FailoverMode;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
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
 * Writes {@code e3-solo.csv} and {@code e3-solo.png} (the kill scenario) into {@code --out}.
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

  @Option(names = "--short-mb", defaultValue = "40", description = "Volume size (MiB of values) for the short recovery (default ${DEFAULT-VALUE}).")
  long shortMb;

  @Option(names = "--long-mb", defaultValue = "320", description = "Volume size (MiB of values) for the long recovery (default ${DEFAULT-VALUE}).")
  long longMb;

  @Option(names = "--value-bytes", defaultValue = "1000", description = "Value size of the volume's keys (default ${DEFAULT-VALUE}).")
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

  private final List<Row> rows = new ArrayList<>();
  private int events;
  private long lostTotal;

  public List<Row> rows() {
    return rows;
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
    System.out.printf("respawn bench solo: modes %s, timeouts %s s, short %d MiB, long %d MiB, "
        + "%d kills and %s s stalls x %d per cell; load %s%n", modes, timeoutsSeconds, shortMb,
        longMb, kills, stallsSeconds, stallReps, load());
    Map<String, List<Long>> recoveries = new LinkedHashMap<>();
    try {
      for (String recovery : List.of("short", "long")) {
        long mb = recovery.equals("short") ? shortMb : longMb;
        Path template = root.resolve("template-" + recovery);
        long t0 = System.nanoTime();
        long keys = buildVolume(template, mb);
        System.out.printf("volume %s: %d keys of %d B (%d MiB) built in %d ms%n", recovery, keys,
            valueBytes, mb, (System.nanoTime() - t0) / 1_000_000);
        for (String mode : modes) {
          for (double timeout : timeoutsSeconds) {
            Path volume = root.resolve(mode + "-" + fmt(timeout) + "-" + recovery);
            copyTree(template, volume);
            List<Long> rec = runCell(volume, mode, timeout, recovery);
            recoveries.computeIfAbsent(recovery, r -> new ArrayList<>()).addAll(rec);
            deleteTree(volume);
          }
        }
        deleteTree(template);
      }
    } finally {
      if (ownWork) {
        deleteTree(root);
      }
    }
    Path csv = out.resolve("e3-solo.csv");
    List<String> lines = new ArrayList<>();
    lines.add(HEADER);
    for (Row r : rows) {
      lines.add(r.csv());
    }
    Files.write(csv, lines, StandardCharsets.UTF_8);
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

  private void validate() {
    for (String m : modes) {
      FailoverMode.valueOf(m.toUpperCase(Locale.ROOT));
    }
    if (kills < 0 || stallReps < 0 || shortMb < 0 || longMb < 0 || valueBytes < 1) {
      throw new IllegalArgumentException("counts and sizes must be >= 0");
    }
  }

  /** One monitor run: stalls, then kills; returns the recoveries the monitor reported. */
  private List<Long> runCell(Path volume, String mode, double timeoutSeconds, String recovery)
      throws Exception {
    long timeoutMillis = Math.round(timeoutSeconds * 1000);
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    System.out.printf("%s timeout %s s, %s recovery: starting the monitor (load %s)%n", mode,
        fmt(timeoutSeconds), recovery, load());
    List<Event> done = new ArrayList<>();
    List<Long> recoveredMillis;
    long lost;
    Map<Long, Boolean> acked;
    List<Long> missing = new ArrayList<>();
    try (MonitorRun run = MonitorRun.start(volume, mode, timeoutMillis,
        Math.min(suspectMillis, timeoutMillis), port, 600_000)) {
      DurableWriter writer = new DurableWriter(run::primary, paceMicros, 0);
      writer.start();
      Thread.sleep(gapMillis);
      for (double stall : stallsSeconds) {
        for (int i = 0; i < stallReps; i++) {
          done.add(event(run, writer, "stall-" + fmt(stall) + "s", Math.round(stall * 1000)));
        }
      }
      for (int i = 0; i < kills; i++) {
        done.add(event(run, writer, "kill", -1));
      }
      writer.stop();
      acked = writer.acknowledged();
      missing.addAll(readBack(run, acked));
      recoveredMillis = run.recoveryMillis();
    }
    lost = missing.size();
    lostTotal += lost;
    if (lost > 0) {
      System.out.println("LOST acknowledged DURABLE writes: " + missing.subList(0,
          Math.min(20, missing.size())));
    }
    // aggregate per scenario, attributing each lost key to the event whose window holds it
    Map<String, List<Event>> byScenario = new LinkedHashMap<>();
    for (Event e : done) {
      byScenario.computeIfAbsent(e.scenario(), s -> new ArrayList<>()).add(e);
    }
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
      Collections.sort(latencies);
      rows.add(new Row(mode, timeoutSeconds, recovery, s.getKey(),
          latencies.get(latencies.size() / 2), failovers, errors, lostHere));
    }
    long attributed = rows.stream().filter(r -> r.mode().equals(mode)
        && r.timeoutSeconds() == timeoutSeconds && r.recovery().equals(recovery))
        .mapToLong(Row::lost).sum();
    if (attributed != lost) {
      System.out.println("note: " + (lost - attributed) + " lost writes outside any event window");
    }
    System.out.printf("  %d acknowledged writes read back, %d missing; recoveries %s ms%n",
        acked.size(), lost, recoveredMillis);
    return recoveredMillis;
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
  private Event event(MonitorRun run, DurableWriter writer, String scenario, long stallMillis)
      throws Exception {
    run.awaitStandby(600_000);
    int failovers0 = run.failovers();
    int aborts0 = run.aborts();
    long errors0 = writer.clientErrors();
    long firstSeq = writer.lastSeq();
    long pid = run.primary().pid();
    // The event counts from the moment the signal was delivered (the kill command returned).
    if (stallMillis < 0) {
      signal("KILL", pid);
      writer.eventAt(System.nanoTime());
    } else {
      signal("STOP", pid);
      awaitStopped(pid);
      writer.eventAt(System.nanoTime());
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
    return e;
  }

  private static void signal(String sig, long pid) throws IOException, InterruptedException {
    int rc = new ProcessBuilder("kill", "-" + sig, Long.toString(pid)).inheritIO().start()
        .waitFor();
    if (rc != 0) {
      throw new IOException("kill -" + sig + " " + pid + " failed (" + rc + ")");
    }
  }

  /** Writes {@code mb} MiB of values into a fresh volume's store; returns the key count. */
  private long buildVolume(Path volume, long mb) throws IOException, InterruptedException {
    deleteTree(volume);
    Path store = MonitorCommand.firstStore(volume);
    long keys = Math.max(1, mb * (1L << 20) / valueBytes);
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
    return keys;
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
    System.out.printf("events %d, acknowledged DURABLE writes lost %d; load %s%n", events,
        lostTotal, load());
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
    deleteTree(to);
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

  static void deleteTree(Path root) throws IOException {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
        Files.deleteIfExists(p);
      }
    }
  }
}
