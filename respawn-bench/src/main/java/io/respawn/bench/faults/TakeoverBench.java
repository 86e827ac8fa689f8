package io.respawn.bench.faults;

import io.respawn.bench.CsvChart;
import io.respawn.server.shard.ShardLayout;
import io.respawn.server.shard.ShardSupervisor;
import io.respawn.sim.lin.HistoryRecorder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;

/**
 * {@code respawn bench takeover}: experiment E3 on a replicated shard. For each takeover mode
 * (hard-timeout with the shard's short detector, hard-timeout with a long one, speculative) and
 * scenario it runs each repetition on a fresh 1+1+1 shard started as {@code respawn up} does:
 * closed-loop {@link RecordingClient}s write continuously, and once the shard is healthy
 * (every member up, caught up, member 1 primary) it strikes the primary: kill -9, or SIGSTOP
 * then SIGCONT after 0.5, 1 or 3 s. Per event: failover_ms (the strike to the first acknowledged write
 * invoked after it: for a stall the primary survives, the longest gap a client saw), whether
 * the term changed, and the client errors (lost connections, timeouts, uncertain or unexpected
 * replies; followed redirects and waited-out CLUSTERDOWN are not errors).
 */
@Command(name = "takeover", mixinStandardHelpOptions = true,
    description = "E3 replicated: failover time, failovers and client errors per takeover mode "
        + "for kill -9 and healing stalls of the primary; CSV and PNG.")
public final class TakeoverBench implements Callable<Integer> {
  @Option(names = "--repetitions", defaultValue = "3", description = "Events per mode and scenario (default ${DEFAULT-VALUE}).")
  int repetitions;

  @Option(names = "--out", defaultValue = "docs/bench", description = "Output directory (default ${DEFAULT-VALUE}).")
  Path out;

  /*
   * 21400-21899, peer ports 31400-31899: below Linux's ephemeral range (32768 up by default). The
   * default was 23400, whose peer ports 33400-33899 an outgoing connection of any process (a
   * client, a member dialling a peer) may hold at the moment a shard starts: a member then could
   * not listen, refused its configuration, and the run stopped (once in three events).
   */
  @Option(names = "--port", defaultValue = "21400", description = "First RESP port; each shard (one per event) takes 20, in 25 ranges taken in turn; keep it and its peer ports (+10000) out of the ephemeral port range (default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--data", description = "Data root (default: a new temporary directory, deleted once every event ran; kept, and named, after a run that stopped).")
  Path data;

  @Option(names = "--clients", defaultValue = "4", description = "Concurrent writing clients (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--modes", defaultValue = "hard-short,hard-long,speculative", split = ",",
      description = "Modes to run (default ${DEFAULT-VALUE}).")
  List<String> modes;

  @Option(names = "--scenarios", defaultValue = "kill,stall-0.5s,stall-1s,stall-3s", split = ",",
      description = "Scenarios to run (default ${DEFAULT-VALUE}).")
  List<String> scenarios;

  /** Key space of the clients: small, so every client writes the same few keys. */
  static final int KEYS = 64;
  /** How long an event may take to see a write acknowledged before it counts as unrecovered. */
  static final long RECOVERY_WAIT_MILLIS_MAX = 30_000;
  /** After the first acknowledged write: time for a late failover or late errors to show. */
  static final long SETTLE_MILLIS = 1_000;
  /** Supervisor's delay before restarting a killed member. */
  static final long RESTART_DELAY_MILLIS = 1_000;
  /** Ports a shard may use after its first. */
  static final int PORTS_PER_SHARD = 20;
  /** Port ranges the shards take in turn (500 ports from --port): one is reused 25 shards on. */
  static final int PORT_SLOTS = 25;

  /**
   * The member settings of each mode. hard-long keeps the shard's 50 ms heartbeat but lets the
   * phi-accrual detector accept 1.5 s of silence (default 5 heartbeats, 250 ms) and raises
   * phi-hard from 8 to 16, so a silent primary is suspected hard after ~1.5-2 s. Hard-timeout
   * goes by silence alone, kills included; speculative takes a kill -9 (the primary's closed
   * connections) over after its lease and a stall after its silence bound (1.5 s by default).
   */
  static Map<String, String> settingsOf(String mode) {
    Map<String, String> s = new TreeMap<>();
    switch (mode) {
      case "hard-short" -> s.put("takeover", "hard-timeout");
      case "hard-long" -> {
        s.put("takeover", "hard-timeout");
        s.put("phi-acceptable-pause-ms", "1500");
        s.put("phi-hard", "16");
      }
      case "speculative" -> s.put("takeover", "speculative");
      default -> throw new IllegalArgumentException("unknown mode '" + mode
          + "' (hard-short, hard-long, speculative)");
    }
    return s;
  }

  /** SIGSTOP length of a scenario in ms, or 0 for kill. */
  static long stallMillisOf(String scenario) {
    if (scenario.equals("kill")) {
      return 0;
    }
    if (scenario.startsWith("stall-") && scenario.endsWith("s")) {
      double seconds = Double.parseDouble(scenario.substring(6, scenario.length() - 1));
      if (seconds > 0 && seconds <= 60) {
        return Math.round(seconds * 1000);
      }
    }
    throw new IllegalArgumentException("unknown scenario '" + scenario
        + "' (kill, stall-<seconds>s)");
  }

  private final List<TakeoverTable.Event> events = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    for (String m : modes) {
      settingsOf(m);
    }
    for (String sc : scenarios) {
      stallMillisOf(sc);
    }
    Files.createDirectories(out);
    Path root = data != null ? data : Files.createTempDirectory("respawn-takeover");
    System.out.println("respawn bench takeover: modes " + modes + ", scenarios " + scenarios
        + ", " + repetitions + " repetitions, " + clients + " clients; load "
        + FaultCampaign.loadAverage());
    // A fresh shard per event: a member's failure detector keeps the silence of an earlier
    // kill or stall as one heartbeat interval, so a second event on the same shard would
    // measure that memory, not the mode (docs/recovery.md, E3 replicated).
    int shard = 0;
    try {
      for (String m : modes) {
        for (String sc : scenarios) {
          for (int r = 0; r < repetitions; r++) {
            runShard(m, sc, r, root.resolve(m + "-" + sc + "-" + r),
                port + (shard % PORT_SLOTS) * PORTS_PER_SHARD);
            shard++;
          }
        }
      }
    } catch (Exception | Error e) {
      if (data == null) {
        System.out.println("respawn bench takeover: the members' data and logs are kept in "
            + root);
      }
      throw e;
    }
    if (data == null) { // a directory of its own, 2-3 GB after 36 shards: gone once all ran
      io.respawn.server.shard.ShardMember.deleteTree(root);
    }
    Files.write(out.resolve("e3-takeover-events.csv"), TakeoverTable.eventLines(events),
        StandardCharsets.UTF_8);
    Path summary = out.resolve("e3-takeover.csv");
    List<String> lines = TakeoverTable.summaryLines(events);
    Files.write(summary, lines, StandardCharsets.UTF_8);
    CsvChart.render(summary, out.resolve("e3-takeover.png"),
        "E3 replicated: primary killed or stopped -> first acknowledged write (ms)", "mode",
        List.of("scenario"), "failover_ms");
    System.out.println("respawn bench takeover: load " + FaultCampaign.loadAverage());
    for (String l : lines) {
      System.out.println(l);
    }
    return 0;
  }

  private void runShard(String mode, String scenario, int repetition, Path dir, int firstPort)
      throws Exception {
    ShardLayout layout = ShardLayout.of(dir, "127.0.0.1", firstPort, "1+1+1");
    List<Path> configs = layout.prepare(settingsOf(mode));
    io.respawn.server.shard.ShardConfig.load(configs.get(0)); // refuses bad settings first
    List<Integer> ports = new ArrayList<>();
    for (int id = 1; id <= layout.members(); id++) {
      ports.add(layout.respPort(id));
    }
    FailoverClock clock = new FailoverClock();
    AtomicBoolean running = new AtomicBoolean(true);
    List<RecordingClient> workers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    try (ShardSupervisor sup = new ShardSupervisor(layout.members(),
        id -> ShardSupervisor.javaMember(configs.get(id - 1),
            layout.memberDir(id).resolve("respawn.log"), FaultCampaign.MEMBER_JVM, List.of()),
        RESTART_DELAY_MILLIS, 30_000)) {
      sup.start();
      FaultCampaign.awaitPrimary(ports, 60_000);
      // The history is not checked here (bench faults does that); it keeps the clients' API.
      HistoryRecorder history = new HistoryRecorder();
      Map<Integer, String> trace = new ConcurrentHashMap<>();
      for (int c = 0; c < clients; c++) {
        RecordingClient rc = new RecordingClient(c, history, ports, KEYS, 7_000L + c, running,
            List.of(clock), trace);
        workers.add(rc);
        Thread t = new Thread(rc, "takeover-client-" + c);
        threads.add(t);
        t.start();
      }
      FaultCampaign.awaitHealthy(ports, 120_000);
      events.add(strike(mode, scenario, repetition, sup, ports, firstPort, clock, workers));
      System.out.println(java.time.Instant.now() + " " + events.get(events.size() - 1).csv()
          + " (load " + FaultCampaign.loadAverage() + ")");
      running.set(false);
      for (Thread t : threads) {
        t.join(30_000);
      }
    }
  }

  private static TakeoverTable.Event strike(String mode, String scenario, int repetition,
      ShardSupervisor sup, List<Integer> ports, int firstPort, FailoverClock clock,
      List<RecordingClient> workers) throws Exception {
    int primary = FaultCampaign.primaryId(ports, firstPort);
    if (primary < 1) {
      primary = 1; // healed means member 1 leads
    }
    long termBefore = maxTerm(ports);
    long errorsBefore = clientErrors(workers);
    int measuredBefore = clock.latenciesMillis().size();
    long pid = sup.pid(primary);
    long stallMillis = stallMillisOf(scenario);
    // The clock starts once the signal is delivered (kill has returned): a write invoked while
    // the kill process was starting may still be acknowledged and must not count.
    long at;
    if (stallMillis == 0) {
      signal("-9", pid);
      at = System.nanoTime();
      clock.primaryLost(at);
    } else {
      signal("-STOP", pid);
      at = System.nanoTime();
      clock.primaryLost(at);
      Thread.sleep(stallMillis);
      signal("-CONT", pid);
    }
    long deadline = at + RECOVERY_WAIT_MILLIS_MAX * 1_000_000;
    while (!clock.recovered() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    List<Long> measured = clock.latenciesMillis();
    long failoverMillis = measured.size() > measuredBefore ? measured.get(measured.size() - 1) : -1;
    Thread.sleep(SETTLE_MILLIS);
    long termAfter = maxTerm(ports);
    return new TakeoverTable.Event(mode, scenario, repetition, failoverMillis,
        termAfter != termBefore, clientErrors(workers) - errorsBefore, termBefore, termAfter);
  }

  private static void signal(String signal, long pid) throws Exception {
    if (pid <= 0) {
      throw new IllegalStateException("the primary has no process to signal");
    }
    new ProcessBuilder("kill", signal, Long.toString(pid)).start().waitFor();
  }

  /** Errors the clients saw so far: unknown outcomes and unexpected replies. */
  private static long clientErrors(List<RecordingClient> workers) {
    long n = 0;
    for (RecordingClient rc : workers) {
      n += rc.clientErrors();
    }
    return n;
  }

  /** The highest term any member reports, or -1 if none answers. */
  private static long maxTerm(List<Integer> ports) {
    long max = -1;
    for (int p : ports) {
      try (Jedis j = new Jedis(new redis.clients.jedis.HostAndPort("127.0.0.1", p),
          redis.clients.jedis.DefaultJedisClientConfig.builder().timeoutMillis(500)
              .protocol(redis.clients.jedis.RedisProtocol.RESP2).build())) {
        max = Math.max(max, FaultCampaign.field(j.info("shard"), "respawn_term"));
      } catch (RuntimeException e) {
        // down or stopped: it has no say
      }
    }
    return max;
  }
}
