package io.respawn.sim.node;

import io.respawn.core.CommittedEntryLost;
import io.respawn.core.Entry;
import io.respawn.core.Membership;
import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.ReplicaConfig;
import io.respawn.core.SuspicionChange;
import io.respawn.core.Role;
import io.respawn.core.RoleChange;
import io.respawn.core.Status;
import io.respawn.node.InFlightWrites;
import io.respawn.node.LeadershipHandOver;
import io.respawn.node.NodeRuntime;
import io.respawn.node.ProposalHandle;
import io.respawn.node.Refusal;
import io.respawn.node.RuntimeConfig;
import io.respawn.node.RuntimeListener;
import io.respawn.node.recovery.RecoveryMode;
import io.respawn.node.recovery.ValuePull.BatchPull;
import io.respawn.node.recovery.ValuePull.BatchPullReply;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.node.recovery.ValueRecovery;
import io.respawn.sim.clock.SimClock;
import io.respawn.sim.event.EventQueue;
import io.respawn.sim.kv.KvCommand;
import io.respawn.sim.kv.KvStateMachine;
import io.respawn.sim.kv.KvStore;
import io.respawn.sim.lin.Op;
import io.respawn.sim.lin.OpKind;
import io.respawn.sim.lin.Outcome;
import io.respawn.sim.net.SimNetwork;
import io.respawn.sim.storage.SimStorage;
import io.respawn.storage.Durability;
import io.respawn.storage.Mutation;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletionException;
import java.util.function.LongFunction;

/**
 * One simulated replica process: respawn-node's {@link NodeRuntime} (the code the server runs)
 * on simulated ports, plus the simulated clients' front end. This class only adapts:
 *
 * <ul>
 *   <li>Transport: {@link SimNetwork} (delay, loss, duplication, reordering, partitions);
 *   <li>Clock: the node's drifting {@link SimClock} over virtual time;
 *   <li>ReplicaLog: the node's {@link SimStorage} (the segmented log on a crash-recording disk,
 *       or the in-memory model), whose flushes take a simulated fsync time;
 *   <li>StateMachineStore: the {@link KvStateMachine} ({@link KvStore}).
 * </ul>
 *
 * <p>With {@code replicaAck = ORDERED} (the default) a member acknowledges entries once written
 * in order; a flush the runtime starts takes 0.1–3 ms of virtual time and completes
 * asynchronously ({@code onFlushed}) while the node keeps working. A machine crash loses what
 * was not flushed (the disk becomes a crash state); a process crash (kill -9) loses nothing
 * written. With {@code replicaAck = DURABLE} every Ready with entries is flushed before its
 * messages leave, and the node is busy for the fsync: arriving messages wait in the network,
 * ticks are skipped, and everything it sends (to peers and to clients) leaves when the fsync
 * ends, or never if it crashes first.
 *
 * <p>Clients talk to it with {@link ClientRequest}: writes are proposed (batched per loop pass)
 * and answered when applied here (ORDERED) or, for a DURABLE request, once the runtime says a
 * write quorum flushed it. GETs, and the read half of INCR and DEL, are served as the server's
 * primary serves them: under the runtime's local read rule, from this node's writes in flight
 * ({@link InFlightWrites}) or its applied state; INCR and DEL are computed when proposed and
 * enter the log as the values they write. A value this node holds only in elided form (it was a
 * witness) is pulled from a voting backup by the server's {@link ValueRecovery} (background
 * BatchPull and sweep, priority pulls for what a command needs, online or offline), and the
 * command waits for it as the server's command layer does.
 *
 * <p>Owned by the simulation thread.
 */
public final class SimNode {

  private final int id;
  private final LongFunction<ReplicaConfig> configForSeed;
  private final RuntimeConfig runtimeConfig;
  private final SimStorage storage;
  private final SimClock clock;
  private final EventQueue events;
  private final SimNetwork<Object> network;
  private final SplittableRandom random;
  private final NodeTiming timing;
  private final int keyCount;
  private final NodeObserver observer;
  private final boolean durableAckEarly;
  private final io.respawn.node.snapshot.SnapshotPolicy snapshotPolicy;

  private NodeRuntime<Long> runtime;
  private KvStateMachine stateMachine;
  private boolean up;
  private int incarnation;
  private long warmUpMillisMax = -1;
  private long warmUpsDone;
  private long busyUntilNanos;
  private long pausedUntilNanos;
  private boolean passScheduled;
  private final List<Runnable> held = new ArrayList<>();
  /** This incarnation's value recovery (the server's class), null while down. */
  private ValueRecovery recovery;
  /** This incarnation's drains and give-backs (the server's class), null while down. */
  private LeadershipHandOver handOver;
  /** Client writes proposed whose acknowledgement (at their level) has not settled. */
  private int writesUnsettled;
  /** Give-backs started and transfers drains ended in, by earlier incarnations. */
  private final long[] handOverBefore = new long[2];
  private long drainTransfers;
  private RecoveryMode recoveryMode = RecoveryMode.ONLINE;
  /** Commands that waited for a pull, over every incarnation. */
  private long commandsHeldForValues;
  /** Recoveries done and values pulled by earlier incarnations. */
  private final long[] recoveryBefore = new long[2];
  private final WritesInRuntime writesInRuntime = new WritesInRuntime();
  /** This incarnation's writes proposed and not yet applied: the server's overlay, same class. */
  private InFlightWrites inFlight = new InFlightWrites();
  private long nextWriteSequence = 1;
  private long queueFullRefusals;
  private final int[] lastOpIdOfClient;
  private int clientEndpointBase;
  private long crashesLosingWrites;
  private long flushDueNanos;
  private io.respawn.sim.FsyncMode fsyncMode = io.respawn.sim.FsyncMode.DEFERRED;
  /** When the asynchronous fsync the log last handed to this incarnation's executor ends. */
  private long asyncFsyncDueNanos;
  private long asyncFsyncs;
  /** Snapshot transfer counts of earlier incarnations: started, chunks sent, chunks ignored. */
  private final long[] transfersBefore = new long[3];
  private long asyncFsyncWaits;
  /** index -> {term, virtual time written, paused time elapsed then}, while unflushed. */
  private final java.util.TreeMap<Long, long[]> unflushedWrites = new java.util.TreeMap<>();
  private long pausedTotalNanos;

  public SimNode(int id, LongFunction<ReplicaConfig> configForSeed, RuntimeConfig runtimeConfig,
      SimStorage storage, SimClock clock, EventQueue events, SimNetwork<Object> network,
      SplittableRandom random, NodeTiming timing, int keyCount, int clientCount,
      NodeObserver observer, boolean durableAckEarly,
      io.respawn.node.snapshot.SnapshotPolicy snapshotPolicy) {
    this.id = id;
    this.configForSeed = configForSeed;
    this.runtimeConfig = runtimeConfig;
    this.storage = storage;
    this.clock = clock;
    this.events = events;
    this.network = network;
    this.random = random;
    this.timing = timing;
    this.keyCount = keyCount;
    this.observer = observer;
    this.durableAckEarly = durableAckEarly;
    this.snapshotPolicy = snapshotPolicy;
    this.lastOpIdOfClient = new int[clientCount + 1];
  }

  public int id() {
    return id;
  }

  /** Counts this node's starts: a handle of an earlier incarnation never completes. */
  public int incarnation() {
    return incarnation;
  }

  public boolean isUp() {
    return up;
  }

  /** True while a flush (fsync) is in flight. */
  public boolean isSyncing() {
    long now = events.nowNanos();
    return up && (busyUntilNanos > now || flushDueNanos > now);
  }

  public boolean isPaused() {
    return pausedUntilNanos > events.nowNanos();
  }

  /** The live replica, for inspection; null while the node is down. */
  public Replica replica() {
    return runtime == null ? null : runtime.replica();
  }

  /** The live runtime; null while the node is down. */
  public NodeRuntime<Long> runtime() {
    return runtime;
  }

  public KvStateMachine stateMachine() {
    return stateMachine;
  }

  public SimStorage storage() {
    return storage;
  }

  public SimClock clock() {
    return clock;
  }

  // ---- lifecycle ----

  /** Starts (or restarts) the process from whatever its storage holds. */
  public void start() {
    incarnation++;
    int inc = incarnation;
    up = true;
    busyUntilNanos = 0;
    flushDueNanos = 0;
    asyncFsyncDueNanos = 0;
    passScheduled = false;
    held.clear();
    unflushedWrites.clear();
    writesInRuntime.clear();
    stateMachine = new KvStateMachine(keyCount,
        (key, ft, fi, tt, ti) -> observer.timestampRegressed(this, key,
            "k" + key + " from " + ft + "/" + fi + " to " + tt + "/" + ti));
    KvStore store = KvStore.open(stateMachine, storage,
        (meta, appliedBefore) -> observer.snapshotInstalling(this, meta, appliedBefore));
    io.respawn.node.ReplicaLog log = fsyncMode == io.respawn.sim.FsyncMode.DEFERRED
        ? storage.open(flush -> scheduleFlush(inc, flush))
        : storage.openAsync(task -> runFsyncLater(inc, task), failure -> fsyncEnded(inc, failure));
    runtime = NodeRuntime.start(configForSeed.apply(random.nextLong()), runtimeConfig, log, store,
        (to, m) -> {
          if (m instanceof io.respawn.core.Message.AppendEntries a) {
            observer.appendSent(this, to.value(), a.term(), a.entries().size());
          }
          output(() -> network.send(id, to.value(), m));
        },
        () -> clock.localNanos(events.nowNanos()), new Listener(), snapshotPolicy);
    inFlight = new InFlightWrites(runtime.replica().config().variant());
    recovery = new ValueRecovery(NodeId.of(id), store, m -> output(() -> sendPull(m)),
        recoveryMode, this::localNanos).variant(runtime.replica().config().variant());
    handOver = new LeadershipHandOver(NodeId.of(id), runtime.replica().config().variant());
    writesUnsettled = 0;
    if (warmUpMillisMax >= 0) {
      runtime.deferWarmUps();
    }
    network.setDown(id, false);
    observer.restarted(this);
    runtime.onTick();
    followRecovery();
  }

  /**
   * The process stops: volatile state is gone. A machine crash (power loss) also drops what the
   * disk had not flushed (it becomes one of its crash states) and reports every entry that lost
   * a copy that way; a process crash (kill -9) keeps everything written.
   */
  public void crash(boolean machine) {
    crash(machine, false);
  }

  /**
   * {@link #crash(boolean)}; a machine crash with {@code keepNothingUnflushed} leaves the disk in
   * its worst crash state, as of its last flush (a scenario's choice; the nemesis draws one).
   */
  public void crash(boolean machine, boolean keepNothingUnflushed) {
    // what this node wrote but had not flushed, to tell which entries the crash takes
    List<long[]> atRisk = new ArrayList<>();
    if (machine && up) {
      for (long i = storage.lastFlushedIndex() + 1; i <= storage.lastIndex(); i++) {
        long term = storage.termAt(i);
        boolean full = i <= runtime.replica().lastIndex() && i > runtime.replica().snapshotIndex()
            && !runtime.replica().log().entry(i).isElided();
        long[] w = unflushedWrites.get(i);
        long age = w == null || w[0] != term ? -1
            : events.nowNanos() - w[1] - (pausedElapsedNanos() - w[2]);
        atRisk.add(new long[] {term, i, full ? 1 : 0, age});
      }
    }
    if (runtime != null) {
      long[] now = transferCounts();
      System.arraycopy(now, 0, transfersBefore, 0, now.length);
      long[] pulled = recoveryCounts();
      System.arraycopy(pulled, 0, recoveryBefore, 0, pulled.length);
      handOverBefore[0] += handOver.giveBacks();
    }
    up = false;
    incarnation++;
    runtime = null;
    stateMachine = null;
    recovery = null; // its waiting commands belong to this incarnation: they are dropped
    handOver = null;
    held.clear();
    unflushedWrites.clear();
    writesInRuntime.clear();
    network.setDown(id, true);
    if (!machine) {
      storage.processCrash();
      return;
    }
    if (keepNothingUnflushed ? storage.machineCrashKeepingNothingUnflushed()
        : storage.machineCrash(random)) {
      crashesLosingWrites++;
    }
    for (long[] r : atRisk) {
      if (storage.termAt(r[1]) != r[0]) {
        observer.lostInMachineCrash(this, r[0], r[1], r[2] == 1, r[3]);
      }
    }
  }

  /** Crashes whose disk crash state dropped at least one written (unflushed) change. */
  public long crashesLosingWrites() {
    return crashesLosingWrites;
  }

  public void pause(long durationNanos) {
    long now = events.nowNanos();
    long until = Math.max(pausedUntilNanos, now + durationNanos);
    pausedTotalNanos += until - Math.max(pausedUntilNanos, now);
    pausedUntilNanos = until;
    holdMessagesUntil(pausedUntilNanos);
  }

  /** Virtual time this node has spent paused so far. */
  private long pausedElapsedNanos() {
    return pausedTotalNanos - Math.max(0, pausedUntilNanos - events.nowNanos());
  }

  private void holdMessagesUntil(long untilNanos) {
    network.pauseUntil(id, Math.max(untilNanos, Math.max(busyUntilNanos, pausedUntilNanos)));
  }

  private boolean ticksWhenDue;

  private boolean idle() {
    long now = events.nowNanos();
    return up && busyUntilNanos <= now && pausedUntilNanos <= now;
  }

  // ---- the runtime's simulated ports ----

  private long fsyncNanos() {
    return (timing.fsyncMicrosMin()
        + random.nextLong(timing.fsyncMicrosMax() - timing.fsyncMicrosMin() + 1)) * 1_000;
  }

  /**
   * ORDERED replica acks: the flush takes effect one simulated fsync later, while the node goes
   * on working, and the runtime hears of it then (once the node is not paused). DURABLE replica
   * acks: it takes effect now and the node is busy for the fsync.
   */
  private void scheduleFlush(int inc, Runnable flush) {
    if (runtimeConfig.replicaAck() == Durability.DURABLE) {
      flush.run();
      busyUntilNanos = Math.max(busyUntilNanos, events.nowNanos()) + fsyncNanos();
      holdMessagesUntil(busyUntilNanos);
      events.at(busyUntilNanos, () -> release(inc));
      return;
    }
    flushDueNanos = events.nowNanos() + fsyncNanos();
    events.at(flushDueNanos, () -> {
      flush.run(); // the disk makes it durable even if the process is paused; not if it crashed
      flushCompleted(inc);
    });
  }

  private void flushCompleted(int inc) {
    if (!up || inc != incarnation) {
      return;
    }
    if (!idle()) {
      events.at(Math.max(busyUntilNanos, pausedUntilNanos), () -> flushCompleted(inc));
      return;
    }
    runtime.onFlushed();
  }

  /**
   * The executor the segmented log runs its fsyncs on (FsyncMode ASYNC): the task runs one
   * simulated fsync later in virtual time (the disk makes it durable even if the process is
   * paused; a crash first leaves it to flush a disk that is gone). With ENDS_EARLY (broken) the
   * task runs now and the disk makes the bytes durable only then.
   */
  private void runFsyncLater(int inc, Runnable task) {
    asyncFsyncs++;
    long due = events.nowNanos() + fsyncNanos();
    asyncFsyncDueNanos = due;
    flushDueNanos = due;
    if (fsyncMode == io.respawn.sim.FsyncMode.ENDS_EARLY) {
      events.at(due, storage.runWithFsyncsDeferred(task));
    } else {
      events.at(due, task);
    }
  }

  /**
   * The log's fsync task ended (on the "fsync thread": the event at its due time, or inside a
   * runtime call that had to wait for it, e.g. a suffix truncation). The runtime hears of it as
   * an input of its own, never inside the call that waited. A driver that waited was blocked
   * until the fsync would have ended: the node is busy until then.
   */
  private void fsyncEnded(int inc, io.respawn.storage.StorageException failure) {
    if (!up || inc != incarnation) {
      return; // a crashed incarnation's fsync: its runtime is gone
    }
    if (failure != null) {
      throw failure; // the simulated disk does not fail; if it did, fail-stop like the member
    }
    long now = events.nowNanos();
    if (now < asyncFsyncDueNanos && fsyncMode == io.respawn.sim.FsyncMode.ASYNC) {
      asyncFsyncWaits++;
      busyUntilNanos = Math.max(busyUntilNanos, asyncFsyncDueNanos);
      holdMessagesUntil(busyUntilNanos);
      events.at(busyUntilNanos, () -> release(inc));
    }
    events.at(Math.max(now, asyncFsyncDueNanos), () -> flushCompleted(inc));
  }

  /**
   * Over every incarnation: snapshot transfers this node started as sender, chunks it sent, and
   * chunks it ignored as receiver (out of order, repeated or of an older image: each answered
   * with the offset it verified, where the sender resumes).
   */
  public long[] transferCounts() {
    long[] out = transfersBefore.clone();
    if (runtime != null) {
      out[0] += runtime.snapshotSender().transfersStarted();
      out[1] += runtime.snapshotSender().chunksSent();
      out[2] += runtime.snapshotReceiver().chunksIgnored();
    }
    return out;
  }

  /** How this node's log completes flushes ({@link io.respawn.sim.FsyncMode}). Set before start. */
  public void setFsyncMode(io.respawn.sim.FsyncMode mode) {
    this.fsyncMode = mode;
  }

  /** Fsyncs the log ran on the node's virtual-time executor, and how many a call waited for. */
  public long asyncFsyncs() {
    return asyncFsyncs;
  }

  public long asyncFsyncWaits() {
    return asyncFsyncWaits;
  }

  /** Everything the node sends leaves when it is not busy; held outputs die with a crash. */
  private void output(Runnable send) {
    if (busyUntilNanos > events.nowNanos()) {
      held.add(send);
    } else {
      send.run();
    }
  }

  private void release(int inc) {
    if (!up || inc != incarnation || busyUntilNanos > events.nowNanos()) {
      return;
    }
    if (isPaused()) {
      events.at(pausedUntilNanos, () -> release(inc));
      return;
    }
    List<Runnable> out = new ArrayList<>(held);
    held.clear();
    out.forEach(Runnable::run);
  }

  /** Reports what the runtime does to the simulation's checkers. */
  private final class Listener implements RuntimeListener<Long> {
    @Override
    public void persisted(List<Entry> entries) {
      unflushedWrites.tailMap(entries.get(0).index(), true).clear();
      for (Entry e : entries) {
        unflushedWrites.put(e.index(),
            new long[] {e.term(), events.nowNanos(), pausedElapsedNanos()});
      }
      observer.persisted(SimNode.this, entries);
    }

    @Override
    public void flushed(long index) {
      unflushedWrites.headMap(index, true).clear();
    }

    @Override
    public void applied(Entry entry, Long result) {
      observer.applied(SimNode.this, entry);
    }

    @Override
    public void statusChanged(RoleChange change) {
      observer.statusChanged(SimNode.this, change);
    }

    @Override
    public void suspicionChanged(SuspicionChange change) {
      if (change.warmUpWanted() && warmUpMillisMax >= 0) {
        int inc = incarnation;
        long delayNanos = random.nextLong(warmUpMillisMax * 1_000_000 + 1);
        events.after(delayNanos, () -> endWarmUp(inc, change.episode()));
      }
    }

    @Override
    public void snapshotKept(io.respawn.core.SnapshotMeta meta) {
      observer.snapshotKept(SimNode.this, meta, (io.respawn.sim.kv.KvImage) storage.keptSnapshot());
    }

    @Override
    public void snapshotInstalled(io.respawn.core.SnapshotMeta meta) {
      observer.snapshotInstalled(SimNode.this, meta);
    }
  }

  // ---- inputs ----

  public void tick() {
    if (!idle()) {
      return;
    }
    if (ticksWhenDue && localNanos() < runtime.tickDueNanos() && !recovery.pulling()) {
      observer.tickSkipped(this); // the server's loop sleeps too, unless it pulls values
      return;
    }
    runtime.onTick();
    followRecovery();
  }

  /**
   * Brings the replica's clock to now (unless down, paused or busy) for a query that reads it
   * (the spare policy's silences), as the server does before asking.
   */
  public void clockBeforeQuery() {
    if (idle()) {
      runtime.onClock();
    }
  }

  /**
   * Tick only when the runtime says something is due, skipping the driver's other ticks, as the
   * server's node loop does ({@code SimConfig.ticksWhenDue}); otherwise at every driver tick.
   */
  public void setTicksWhenDue(boolean v) {
    this.ticksWhenDue = v;
  }

  /** This node's clock now (what its runtime reads). */
  public long localNanos() {
    return clock.localNanos(events.nowNanos());
  }

  /**
   * The transport's hint that {@code peer} is unreachable (its process died: its connections
   * closed) or reachable again; dropped while this node is down, paused or busy, as a hint may be.
   */
  public void peerReachability(int peer, boolean reachable) {
    if (!idle()) {
      return;
    }
    if (reachable) {
      observer.reconnected(this, peer);
      runtime.onPeerReachable(NodeId.of(peer));
      recovery.onPeerReachable(NodeId.of(peer));
    } else {
      runtime.onPeerUnreachable(NodeId.of(peer));
      recovery.onPeerUnreachable(NodeId.of(peer));
    }
  }

  /** Delivers anything the network hands to this endpoint. */
  public void deliver(int from, Object message) {
    if (!up) {
      return;
    }
    if (message instanceof io.respawn.core.Message m) {
      observer.heardFrom(this, from);
      try {
        runtime.onMessage(m);
      } catch (CommittedEntryLost lost) {
        // an entry this node applied is gone elsewhere: restart, as a supervisor would, and
        // rebuild the state machine from the log
        observer.committedEntryLost(this, lost);
        crash(false);
        start();
      }
    } else if (message instanceof ClientRequest request) {
      onClientRequest(request);
    } else if (message instanceof PullMessage pull) {
      onPull(pull);
    } else {
      throw new IllegalArgumentException("unknown message " + message);
    }
    if (up) {
      followRecovery();
    }
  }

  private void onClientRequest(ClientRequest request) {
    // a duplicated or late request must not be proposed twice
    if (request.opId() <= lastOpIdOfClient[request.client()]) {
      return;
    }
    lastOpIdOfClient[request.client()] = request.opId();
    execute(request, 0);
  }

  /**
   * Runs a client command: again after a value it needed was pulled (or its pull gave up), as
   * the server's command layer re-runs a command it held for pending values; {@code
   * heldSinceNanos} is when it first waited for one (0: it has not).
   */
  private void execute(ClientRequest request, long heldSinceNanos) {
    OpKind kind = request.command().kind();
    int key = request.command().keys()[0];
    if (kind == OpKind.GET) {
      issueRead(request, heldSinceNanos);
      return;
    }
    if (!runtime.replica().canPropose() || recovery.holdsServing() || handOver.draining()) {
      reply(request, Outcome.FAIL, 0);
      return;
    }
    int[] keys = request.command().keys();
    long[] values = request.command().values();
    long result = 0;
    List<Mutation> mutations = new ArrayList<>(keys.length);
    if (kind == OpKind.INCR || kind == OpKind.DEL) {
      // Computed here, on the newest proposed value (the server's read-modify-write): under the
      // lease, from this leader's writes in flight, else its applied state.
      if (!servesReadsNow()) {
        reply(request, Outcome.FAIL, 0); // the server answers TRYAGAIN: nothing happened
        return;
      }
      InFlightWrites.Change c = inFlight.lookup(KvCommand.keyName(key));
      long current;
      if (c != null) {
        current = c.deleted() ? Op.ABSENT : valueOf(c.value());
      } else if (!stateMachine.known(key)) {
        // the value is on a backup only (this node was a witness): the command waits for it
        holdForValue(request, key, heldSinceNanos);
        return;
      } else {
        current = stateMachine.value(key);
      }
      if (kind == OpKind.INCR) {
        result = (current == Op.ABSENT ? 0 : current) + 1;
        values = new long[] {result};
        mutations.add(Mutation.put(KvCommand.keyName(key), valueBytes(result)));
      } else {
        result = current == Op.ABSENT ? 0 : 1;
        mutations.add(Mutation.delete(KvCommand.keyName(key)));
      }
    } else {
      for (int i = 0; i < keys.length; i++) {
        mutations.add(Mutation.put(KvCommand.keyName(keys[i]), valueBytes(values[i])));
      }
    }
    KvCommand command = new KvCommand(kind, request.opId(), keys, values);
    Durability level = request.durable() ? Durability.DURABLE : Durability.ORDERED;
    ProposalHandle<Long> h = runtime.propose(command.toCommand(), level);
    if (refusedQueueFull(h)) {
      queueFullRefusals++;
      String unjustified = writesInRuntime.unjustifiedRefusal(runtimeConfig);
      if (unjustified != null) {
        observer.writeBoundsBroken(this, "queue-full-unjustified",
            "op #" + request.opId() + ": " + unjustified);
      }
    } else {
      String exceeded = writesInRuntime.accepted(h, runtimeConfig);
      if (exceeded != null) {
        observer.writeBoundsBroken(this, "write-bound-exceeded",
            "op #" + request.opId() + ": " + exceeded);
      }
    }
    writesUnsettled++; // the server's drain waits for these (LeadershipHandOver), as NodeLoop
    int at = incarnation;
    (level == Durability.DURABLE ? h.durable() : h.ordered()).whenComplete((v, e) -> {
      if (at == incarnation) {
        writesUnsettled--;
      }
    });
    long sequence = nextWriteSequence++;
    InFlightWrites overlay = inFlight;
    overlay.add(sequence, mutations, h.ordered());
    int inc = incarnation;
    long reported = result;
    h.ordered().whenComplete((r, error) -> {
      overlay.settle(sequence); // applied (the state machine has it) or never: out of the overlay
      onWriteOutcome(inc, request, h, reported, error);
    });
    schedulePass();
  }

  /**
   * Whether this node may answer from its own state now: the runtime's rule the server's read
   * gate applies ({@link NodeRuntime#localReadsServableUntilNanos}), on this node's clock. Each
   * yes is a read served under the lease, which the lease-read invariant checks.
   */
  private boolean servesReadsNow() {
    if (recovery.holdsServing() || handOver.draining()
        || localNanos() >= runtime.localReadsServableUntilNanos()) {
      return false; // the server's read gate: held by an offline recovery or a hand-over
    }
    observer.readServed(this, runtime.replica().term()); // checked by the lease-read invariant
    return true;
  }

  private static byte[] valueBytes(long v) {
    return java.nio.ByteBuffer.allocate(Long.BYTES).putLong(v).array();
  }

  private static long valueOf(io.respawn.storage.StoredValue v) {
    return java.nio.ByteBuffer.wrap(v.value()).getLong();
  }

  private void onWriteOutcome(int inc, ClientRequest request, ProposalHandle<Long> h, long result,
      Throwable error) {
    if (inc != incarnation) {
      return;
    }
    if (error != null) {
      if (refusalOf(error) != Refusal.Reason.OUTCOME_UNKNOWN) {
        reply(request, Outcome.FAIL, 0); // definitely not applied
      }
      return; // may still take effect: the client times out (UNKNOWN)
    }
    // Applied: the result was computed when the write was proposed, as the server does.
    if (h.level() == Durability.DURABLE && !durableAckEarly) {
      // no answer if durability cannot be confirmed (leadership lost): the client times out
      observer.durableAckAwaited(this, request.opId(), h.term(), h.index());
      h.durable().thenRun(() -> acknowledge(inc, request, h, result));
    } else {
      acknowledge(inc, request, h, result);
    }
  }

  private void acknowledge(int inc, ClientRequest request, ProposalHandle<Long> h, long result) {
    if (inc != incarnation) {
      return;
    }
    long term = h.term();
    long index = h.index();
    boolean durable = h.level() == Durability.DURABLE;
    output(() -> {
      observer.writeAcknowledged(this, request.opId(), term, index, durable);
      sendReply(request, Outcome.OK, result);
    });
  }

  private static boolean refusedQueueFull(ProposalHandle<Long> h) {
    return h.ordered().isCompletedExceptionally()
        && h.ordered().exceptionNow() instanceof Refusal r
        && r.reason() == Refusal.Reason.QUEUE_FULL;
  }

  /** Writes this node's runtimes refused QUEUE_FULL, over its incarnations. */
  public long queueFullRefusals() {
    return queueFullRefusals;
  }

  private static Refusal.Reason refusalOf(Throwable error) {
    Throwable t = error instanceof CompletionException ce ? ce.getCause() : error;
    if (t instanceof Refusal r) {
      return r.reason();
    }
    throw new IllegalStateException("unexpected failure of a runtime future", t);
  }

  /**
   * A GET as the server's primary answers it: under the runtime's read rule, from this node's
   * writes in flight (answered once the write it returned commits; a client whose earlier replies
   * still wait reads this way on the server) or from the applied state alone (answered at once:
   * the server's acknowledged-only read, a lone client's), drawn per request so both run.
   */
  private void issueRead(ClientRequest request, long heldSinceNanos) {
    int key = request.command().keys()[0];
    if (!servesReadsNow()) {
      reply(request, Outcome.FAIL, 0);
      return;
    }
    InFlightWrites.Change c = random.nextBoolean() ? inFlight.lookup(KvCommand.keyName(key)) : null;
    if (c != null) {
      long value = c.deleted() ? Op.ABSENT : valueOf(c.value());
      if (c.gate() == null) {
        reply(request, Outcome.OK, value);
        return;
      }
      int inc = incarnation;
      c.gate().whenComplete((r, error) -> {
        if (inc == incarnation) {
          reply(request, error == null ? Outcome.OK : Outcome.FAIL, error == null ? value : 0);
        }
      });
      return;
    }
    if (!stateMachine.known(key)) {
      // a witness-turned-primary holds the key without its value: the read waits for it
      holdForValue(request, key, heldSinceNanos);
      return;
    }
    reply(request, Outcome.OK, stateMachine.value(key));
  }

  /** One loop pass ends after passMicros: everything queued is proposed / lease-checked. */
  private void schedulePass() {
    if (passScheduled) {
      return;
    }
    passScheduled = true;
    int inc = incarnation;
    events.after(timing.passMicros() * 1_000, () -> endPass(inc));
  }

  private void endPass(int inc) {
    if (!up || inc != incarnation) {
      return;
    }
    if (!idle()) {
      events.at(Math.max(busyUntilNanos, pausedUntilNanos), () -> endPass(inc));
      return;
    }
    passScheduled = false;
    runtime.processQueued();
    followRecovery();
  }

  // ---- value recovery (the server's ValueRecovery) ----

  /**
   * Online recovery: {@code request} needs {@code key}'s value, which this node holds only as a
   * timestamp; it asks for it ({@link ValueRecovery#pullNow}, a priority pull) and runs the
   * command again once the answer is in (or the pull gave up, or this node stopped leading:
   * the command then re-checks and fails or asks again), one loop pass later, as a command
   * thread would; after {@link ValueRecovery#COMMAND_WAIT_NANOS_MAX} of waiting it fails (the
   * server's TRYAGAIN).
   */
  private void holdForValue(ClientRequest request, int key, long heldSinceNanos) {
    long now = localNanos();
    if (heldSinceNanos == 0) {
      commandsHeldForValues++;
    } else if (now - heldSinceNanos >= ValueRecovery.COMMAND_WAIT_NANOS_MAX) {
      reply(request, Outcome.FAIL, 0);
      return;
    }
    long since = heldSinceNanos == 0 ? now : heldSinceNanos;
    int inc = incarnation;
    java.util.concurrent.CompletableFuture<Void> pulled =
        recovery.pullNow(List.of(KvCommand.keyName(key)));
    // Answered at once (the recovery does not lead yet, or asked nobody): look again a tick
    // later rather than every pass.
    long againMicros = pulled.isDone() ? timing.tickMicros() : timing.passMicros();
    pulled.whenComplete((r, error) ->
        events.after(againMicros * 1_000, () -> executeWhenIdle(inc, request, since)));
  }

  private void executeWhenIdle(int inc, ClientRequest request, long heldSinceNanos) {
    if (!up || inc != incarnation) {
      return; // the process that held it is gone, and the command with it
    }
    if (!idle()) {
      events.at(Math.max(busyUntilNanos, pausedUntilNanos),
          () -> executeWhenIdle(inc, request, heldSinceNanos));
      return;
    }
    execute(request, heldSinceNanos);
  }

  /** A pull message from a peer: answered, or handed to the recovery, as the node loop does. */
  private void onPull(PullMessage m) {
    long now = localNanos();
    if (m instanceof PullKeys p) {
      sendPullNow(recovery.answer(p));
    } else if (m instanceof PullKeysReply r) {
      recovery.onReply(r, now);
    } else if (m instanceof BatchPull p) {
      if (p.term() != 0) {
        sendPullNow(recovery.answerWithoutLogs(p)); // no hot and cold logs here to stream
      }
    } else if (m instanceof BatchPullReply r) {
      if (recovery.memoryReadyFor(r)) {
        recovery.onBatchReply(r, now);
      }
    }
  }

  private void sendPullNow(PullMessage m) {
    output(() -> sendPull(m));
  }

  private void sendPull(PullMessage m) {
    network.send(id, m.to().value(), m);
  }

  /**
   * After each input, as the server's node loop after each pass: recovery follows leadership
   * (starts with the voting backups as sources, stops), the leader's suspicion (a witness's
   * proactive pull), and sends what is due.
   */
  private void followRecovery() {
    if (!idle()) {
      return;
    }
    long now = localNanos();
    Replica r = runtime.replica();
    if (recovery.followLeadership(r, now) == ValueRecovery.Leadership.BEGAN) {
      handOver.leading(now);
    }
    if (handOver.transferOnceDrained(runtime, writesUnsettled, now)
        == LeadershipHandOver.Transfer.STARTED) {
      drainTransfers++;
    }
    handOver.maybeGiveBack(runtime, recovery.active(), this::connectedTo, now);
    recovery.followSuspicion(r, now);
    recovery.tick(now);
  }

  /** Whether this node's transport would hold a connection to {@code peer} now. */
  private boolean connectedTo(NodeId peer) {
    int p = peer.value();
    return !network.isDown(p) && !network.isCut(id, p) && !network.isCut(p, id);
  }

  /** Over every incarnation: give-backs started, and transfers drains ended in. */
  public long[] handOverCounts() {
    return new long[] {handOverBefore[0] + (handOver == null ? 0 : handOver.giveBacks()),
        drainTransfers};
  }

  /** Whether this node leads and serves nothing until an offline recovery ends. */
  public boolean holdsServing() {
    return up && recovery.holdsServing();
  }

  /** How a new primary gets the values it lacks; set before {@link #start()}. */
  public void setRecoveryMode(RecoveryMode mode) {
    this.recoveryMode = mode;
  }

  /** Commands that waited for a value pull, over every incarnation. */
  public long commandsHeldForValues() {
    return commandsHeldForValues;
  }

  /** Over every incarnation: recoveries that ended with every value here, values pulled. */
  public long[] recoveryCounts() {
    long[] out = recoveryBefore.clone();
    if (recovery != null) {
      out[0] += recovery.recoveries();
      out[1] += recovery.keysPulled();
    }
    return out;
  }

  /** This incarnation's value recovery; null while down. */
  public ValueRecovery recovery() {
    return recovery;
  }

  private void reply(ClientRequest request, Outcome outcome, long result) {
    output(() -> sendReply(request, outcome, result));
  }

  private void sendReply(ClientRequest request, Outcome outcome, long result) {
    int hint = -1;
    if (runtime != null && runtime.replica().leader() != null) {
      hint = runtime.replica().leader().value();
    }
    network.send(id, clientEndpoint(request.client()), new ClientReply(request.opId(), outcome,
        result, hint));
  }

  /** Clients are numbered after the replicas; the simulation sets the base. */
  private int clientEndpoint(int client) {
    return clientEndpointBase + client;
  }

  public void setClientEndpointBase(int base) {
    this.clientEndpointBase = base;
  }

  /**
   * Speculative takeover: each warm-up the core asks for lasts uniformly [0, {@code millisMax}]
   * of virtual time (the time to load the hot set and catch the log up); -1 leaves warm-ups to
   * the runtime (done at once). Set before {@link #start()}.
   */
  public void setWarmUpMillisMax(long millisMax) {
    this.warmUpMillisMax = millisMax;
  }

  /** Warm-ups reported done, and warm-ups whose episode had ended by then (aborted). */
  public long warmUpsDone() {
    return warmUpsDone;
  }

  /** Ends warm-up {@code episode} of incarnation {@code inc}, once the node is not busy or paused. */
  private void endWarmUp(int inc, long episode) {
    if (inc != incarnation || !up) {
      return; // crashed meanwhile: the warm-up died with the process
    }
    if (!idle()) {
      events.at(Math.max(busyUntilNanos, pausedUntilNanos), () -> endWarmUp(inc, episode));
      return;
    }
    warmUpsDone++;
    runtime.onWarmUpDone(episode);
  }

  /** This node's role in the configuration it sees, or null if down or not a member. */
  public Role role() {
    if (!up || !runtime.replica().membership().contains(NodeId.of(id))) {
      return null;
    }
    return runtime.replica().role();
  }

  /** Leader only: proposes a membership change and executes what it produced. */
  public boolean proposeMembership(Membership target) {
    return idle() && runtime.proposeMembership(target);
  }

  /** Leader only: lets witness standIn replace the failed backup in the write quorum. */
  public boolean standIn(int failed, int standIn) {
    return idle() && runtime.standIn(NodeId.of(failed), NodeId.of(standIn));
  }

  /** Leader only: hands leadership to {@code target} (see Replica#transferLeadership). */
  public boolean transferLeadership(int target) {
    return idle() && runtime.transferLeadership(NodeId.of(target));
  }

  public boolean isLeader() {
    return up && runtime.replica().status() == Status.LEADER;
  }

  @Override
  public String toString() {
    if (!up) {
      return "n" + id + "(down)";
    }
    Replica r = runtime.replica();
    io.respawn.node.snapshot.SnapshotImage kept = storage.keptSnapshot();
    return "n" + id + "(" + r.role() + " " + r.status() + " t" + r.term() + " last="
        + r.lastIndex() + " commit=" + r.commitIndex() + " flushed=" + r.flushedIndex()
        + " base=" + r.snapshotIndex() + " kept="
        + (kept == null ? 0 : kept.meta().index()) + ")";
  }
}
