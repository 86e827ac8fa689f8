package io.respawn.sim;

import io.respawn.core.Entry;
import io.respawn.core.LogView;
import io.respawn.sim.kv.KvImage;
import io.respawn.sim.kv.KvStateMachine;
import io.respawn.core.MemberReplacement;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.ReplicaConfig;
import io.respawn.core.Role;
import io.respawn.core.RoleChange;
import io.respawn.core.Status;
import io.respawn.node.RuntimeConfig;
import io.respawn.storage.Durability;
import io.respawn.sim.clock.SimClock;
import io.respawn.sim.event.EventQueue;
import io.respawn.sim.invariant.BackupIndexMonotone;
import io.respawn.sim.invariant.Cluster;
import io.respawn.sim.invariant.CommitOnEveryBackup;
import io.respawn.sim.invariant.CommittedEntries;
import io.respawn.sim.invariant.DurabilityStatements;
import io.respawn.sim.invariant.DurableAckLiveness;
import io.respawn.sim.invariant.DurableFlushLiveness;
import io.respawn.sim.invariant.InvariantChecker;
import io.respawn.sim.invariant.LeaseReads;
import io.respawn.sim.invariant.LogMatching;
import io.respawn.sim.invariant.OneLeaderPerTerm;
import io.respawn.sim.lin.CheckResult;
import io.respawn.sim.lin.HistoryRecorder;
import io.respawn.sim.lin.LinearizabilityChecker;
import io.respawn.sim.lin.Verdict;
import io.respawn.sim.nemesis.FaultTarget;
import io.respawn.sim.nemesis.Nemesis;
import io.respawn.sim.net.SimNetwork;
import io.respawn.sim.node.ClientReply;
import io.respawn.sim.node.NodeObserver;
import io.respawn.sim.node.SimNode;
import io.respawn.sim.storage.SimStorage;
import io.respawn.sim.workload.SimClient;
import io.respawn.sim.workload.Workload;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * One deterministic run of a simulated shard, driven entirely by one seed.
 *
 * <p>Five replica processes exist (ids 0..4 with fixed roles: 0 primary, 1 and 3 backups, 2 and
 * 4 witnesses); the shape decides which of them are members at the start (1+1+1 uses 0..2), and
 * membership changes move between the two shapes. Clients are further network endpoints.
 * Everything runs on the caller's thread off one {@link EventQueue}; the seed feeds one
 * {@link SplittableRandom}, split once per component so each draws its own stream.
 *
 * <p>Phases: a faulty phase of {@code eventsMax} events (nemesis, network faults, clients);
 * then faults stop, the network heals, crashed nodes restart and the shard settles; then one
 * client reads every key. Invariants are checked after every event; at the end every
 * acknowledged write must be in the final leader's log and the history must be linearizable.
 */
public final class Simulation implements Cluster, FaultTarget, NodeObserver,
    DurableAckLiveness.Shard, DurableFlushLiveness.Shard {

  static final Role[] ROLES = {Role.PRIMARY, Role.BACKUP, Role.WITNESS, Role.BACKUP, Role.WITNESS};
  static final int REPLICAS = ROLES.length;
  static final int FINAL_READ_ATTEMPTS_MAX = 50;
  /**
   * How long after settling an offline value recovery may still hold a leader's serving
   * (`recovery-late` past it): three BatchPull request timeouts and a pull timeout of
   * ValueRecovery, time for a lost request, its lost resend and a lost last pull on the network,
   * which drops messages after the faults stop too. The final writes start once no leader
   * holds, so their 50 attempts measure the shard, not the recovery's timers.
   */
  static final long RECOVERY_AFTER_SETTLING_NANOS_MAX =
      3 * io.respawn.node.recovery.ValueRecovery.BATCH_TIMEOUT_NANOS
          + io.respawn.node.recovery.ValueRecovery.PULL_TIMEOUT_NANOS;
  /** How long after a kill -9 or a restart its peers' transports notice (a closed connection). */
  static final long HINT_DELAY_NANOS = 1_000_000;
  /**
   * Heartbeat rounds a flush report may take to reach the leader after the faults stopped: the
   * report itself, then the answer to each heartbeat round's AppendEntries (each of those two
   * messages is lost with the network's drop rate, 2% in the standard config, so that a round
   * fails 4% of the time and six in a row about once in 250 million).
   */
  static final int DURABLE_ACK_ROUNDS_MAX = 6;

  private final long seed;
  private final SimConfig config;
  private final SplittableRandom random;
  private final EventQueue events = new EventQueue();
  private final SimNetwork<Object> network;
  private final List<SimNode> nodes = new ArrayList<>();
  private final List<SimClient> clients = new ArrayList<>();
  private final SimClient finalReader;
  private final HistoryRecorder history = new HistoryRecorder();
  private final Nemesis nemesis;
  private final Membership initialMembership;
  private final TreeSet<Integer> everMembers = new TreeSet<>();
  private final Map<Integer, long[]> acknowledged = new HashMap<>();
  private final InvariantChecker<Cluster> checker;
  private final OneLeaderPerTerm oneLeader = new OneLeaderPerTerm();
  private final DurabilityStatements durability;
  private final CommittedEntries committed;
  private final StandInCoverage standInCoverage;
  private final AppendsInFlight appendsInFlight;
  private final LogMatching logMatching = new LogMatching();
  private final LeaseReads leaseReads = new LeaseReads(oneLeader);
  private final CommitOnEveryBackup commitRule = new CommitOnEveryBackup();
  private final DurableAckLiveness durableLiveness;
  private final DurableFlushLiveness durableFlushLiveness;
  private final List<String> membershipLog = new ArrayList<>();
  private final Shape shape;
  /** This seed's failure detector and takeover mode. */
  private SimTakeover.Drawn takeover;
  /** This seed's bounds on client writes in each node's runtime. */
  private final SimProposalLimits.Drawn proposalLimits;
  /**
   * The primary's replacement of silent members by spares in this seed, or null ({@link
   * SimConfig#replaceAfterMillis(long)}); the spares are the replicas the shape leaves out.
   */
  private final MemberReplacement replacement;
  private final long replaceAfterNanos;
  /** Per replica: the last time it crashed, restarted, paused, resumed or saw the network change. */
  private final long[] troubleNanos = new long[REPLICAS];
  private long replacementSteps;
  private long membersReplaced;
  /** Driver ticks the nodes skipped, nothing being due ({@link SimConfig#ticksWhenDue}). */
  private long ticksSkipped;
  /** Pauses of the current primary the nemesis started, and how many were longer than the lease. */
  private long primaryStalls;
  private long primaryStallsPastLease;

  public Simulation(long seed, SimConfig config) {
    this.seed = seed;
    this.config = config;
    this.random = new SplittableRandom(seed);
    this.shape = config.shape() == Shape.RANDOM
        ? (random.nextBoolean() ? Shape.P1_B1_W1 : Shape.P1_B2_W2) : config.shape();
    this.takeover = config.takeover().draw(seed, config.heartbeatIntervalMillis(),
        config.leaseMillis());
    this.proposalLimits = config.proposalLimits().draw(seed);
    int members = shape == Shape.P1_B1_W1 ? 3 : 5;
    List<Member> initial = new ArrayList<>();
    for (int i = 0; i < members; i++) {
      initial.add(Member.voter(i, ROLES[i]));
      everMembers.add(i);
    }
    initialMembership = Membership.of(initial);
    // Only where the shape leaves replicas out to be spares (1+1+1): elsewhere the nemesis's
    // membership changes run as before.
    replaceAfterNanos = members < REPLICAS ? config.replaceAfterMillis(seed) * 1_000_000L : 0;
    if (replaceAfterNanos > 0) {
      List<Member> spares = new ArrayList<>();
      for (int i = members; i < REPLICAS; i++) {
        spares.add(Member.learner(i, ROLES[i] == Role.WITNESS ? config.leadingSpareRole(seed)
            : ROLES[i]));
      }
      replacement = new MemberReplacement(MemberReplacement.Targets.of(initialMembership),
          spares, replaceAfterNanos, config.variant());
    } else {
      replacement = null;
    }

    int clientCount = config.clientCount();
    network = new SimNetwork<>(events, random.split(), config.network(),
        REPLICAS + clientCount + 1, this::deliver);
    long boundNanos = (config.flushIntervalMillis() * 1_000
        + 2 * config.timing().fsyncMicrosMax() + config.timing().tickMicros()
        + config.timing().passMicros()) * 1_000;
    durability = new DurabilityStatements(this::durabilityViolation, boundNanos);
    committed = new CommittedEntries(durability);
    standInCoverage = new StandInCoverage(REPLICAS, committed, i -> nodes.get(i).storage(),
        this::protocolViolation);
    appendsInFlight = new AppendsInFlight(ReplicaConfig.inFlightEntriesBudget(
        config.inFlightEntriesMax(seed), SimConfig.ENTRIES_PER_APPEND),
        SimConfig.ENTRIES_PER_APPEND, REPLICAS, this::protocolViolation);
    durableLiveness = new DurableAckLiveness(durableAckBoundNanos(config));
    durableFlushLiveness = new DurableFlushLiveness(durableFlushBoundNanos(config));
    durability.onExcused(this::checkNoImageHoldsLost);
    checker = new InvariantChecker<>(seed,
        List.of(oneLeader, committed, new BackupIndexMonotone(REPLICAS)),
        events::eventsRun, events::nowNanos, 20);

    for (int i = 0; i < REPLICAS; i++) {
      SplittableRandom nodeRandom = random.split();
      long driftPpm = config.clockDriftPpmMax() == 0 ? 0
          : nodeRandom.nextLong(-config.clockDriftPpmMax(), config.clockDriftPpmMax() + 1);
      SimClock clock = new SimClock(driftPpm, nodeRandom.nextLong(1L << 40));
      int id = i;
      SimNode node = new SimNode(id, s -> replicaConfig(id, s), runtimeConfig(), newStorage(),
          clock, events, network, nodeRandom, config.timing(), config.workload().keyCount(),
          clientCount + 1, this, config.durableAckEarly(), config.snapshotPolicy(seed));
      node.setClientEndpointBase(REPLICAS);
      node.setWarmUpMillisMax(takeover.warmUpMillisMax());
      node.setFsyncMode(config.effectiveFsyncMode());
      node.setTicksWhenDue(config.ticksWhenDue(seed));
      node.setRecoveryMode(config.recoveryMode(seed));
      nodes.add(node);
    }
    Workload workload = new Workload(config.workload(), random.split());
    long timeoutNanos = config.clientTimeoutMillis() * 1_000_000;
    for (int c = 0; c <= clientCount; c++) {
      clients.add(new SimClient(c, REPLICAS + c, members, events, network, random.split(),
          workload, history, timeoutNanos));
    }
    finalReader = clients.remove(clientCount);
    nemesis = new Nemesis(events, random.split(), config.nemesis(), this);
  }

  /**
   * The durable-ack-late bound: {@link #DURABLE_ACK_ROUNDS_MAX} rounds of (a heartbeat interval,
   * plus a tick since heartbeats go out on ticks, plus an AppendEntries and its answer at the
   * longest network delay, plus an fsync on each side that may keep a node busy). 342 ms of
   * virtual time in the standard configuration (25 ms heartbeat, 10 ms tick, 8 ms delay, 3 ms
   * fsync).
   */
  static long durableAckBoundNanos(SimConfig config) {
    long roundMicros = config.heartbeatIntervalMillis() * 1_000 + config.timing().tickMicros()
        + 2 * config.network().delayMaxMicros() + 2 * config.timing().fsyncMicrosMax();
    return DURABLE_ACK_ROUNDS_MAX * roundMicros * 1_000;
  }

  /**
   * The durable-flush-late bound: two fsyncs (one may be running when the entry is written; one
   * runs at a time), a tick and a pass of the node's loop. 16.1 ms of virtual time in the standard
   * configuration (3 ms fsync, 10 ms tick, 0.1 ms pass), below its 20 ms flush interval.
   */
  static long durableFlushBoundNanos(SimConfig config) {
    return (2 * config.timing().fsyncMicrosMax() + config.timing().tickMicros()
        + config.timing().passMicros()) * 1_000;
  }

  private SimStorage newStorage() {
    return config.engineStorage() ? SimStorage.segmented() : SimStorage.memory();
  }

  /**
   * The runtime as the server configures it, with the simulation's replica ack and interval and
   * the seed's bounds on client writes.
   */
  private RuntimeConfig runtimeConfig() {
    return proposalLimits.applyTo(RuntimeConfig.defaults().withReplicaAck(config.replicaAck())
        .withFlushIntervalMillis(config.flushIntervalMillis()));
  }

  private ReplicaConfig replicaConfig(int id, long replicaSeed) {
    return ReplicaConfig.builder(NodeId.of(id), initialMembership)
        .electionTimeoutMillis(config.electionTimeoutMillis())
        .heartbeatIntervalMillis(config.heartbeatIntervalMillis())
        .leaseMillis(config.leaseMillis())
        .clockDriftMax(config.clockDriftPpmMax() / 1e6)
        .catchUpTimeoutMillis(config.catchUpTimeoutMillis())
        .maxEntriesPerAppend(SimConfig.ENTRIES_PER_APPEND)
        .inFlightEntriesMax(config.inFlightEntriesMax(seed))
        // tiny in-memory logs, so that entries are read back from the replica log (seeded: none
        // kept beyond what must stay, about ten entries, or a hundred)
        .logCacheBytesMax(new long[] {0, 2 << 10, 16 << 10}[(int) Math.floorMod(replicaSeed, 3)])
        .randomSeed(replicaSeed)
        .variant(config.variant())
        .phi(takeover.phi())
        .takeover(takeover.mode())
        .speculativeSilenceMillis(takeover.speculativeSilenceMillis())
        .standInAfterMillis(config.standInAfterMillis(seed))
        .build();
  }

  /**
   * Scenario tests: speculative takeover with this silence bound instead of the one drawn for the
   * seed ({@link SimTakeover#draw}). Call before {@link #run()}.
   */
  public Simulation withSpeculativeSilenceMillis(long millis) {
    takeover = new SimTakeover.Drawn(takeover.kind(), takeover.phi(), takeover.warmUpMillisMax(),
        millis);
    return this;
  }

  /**
   * Adds a fault at a fixed virtual time, besides the nemesis's random ones: for scenario tests
   * that need one exact combination of failures. Call before {@link #run()}.
   */
  public Simulation script(long atMillis, java.util.function.Consumer<FaultTarget> fault) {
    events.at(atMillis * 1_000_000, () -> fault.accept(this));
    return this;
  }

  /** Runs the seed under config and checks everything. */
  public static RunResult run(long seed, SimConfig config) {
    return new Simulation(seed, config).run();
  }

  public RunResult run() {
    for (SimNode node : nodes) {
      node.start();
      scheduleTicks(node);
    }
    clients.forEach(SimClient::start);
    nemesis.start();
    if (replacement != null) {
      long every = config.heartbeatIntervalMillis() * 1_000_000L;
      events.after(every, new Runnable() {
        @Override
        public void run() {
          replaceSilentMembers();
          events.after(every, this);
        }
      });
    }

    while (events.eventsRun() < config.eventsMax() && checker.clean() && step()) {
      checkInvariants();
    }
    if (checker.clean()) {
      settle();
    }
    if (checker.clean()) {
      finalChecks();
    }
    return new RunResult(seed, events.eventsRun(), events.nowNanos() / 1_000_000,
        List.copyOf(checker.violations()), history.size(), acknowledged.size(), linVerdict,
        linStates, stats(), describe());
  }

  private Verdict linVerdict = Verdict.UNKNOWN;
  private long linStates;

  private void scheduleTicks(SimNode node) {
    long tickNanos = config.timing().tickMicros() * 1_000;
    events.after(1 + random.nextLong(tickNanos), new Runnable() {
      @Override
      public void run() {
        node.tick();
        events.after(tickNanos, this);
      }
    });
  }

  private void runUntil(long virtualNanos, java.util.function.BooleanSupplier done) {
    while (checker.clean() && !done.getAsBoolean() && events.nextAtNanos() <= virtualNanos
        && step()) {
      checkInvariants();
    }
  }

  private void checkInvariants() {
    for (SimNode node : nodes) {
      standInCoverage.afterEvent(node, standInsOf(node));
      if (node.isLeader()) {
        appendsInFlight.membershipSeen(node.id(), node.replica().membership());
      }
    }
    if (config.perEventInvariants()) {
      checker.checkAll(this);
      durableLiveness.check(events.nowNanos(), this, checker::report);
      durableFlushLiveness.check(events.nowNanos(), this, checker::report);
    }
  }

  /** A durability statement broke; a lost DURABLE write is an end-to-end failure, always kept. */
  private void durabilityViolation(String invariant, String description) {
    if (invariant.equals("durable-ack-lost")) {
      checker.report(invariant, description);
    } else {
      protocolViolation(invariant, description);
    }
  }

  /**
   * A protocol invariant broke. With per-event invariants off (to measure what the end-to-end
   * checks alone catch) it is ignored.
   */
  private void protocolViolation(String invariant, String description) {
    if (config.perEventInvariants()) {
      checker.report(invariant, description);
    }
  }

  /**
   * Runs one event. An exception from the core, the engine or the simulator is a failure of
   * this seed like any violation, reported with the seed rather than thrown.
   */
  private boolean step() {
    try {
      return events.runNext();
    } catch (SimStorage.RecoveryViolation e) {
      checker.report("replica-log-recovery", e.getMessage());
      return false;
    } catch (io.respawn.sim.kv.KvImage.ReadOfReleased e) {
      checker.report("snapshot-read-released", e.getMessage());
      return false;
    } catch (RuntimeException | AssertionError e) {
      java.io.StringWriter trace = new java.io.StringWriter();
      e.printStackTrace(new java.io.PrintWriter(trace));
      String[] lines = trace.toString().split("\n");
      checker.report("exception", String.join("\n", Arrays.copyOf(lines,
          Math.min(lines.length, 14))));
      return false;
    }
  }

  private void settle() {
    nemesis.stop();
    clients.forEach(SimClient::stop);
    heal();
    for (SimNode node : nodes) {
      if (!node.isUp()) {
        node.start();
      }
    }
    runUntil(events.nowNanos() + config.settleMillis() * 1_000_000, () -> false);
    runUntil(events.nowNanos() + RECOVERY_AFTER_SETTLING_NANOS_MAX,
        () -> nodes.stream().noneMatch(SimNode::holdsServing));
    nodes.stream().filter(SimNode::holdsServing).findFirst().ifPresent(n -> checker.report(
        "recovery-late", "n" + n.id() + " still copies values offline (serving nothing) "
            + RECOVERY_AFTER_SETTLING_NANOS_MAX / 1_000_000 + " ms after settling: "
            + n.recovery().info()));
    // Settled: every DURABLE write from here on (the final writes, and any still waiting) is
    // held to the durable-ack-late bound.
    durableLiveness.startChecking(events.nowNanos());
    durableFlushLiveness.startChecking(events.nowNanos());
    finalReader.writeAllKeysDurable(config.workload().keyCount(), FINAL_READ_ATTEMPTS_MAX);
    runUntil(events.nowNanos() + 30_000_000_000L, finalReader::finalWritesDone);
    // Generous attempts: a replica removed from the shard may keep pointing the reader at
    // another stale replica for a while before the reader lands on the primary.
    finalReader.readAllKeys(config.workload().keyCount(), FINAL_READ_ATTEMPTS_MAX);
    runUntil(events.nowNanos() + 30_000_000_000L, finalReader::finalReadsDone);
    // A leader that is not the configured primary gives leadership back (LeadershipHandOver):
    // primary-not-given-back, in the final checks, if it has not within the bound.
    runUntil(events.nowNanos() + GIVE_BACK_AFTER_READS_NANOS_MAX,
        () -> currentLeader() != null && primaryNotGivenBack() == null);
  }

  /**
   * How long after the final reads a leader that is not the configured primary (up and a voter)
   * may still lead: twice the give-back's wait for a caught-up primary, its longest drain, and
   * a second for the transfer and the election it starts.
   */
  static final long GIVE_BACK_AFTER_READS_NANOS_MAX =
      2 * io.respawn.node.LeadershipHandOver.GIVE_BACK_AFTER_NANOS
          + io.respawn.node.LeadershipHandOver.DRAIN_NANOS_MAX + 1_000_000_000L;

  /**
   * The leader, when it is not the configured primary though that primary is up, a voter and can
   * be caught up: from the leader's log, or from an image with values the leader keeps. A witness
   * leader whose log no longer holds the primary's next entry cannot (its images are keys-only,
   * and a primary keeps values): such a primary is stranded until a member with values leads
   * (docs/simulation.md), which the summary counts as {@code primaries-stranded}.
   */
  private SimNode primaryNotGivenBack() {
    SimNode leader = currentLeader();
    io.respawn.core.NodeId primary = leader == null ? null : primaryToGiveBackTo(leader);
    return primary != null && !primaryStranded(leader, primary) ? leader : null;
  }

  /** Whether the run ends with a stranded configured primary (see primaryNotGivenBack). */
  private boolean primaryStrandedAtEnd() {
    SimNode leader = currentLeader();
    io.respawn.core.NodeId primary = leader == null ? null : primaryToGiveBackTo(leader);
    return primary != null && primaryStranded(leader, primary);
  }

  /** The configured primary, if it is not {@code leader}, is up and is a voter; else null. */
  private io.respawn.core.NodeId primaryToGiveBackTo(SimNode leader) {
    io.respawn.core.NodeId primary = io.respawn.node.LeadershipHandOver.designatedPrimary(
        leader.replica(), io.respawn.core.NodeId.of(leader.id()));
    return primary != null && nodes.get(primary.value()).isUp()
        && leader.replica().membership().isVoter(primary) ? primary : null;
  }

  /**
   * A primary behind a witness leader's log start, when no backup of the configuration holds the
   * entries up to that start either (the core has a witness leader ask such a backup to send the
   * primary its image with values): nothing can catch it up.
   */
  private boolean primaryStranded(SimNode leader, io.respawn.core.NodeId primary) {
    io.respawn.core.Replica r = leader.replica();
    if (r.role() != Role.WITNESS
        || io.respawn.node.LeadershipHandOver.canCatchUpFromLog(r, primary)) {
      return false;
    }
    for (io.respawn.core.NodeId id : r.membership().nodes()) {
      if (r.membership().role(id) == Role.BACKUP && r.matchIndex(id) >= r.snapshotIndex()) {
        return false; // it can send the primary an image with values
      }
    }
    return true;
  }

  private void finalChecks() {
    SimNode leader = currentLeader();
    if (leader == null) {
      checker.report("no-leader-at-end", "no leader accepting writes after settling "
          + config.settleMillis() + "ms: " + nodes);
    } else {
      if (primaryNotGivenBack() != null) {
        checker.report("primary-not-given-back", "n" + leader.id() + " still leads "
            + GIVE_BACK_AFTER_READS_NANOS_MAX / 1_000_000 + " ms after the final reads, though the"
            + " configured primary is up and a voter: " + nodes);
      }
      committed.checkHoldsAllCommitted(leader, d -> protocolViolation(committed.name(), d));
      LogView log = leader.replica().log();
      for (Map.Entry<Integer, long[]> ack : acknowledged.entrySet()) {
        long term = ack.getValue()[0];
        long index = ack.getValue()[1];
        boolean durable = ack.getValue()[2] == 1;
        String missing = null;
        if (index <= log.snapshotIndex()) {
          if (committed.committed(index).term() != term) {
            missing = "is not what final leader n" + leader.id() + "'s snapshot holds";
          }
        } else if (log.lastIndex() < index || log.term(index) != term) {
          missing = "is not in final leader n" + leader.id() + "'s log";
        } else if (!someNodeHoldsValue(term, index)) {
          missing = "survives only in elided (witness) form: its value is on no node";
        }
        if (missing != null && !durability.lost(term, index, missing) && !durable) {
          checker.report("acknowledged-write-lost", "op #" + ack.getKey() + " acknowledged"
              + " ORDERED at " + term + "/" + index + " " + missing + ", and no member of the"
              + " write quorum that committed it lost it in a machine crash");
        }
      }
      if (!finalReader.finalWritesFailed().isEmpty()) {
        checker.report("final-writes", "keys " + finalReader.finalWritesFailed() + " could not"
            + " be written (DURABLE) after settling, " + FINAL_READ_ATTEMPTS_MAX + " attempts"
            + " each: " + nodes);
      }
      List<Integer> unreadable = new ArrayList<>(finalReader.finalReadsFailed());
      unreadable.removeAll(durability.taintedKeys()); // their newest value was lost, as allowed
      if (!unreadable.isEmpty()) {
        checker.report("final-reads", "keys " + unreadable + " could not be read after settling"
            + " (of " + config.workload().keyCount() + "): " + nodes);
      }
    }
    CheckResult lin = new LinearizabilityChecker(config.linearizabilityStatesMax())
        .check(withoutTaintedKeys(history.history()));
    linVerdict = lin.verdict();
    linStates = lin.statesExplored();
    if (lin.verdict() == Verdict.NOT_LINEARIZABLE) {
      StringBuilder b = new StringBuilder(lin.description());
      lin.culprits().stream().limit(12).forEach(op -> b.append("\n    ").append(op));
      checker.report("linearizability", b.toString());
    }
  }

  /**
   * The history without the operations on keys whose acknowledged writes were lost as the
   * ORDERED statement allows (and on every key an MSET ties to them): such a history is
   * legitimately not linearizable. The rest is still checked.
   */
  private List<io.respawn.sim.lin.Op> withoutTaintedKeys(List<io.respawn.sim.lin.Op> ops) {
    java.util.Set<Integer> tainted = new java.util.HashSet<>(durability.taintedKeys());
    if (tainted.isEmpty()) {
      return ops;
    }
    boolean grew = true;
    while (grew) { // close over MSETs: a component is checked whole or not at all
      grew = false;
      for (io.respawn.sim.lin.Op op : ops) {
        boolean touches = false;
        for (int k : op.keys()) {
          touches |= tainted.contains(k);
        }
        if (touches) {
          for (int k : op.keys()) {
            grew |= tainted.add(k);
          }
        }
      }
    }
    linSkippedKeys = tainted.size();
    List<io.respawn.sim.lin.Op> kept = new ArrayList<>();
    for (io.respawn.sim.lin.Op op : ops) {
      boolean touches = false;
      for (int k : op.keys()) {
        touches |= tainted.contains(k);
      }
      if (!touches) {
        kept.add(op);
      }
    }
    return kept;
  }

  private int linSkippedKeys;

  /** True if some running node's log holds the entry at (term, index) with its value. */
  private boolean someNodeHoldsValue(long term, long index) {
    for (SimNode node : nodes) {
      if (node.isUp()) {
        LogView log = node.replica().log();
        if (index <= log.snapshotIndex()) {
          // compacted: the image holds the write's effect if this node keeps values
          if (node.role() != io.respawn.core.Role.WITNESS
              && committed.committed(index).term() == term) {
            return true;
          }
        } else if (log.lastIndex() >= index && log.term(index) == term
            && !log.entry(index).isElided()) {
          return true;
        }
      }
    }
    return false;
  }

  private SimNode currentLeader() {
    SimNode best = null;
    for (SimNode node : nodes) {
      if (node.isLeader() && node.replica().canPropose()
          && (best == null || node.replica().term() > best.replica().term())) {
        best = node;
      }
    }
    return best;
  }

  private long unknownOps() {
    return history.history().stream()
        .filter(o -> o.outcome() == io.respawn.sim.lin.Outcome.UNKNOWN).count();
  }

  private RunResult.Stats stats() {
    long crashes = 0;
    long losing = 0;
    for (SimNode node : nodes) {
      losing += node.crashesLosingWrites();
    }
    long machine = 0;
    long transfers = 0;
    for (String line : nemesis.trace()) {
      if (line.contains(" transfer leadership n")) {
        transfers++;
      } else if (line.contains(" machine crash n")) {
        crashes++;
        machine++;
      } else if (line.contains(" kill -9 n")) {
        crashes++;
      }
    }
    return new RunResult.Stats(crashes, losing, oneLeader.highestLeaderTerm(),
        leaseReads.readsChecked(), membershipLog.size(),
        membershipLog.stream().filter(l -> l.contains("stands in")).count(), network.dropped(),
        machine, durability.durableAcks(), durability.excusedLosses(),
        durability.excusedWithSurvivor(), transfers,
        takeover.kind() == SimTakeover.HARD_TIMEOUT ? 1 : 0,
        takeover.kind() == SimTakeover.SPECULATIVE ? 1 : 0, primaryStalls, primaryStallsPastLease,
        nodes.stream().mapToLong(SimNode::warmUpsDone).sum(), snapshotsKept, snapshotsInstalled,
        nodes.stream().mapToLong(SimNode::asyncFsyncs).sum(),
        nodes.stream().mapToLong(SimNode::asyncFsyncWaits).sum(),
        nodes.stream().mapToLong(n -> n.transferCounts()[0]).sum(),
        nodes.stream().mapToLong(n -> n.transferCounts()[1]).sum(),
        nodes.stream().mapToLong(n -> n.transferCounts()[2]).sum(),
        durableLiveness.checked(), durableLiveness.latencyMaxNanos() / 1_000, fuzzyImagesKept,
        durableFlushLiveness.timed(), durableFlushLiveness.latencyMaxNanos() / 1_000,
        proposalLimits.tight() ? 1 : 0,
        nodes.stream().mapToLong(SimNode::queueFullRefusals).sum(),
        standInCoverage.leaderStandIns(), standInCoverage.leaderStandInsEnded(),
        standInCoverage.leaderHandBacks(), standInCoverage.leaderStandInsMoved(),
        replacementSteps > 0 ? 1 : 0, replacementSteps, membersReplaced,
        config.ticksWhenDue(seed) ? 1 : 0, ticksSkipped,
        nodes.stream().mapToLong(n -> n.recoveryCounts()[0]).sum(),
        nodes.stream().mapToLong(n -> n.recoveryCounts()[1]).sum(),
        nodes.stream().mapToLong(SimNode::commandsHeldForValues).sum(),
        config.recoveryMode(seed) == io.respawn.node.recovery.RecoveryMode.OFFLINE ? 1 : 0,
        nodes.stream().mapToLong(n -> n.handOverCounts()[0]).sum(),
        nodes.stream().mapToLong(n -> n.handOverCounts()[1]).sum(),
        primaryStrandedAtEnd() ? 1 : 0);
  }

  private String describe() {
    StringBuilder b = new StringBuilder();
    b.append("shape ").append(shape.spelling()).append(", variant ").append(config.variant())
        .append(", takeover ").append(takeover)
        .append(", proposal limits ").append(proposalLimits)
        .append(primaryStalls > 0 ? ", primary stalls " + primaryStalls + " ("
            + primaryStallsPastLease + " past the lease)" : "")
        .append(", storage ").append(config.engineStorage() ? "segmented log" : "memory")
        .append(", fsync ").append(config.effectiveFsyncMode().spelling())
        .append(", recovery ").append(config.recoveryMode(seed).spelling())
        .append(", ").append(history.size()).append(" ops, ").append(acknowledged.size())
        .append(" acked writes, ").append(unknownOps()).append(" unknown, ")
        .append(committed.committedCount()).append(" committed, highest term ")
        .append(oneLeader.highestLeaderTerm())
        .append(linSkippedKeys > 0 ? ", lin skips " + linSkippedKeys + " keys after allowed losses"
            : "").append('\n');
    b.append("  ").append(stats()).append('\n');
    b.append("  nodes: ").append(nodes).append('\n');
    List<String> trace = nemesis.trace();
    b.append("  last faults: ")
        .append(trace.subList(Math.max(0, trace.size() - 12), trace.size())).append('\n');
    b.append("  membership: ").append(membershipLog);
    return b.toString();
  }

  // ---- network routing ----

  private void deliver(int from, int to, Object message) {
    if (to < REPLICAS) {
      nodes.get(to).deliver(from, message);
    } else if (to - REPLICAS < clients.size()) {
      clients.get(to - REPLICAS).onReply((ClientReply) message);
    } else {
      finalReader.onReply((ClientReply) message);
    }
  }

  // ---- Cluster ----

  @Override
  public List<SimNode> nodes() {
    return nodes;
  }

  // ---- NodeObserver: feeds the event-driven invariants ----

  @Override
  public void persisted(SimNode node, List<Entry> entries) {
    long firstIndex = entries.get(0).index();
    long prevTerm = firstIndex == 1 ? 0 : node.replica().log().term(firstIndex - 1);
    logMatching.persisted(node.id(), entries, prevTerm,
        d -> protocolViolation(logMatching.name(), d));
  }

  @Override
  public void applied(SimNode node, Entry entry) {
    committed.applied(node.id(), node.replica().term(), entry, d -> protocolViolation(committed.name(), d));
    if (node.isLeader()) {
      durability.committed(entry, writeQuorumMembers(node));
      commitRule.leaderApplied(node, entry, nodes, standInsOf(node), durability,
          d -> protocolViolation(commitRule.name(), d));
    }
  }

  @Override
  public void readServed(SimNode node, long term) {
    leaseReads.readServed(node.id(), term, node.isLeader(),
        d -> protocolViolation(leaseReads.name(), d));
  }

  /**
   * The stand-ins node's core has in force while it leads: those the simulation asked for (a
   * removal of a down backup) and those it started by itself ({@code standInAfterMillis}); the
   * core clears them when it stops leading and ends them when the backup is removed or has caught
   * up. Read from the core at each check: a stand-in can take effect, and a commit under it be
   * applied, inside the call that starts it.
   */
  private Map<Integer, Integer> standInsOf(SimNode node) {
    if (!node.isLeader()) {
      return Map.of();
    }
    Map<NodeId, NodeId> core = node.replica().standIns();
    if (core.isEmpty()) {
      return Map.of();
    }
    Map<Integer, Integer> out = new HashMap<>();
    core.forEach((backup, witness) -> out.put(backup.value(), witness.value()));
    return out;
  }

  /**
   * The members every write quorum of leader's configuration needs, as durability statement 2
   * names them: itself, each voting backup or the witness standing in for it, and every witness
   * still standing in. Read when the leader applies an entry, which may be after the step that
   * committed it went on to a configuration without the backup a stand-in replaces: a removal of
   * a down backup commits on the old configuration's quorum (the stand-in's copy, written,
   * counting for the backup) and the leader moves to the new one at once; the core keeps the
   * stand-in, and counts its written copy, until the removal is done (the simulator's 3101: a
   * loss by such a stand-in was reported as not excused). A witness that stands in for no backup
   * of either half counts only flushed copies, which no machine crash takes, so naming it here
   * excuses nothing more.
   */
  private int[] writeQuorumMembers(SimNode leader) {
    Map<Integer, Integer> stand = standInsOf(leader);
    java.util.LinkedHashSet<Integer> out = new java.util.LinkedHashSet<>();
    out.add(leader.id());
    for (NodeId backup : leader.replica().membership().votingBackups()) {
      out.add(stand.getOrDefault(backup.value(), backup.value()));
    }
    out.addAll(stand.values());
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public void writeAcknowledged(SimNode node, int opId, long term, long index, boolean durable) {
    acknowledged.put(opId, new long[] {term, index, durable ? 1 : 0});
    if (!durable) {
      return;
    }
    durableLiveness.acknowledged(opId, events.nowNanos());
    durability.durableAcknowledged(opId, term, index);
    // DURABLE means flushed on a write quorum: at least on the leader and every backup it needs
    // (or the witness standing in for it: a stand-in can start between the durable index moving
    // on the backup's flush and the acknowledgement leaving, so either may hold it)
    if (!flushedHere(node.id(), term, index)) {
      durableAckNotFlushed(node, opId, term, index, node.id());
    }
    Map<Integer, Integer> stand = standInsOf(node);
    for (NodeId backup : node.replica().membership().votingBackups()) {
      Integer standIn = stand.get(backup.value());
      if (!flushedHere(backup.value(), term, index)
          && (standIn == null || !flushedHere(standIn, term, index))) {
        durableAckNotFlushed(node, opId, term, index, standIn == null ? backup.value() : standIn);
      }
    }
  }

  private void durableAckNotFlushed(SimNode node, int opId, long term, long index, int member) {
    SimStorage disk = nodes.get(member).storage();
    protocolViolation("durable-ack-flushed", "n" + node.id() + " acknowledged op #" + opId
        + " DURABLE at " + term + "/" + index + " but write-quorum member n" + member
        + " has flushed only up to " + disk.lastFlushedIndex() + " (term there "
        + disk.termAt(index) + ")");
  }

  /**
   * Whether {@code member}'s disk holds (term, index) flushed, or below its log's first index,
   * in its kept image (durable), which holds what was committed there.
   */
  private boolean flushedHere(int member, long term, long index) {
    SimStorage disk = nodes.get(member).storage();
    boolean inImage = index < disk.firstIndex() && committed.committedCount() >= index
        && committed.committed(index).term() == term;
    return inImage || disk.lastFlushedIndex() >= index && disk.termAt(index) == term;
  }

  @Override
  public void durableAckAwaited(SimNode node, int opId, long term, long index) {
    durableLiveness.awaited(opId, node.id(), node.incarnation(), term, index);
    durableFlushLiveness.awaited(opId, node.id(), node.incarnation(), term, index);
  }

  // ---- DurableAckLiveness.Shard ----

  @Override
  public boolean leads(int node, int incarnation, long term) {
    SimNode n = nodes.get(node);
    return n.isUp() && n.incarnation() == incarnation && n.isLeader()
        && n.replica().term() == term;
  }

  /**
   * Mirrors the core's DURABLE rule on the disks: the leader has (term, index) flushed, and in
   * each half of its configuration every voting backup (or the witness standing in for it) and
   * a strict majority of the voters have it flushed, or hold it in their kept image below their
   * log.
   */
  @Override
  public boolean flushedOnWriteQuorum(int leader, long term, long index) {
    return onWriteQuorum(leader, term, index, true);
  }

  /** {@link #flushedOnWriteQuorum}, or with {@code flushed} false the same rule for written. */
  @Override
  public boolean onWriteQuorum(int leader, long term, long index, boolean flushedOnly) {
    SimNode l = nodes.get(leader);
    if (!holds(leader, term, index, flushedOnly)) {
      return false;
    }
    Map<Integer, Integer> stand = standInsOf(l);
    for (List<Member> half : l.replica().membership().halves()) {
      int voters = 0;
      int flushed = 0;
      for (Member m : half) {
        if (!m.voting()) {
          continue;
        }
        int id = m.id().value();
        voters++;
        flushed += holds(id, term, index, flushedOnly) ? 1 : 0;
        if (m.role() == Role.BACKUP
            && !holds(stand.getOrDefault(id, id), term, index, flushedOnly)) {
          return false;
        }
      }
      if (flushed <= voters / 2) {
        return false;
      }
    }
    return true;
  }

  private boolean holds(int node, long term, long index, boolean flushedOnly) {
    SimStorage disk = nodes.get(node).storage();
    boolean inImage = index < disk.firstIndex() && committed.committedCount() >= index
        && committed.committed(index).term() == term;
    long through = flushedOnly ? disk.lastFlushedIndex() : disk.lastIndex();
    return inImage || (through >= index && disk.termAt(index) == term);
  }

  @Override
  public void committedEntryLost(SimNode node, io.respawn.core.CommittedEntryLost lost) {
    Entry c = lost.committed();
    if (!durability.lost(c.term(), c.index(), "n" + node.id() + " committed it and is told to"
        + " replace it by " + lost.replacement())) {
      protocolViolation(committed.name(), "n" + node.id() + ": " + lost.getMessage());
    }
  }

  @Override
  public void lostInMachineCrash(SimNode node, long term, long index, boolean full,
      long unflushedAgeNanos) {
    if (full) {
      durability.lostInMachineCrash(node.id(), term, index, unflushedAgeNanos);
    }
  }

  @Override
  public void statusChanged(SimNode node, RoleChange change) {
    if (change.to() == Status.LEADER) {
      oneLeader.leaderSeen(change.term(), node.id(), d -> protocolViolation(oneLeader.name(), d));
    }
  }

  // ---- snapshots: an image never reverts applied state, and holds exactly what was committed ----

  @Override
  public void snapshotKept(SimNode node, io.respawn.core.SnapshotMeta meta, KvImage image) {
    snapshotsKept++;
    fuzzyImagesKept += image.effectsThroughIndex() > meta.index() ? 1 : 0;
    checkImage(node, "kept", meta, image);
  }

  @Override
  public void snapshotInstalling(SimNode node, io.respawn.core.SnapshotMeta meta,
      long appliedBefore) {
    snapshotsInstalled++;
    if (meta.index() <= appliedBefore) {
      protocolViolation("snapshot-reverts-applied", "n" + node.id() + " installs " + meta
          + " after applying up to " + appliedBefore);
    }
  }

  @Override
  public void snapshotInstalled(SimNode node, io.respawn.core.SnapshotMeta meta) {
    io.respawn.node.snapshot.SnapshotImage kept = node.storage().keptSnapshot();
    if (!(kept instanceof KvImage image) || !image.meta().equals(meta)) {
      protocolViolation("snapshot-content", "n" + node.id() + " installed " + meta
          + " but keeps " + (kept == null ? "no image" : kept.meta()));
      return;
    }
    checkImage(node, "installed", meta, image);
  }

  /**
   * {@code image}, labelled S = {@code meta.index()} and holding effects through E = {@link
   * KvImage#effectsThroughIndex()} (E = S for an image taken at one instant), must hold every key
   * as the committed entries left it at some index in [S, E]: its timestamp, and its value
   * wherever both know it (an elided entry leaves a value unknown). And replaying the committed
   * entries S+1..E over it (idempotently, as a restart or an install does) must give exactly the
   * state the committed entries up to E build.
   */
  private void checkImage(SimNode node, String what, io.respawn.core.SnapshotMeta meta,
      KvImage kvImage) {
    long effectsThrough = kvImage.effectsThroughIndex();
    if (effectsThrough > committed.committedCount()) {
      protocolViolation("snapshot-content", "n" + node.id() + " " + what + " " + meta
          + " (effects through " + effectsThrough + ") beyond the "
          + committed.committedCount() + " entries known committed");
      return;
    }
    KvStateMachine image = kvImage.toStateMachine((k, a, b, c, d) -> {});
    KvStateMachine ref = new KvStateMachine(image.keyCount(), (k, a, b, c, d) -> {});
    for (long i = 1; i <= meta.index(); i++) {
      ref.apply(committed.committed(i));
    }
    boolean[] matched = new boolean[image.keyCount()];
    for (long i = meta.index(); ; i++) {
      for (int k = 0; k < image.keyCount(); k++) {
        matched[k] |= sameKey(ref, image, k);
      }
      if (i == effectsThrough) {
        break;
      }
      ref.apply(committed.committed(i + 1));
    }
    for (int k = 0; k < image.keyCount(); k++) {
      if (!matched[k]) {
        protocolViolation("snapshot-content", "n" + node.id() + " " + what + " " + meta
            + " (effects through " + effectsThrough + "): key k" + k + " is "
            + image.tsTerm(k) + "/" + image.tsIndex(k) + "="
            + (image.known(k) ? image.value(k) : "?") + " but the committed entries never"
            + " gave it that between " + meta.index() + " and " + effectsThrough + " (at "
            + effectsThrough + ": " + ref.tsTerm(k) + "/" + ref.tsIndex(k) + "="
            + (ref.known(k) ? ref.value(k) : "?") + ")");
        return;
      }
    }
    for (long i = meta.index() + 1; i <= effectsThrough; i++) {
      image.apply(committed.committed(i));
    }
    for (int k = 0; k < image.keyCount(); k++) {
      if (!sameKey(ref, image, k)) {
        protocolViolation("snapshot-content", "n" + node.id() + " " + what + " " + meta
            + ": replaying " + (meta.index() + 1) + ".." + effectsThrough + " over it gives key k"
            + k + " " + image.tsTerm(k) + "/" + image.tsIndex(k) + "="
            + (image.known(k) ? image.value(k) : "?") + " but the committed entries give "
            + ref.tsTerm(k) + "/" + ref.tsIndex(k) + "=" + (ref.known(k) ? ref.value(k) : "?"));
        return;
      }
    }
  }

  /** Same timestamp, and the same value wherever both know it. */
  private static boolean sameKey(KvStateMachine a, KvStateMachine b, int k) {
    return a.tsTerm(k) == b.tsTerm(k) && a.tsIndex(k) == b.tsIndex(k)
        && !(a.known(k) && b.known(k) && a.value(k) != b.value(k));
  }

  private long snapshotsKept;
  private long fuzzyImagesKept;
  private long snapshotsInstalled;

  /**
   * A node keeps an image (and drops its log behind it) only once the newest entry whose effects
   * it may hold (its index, or for a fuzzy image its effects-through index) is durable on the
   * shard (flushed on a write quorum), which no crash can take back: so a committed entry the
   * ORDERED statement lets a machine crash take must never be inside a kept image with values.
   * Every image kept so far was checked against the committed entries when it was kept (the
   * entry lost now was committed then), so one whose effects reach the lost one may hold it.
   */
  private void checkNoImageHoldsLost(long term, long index) {
    if (flushedOnTheNewestLeadersWriteQuorum(term, index)) {
      // The loss was excused because a leader of an older term lacks the entry (it was elected
      // with the vote of a member that had lost it in a machine crash), but the entry is durable
      // on the shard again under a later leader: nothing has taken it back, and an image kept
      // since then holds it rightly (seed 18209 of the thirty-second session: a term-5 leader,
      // paused while it campaigned, counted its votes 1.4 s later, when terms 6 and 7 had
      // flushed the entry on the witness leader and the backup).
      return;
    }
    for (SimNode node : nodes) {
      io.respawn.node.snapshot.SnapshotImage image = node.storage().keptSnapshot();
      if (image != null && !image.keysOnly() && image.effectsThroughIndex() >= index) {
        protocolViolation("snapshot-holds-lost-entry", "n" + node.id() + " keeps image "
            + image.meta() + " with effects through " + image.effectsThroughIndex()
            + ", which may hold " + term + "/" + index + ", an entry a machine crash"
            + " of its write quorum has now taken back: the image was kept before the effects it"
            + " may hold were durable on the shard");
        return;
      }
    }
  }

  /**
   * Whether (term, index) is committed again by the leader of the highest term that runs: that
   * leader holds it, has committed an entry of its own term at or above it (so it is committed
   * in that term, Raft's rule), and it is flushed on a write quorum of that leader's configuration
   * ({@link #flushedOnWriteQuorum}, the rule the commit checks use). Nothing can then take it back
   * but a bug the other checks report.
   */
  private boolean flushedOnTheNewestLeadersWriteQuorum(long term, long index) {
    SimNode top = null;
    for (SimNode n : nodes) {
      if (n.isUp() && n.isLeader() && (top == null || n.replica().term() > top.replica().term())) {
        top = n;
      }
    }
    if (top == null) {
      return false;
    }
    Replica r = top.replica();
    long commit = r.commitIndex();
    if (commit < index || commit <= r.log().snapshotIndex() || r.log().term(commit) != r.term()) {
      return false;
    }
    return flushedOnWriteQuorum(top.id(), term, index);
  }

  @Override
  public void appendSent(SimNode node, int to, long term, int entries) {
    appendsInFlight.sent(node.id(), to, term, entries,
        node.isLeader() && node.replica().standIns().containsValue(NodeId.of(to)));
  }

  /**
   * <b>tick-skipped-when-due</b>: a follower's driver skipped a tick while its failure detector
   * already suspected the leader and the core had not reported it yet: the tick would have
   * raised the suspicion (the start of a takeover), and skipping delays it up to the runtime's
   * idle cap. Checked from the detector itself, not from the deadline that let the tick go.
   */
  @Override
  public void tickSkipped(SimNode node) {
    ticksSkipped++;
    Replica r = node.replica();
    io.respawn.core.FailureDetector detector = r.failureDetector();
    NodeId leader = r.leader();
    if (r.status() == Status.FOLLOWER && detector != null && leader != null
        && r.leaderSuspicion() == io.respawn.core.FailureDetector.Suspicion.NONE) {
      io.respawn.core.FailureDetector.Suspicion now =
          detector.suspicion(leader, node.localNanos());
      if (now != io.respawn.core.FailureDetector.Suspicion.NONE) {
        protocolViolation("tick-skipped-when-due", "n" + node.id() + " skipped a tick with its"
            + " leader n" + leader.value() + " suspected " + now + " by its detector, not yet by"
            + " its core (term " + r.term() + ")");
      }
    }
  }

  @Override
  public void heardFrom(SimNode node, int from) {
    appendsInFlight.heardFrom(node.id(), from);
  }

  @Override
  public void reconnected(SimNode node, int peer) {
    appendsInFlight.heardFrom(node.id(), peer); // a new connection: nothing is in flight on it
  }

  @Override
  public void restarted(SimNode node) {
    appendsInFlight.restarted(node.id());
  }

  @Override
  public void writeBoundsBroken(SimNode node, String invariant, String detail) {
    protocolViolation(invariant, "n" + node.id() + " " + detail);
  }

  @Override
  public void timestampRegressed(SimNode node, int key, String detail) {
    protocolViolation("timestamp-monotone", "n" + node.id() + ": " + detail);
  }

  // ---- FaultTarget ----

  @Override
  public int[] replicas() {
    return everMembers.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public boolean isUp(int node) {
    return nodes.get(node).isUp();
  }

  @Override
  public boolean isPaused(int node) {
    return nodes.get(node).isPaused();
  }

  @Override
  public boolean isSyncing(int node) {
    return nodes.get(node).isSyncing();
  }

  @Override
  public void crash(int node, boolean machine) {
    troubleNanos[node] = events.nowNanos();
    nodes.get(node).crash(machine);
    if (!machine) {
      // kill -9: the kernel closes the process's connections, so the peers it was linked to
      // learn at once that it is gone (a machine crash closes nothing; they time out).
      tellPeers(node, false);
    }
  }

  @Override
  public void powerLossKeepingNothingUnflushed(int node) {
    troubleNanos[node] = events.nowNanos();
    nodes.get(node).crash(true, true);
  }

  /** Each replica still linked to {@code node} gets the transport's reachability hint. */
  private void tellPeers(int node, boolean reachable) {
    for (SimNode other : nodes) {
      int o = other.id();
      if (o != node && !network.isCut(node, o)) {
        events.after(HINT_DELAY_NANOS, () -> other.peerReachability(node, reachable));
      }
    }
  }

  @Override
  public void restart(int node) {
    troubleNanos[node] = events.nowNanos();
    nodes.get(node).start();
    tellPeers(node, true);
  }

  @Override
  public void pause(int node, long durationNanos) {
    if (nodes.get(node).isLeader()) {
      primaryStalls++;
      primaryStallsPastLease += durationNanos > config.leaseMillis() * 1_000_000L ? 1 : 0;
    }
    troubleNanos[node] = Math.max(troubleNanos[node], events.nowNanos() + durationNanos);
    nodes.get(node).pause(durationNanos);
  }

  @Override
  public int primary() {
    for (SimNode n : nodes) {
      if (n.isUp() && n.isLeader()) {
        return n.id();
      }
    }
    return -1;
  }

  @Override
  public long primaryStallMillisMax() {
    // Stalls of the primary shorter and longer than its lease; only where a detector decides
    // (a TIMEOUT run draws exactly what it drew before detectors existed).
    return takeover.phi() == null ? 0 : 3 * config.leaseMillis();
  }

  /** The seed this run is built from. */
  public long seed() {
    return seed;
  }

  /** This seed's takeover settings. */
  public SimTakeover.Drawn takeover() {
    return takeover;
  }

  @Override
  public void partition(int[] sideA, int[] sideB) {
    troubleEverywhere();
    network.partition(sideA, sideB);
  }

  @Override
  public void cutOneWay(int from, int to) {
    troubleEverywhere();
    network.cutOneWay(from, to);
  }

  @Override
  public void heal() {
    troubleEverywhere();
    network.healAll();
  }

  private void troubleEverywhere() {
    for (int i = 0; i < REPLICAS; i++) {
      troubleNanos[i] = Math.max(troubleNanos[i], events.nowNanos());
    }
  }

  /**
   * The primary's spare policy ({@link MemberReplacement}, as the server's node loop runs it):
   * the next step on the current leader, taken as the server takes it (a voting backup leaves
   * with a witness standing in for it). A voter removed as silent must have been silent: the
   * invariant replaced-while-heard fails when it was up, unpaused and linked to the leader both
   * ways, with nothing happening to either, for {@link #HEARD_WINDOW_HEARTBEATS} heartbeat
   * intervals (it answers every heartbeat then; the policy's bound is far longer).
   */
  private void replaceSilentMembers() {
    SimNode leader = currentLeader();
    if (leader == null || !leader.isUp() || leader.isPaused()) {
      return;
    }
    // The replica's clock to now, as the server's node loop brings it before the policy asks how
    // long members have been silent (a node that ticks only when due may have had no input lately).
    leader.clockBeforeQuery();
    MemberReplacement.Step step = replacement.next(leader.replica(), spentSpares());
    if (step == null) {
      return;
    }
    Membership current = leader.replica().membership();
    int id = step.member().id().value();
    List<Member> target = without(new ArrayList<>(current.incoming()), id);
    Member leaving = step.op() == MemberReplacement.Op.REPLACE ? step.replaced()
        : step.op() == MemberReplacement.Op.REMOVE && current.isVoter(step.member().id())
        ? step.member() : null;
    if (step.op() != MemberReplacement.Op.REMOVE) {
      target.add(step.member());
    }
    if (leaving != null) {
      int gone = leaving.id().value();
      target = without(target, gone);
      long now = events.nowNanos();
      long window = HEARD_WINDOW_HEARTBEATS * config.heartbeatIntervalMillis() * 1_000_000L;
      int l = leader.id();
      SimNode m = nodes.get(gone);
      if (m.isUp() && !m.isPaused() && !network.isCut(gone, l) && !network.isCut(l, gone)
          && troubleNanos[gone] <= now - window && troubleNanos[l] <= now - window) {
        protocolViolation("replaced-while-heard", "n" + l + " removed n" + gone + " as silent ("
            + step.why() + ") although it was up and linked to the leader since "
            + troubleNanos[gone] / 1_000_000 + " ms (now " + now / 1_000_000 + " ms)");
      }
      if (leaving.role() == Role.BACKUP && !standInsOf(leader).containsKey(gone)
          && standInForLeaving(leader, current, gone) < 0) {
        return;
      }
    }
    Membership next = Membership.of(target);
    int primaries = 0;
    for (Member x : next.incoming()) {
      primaries += x.voting() && x.role() == Role.PRIMARY ? 1 : 0;
    }
    if (primaries > 1) {
      protocolViolation("two-primaries", "n" + leader.id() + "'s spare policy (" + step.op()
          + " n" + id + ": " + step.why() + ") proposes " + next + ", with " + primaries
          + " voters of role primary");
    }
    if (!leader.proposeMembership(next)) {
      return;
    }
    replacementSteps++;
    membersReplaced += leaving != null ? 1 : 0;
    for (Member x : target) {
      everMembers.add(x.id().value());
    }
    membershipLog.add(events.nowNanos() / 1_000_000 + "ms n" + leader.id() + ": spares: "
        + step.op() + " n" + id + " (" + step.why() + ") -> " + next);
  }

  /** Heartbeat intervals a member must be heard for before its removal counts as wrong. */
  static final long HEARD_WINDOW_HEARTBEATS = 8;

  /** Spares that were members once (the policy never adds them again). */
  private java.util.Set<NodeId> spentSpares() {
    java.util.Set<NodeId> out = new java.util.HashSet<>();
    for (int id : everMembers) {
      out.add(NodeId.of(id));
    }
    return out;
  }

  /**
   * Lets the first voting witness that is up (the leader itself only if {@code
   * leaderMayStandIn}) and not standing in already stand in for leaving backup {@code backup};
   * returns its id, or -1 when none can.
   */
  private int standInForLeaving(SimNode leader, Membership current, int backup) {
    for (Member m : current.incoming()) {
      boolean witnessVoter = m.voting() && m.role() == Role.WITNESS;
      boolean allowed = m.id().value() != leader.id() || config.leaderMayStandIn();
      if (witnessVoter && allowed && nodes.get(m.id().value()).isUp()
          && !standInsOf(leader).containsValue(m.id().value())
          && leader.standIn(backup, m.id().value())) {
        return m.id().value();
      }
    }
    return -1;
  }

  /** Hands leadership from the primary to a random voter that may lead (TimeoutNow). */
  @Override
  public String transferLeadership(SplittableRandom r) {
    SimNode leader = currentLeader();
    if (leader == null) {
      return null;
    }
    Membership m = leader.replica().membership();
    List<Integer> candidates = new ArrayList<>();
    for (NodeId id : m.allVoters()) {
      if (id.value() != leader.id() && m.role(id).mayCampaign()) {
        candidates.add(id.value());
      }
    }
    if (candidates.isEmpty()) {
      return null;
    }
    int target = candidates.get(r.nextInt(candidates.size()));
    return leader.transferLeadership(target)
        ? "transfer leadership n" + leader.id() + " -> n" + target : null;
  }

  /**
   * One membership step, as an operator (or the primary's own policy) would take it:
   *
   * <ul>
   *   <li>a voting backup is down: a voting witness stands in for it in the write quorum and a
   *       configuration without the backup is proposed (DESIGN §5.4);
   *   <li>else a learner is promoted to voter (the core goes through a joint configuration);
   *   <li>else a replica outside the configuration is added as a learner;
   *   <li>else (all five vote) one backup or witness other than the leader is removed, or n3
   *       and n4 together, back to 1+1+1.
   * </ul>
   * Between them these move the shard between 1+1+1 and 1+2+2 through the shapes in between.
   */
  @Override
  public String changeMembership(SplittableRandom r) {
    if (!config.membershipChanges() || replacement != null) {
      return null; // with spares, the primary's own policy changes the membership
    }
    SimNode leader = currentLeader();
    if (leader == null) {
      return null;
    }
    Membership current = leader.replica().membership();
    if (current.isJoint()) {
      return null;
    }
    List<Member> members = new ArrayList<>(current.incoming());
    String what = null;
    List<Member> target = null;
    for (NodeId backup : current.votingBackups()) {
      if (!nodes.get(backup.value()).isUp()) {
        Integer already = standInsOf(leader).get(backup.value());
        if (already != null) {
          // the leader stands in for it by itself already (standInAfterMillis)
          target = without(members, backup.value());
          what = "n" + already + " (standing in already) for down backup n" + backup.value()
              + "; remove n" + backup.value();
          break;
        }
        int witness = standInForLeaving(leader, current, backup.value());
        if (witness >= 0) {
          target = without(members, backup.value());
          what = "n" + witness + " stands in for down backup n" + backup.value()
              + "; remove n" + backup.value();
        }
        break;
      }
    }
    if (target == null) {
      Member learner = members.stream().filter(m -> !m.voting()).findFirst().orElse(null);
      if (learner != null) {
        target = without(members, learner.id().value());
        target.add(Member.voter(learner.id().value(), learner.role()));
        what = "promote n" + learner.id().value();
      }
    }
    if (target == null) {
      List<Integer> outside = new ArrayList<>();
      for (int id = 1; id < REPLICAS; id++) {
        if (!current.contains(NodeId.of(id))) {
          outside.add(id);
        }
      }
      if (!outside.isEmpty()) {
        int id = outside.get(r.nextInt(outside.size()));
        target = new ArrayList<>(members);
        target.add(Member.learner(id, ROLES[id]));
        what = "add n" + id + " as learner";
      }
    }
    if (target == null) {
      if (r.nextBoolean() && leader.id() != 3 && leader.id() != 4) {
        target = without(without(members, 3), 4);
        what = "remove n3 n4";
      } else {
        int id = 1 + r.nextInt(REPLICAS - 1);
        if (id == leader.id() || (ROLES[id] == Role.WITNESS && votingWitnesses(members) < 2)) {
          return null;
        }
        target = without(members, id);
        what = "remove n" + id;
      }
    }
    Membership next = Membership.of(target);
    if (!leader.proposeMembership(next)) {
      return null;
    }
    for (Member m : target) {
      everMembers.add(m.id().value());
    }
    membershipLog.add(events.nowNanos() / 1_000_000 + "ms n" + leader.id() + ": " + what
        + " -> " + next);
    return "membership: " + what;
  }

  private static List<Member> without(List<Member> members, int id) {
    List<Member> out = new ArrayList<>();
    for (Member m : members) {
      if (m.id().value() != id) {
        out.add(m);
      }
    }
    return out;
  }

  private static int votingWitnesses(List<Member> members) {
    int n = 0;
    for (Member m : members) {
      if (m.voting() && m.role() == Role.WITNESS) {
        n++;
      }
    }
    return n;
  }

}
