package io.respawn.bench.faults;

import io.respawn.server.shard.ShardLayout;
import io.respawn.server.shard.ShardSupervisor;
import io.respawn.sim.lin.CheckResult;
import io.respawn.sim.lin.HistoryRecorder;
import io.respawn.sim.lin.LinearizabilityChecker;
import io.respawn.sim.lin.Op;
import io.respawn.sim.lin.OpKind;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;

/**
 * {@code respawn bench faults}: a fault campaign on a real shard. Starts the members as
 * processes on loopback (kept alive by a {@link ShardSupervisor}, which restarts what is
 * killed), runs closed-loop clients that record every operation, and meanwhile kills (SIGKILL),
 * pauses (SIGSTOP, then SIGCONT) or cuts off ({@link PeerPartition}: the member's peer traffic
 * dropped both ways, or one member's messages to another) members one at a time. At the end it
 * reads every key and checks the whole history with the project's linearizability checker: an
 * acknowledged write that vanished, or a read of a value that was never current, is a
 * violation. Prints the seed, the events, acknowledged writes, unknown outcomes, violations,
 * the failover latencies (kill or cut-off of the primary to the first acknowledged write after
 * it) and, per cut, how long after the heal the shard was whole again.
 */
@Command(name = "faults", mixinStandardHelpOptions = true,
    description = "Kill, pause and cut off shard members under load; check linearizability "
        + "and lost writes.")
public final class FaultCampaign implements Callable<Integer> {
  @Option(names = "--shape", defaultValue = "1+1+1", description = "Members (default ${DEFAULT-VALUE}).")
  String shape;

  @Option(names = "--port", defaultValue = "17400", description = "First RESP port (default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--data", description = "Data root, kept after the run (default: a new "
      + "temporary directory, deleted after a run that passed and kept after one that failed).")
  Path data;

  @Option(names = "--clients", defaultValue = "8", description = "Concurrent clients (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--keys", defaultValue = "64", description = "Key space (default ${DEFAULT-VALUE}).")
  int keys;

  @Option(names = "--readers", defaultValue = "2", description = "Of the clients, how many only "
      + "read (GET), staying with the member that answers them (default ${DEFAULT-VALUE}).")
  int readers;

  @Option(names = "--events", defaultValue = "20", description = "Fault events (default ${DEFAULT-VALUE}).")
  int events;

  @Option(names = "--faults", defaultValue = "kill-primary,kill-any,pause",
      split = ",", description = "Kinds drawn from: kill-primary, kill-any, pause, "
      + "isolate-primary, isolate-any, one-way (the last three need root and iptables; "
      + "default ${DEFAULT-VALUE}).")
  List<String> faults;

  /** Every fault kind, and those that cut peer traffic ({@link PeerPartition}). */
  static final List<String> FAULT_KINDS = List.of("kill-primary", "kill-any", "pause",
      "isolate-primary", "isolate-any", "one-way");
  static final List<String> PARTITION_KINDS = List.of("isolate-primary", "isolate-any",
      "one-way");

  /** The shortest pause or cut, in ms; the longest is {@code --fault-ms-max}. */
  static final int FAULT_MILLIS_MIN = 200;

  @Option(names = "--fault-ms-max", defaultValue = "3000", description = "Longest pause or cut; "
      + "each lasts from 200 ms to this, drawn uniformly (default ${DEFAULT-VALUE}).")
  int faultMillisMax;

  @Option(names = "--gap-ms", defaultValue = "3000", description = "Time between events (default ${DEFAULT-VALUE}).")
  long gapMillis;

  @Option(names = "--restart-delay-ms", defaultValue = "1000",
      description = "Supervisor's delay before restarting a killed member (default ${DEFAULT-VALUE}).")
  long restartDelayMillis;

  @Option(names = "--takeover", paramLabel = "MODE",
      description = "Members' takeover mode: hard-timeout or speculative (default: the shard's, speculative).")
  String takeover;

  @Option(names = "--lease-ms", paramLabel = "MS", description = "Members' read lease (default: the shard's, 200).")
  Long leaseMillis;

  @Option(names = "--seed", description = "Seed (default: time).")
  Long seed;

  @Option(names = "--broken-variant", paramLabel = "VARIANT", description = "Run the members "
      + "with a deliberately broken protocol variant (docs/protocol.md §10, e.g. "
      + "read-after-lease): a run that then finds a violation shows the campaign can.")
  String brokenVariant;

  /** The members' JVM flags, shared with {@link TakeoverBench}. */
  static final List<String> MEMBER_JVM = List.of("-Xms256m", "-Xmx1g", "-XX:+UseParallelGC");

  /** How far behind the most advanced member another may be and count as caught up. */
  static final long CAUGHT_UP_LAG_ENTRIES_MAX = 2_000;

  /** The outcome, for tests. */
  public record Result(long seed, int events, long acknowledgedWrites, long unknownOutcomes,
      long unexpectedErrors, CheckResult check, List<Long> failoverMillis,
      List<Long> cutOffPrimaryMillis) {}

  private Result result;

  public Result result() {
    return result;
  }

  @Override
  public Integer call() throws Exception {
    for (String kind : faults) {
      if (!FAULT_KINDS.contains(kind)) {
        throw new picocli.CommandLine.ParameterException(
            new picocli.CommandLine(this), "--faults: unknown kind '" + kind + "'; kinds: "
            + String.join(", ", FAULT_KINDS));
      }
    }
    boolean partitions = faults.stream().anyMatch(PARTITION_KINDS::contains);
    String lacking = partitions ? PeerPartition.missing() : null;
    if (lacking != null) {
      System.err.println("respawn bench faults: " + lacking);
      return 2;
    }
    if (readers < 0) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--readers must be 0 or more, got " + readers);
    }
    if (faultMillisMax <= FAULT_MILLIS_MIN) {
      throw new picocli.CommandLine.ParameterException(new picocli.CommandLine(this),
          "--fault-ms-max must be above " + FAULT_MILLIS_MIN + ", got " + faultMillisMax);
    }
    long s = seed == null ? System.nanoTime() : seed;
    System.out.println("respawn bench faults: seed " + s + ", shape " + shape + ", " + events
        + " events " + faults + ", " + clients + " clients (" + Math.min(readers, clients)
        + " of them readers) on " + keys + " keys");
    Random random = new Random(s);
    Path root = data != null ? data : Files.createTempDirectory("respawn-faults");
    ShardLayout layout = ShardLayout.of(root, "127.0.0.1", port, shape);
    java.util.Map<String, String> settings = new java.util.TreeMap<>();
    if (takeover != null) {
      settings.put("takeover", takeover);
    }
    if (leaseMillis != null) {
      settings.put("lease-ms", Long.toString(leaseMillis));
    }
    List<Path> configs = layout.prepare(settings);
    io.respawn.server.shard.ShardConfig.load(configs.get(0)); // refuses a bad mode before starting
    System.out.println("respawn bench faults: takeover " + (takeover == null
        ? io.respawn.server.shard.ShardConfig.TAKEOVER_DEFAULT.spelling() : takeover) + (leaseMillis == null ? "" : ", lease " + leaseMillis + " ms")
        + "; load " + loadAverage());
    List<String> jvm = new ArrayList<>(MEMBER_JVM);
    if (brokenVariant != null) {
      io.respawn.core.Variant.parse(brokenVariant); // refuses a misspelling before starting
      jvm.add("-D" + io.respawn.server.shard.ShardMember.BROKEN_VARIANT_PROPERTY + "="
          + brokenVariant);
      System.out.println("respawn bench faults: members run the broken variant " + brokenVariant
          + ": a violation is expected");
    }
    List<Integer> ports = new ArrayList<>();
    for (int id = 1; id <= layout.members(); id++) {
      ports.add(layout.respPort(id));
    }
    HistoryRecorder history = new HistoryRecorder();
    FailoverClock failovers = new FailoverClock();
    // A cut-off primary's failover, as a client sees it: from the cut to the first write invoked
    // after it and acknowledged (by a new primary, or by the old one once the cut healed).
    FailoverClock cutOffs = new FailoverClock();
    List<Long> healMillis = new ArrayList<>(); // heal -> whole again, per cut
    java.util.Map<Integer, String> trace = new java.util.concurrent.ConcurrentHashMap<>();
    AtomicBoolean running = new AtomicBoolean(true);
    List<RecordingClient> workers = new ArrayList<>();
    List<Thread> threads = new ArrayList<>();
    List<String> log = new ArrayList<>();
    // Closed after the supervisor (declared first): its cgroups go once the members are gone.
    try (PeerPartition cuts = partitions
            ? PeerPartition.open(layout.members(),
                layout::peerPort)
            : null;
        ShardSupervisor sup = new ShardSupervisor(layout.members(), id -> {
          ProcessBuilder member = ShardSupervisor.javaMember(configs.get(id - 1),
              layout.memberDir(id).resolve("respawn.log"), jvm, List.of());
          return cuts == null ? member : cuts.wrap(id, member);
        }, restartDelayMillis, 30_000)) {
      sup.start();
      awaitPrimary(ports, 60_000);
      for (int c = 0; c < clients; c++) {
        RecordingClient rc = new RecordingClient(c, history, ports, keys, s + c, running,
            List.of(failovers, cutOffs), trace);
        if (c < readers) {
          rc.readsOnly();
        }
        workers.add(rc);
        Thread t = new Thread(rc, "faults-client-" + c);
        threads.add(t);
        t.start();
      }
      for (int e = 0; e < events; e++) {
        Thread.sleep(gapMillis);
        // One fault at a time: a 1+1+1 shard survives one failure, so the next event waits
        // until every member is back and a primary serves (the previous failover is over).
        awaitHealthy(ports, 120_000);
        String kind = faults.get(random.nextInt(faults.size()));
        int primary = primaryId(ports, layout.firstPort());
        int victim = kind.endsWith("-primary") && primary > 0 ? primary
            : 1 + random.nextInt(layout.members());
        long pid = sup.pid(victim);
        if (pid <= 0) {
          continue;
        }
        ProcessHandle h = ProcessHandle.of(pid).orElse(null);
        if (h == null) {
          continue;
        }
        if (kind.startsWith("kill")) {
          long at = System.nanoTime();
          new ProcessBuilder("kill", "-9", Long.toString(pid)).start().waitFor();
          if (victim == primary) {
            failovers.primaryLost(at);
          }
          log.add("event " + e + ": kill -9 member " + victim + (victim == primary
              ? " (primary)" : ""));
        } else if (kind.equals("pause")) {
          long pauseMillis = faultMillis(random);
          new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor();
          Thread.sleep(pauseMillis);
          new ProcessBuilder("kill", "-CONT", Long.toString(pid)).start().waitFor();
          log.add("event " + e + ": SIGSTOP member " + victim + " for " + pauseMillis + " ms");
        } else if (kind.equals("one-way")) {
          int to = 1 + (victim - 1 + 1 + random.nextInt(layout.members() - 1))
              % layout.members();
          long cutMillis = faultMillis(random);
          cuts.dropOneWay(victim, to);
          Thread.sleep(cutMillis);
          cuts.heal();
          log.add("event " + e + ": member " + victim + "'s messages to member " + to
              + " dropped for " + cutMillis + " ms" + (victim == primary ? " (from the primary)"
              : to == primary ? " (to the primary)" : "") + "; " + wholeAgain(ports, healMillis));
        } else { // isolate-primary, isolate-any
          long cutMillis = faultMillis(random);
          long at = System.nanoTime();
          cuts.isolate(victim);
          if (victim == primary) {
            cutOffs.primaryLost(at);
          }
          Thread.sleep(cutMillis);
          cuts.heal();
          log.add("event " + e + ": member " + victim + (victim == primary ? " (primary)" : "")
              + " cut off from the other members for " + cutMillis + " ms; "
              + wholeAgain(ports, healMillis));
        }
        System.out.println(java.time.Instant.now() + " " + log.get(log.size() - 1));
      }
      Thread.sleep(gapMillis);
      running.set(false);
      for (Thread t : threads) {
        t.join(60_000);
      }
      awaitPrimary(ports, 60_000);
      // Final reads: every key, through the same recording path.
      RecordingClient reader = new RecordingClient(clients, history, ports, keys, s,
          new AtomicBoolean(true), List.of(), trace);
      for (int k = 0; k < keys; k++) {
        reader.execute(OpKind.GET, k);
      }
      reader.close();
    }
    long acked = 0;
    long unknown = 0;
    long unexpected = 0;
    for (RecordingClient rc : workers) {
      acked += rc.acknowledgedWrites;
      unknown += rc.unknownOutcomes;
      unexpected += rc.unexpectedErrors;
    }
    CheckResult check = new LinearizabilityChecker(50_000_000).check(history.history());
    List<Long> fo = failovers.latenciesMillis();
    List<Long> cutFo = cutOffs.latenciesMillis();
    result = new Result(s, events, acked, unknown, unexpected, check, fo, cutFo);
    System.out.printf("respawn bench faults: seed %d, %d events, %d operations, %d acknowledged "
        + "writes, %d unknown outcomes, %d unexpected errors; history %s (%s)%n", s, events,
        history.size(), acked, unknown, unexpected, check.verdict(), check.description());
    if (!check.linearizable()) {
      printKeyHistories(check, history.history(), trace);
    }
    printSpread("failover (kill -9 of the primary -> first acknowledged write)", "kills", fo,
        "; load " + loadAverage());
    printSpread("cut-off primary (cut -> first acknowledged write invoked after it)", "cuts",
        cutFo, "");
    printSpread("after a cut healed, the shard whole again (every member caught up, the "
        + "configured primary serving)", "cuts", healMillis, "");
    boolean passed = check.linearizable() && unexpected == 0;
    if (data == null) { // a directory of its own: gone after a run that passed
      if (passed) {
        io.respawn.server.shard.ShardMember.deleteTree(root);
      } else {
        System.out.println("respawn bench faults: the members' data and logs are kept in " + root);
      }
    }
    return passed ? 0 : 1;
  }

  /** One summary line: count, median, max and every value in event order; nothing if none. */
  private static void printSpread(String what, String unit, List<Long> millis, String tail) {
    if (millis.isEmpty()) {
      return;
    }
    List<Long> sorted = new ArrayList<>(millis);
    Collections.sort(sorted);
    System.out.printf("%s: %d %s, median %d ms, max %d ms, all %s%s%n", what, sorted.size(), unit,
        sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), millis, tail);
  }

  private long faultMillis(Random random) {
    return FAULT_MILLIS_MIN + random.nextInt(faultMillisMax - FAULT_MILLIS_MIN);
  }

  /**
   * Waits, right after a cut healed, until the shard is whole again ({@link #awaitHealthy}: every
   * member answers and has caught up, the configured primary serves); records and describes how
   * long that took.
   */
  private static String wholeAgain(List<Integer> ports, List<Long> healMillis)
      throws InterruptedException {
    long healed = System.nanoTime();
    awaitHealthy(ports, 120_000);
    long took = (System.nanoTime() - healed) / 1_000_000;
    healMillis.add(took);
    return "whole again " + took + " ms after the heal";
  }

  /** The 1-minute load average, for the record next to timings; "?" if unknown. */
  static String loadAverage() {
    double l = java.lang.management.ManagementFactory.getOperatingSystemMXBean()
        .getSystemLoadAverage();
    return l < 0 ? "?" : String.format(java.util.Locale.ROOT, "%.2f", l);
  }

  /** Every operation on the keys of the culprits, in invoke order, with who answered when. */
  private static void printKeyHistories(CheckResult check, List<Op> ops,
      java.util.Map<Integer, String> trace) {
    java.util.Set<Integer> keys = new java.util.TreeSet<>();
    for (Op op : check.culprits()) {
      for (int k : op.keys()) {
        keys.add(k);
      }
    }
    for (Op op : ops) {
      for (int k : op.keys()) {
        if (keys.contains(k)) {
          System.out.println("  " + op + "  (" + trace.getOrDefault(op.id(), "no answer") + ")");
          break;
        }
      }
    }
  }

  /** Waits until some member names a primary that answers. */
  static void awaitPrimary(List<Integer> ports, long timeoutMillis)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (System.currentTimeMillis() < deadline) {
      for (int p : ports) {
        try (Jedis j = new Jedis(new redis.clients.jedis.HostAndPort("127.0.0.1", p),
            redis.clients.jedis.DefaultJedisClientConfig.builder().timeoutMillis(1_000)
                .protocol(redis.clients.jedis.RedisProtocol.RESP2).build())) {
          j.set("respawn:faults:probe", "1");
          return;
        } catch (RuntimeException e) {
          // not up, not primary, or no primary yet
        }
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("no primary accepted a write within " + timeoutMillis + " ms");
  }

  /** Waits until every member answers and a primary accepts writes. */
  static void awaitHealthy(List<Integer> ports, long timeoutMillis)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + timeoutMillis;
    while (System.currentTimeMillis() < deadline) {
      boolean all = true;
      long appliedMin = Long.MAX_VALUE;
      long appliedMax = Long.MIN_VALUE;
      for (int p : ports) {
        try (Jedis j = new Jedis(new redis.clients.jedis.HostAndPort("127.0.0.1", p),
            redis.clients.jedis.DefaultJedisClientConfig.builder().timeoutMillis(1_000)
                .protocol(redis.clients.jedis.RedisProtocol.RESP2).build())) {
          String info = j.info("shard");
          all &= info.contains("respawn_recovering:0");
          long applied = field(info, "respawn_applied_index");
          appliedMin = Math.min(appliedMin, applied);
          appliedMax = Math.max(appliedMax, applied);
        } catch (RuntimeException e) {
          all = false;
        }
      }
      // A restarted member is back only once it has replayed and caught up (within a moment's
      // writes), so the next fault does not strike a member still rebuilding its state.
      all &= appliedMax - appliedMin <= CAUGHT_UP_LAG_ENTRIES_MAX;
      // Steady state: the configured primary (member 1) serves; a witness that led gives
      // leadership back once the primary has caught up, and a kill must not race that transfer.
      if (all && primaryId(ports, ports.get(0)) == 1) {
        awaitPrimary(ports, Math.max(1, deadline - System.currentTimeMillis()));
        return;
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("the shard did not heal within " + timeoutMillis + " ms");
  }

  /** The member id the shard names as primary (CLUSTER SLOTS), or -1. */
  /**
   * The member that serves as primary now by its own account (it leads and holds the read
   * lease), or -1 if none or more than one does. Asked of every member: a member's topology
   * (CLUSTER SLOTS) may still name the last primary it knew.
   */
  static int primaryId(List<Integer> ports, int firstPort) {
    int found = -1;
    for (int p : ports) {
      try (Jedis j = new Jedis(new redis.clients.jedis.HostAndPort("127.0.0.1", p),
          redis.clients.jedis.DefaultJedisClientConfig.builder().timeoutMillis(500)
              .protocol(redis.clients.jedis.RedisProtocol.RESP2).build())) {
        String info = j.info("shard") + j.info("replication");
        if (info.contains("respawn_role:primary") && field(info, "respawn_lease_remaining_ms") > 0) {
          if (found != -1) {
            return -1;
          }
          found = p - firstPort + 1;
        }
      } catch (RuntimeException e) {
        // down or not answering: not the primary
      }
    }
    return found;
  }

  static long field(String info, String name) {
    return io.respawn.server.cli.StatusCommand.parse(
        io.respawn.server.cli.StatusCommand.parseInfo(info).get(name));
  }
}
