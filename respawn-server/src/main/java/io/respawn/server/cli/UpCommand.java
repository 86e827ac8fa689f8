package io.respawn.server.cli;

import io.respawn.server.shard.ShardLayout;
import io.respawn.server.shard.ShardSupervisor;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code respawn up}: the deployment a new user starts — a replicated shard of one primary, one
 * backup and one witness as three processes on loopback (ports 7379, 7380, 7381; data under
 * {@code ./data/node-N}), kept running by a {@link ShardSupervisor} that restarts a member
 * whose process dies. Prints where to connect once a primary serves writes; Ctrl-C (SIGINT) or
 * SIGTERM stops every member cleanly. Running it again on the same data resumes the same shard.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = "Start a replicated shard on loopback: primary, backup and witness as three processes.")
public final class UpCommand implements Callable<Integer> {
  @Option(names = "--port", defaultValue = "7379",
      description = "RESP port of member 1; the others follow (default: ${DEFAULT-VALUE}). Peer ports are 10000 higher.")
  int port;

  @Option(names = "--bind", defaultValue = "127.0.0.1", description = "Address every member listens on (default: ${DEFAULT-VALUE}).")
  String bind;

  @Option(names = "--data", defaultValue = "./data", description = "Data root; member N uses DATA/node-N (default: ${DEFAULT-VALUE}).")
  String data;

  @Option(names = "--shape", defaultValue = "1+1+1",
      description = "PRIMARY+BACKUPS+WITNESSES, e.g. 1+1+1 or 1+2+2 (default: ${DEFAULT-VALUE}).")
  String shape;

  @Option(names = "--restart-delay-ms", defaultValue = "1000",
      description = "Delay before a member whose process died is started again (default: ${DEFAULT-VALUE}).")
  long restartDelayMillis;

  @Option(names = "--member-java-opts",
      description = "JVM options of the member processes (default: this launcher's own JVM options).")
  String memberJavaOpts;

  @Option(names = "--log-level", defaultValue = "INFO", description = "Members' log level (default: ${DEFAULT-VALUE}).")
  String logLevel;

  @Option(names = "--takeover", paramLabel = "MODE",
      description = "When a witness takes over a silent primary: hard-timeout (at hard suspicion) "
          + "or speculative (once warmed up, the primary's lease ran out, and its process is gone "
          + "or it was silent for --speculative-silence-ms) (default: speculative).")
  String takeover;

  @Option(names = "--recovery", paramLabel = "MODE",
      description = "How a new primary gets the values it lacks from a backup: online (serves at "
          + "once, pulling a key's value when a command needs it) or offline (copies every value "
          + "before it serves) (default: online).")
  String recovery;

  @Option(names = "--speculative-silence-ms", paramLabel = "MS",
      description = "Under speculative takeover, how long a primary whose process is not known "
          + "to be gone must be silent before a warmed-up witness takes over; a shorter stall "
          + "causes no failover (default: 1500).")
  String speculativeSilenceMillis;

  @Option(names = "--stand-in-after-ms", paramLabel = "MS",
      description = "How long a backup may be silent before the primary lets a witness stand in "
          + "for it, so writes and reads go on without it until it is back and caught up (at "
          + "once when its process is gone); 0: never, writes wait for it (default: 150).")
  String standInAfterMillis;

  @Option(names = "--spares", paramLabel = "N", defaultValue = "0",
      description = "Also run N spare witnesses (ids after the members'): the primary adds one "
          + "when a member is silent for --replace-after-ms and, once it is caught up, promotes "
          + "it in that member's place; a data root keeps the spares it ran "
          + "(default: ${DEFAULT-VALUE}).")
  int spares;

  @Option(names = "--primary-spares", paramLabel = "N", defaultValue = "0",
      description = "Also run N spare primaries (ids after the spare witnesses'): one takes the "
          + "place of a primary silent for --replace-after-ms, and the witness that took over "
          + "hands leadership to it once it is caught up, so the shard has a primary holding "
          + "every value again (default: ${DEFAULT-VALUE}).")
  int primarySpares;

  @Option(names = "--replace-after-ms", paramLabel = "MS",
      description = "How long a member must stay silent before a spare replaces it; counted by "
          + "the primary from its election on (default: 60000).")
  String replaceAfterMillis;

  @Option(names = "--phi-soft", paramLabel = "PHI",
      description = "Phi-accrual soft threshold: suspicion that starts recovery (default: 3).")
  String phiSoft;

  @Option(names = "--phi-hard", paramLabel = "PHI",
      description = "Phi-accrual hard threshold: a hard-timeout takeover campaigns (default: 8).")
  String phiHard;

  @Option(names = "--phi-acceptable-pause-ms", paramLabel = "MS",
      description = "Silence added to the mean heartbeat interval before phi rises (default: 5 heartbeats).")
  String phiAcceptablePauseMillis;

  @Option(names = "--heartbeat-interval-ms", paramLabel = "MS",
      description = "Idle primary's heartbeat interval (default: 50).")
  String heartbeatIntervalMillis;

  @Option(names = "--lease-ms", paramLabel = "MS", description = "The primary's read lease (default: 200).")
  String leaseMillis;

  @Option(names = "--election-timeout-ms", paramLabel = "MS",
      description = "Base randomized election timeout while no primary is known (default: 300).")
  String electionTimeoutMillis;

  @Option(names = "--snapshot-entries", paramLabel = "N",
      description = "Members take a snapshot and compact their replica log every N applied "
          + "entries; 0 turns compaction off (default: 100000).")
  String snapshotEntries;

  @Option(names = "--snapshot-bytes-per-sec", paramLabel = "BYTES",
      description = "Rate limit of each snapshot transfer to a member that needs one "
          + "(default: 33554432).")
  String snapshotBytesPerSecond;

  @Option(names = "--member-config", paramLabel = "KEY=VALUE",
      description = "Adds KEY = VALUE to every member's config file (repeatable), e.g. "
          + "popularity-sample-probability=0.01; the keys are those of 'respawn node --config' "
          + "(docs/operations.md).")
  java.util.Map<String, String> memberConfig = new java.util.LinkedHashMap<>();

  @Spec CommandSpec spec;

  /**
   * The member config keys the timing and takeover flags set (only those given), over those of
   * {@code --member-config}.
   */
  java.util.Map<String, String> settings() {
    java.util.Map<String, String> m = new java.util.TreeMap<>(memberConfig);
    putIf(m, "takeover", takeover);
    putIf(m, "recovery", recovery);
    putIf(m, "speculative-silence-ms", speculativeSilenceMillis);
    putIf(m, "stand-in-after-ms", standInAfterMillis);
    putIf(m, "replace-after-ms", replaceAfterMillis);
    putIf(m, "phi-soft", phiSoft);
    putIf(m, "phi-hard", phiHard);
    putIf(m, "phi-acceptable-pause-ms", phiAcceptablePauseMillis);
    putIf(m, "heartbeat-interval-ms", heartbeatIntervalMillis);
    putIf(m, "lease-ms", leaseMillis);
    putIf(m, "election-timeout-ms", electionTimeoutMillis);
    putIf(m, "snapshot-entries", snapshotEntries);
    putIf(m, "snapshot-bytes-per-sec", snapshotBytesPerSecond);
    return m;
  }

  private static void putIf(java.util.Map<String, String> m, String key, String value) {
    if (value != null) {
      m.put(key, value);
    }
  }

  /** How long a stop waits for a member before it is killed. */
  private static final long STOP_TIMEOUT_MILLIS = 30_000;
  /** How long start-up waits for a primary to serve before it says so. */
  private static final long SERVE_WAIT_MILLIS = 60_000;

  @Override
  public Integer call() throws Exception {
    if (restartDelayMillis < 0 || restartDelayMillis > 600_000) {
      throw new ParameterException(spec.commandLine(),
          "--restart-delay-ms must be between 0 and 600000, got " + restartDelayMillis);
    }
    ShardLayout layout;
    List<Path> configs;
    try {
      layout = ShardLayout.of(Path.of(data).toAbsolutePath().normalize(), bind, port, shape)
          .withSpares(spares).withPrimarySpares(primarySpares);
      configs = layout.prepare(settings());
      io.respawn.server.shard.ShardConfig.load(configs.get(0)); // refuses bad flags before any start
      List<Integer> listening = new ArrayList<>();
      for (int id = 1; id <= layout.processes(); id++) {
        listening.add(layout.respPort(id));
        listening.add(layout.peerPort(id));
      }
      String ephemeral = io.respawn.server.shard.EphemeralPorts.warning(listening,
          "RESP and peer ports");
      if (ephemeral != null) {
        System.err.println("respawn: " + ephemeral + " (--port; peer ports are "
            + ShardLayout.PEER_PORT_OFFSET + " above it)");
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage());
    } catch (IOException e) {
      throw new ParameterException(spec.commandLine(),
          "--data " + data + " cannot be created: " + e);
    }
    List<String> jvm = memberJavaOpts != null
        ? Arrays.stream(memberJavaOpts.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList()
        : ManagementFactory.getRuntimeMXBean().getInputArguments();
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    try (ShardSupervisor sup = new ShardSupervisor(layout.processes(),
        id -> ShardSupervisor.javaMember(configs.get(id - 1),
            layout.memberDir(id).resolve("respawn.log"), jvm,
            List.of("--log-level", logLevel)),
        restartDelayMillis, STOP_TIMEOUT_MILLIS, layout::memberDir)) {
      sup.start();
      List<String> ports = new ArrayList<>();
      int connectPort = port; // the first process started (members' ids come before spares')
      for (int id = 1; id <= layout.processes(); id++) {
        String what = (layout.isSpare(id) ? "spare " : "member ") + id + " ("
            + layout.roleOf(id).name().toLowerCase(java.util.Locale.ROOT) + ")";
        String removed = sup.removedEarlier(id);
        if (removed != null) {
          System.out.println("respawn: " + what + " not started: it was " + removed
              + " (its data directory " + layout.memberDir(id) + " can go)");
          continue;
        }
        if (ports.isEmpty()) {
          connectPort = layout.respPort(id);
        }
        ports.add(Integer.toString(layout.respPort(id)));
        System.out.println("respawn: " + what + " on " + bind + ":" + layout.respPort(id)
            + ", pid " + sup.pid(id) + ", log " + layout.memberDir(id).resolve("respawn.log"));
      }
      Thread watcher = new Thread(() -> {
        try {
          sup.awaitStopped();
        } catch (InterruptedException e) {
          return;
        }
        stop.countDown();
      }, "respawn-up-watch");
      watcher.setDaemon(true);
      watcher.start();
      if (awaitPrimary(layout, sup, stop)) {
        System.out.println("respawn: serving the shard (" + layout.shape() + ") on " + bind
            + " ports " + String.join(", ", ports) + "; connect with: redis-cli -c -p "
            + connectPort + "; status: respawn status --port " + connectPort);
      }
      stop.await();
      System.out.println("respawn: stopping the shard");
      sup.stop();
      if (sup.failure() != null) {
        System.err.println("respawn: " + sup.failure());
        return 2;
      }
    }
    return 0;
  }

  /**
   * Polls the members until every one answers CLUSTER INFO with a known primary (members the
   * shard removed are not waited for): a client told the shard serves may connect to any member
   * at once, and each names the primary in CLUSTER SLOTS.
   */
  private boolean awaitPrimary(ShardLayout layout, ShardSupervisor sup, CountDownLatch stop)
      throws InterruptedException {
    long deadline = System.currentTimeMillis() + SERVE_WAIT_MILLIS;
    boolean primaryServing = false;
    List<Integer> silent = new ArrayList<>();
    List<Integer> unknowing = new ArrayList<>();
    while (System.currentTimeMillis() < deadline && stop.getCount() > 0) {
      primaryServing = false;
      silent.clear();
      unknowing.clear();
      for (int id = 1; id <= layout.members(); id++) {
        if (sup.removedEarlier(id) != null) {
          continue; // not started, or stopped since: the shard removed it
        }
        try (RespClient c = new RespClient(bind, layout.respPort(id), 500)) {
          Object info = c.call("CLUSTER", "INFO");
          boolean knows = info instanceof String s && s.contains("cluster_state:ok");
          primaryServing |= knows;
          if (!knows) {
            unknowing.add(id);
          }
        } catch (IOException | RuntimeException e) {
          silent.add(id); // not listening yet
        }
      }
      if (primaryServing && silent.isEmpty() && unknowing.isEmpty()) {
        return true;
      }
      Thread.sleep(100);
    }
    if (stop.getCount() == 0) {
      return false;
    }
    if (primaryServing) {
      System.err.println("respawn: after " + SERVE_WAIT_MILLIS / 1000 + " s, member(s) "
          + silent + " not answering and " + unknowing + " knowing no primary (see their "
          + "logs); the others serve");
      return true;
    }
    System.err.println("respawn: no primary after " + SERVE_WAIT_MILLIS / 1000
        + " s; members keep trying (see their logs)");
    return false;
  }
}
