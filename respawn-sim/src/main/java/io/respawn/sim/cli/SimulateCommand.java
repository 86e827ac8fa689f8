package io.respawn.sim.cli;

import io.respawn.core.Variant;
import io.respawn.sim.RunResult;
import io.respawn.sim.Shape;
import io.respawn.sim.SimProposalLimits;
import io.respawn.sim.SimTakeover;
import io.respawn.sim.SimConfig;
import io.respawn.sim.Sweep;
import io.respawn.sim.invariant.Violation;
import io.respawn.sim.nemesis.NemesisConfig;
import io.respawn.sim.net.NetworkConfig;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code respawn simulate}: runs the deterministic simulator over a range of seeds and prints
 * one summary line; every failing seed is printed with the command that replays it.
 */
@Command(
    name = "simulate",
    mixinStandardHelpOptions = true,
    description = "Runs the deterministic simulator over a range of seeds.")
public final class SimulateCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  @Option(names = "--seeds", required = true, paramLabel = "FIRST..LAST",
      description = "Seeds to run, e.g. 1..300 (or one seed, e.g. 42).")
  String seeds;

  @Option(names = "--events", defaultValue = "5000", paramLabel = "N",
      description = "Events in the faulty phase of each seed (default ${DEFAULT-VALUE}).")
  long events;

  @Option(names = "--variant", defaultValue = "correct", paramLabel = "NAME",
      description = "Core behaviour: correct, commit-without-backup, vote-stale-log, "
          + "read-after-lease, install-stale-snapshot, ... (default ${DEFAULT-VALUE}).")
  String variant;

  @Option(names = "--shape", defaultValue = "random", paramLabel = "SHAPE",
      description = "Starting shard: 1-1-1, 1-2-2 or random (default ${DEFAULT-VALUE}).")
  String shape;

  @Option(names = "--snapshot-entries", paramLabel = "N",
      description = "Each node snapshots and compacts its log once it applied N entries past its"
          + " last snapshot; 0 turns snapshots off (default: the standard config's, 40).")
  Long snapshotEntries;

  @Option(names = "--memory-storage",
      description = "Persist through an in-memory model of the replica log contract instead of "
          + "the segmented replica log on a crash-recording disk.")
  boolean memoryStorage;

  @Option(names = "--replica-ack", defaultValue = "ordered", paramLabel = "LEVEL",
      description = "When members acknowledge entries: ordered (once written, the default) or "
          + "durable (once flushed).")
  String replicaAck;

  @Option(names = "--ticks", defaultValue = "drawn", paramLabel = "WHEN",
      description = "When nodes call onTick: drawn (only when their runtime says something is"
          + " due in three seeds in four, as the shard member's node loop does when idle; at"
          + " every driver tick in the rest; the default), when-due (every seed) or always"
          + " (every seed: a differential check that skipping changes nothing).")
  String ticks;

  @Option(names = "--recovery", defaultValue = "drawn", paramLabel = "MODE",
      description = "How a new primary gets the values it holds only as timestamps (the shard"
          + " member's value recovery): drawn (offline in one seed in four, online in the rest;"
          + " the default), online or offline (every seed).")
  String recovery;

  @Option(names = "--fsync", defaultValue = "async", paramLabel = "MODE",
      description = "How the replica log's flushes complete: async (the segmented log's own"
          + " asynchronous fsync on a virtual-time executor, as the shard member runs it; the"
          + " default), deferred (the simulator defers synchronous flushes; what --memory-storage"
          + " and --replica-ack durable always use) or ends-early (broken on purpose: the disk"
          + " acknowledges an fsync before the bytes are durable).")
  String fsync;

  @Option(names = "--flush-interval-ms", paramLabel = "MS",
      description = "The runtime's flush interval (default: the standard config's, 20).")
  Long flushIntervalMillis;

  @Option(names = "--no-membership-changes", description = "Keep the starting membership.")
  boolean noMembershipChanges;

  @Option(names = "--progress-every", defaultValue = "100", paramLabel = "SEEDS",
      description = "Print a progress line every this many seeds (0: never).")
  long progressEvery;

  @Option(names = "--drop-per-million", paramLabel = "PPM",
      description = "Message loss rate in parts per million (default: the standard config's).")
  Integer dropPerMillion;

  @Option(names = "--nemesis", defaultValue = "standard", paramLabel = "PROFILE",
      description = "Fault schedule: standard, aggressive or none (default ${DEFAULT-VALUE}).")
  String nemesisProfile;

  @Option(names = "--takeover", defaultValue = "mixed", paramLabel = "MODE",
      description = "Failure detection and takeover: timeout (randomized election timeout, no "
          + "detector), hard-timeout (phi-accrual, campaign at hard suspicion), speculative "
          + "(phi-accrual, campaign once warmed up and the lease ran out) or mixed (one of the "
          + "three per seed; default ${DEFAULT-VALUE}). Phi thresholds, pause and warm-up length "
          + "are drawn per seed.")
  String takeover;

  @Option(names = "--proposal-limits", defaultValue = "mixed", paramLabel = "LIMITS",
      description = "The runtime's bounds on client writes: defaults (the server's), tight (1-4 "
          + "queued, up to 6 in flight, drawn per seed) or mixed (one or the other per seed; "
          + "default ${DEFAULT-VALUE}).")
  String proposalLimits;

  @Option(names = "--clients", paramLabel = "N",
      description = "Concurrent clients (default: the standard config's).")
  Integer clients;

  @Option(names = "--client-timeout-millis", paramLabel = "MS",
      description = "A client gives up on an operation after this long (default: standard).")
  Long clientTimeoutMillis;

  @Option(names = "--leader-may-stand-in", negatable = true, defaultValue = "true",
      fallbackValue = "true",
      description = "Let a witness-led primary stand in for a down backup itself "
          + "(default; --no-leader-may-stand-in turns it off).")
  boolean leaderMayStandIn;

  @Option(names = "--stand-in-after-ms", paramLabel = "MS",
      description = "Leaders stand in for a backup silent this long by themselves; 0 never "
          + "(default: drawn per seed: none, 3 or 6 heartbeats).")
  Long standInAfterMillis;

  @Option(names = "--replace-after-ms", paramLabel = "MS",
      description = "The primary's spare policy: a member silent this long is replaced by a "
          + "spare (0: no spares, the nemesis changes membership); default drawn per seed "
          + "(16 or 40 heartbeats for a quarter of the seeds that change membership each).")
  Long replaceAfterMillis;

  @Option(names = "--end-checks-only",
      description = "Skip the per-event protocol invariants; keep linearizability, "
          + "acknowledged-write and final-read checks (shows what they catch alone).")
  boolean endChecksOnly;

  @Option(names = "--verbose", description = "Print every run's summary, not only failures.")
  boolean verbose;

  public static void main(String[] args) {
    quietStorageLogs();
    System.exit(new CommandLine(new SimulateCommand()).execute(args));
  }

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    long[] range = parseSeeds(seeds);
    Variant v;
    Shape startShape;
    NemesisConfig nemesis;
    io.respawn.storage.Durability ack;
    SimTakeover takeoverChoice;
    SimProposalLimits limits;
    io.respawn.sim.FsyncMode fsyncMode;
    Boolean ticksWhenDue;
    io.respawn.node.recovery.RecoveryMode recoveryMode;
    try {
      try {
        recoveryMode = recovery.trim().equalsIgnoreCase("drawn") ? null
            : io.respawn.node.recovery.RecoveryMode.parse(recovery);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--recovery must be drawn, online or offline, got "
            + recovery);
      }
      try {
        fsyncMode = io.respawn.sim.FsyncMode.parse(fsync);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--fsync must be async, deferred or ends-early, got "
            + fsync);
      }
      ticksWhenDue = switch (ticks.trim().toLowerCase(Locale.ROOT)) {
        case "drawn" -> null;
        case "when-due" -> Boolean.TRUE;
        case "always" -> Boolean.FALSE;
        default -> throw new IllegalArgumentException(
            "--ticks must be drawn, when-due or always, got " + ticks);
      };
      takeoverChoice = SimTakeover.parse(takeover);
      limits = SimProposalLimits.parse(proposalLimits);
      v = Variant.parse(variant);
      startShape = Shape.parse(shape);
      nemesis = NemesisConfig.parse(nemesisProfile);
      ack = switch (replicaAck.trim().toLowerCase(Locale.ROOT)) {
        case "ordered" -> io.respawn.storage.Durability.ORDERED;
        case "durable" -> io.respawn.storage.Durability.DURABLE;
        default -> throw new IllegalArgumentException("--replica-ack must be ordered or durable, got "
            + replicaAck);
      };
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage()
          + (e.getMessage().contains("No enum constant") ? " (--variant: correct, "
              + "commit-without-backup, vote-stale-log or read-after-lease)" : ""));
    }
    if (events < 1) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "--events must be >= 1, got " + events);
    }
    if (flushIntervalMillis != null && (flushIntervalMillis < 0 || flushIntervalMillis > 60_000)) {
      throw new CommandLine.ParameterException(spec.commandLine(),
          "--flush-interval-ms must be in [0, 60000], got " + flushIntervalMillis);
    }
    SimConfig config = SimConfig.standard().withEventsMax(events).withShape(startShape)
        .withVariant(v).withEngineStorage(!memoryStorage)
        .withMembershipChanges(!noMembershipChanges)
        .withNemesis(nemesis)
        .withPerEventInvariants(!endChecksOnly)
        .withLeaderMayStandIn(leaderMayStandIn)
        .withReplicaAck(ack)
        .withTakeover(takeoverChoice)
        .withProposalLimits(limits)
        .withFsyncMode(fsyncMode)
        .withTicksWhenDue(ticksWhenDue)
        .withRecoveryMode(recoveryMode);
    if (flushIntervalMillis != null) {
      config = config.withFlushIntervalMillis(flushIntervalMillis);
    }
    if (snapshotEntries != null) {
      if (snapshotEntries < 0) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--snapshot-entries must be >= 0, got " + snapshotEntries);
      }
      config = config.withSnapshotEntriesMin(snapshotEntries);
    }
    if (standInAfterMillis != null) {
      if (standInAfterMillis < 0) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--stand-in-after-ms must be >= 0, got " + standInAfterMillis);
      }
      config = config.withStandInAfterMillis(standInAfterMillis);
    }
    if (replaceAfterMillis != null) {
      if (replaceAfterMillis < 0) {
        throw new CommandLine.ParameterException(spec.commandLine(),
            "--replace-after-ms must be >= 0, got " + replaceAfterMillis);
      }
      config = config.withReplaceAfterMillis(replaceAfterMillis);
    }
    if (clients != null || clientTimeoutMillis != null) {
      config = config.withClients(clients != null ? clients : config.clientCount(),
          clientTimeoutMillis != null ? clientTimeoutMillis : config.clientTimeoutMillis());
    }
    if (dropPerMillion != null) {
      NetworkConfig n = config.network();
      config = config.withNetwork(new NetworkConfig(n.delayMinMicros(), n.delayMaxMicros(),
          dropPerMillion, n.duplicatePerMillion()));
    }
    long started = System.nanoTime(); // progress display only; never feeds the simulation
    long[] done = {0, 0, 0};
    Sweep.Summary summary = Sweep.run(range[0], range[1], config, r -> {
      done[0]++;
      done[1] += r.events();
      if (!r.clean()) {
        done[2]++;
        printFailure(out, r);
      } else if (verbose) {
        out.println("seed=" + r.seed() + " events=" + r.events() + " lin=" + r.linearizability() + "/" + r.linearizabilityStates()
            + " " + r.description().replace("\n", "\n  "));
      }
      if (progressEvery > 0 && done[0] % progressEvery == 0) {
        out.printf(Locale.ROOT, "progress: %d seeds, %d events, %d violations, %.1fs%n",
            done[0], done[1], done[2], (System.nanoTime() - started) / 1e9);
        out.flush();
      }
    });
    out.printf(Locale.ROOT, "simulate: seeds %d..%d variant=%s shape=%s takeover=%s "
            + "proposal-limits=%s storage=%s "
            + "fsync=%s lin-unknown=%d ops=%d %s %.1fs seeds=%d events=%d violations=%d%n",
        range[0], range[1], v.name().toLowerCase(Locale.ROOT).replace('_', '-'), shape,
        takeoverChoice.spelling(), proposalLimits.trim().toLowerCase(Locale.ROOT),
        memoryStorage ? "memory" : "segmented", config.effectiveFsyncMode().spelling(),
        summary.linUnknown(), summary.operations(),
        summary.stats(),
        (System.nanoTime() - started) / 1e9, summary.seeds(), summary.events(),
        summary.violations());
    out.flush();
    return summary.violations() > 0 ? 1 : 0;
  }

  private void printFailure(PrintWriter out, RunResult r) {
    out.println("VIOLATION seed=" + r.seed());
    for (Violation v : r.violations()) {
      out.println("  " + v);
    }
    out.println("  " + r.description().replace("\n", "\n  "));
    out.println("  replay: " + replayCommand(r.seed()));
    out.flush();
  }

  String replayCommand(long seed) {
    StringBuilder b = new StringBuilder("bin/respawn simulate --seeds ").append(seed).append("..")
        .append(seed).append(" --events ").append(events).append(" --variant ").append(variant)
        .append(" --shape ").append(shape);
    if (!"mixed".equals(takeover)) {
      b.append(" --takeover ").append(takeover);
    }
    if (!"mixed".equals(proposalLimits)) {
      b.append(" --proposal-limits ").append(proposalLimits);
    }
    if (memoryStorage) {
      b.append(" --memory-storage");
    }
    if (!"async".equals(fsync)) {
      b.append(" --fsync ").append(fsync);
    }
    if (!"drawn".equals(ticks)) {
      b.append(" --ticks ").append(ticks);
    }
    if (!"drawn".equals(recovery)) {
      b.append(" --recovery ").append(recovery);
    }
    if (snapshotEntries != null) {
      b.append(" --snapshot-entries ").append(snapshotEntries);
    }
    if (noMembershipChanges) {
      b.append(" --no-membership-changes");
    }
    if (!"ordered".equals(replicaAck)) {
      b.append(" --replica-ack ").append(replicaAck);
    }
    if (flushIntervalMillis != null) {
      b.append(" --flush-interval-ms ").append(flushIntervalMillis);
    }
    if (!"standard".equals(nemesisProfile)) {
      b.append(" --nemesis ").append(nemesisProfile);
    }
    if (dropPerMillion != null) {
      b.append(" --drop-per-million ").append(dropPerMillion);
    }
    if (endChecksOnly) {
      b.append(" --end-checks-only");
    }
    if (!leaderMayStandIn) {
      b.append(" --no-leader-may-stand-in");
    }
    if (clients != null) {
      b.append(" --clients ").append(clients);
    }
    if (clientTimeoutMillis != null) {
      b.append(" --client-timeout-millis ").append(clientTimeoutMillis);
    }
    if (replaceAfterMillis != null) {
      b.append(" --replace-after-ms ").append(replaceAfterMillis);
    }
    if (standInAfterMillis != null) {
      b.append(" --stand-in-after-ms ").append(standInAfterMillis);
    }
    return b.toString();
  }

  /** The engine logs every open at INFO; a sweep reopens thousands of simulated disks, and torn tails are expected there. */
  static void quietStorageLogs() {
    // crash recovery logs every torn tail it truncates: thousands per sweep
    for (String name : new String[] {"io.respawn.storage", "io.respawn.node"}) {
      org.slf4j.Logger logger = org.slf4j.LoggerFactory.getLogger(name);
      if (logger instanceof ch.qos.logback.classic.Logger logback) {
        logback.setLevel(ch.qos.logback.classic.Level.ERROR);
      }
    }
  }

  private long[] parseSeeds(String text) {
    try {
      return SeedRange.parse(text);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), "--seeds: " + e.getMessage());
    }
  }

}
