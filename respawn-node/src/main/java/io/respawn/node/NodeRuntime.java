package io.respawn.node;

import io.respawn.core.Command;
import io.respawn.core.EntriesUnavailable;
import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.LogReader;
import io.respawn.core.Membership;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.PersistentState;
import io.respawn.core.Proposal;
import io.respawn.core.Ready;
import io.respawn.core.Replica;
import io.respawn.core.ReplicaConfig;
import io.respawn.core.RoleChange;
import io.respawn.core.SnapshotMeta;
import io.respawn.core.SnapshotSend;
import io.respawn.core.Status;
import io.respawn.core.SuspicionChange;
import io.respawn.core.Variant;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.node.snapshot.SnapshotPolicy;
import io.respawn.node.snapshot.SnapshotReceiver;
import io.respawn.node.snapshot.SnapshotSender;
import io.respawn.storage.Durability;
import io.respawn.storage.StorageException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One replica's runtime: the protocol core ({@link Replica}) plus everything done around it, on
 * ports, for the server's NodeLoop thread and for the simulator alike.
 *
 * <h2>Driving it</h2>
 *
 * One thread (the driver) calls everything; the runtime creates no thread, reads time only
 * through its {@link Clock} and never blocks except inside port calls. A loop pass:
 *
 * <pre>
 *   for each message from a peer:   runtime.onMessage(m)
 *   for each client write:          h = runtime.propose(command, ORDERED | DURABLE)
 *   for each client read:           served locally while localReadsServableUntilNanos() allows
 *   when the tick interval passed:  runtime.onTick()
 *   when an async flush completed:  runtime.onFlushed()
 *   at the end of the pass:         runtime.processQueued()   // one propose
 * </pre>
 *
 * <h2>What it does with a Ready</h2>
 *
 * In the core's contract order: (1) persist: a new term or vote with {@link
 * ReplicaLog#saveHardState} (durable), entries with {@link ReplicaLog#truncateSuffix} and
 * {@link ReplicaLog#append} (ordered; with {@code replicaAck = DURABLE} also flushed); a hard state
 * whose only change is the commit index is not written ({@link Ready#mustSync()}); (2) send the
 * messages; (3) apply committed entries to the {@link StateMachineStore} and acknowledge the
 * proposals they carry (ORDERED); (4) report role, suspicion and membership changes; (5) {@code
 * advance}, and repeat while the core has more. Reads never pass through here: the driver answers
 * them from its state machine under {@link #localReadsServableUntilNanos} (with {@link
 * InFlightWrites} for its own writes in flight).
 *
 * <h2>Flushing</h2>
 *
 * Entries are acknowledged to the leader once written in order (ORDERED replica acks). The log is
 * flushed by policy: at once when a DURABLE write waits on what it holds (on the leader, a
 * DURABLE proposal; on a follower, the leader's {@link Replica#flushWantedByLeader()}, which it
 * sends with the entries: the follower's flushed index reaches the leader and makes the DURABLE
 * acknowledgement possible), and otherwise within {@code flushIntervalMillis} of the first
 * unflushed write, on every member alike (an fsync per AppendEntries on the followers, whatever
 * the writes asked for, cost the shard more CPU than any other single step of an ORDERED write). A flush that completes later
 * (on the log's own thread, or in virtual time) is reported with {@link #onFlushed()}; one flush
 * is in flight at a time, and it covers everything written before it started.
 *
 * <h2>Snapshots and log compaction</h2>
 *
 * With a {@link SnapshotPolicy} that is enabled and a store that takes snapshots, once the store
 * has applied {@code entriesMin} entries past its last kept image (or entries whose commands
 * carry {@code logBytesMin} bytes since the last capture), and for a value keeper with {@code
 * logGrowthPercent} once those commands also carry that share of its kept image's bytes, the
 * runtime captures a new image (volatile), keeps it once the core says its index is durable on the shard ({@link
 * Replica#compactableIndex()}), and then compacts the core's log and truncates the replica log's
 * prefix up to {@code logTailEntries} behind it. A restart opens the store from its kept image and
 * replays only the log after it. A leader asked to send a peer a snapshot ({@link
 * Ready#snapshotsToSend()}) streams the kept image ({@link SnapshotSender}); a follower stages
 * what it receives ({@link SnapshotReceiver}), asks the core, and installs it in step 1 of the
 * Ready that accepts it: store first, then the replica log reset behind it.
 *
 * <h2>Failure</h2>
 *
 * A port that throws (a {@code StorageException} from the log, say) stops the runtime: every
 * pending proposal fails with {@link Refusal.Reason#OUTCOME_UNKNOWN}, the exception is
 * rethrown, and later calls throw {@link IllegalStateException}. The node must then stop and
 * restart from its replica log (fail-stop). The core's {@link io.respawn.core.CommittedEntryLost}
 * stops it the same way: an entry this node committed and applied was lost elsewhere (ORDERED
 * acks allow that after machine crashes of write-quorum members), and only a restart, which
 * rebuilds the state machine from the log, makes the node consistent again.
 *
 * <p>Not thread-safe; callbacks of the futures it hands out run inside its calls and must not
 * call back into it (that throws).
 *
 * @param <R> what applying a command returns to its client
 */
public final class NodeRuntime<R> {
  private final Replica replica;
  private final RuntimeConfig config;
  private final ReplicaLog log;
  private final StateMachineStore<R> store;
  private final Transport transport;
  private final Clock clock;
  private final RuntimeListener<R> listener;
  private final Proposals<R> proposals;
  private final long flushIntervalNanos;
  private final SnapshotPolicy snapshotPolicy;
  private final SnapshotSender snapshotSender;
  private final SnapshotReceiver snapshotReceiver;
  /** Captured, not yet kept: waits until its index is durable on the shard. */
  private SnapshotImage pendingImage;
  /**
   * A witness leader asked this member to send a peer an image at or above this index (its
   * compaction base) and the kept image is older: capture one as soon as the applied state
   * reaches it. 0: nothing asked.
   */
  private long captureForHelperAtLeast;
  /** A verified image the core is deciding about (consumed by step 1 of its Ready). */
  private SnapshotReceiver.Staged installing;
  private boolean storeTakesNoSnapshots;
  private long snapshotsKept;
  private long snapshotsInstalled;
  /** Command bytes of the entries applied since the last image was captured or installed. */
  private long appliedBytesSinceCapture;
  /** The term in which {@link #readyInTerm} last became true; 0 before. */
  private long readyTerm;

  private long nowNanos = Long.MIN_VALUE;
  /** When {@link #onTick} last ran; {@code Long.MIN_VALUE} before the first. */
  private long lastTickNanos = Long.MIN_VALUE;
  private boolean started;
  private boolean leading;
  private boolean flushInFlight;
  private boolean flushReportDue;
  private long unflushedSinceNanos;
  private boolean unflushed;
  private boolean inCall;
  private RuntimeException stoppedBy;
  /** The caller reports warm-ups ({@link #onWarmUpDone}); else each is done at once. */
  private boolean warmUpsDeferred;
  /** A warm-up episode to report done once the current Ready is executed, or 0. */
  private long warmUpDueEpisode;

  private NodeRuntime(Replica replica, RuntimeConfig config, ReplicaLog log,
      StateMachineStore<R> store, Transport transport, Clock clock, RuntimeListener<R> listener,
      SnapshotPolicy snapshotPolicy) {
    this.replica = replica;
    this.config = config;
    this.log = log;
    this.store = store;
    this.transport = transport;
    this.clock = clock;
    this.listener = listener;
    this.proposals = new Proposals<>(config, replica.config().variant());
    this.flushIntervalNanos = config.flushIntervalMillis() * 1_000_000L;
    this.snapshotPolicy = snapshotPolicy;
    this.snapshotSender = new SnapshotSender(replica.id(), snapshotPolicy,
        replica.config().variant() != io.respawn.core.Variant.SENDER_HOLDS_NO_IMAGE);
    this.snapshotReceiver = new SnapshotReceiver(replica.id(), snapshotPolicy,
        new SnapshotReceiver.Stager() {
          @Override
          public io.respawn.node.snapshot.SnapshotSink stage(SnapshotMeta meta,
              boolean keysOnly, long bodyBytes) {
            return store.stageSnapshot(meta, keysOnly, bodyBytes);
          }

          @Override
          public SnapshotReceiver.Resumed resume(long snapshotIndex, long snapshotTerm,
              long totalBytes) {
            return store.resumeStaging(snapshotIndex, snapshotTerm, totalBytes);
          }
        });
  }

  /**
   * Starts a replica from what {@code log} recovered. Nothing runs until the first input, which
   * first applies what the recovered hard state says is committed.
   */
  public static <R> NodeRuntime<R> start(ReplicaConfig coreConfig, RuntimeConfig config,
      ReplicaLog log, StateMachineStore<R> store, Transport transport, Clock clock,
      RuntimeListener<R> listener) {
    return start(coreConfig, config, log, store, transport, clock, listener, SnapshotPolicy.OFF);
  }

  /**
   * Starts a replica from what {@code store} (its kept snapshot image) and {@code log} (the
   * entries after it) recovered, taking snapshots and compacting the log by {@code policy}.
   */
  public static <R> NodeRuntime<R> start(ReplicaConfig coreConfig, RuntimeConfig config,
      ReplicaLog log, StateMachineStore<R> store, Transport transport, Clock clock,
      RuntimeListener<R> listener, SnapshotPolicy policy) {
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(coreConfig, "coreConfig");
    Objects.requireNonNull(config, "config");
    Objects.requireNonNull(log, "log");
    Objects.requireNonNull(store, "store");
    Objects.requireNonNull(transport, "transport");
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(listener, "listener");
    SnapshotImage kept = store.keptSnapshot();
    SnapshotMeta base = kept == null ? SnapshotMeta.NONE : kept.meta();
    if (store.appliedIndex() < base.index()) {
      throw new IllegalStateException("the store opened at applied index " + store.appliedIndex()
          + " below its kept snapshot " + base);
    }
    PersistentState recovered = log.load(base);
    HardState hs = recovered.hardState();
    // With ORDERED acks a committed entry can be lost in machine crashes, and a restart can find
    // an older version of an entry at a committed index: a commit index read back is not
    // trusted. The replica learns it again from its leader (a single voter at once).
    Replica replica = new Replica(coreConfig, new PersistentState(
        new HardState(hs.term(), hs.votedFor(), 0), recovered.snapshot(), recovered.log()),
        readerOf(log));
    replica.imageKept(base.index()); // the leader learns what this member can send at once
    return new NodeRuntime<>(replica, config, log, store, transport, clock, listener, policy);
  }

  /**
   * The core's {@link LogReader}: entries its in-memory log no longer holds come back from the
   * replica log, which holds every persisted entry after the last prefix truncation. A failed
   * read (a {@code StorageException}: compacted meanwhile, an I/O error, a checksum mismatch) is
   * the reader's worst case, which the core answers with a snapshot instead.
   */
  static LogReader readerOf(ReplicaLog log) {
    return (from, to, bytesMax) -> {
      try {
        return log.read(from, to, bytesMax);
      } catch (StorageException e) {
        throw new EntriesUnavailable(e.getMessage(), e);
      }
    };
  }

  // =====================================================================================
  // Inputs
  // =====================================================================================

  /** Steps a message from a peer ({@code m.to()} must be this node). */
  public void onMessage(Message m) {
    Objects.requireNonNull(m, "message");
    if (m instanceof Message.SnapshotChunk c) {
      call(() -> onSnapshotChunk(c));
    } else if (m instanceof Message.SnapshotAck a) {
      call(() -> snapshotSender.onAck(a, nowNanos));
    } else if (m instanceof Message.SendSnapshot d) {
      call(() -> onSendSnapshot(d));
    } else {
      call(() -> execute(replica.step(m, nowNanos)));
    }
  }

  /**
   * The transport's connection to {@code peer} closed and could not be re-opened (its process is
   * gone): a liveness hint for the core (see {@link Replica#peerUnreachable}).
   */
  public void onPeerUnreachable(NodeId peer) {
    Objects.requireNonNull(peer, "peer");
    call(() -> execute(replica.peerUnreachable(peer, nowNanos)));
  }

  /**
   * Speculative takeover: the caller warms up itself when a {@link
   * io.respawn.core.SuspicionChange#warmUpWanted()} reaches the listener, and reports the end
   * with {@link #onWarmUpDone}. Without this call the runtime reports every warm-up done at once
   * (its log is the core's: the catch-up before campaigning fetches what it lacks). A shard member
   * under speculative takeover defers: its warm-up stages the hot set from a backup, with a bound.
   * Call before the first input.
   */
  public void deferWarmUps() {
    warmUpsDeferred = true;
  }

  /**
   * The warm-up for suspicion {@code episode} finished (see {@link Replica#warmUpDone}); ignored
   * by the core when that episode has ended.
   */
  public void onWarmUpDone(long episode) {
    call(() -> execute(replica.warmUpDone(episode, nowNanos)));
  }

  /** The transport's connection to {@code peer} is up again. */
  public void onPeerReachable(NodeId peer) {
    Objects.requireNonNull(peer, "peer");
    call(() -> replica.peerReachable(peer));
  }

  /** Advances the core's time (heartbeats, elections, leases) and the flush interval. */
  public void onTick() {
    call(() -> {
      lastTickNanos = nowNanos;
      execute(replica.tick(nowNanos));
    });
  }

  /**
   * Brings the core's clock to now, nothing else (no timers run): call it before asking the
   * replica a question that reads its clock ({@code peerSilentFor}, {@code peerHeardWithin},
   * {@code holdsLease}), since a driver that ticks only when due may have given it no input
   * lately.
   */
  public void onClock() {
    call(() -> { });
  }

  /**
   * When the driver should call {@link #onTick} next, at the latest: the core's next deadline
   * ({@link Replica#tickDueNanos}), the flush interval of an unflushed write, and at once while a
   * snapshot is being captured, installed or sent (their progress is polled); never more than a
   * heartbeat interval after the last tick, so a wrong deadline costs at most that much and an
   * idle node's gaps between inputs stay well under the core's pause bound ({@code
   * RESUME_GAP_HEARTBEATS}, four intervals). A driver may tick earlier; skipping the ticks before
   * this time delays none of the core's timers. Loop thread.
   */
  public long tickDueNanos() {
    long cap = lastTickNanos == Long.MIN_VALUE ? nowNanos
        : lastTickNanos + replica.heartbeatIntervalNanos();
    if (pendingImage != null || installing != null || snapshotSender.activeTransfers() > 0) {
      return nowNanos;
    }
    return Math.min(Math.min(cap, replica.tickDueNanos()), intervalFlushDueNanos());
  }

  /** The replica log finished a flush it had started asynchronously. */
  public void onFlushed() {
    call(() -> {
      if (flushInFlight) {
        flushCompleted();
      }
    });
  }

  /**
   * Queues a client write for the next {@link #processQueued()}; the handle tells its (term,
   * index) and acknowledgements. Refused at once ({@link Refusal.Reason#QUEUE_FULL}) when the
   * queue, the in-flight limit or the bound on applied proposals awaiting their durable notice
   * is full (see {@link Proposals}).
   */
  public ProposalHandle<R> propose(Command command, Durability level) {
    Objects.requireNonNull(command, "command");
    Objects.requireNonNull(level, "level");
    if (command.isElided()) {
      throw new IllegalArgumentException("cannot propose an elided command");
    }
    checkUsable();
    return proposals.offer(command, level, replica.leader());
  }

  /**
   * Leader: whether it is ready to answer from its own state in its current term: the core has
   * committed an entry of this term ({@link Replica#committedInTerm}), and everything committed
   * was applied once since, so the state machine holds every write acknowledged before this node
   * led. Latched for the term (later commits run ahead of the applied index within a step). False
   * while not leading, and once the runtime has stopped (a port failed, or a committed entry was
   * lost: its state may be behind what it acknowledged).
   */
  public boolean readyInTerm() {
    if (!replica.committedInTerm() || stoppedBy != null) {
      return false;
    }
    long term = replica.term();
    if (readyTerm != term) {
      if (replica.appliedIndex() < replica.commitIndex()) {
        return false;
      }
      readyTerm = term;
    }
    return true;
  }

  /**
   * The local time until which this node may answer reads from its own state machine, without a
   * read index: {@link Long#MIN_VALUE} unless it leads and is {@link #readyInTerm}, else its lease
   * ({@link Replica#readsServableUntilNanos}). Such a read sees the applied state (and, where the
   * caller keeps them, its own writes in flight: {@link InFlightWrites}). The rule the server's
   * read gate and the simulator's primaries apply; a caller adds holds of its own (a recovery
   * that keeps values away, a hand-over under way).
   */
  public long localReadsServableUntilNanos() {
    return readyInTerm() ? replica.readsServableUntilNanos() : Long.MIN_VALUE;
  }

  /**
   * End of a loop pass: proposes what is queued as one batch (per proposalsPerBatchMax), and
   * flushes if the policy says so.
   */
  public void processQueued() {
    call(() -> {
      while (proposals.hasQueued()) {
        List<ProposalHandle<R>> batch = proposals.takeBatch();
        List<Command> commands = new ArrayList<>(batch.size());
        boolean durableWaits = false;
        for (ProposalHandle<R> h : batch) {
          commands.add(h.command());
          durableWaits |= h.level() == Durability.DURABLE;
        }
        Proposal p = replica.propose(commands, durableWaits, nowNanos);
        proposals.proposed(batch, p, replica.leader());
        execute(p.ready());
      }
    });
  }

  /** Leader only: starts a membership change (see {@link Replica#proposeMembership}). */
  public boolean proposeMembership(Membership target) {
    boolean[] ok = new boolean[1];
    call(() -> {
      ok[0] = replica.proposeMembership(target, nowNanos);
      execute(replica.ready());
    });
    return ok[0];
  }

  /** Leader only: lets a witness stand in for a failed backup (see {@link Replica#standIn}). */
  public boolean standIn(NodeId failed, NodeId standIn) {
    boolean[] ok = new boolean[1];
    call(() -> {
      ok[0] = replica.standIn(failed, standIn);
      execute(replica.ready());
    });
    return ok[0];
  }

  /**
   * Leader only: hands leadership to {@code target} (see {@link Replica#transferLeadership}).
   * Proposals queued afterwards are refused with NOT_LEADER; those already appended settle as
   * usual once the new leader commits or replaces them.
   */
  public boolean transferLeadership(NodeId target) {
    boolean[] ok = new boolean[1];
    call(() -> {
      ok[0] = replica.transferLeadership(target, nowNanos);
      execute(replica.ready());
    });
    return ok[0];
  }

  // =====================================================================================
  // Inspection
  // =====================================================================================

  /** The core, for inspection (status, term, log, membership); never call its inputs. */
  public Replica replica() {
    return replica;
  }

  public ReplicaLog log() {
    return log;
  }

  public StateMachineStore<R> store() {
    return store;
  }

  public RuntimeConfig config() {
    return config;
  }

  /** True while a flush started by the runtime has not completed. */
  public boolean flushInFlight() {
    return flushInFlight;
  }

  /**
   * Proposals queued, appended or waiting for their DURABLE notice (only the first two count
   * against {@code proposalsInFlightMax}: see {@link Proposals}).
   */
  public int proposalsInFlight() {
    return proposals.inFlight();
  }

  /** Leader: the DURABLE acknowledgement level reached (see {@link Replica#durableIndex()}); -1 otherwise. */
  public long durableIndex() {
    if (replica.status() != Status.LEADER) {
      return -1;
    }
    long idx = replica.durableIndex();
    if (config.replicaAck() == Durability.DURABLE) {
      idx = Math.max(idx, replica.commitIndex()); // every ack was flushed before it was sent
    }
    return idx;
  }

  public SnapshotSender snapshotSender() {
    return snapshotSender;
  }

  public SnapshotReceiver snapshotReceiver() {
    return snapshotReceiver;
  }

  /** Snapshot images kept by this runtime (taken here; installed ones not counted). */
  public long snapshotsKept() {
    return snapshotsKept;
  }

  /** Snapshots received from a leader and installed. */
  public long snapshotsInstalled() {
    return snapshotsInstalled;
  }

  /** The exception that stopped the runtime, or null while it runs. */
  public RuntimeException stoppedBy() {
    return stoppedBy;
  }

  // =====================================================================================
  // Executing Ready values
  // =====================================================================================

  /** Runs one input: reads the clock, guards re-entrancy, stops on a port failure. */
  private void call(Runnable input) {
    checkUsable();
    if (inCall) {
      throw new IllegalStateException("re-entrant call into the runtime (from a future callback?)");
    }
    inCall = true;
    try {
      long t = clock.nanos();
      if (t < nowNanos) {
        throw new IllegalStateException("clock went backwards: " + t + " < " + nowNanos);
      }
      nowNanos = t;
      replica.observeTime(t); // inputs without a time of their own (standIn) see it too
      if (!started) {
        started = true;
        execute(replica.ready()); // what the recovered hard state says is committed
      }
      input.run();
      afterInput();
    } catch (RuntimeException | Error e) {
      stop(e);
      throw e;
    } finally {
      inCall = false;
    }
  }

  private void checkUsable() {
    if (stoppedBy != null) {
      throw new IllegalStateException("runtime stopped after a failure: " + stoppedBy, stoppedBy);
    }
  }

  private void stop(Throwable e) {
    if (stoppedBy != null) {
      return;
    }
    stoppedBy = e instanceof RuntimeException re ? re : new IllegalStateException(e);
    snapshotSender.clear();
    snapshotReceiver.abort();
    if (installing != null) {
      installing.sink().abort();
      installing = null;
    }
    Refusal why = new Refusal(Refusal.Reason.OUTCOME_UNKNOWN, null, "the node stopped: " + e);
    proposals.failAll(why);
  }

  /** Executes {@code rd} and whatever the core produces after it, in order. */
  private void execute(Ready rd) {
    while (true) {
      persist(rd);
      for (Message m : rd.messages()) {
        transport.send(m.to(), m);
      }
      for (Entry e : rd.committedEntries()) {
        apply(e);
      }
      for (RoleChange change : rd.statusChanges()) {
        listener.statusChanged(change);
      }
      for (SuspicionChange change : rd.suspicion()) {
        listener.suspicionChanged(change);
        if (change.warmUpWanted() && !warmUpsDeferred) {
          warmUpDueEpisode = change.episode();
        }
      }
      if (rd.membership() != null) {
        listener.membershipChanged(rd.membership());
      }
      replica.advance(rd);
      boolean leaderNow = replica.status() == Status.LEADER;
      if (leading && !leaderNow) {
        proposals.leadershipLost(replica.commitIndex(), replica.leader());
        snapshotSender.clear();
      }
      for (SnapshotSend send : rd.snapshotsToSend()) {
        startTransfer(send);
      }
      leading = leaderNow;
      long durable = durableIndex();
      if (durable > 0) {
        proposals.durableThrough(durable);
      }
      rd = replica.ready();
      if (rd.isEmpty() && warmUpDueEpisode != 0) {
        long episode = warmUpDueEpisode;
        warmUpDueEpisode = 0;
        rd = replica.warmUpDone(episode, nowNanos);
      }
      if (rd.isEmpty()) {
        return;
      }
    }
  }

  /**
   * Step 1 of the contract: hard state (durable if term or vote changed; the commit index is not
   * kept, see {@link #start}), then entries.
   */
  private void persist(Ready rd) {
    if (rd.snapshotToInstall() != null) {
      install(rd.snapshotToInstall());
    }
    if (rd.hardState() != null && rd.termOrVoteChanged()) {
      HardState hs = rd.hardState();
      log.saveHardState(new HardState(hs.term(), hs.votedFor(), 0));
    }
    List<Entry> entries = rd.entriesToPersist();
    if (entries.isEmpty()) {
      return;
    }
    long first = entries.get(0).index();
    if (first <= log.lastIndex()) {
      log.truncateSuffix(first);
    }
    long flushedBefore = log.lastFlushedIndex();
    log.append(entries);
    if (log.lastFlushedIndex() > flushedBefore) {
      // the append flushed on its own (a segmented log seals a full segment: it fsyncs all it
      // holds): no flush of ours will report it, so report it once the core counts these
      // entries as persisted (afterInput). Unreported, the DURABLE index stayed short of an
      // entry every member had fsynced until another write came; with every writer waiting
      // for its DURABLE reply none came.
      flushReportDue = true;
    }
    listener.persisted(entries);
    if (!unflushed) {
      unflushed = true;
      unflushedSinceNanos = nowNanos;
    }
    if (config.replicaAck() == Durability.DURABLE) {
      log.flush();
      if (log.lastFlushedIndex() < log.lastIndex()) {
        throw new IllegalStateException("replicaAck DURABLE needs a replica log whose flush"
            + " completes before it returns; flushed " + log.lastFlushedIndex() + " of "
            + log.lastIndex());
      }
      flushReportDue = true;
    }
  }

  private void apply(Entry e) {
    long applied = store.appliedIndex();
    if (e.index() <= applied) {
      return; // the store kept it across a restart
    }
    if (e.index() != applied + 1) {
      throw new IllegalStateException("committed entry " + e.index() + " handed over after "
          + applied + ": the store skipped entries");
    }
    R result = store.apply(e);
    if (e.command() != null) {
      appliedBytesSinceCapture += e.command().dataLength();
    }
    if (store.appliedIndex() != e.index()) {
      throw new IllegalStateException("store reports applied index " + store.appliedIndex()
          + " after applying " + e.index());
    }
    listener.applied(e, result);
    proposals.applied(e, result);
  }

  // =====================================================================================
  // Snapshots
  // =====================================================================================

  /**
   * Captures an image once enough was applied since the last kept one; keeps it once its index
   * is durable on the shard; then compacts behind it (see the class comment).
   */
  private void maybeSnapshot() {
    if (!snapshotPolicy.enabled() || storeTakesNoSnapshots || installing != null) {
      return;
    }
    if (pendingImage == null) {
      SnapshotImage kept = store.keptSnapshot();
      long keptIndex = kept == null ? 0 : kept.meta().index();
      long applied = store.appliedIndex();
      if (applied != replica.appliedIndex()) {
        return;
      }
      // the applied index, or lower for a member that keeps no values (a fuzzy image)
      long label = Math.max(replica.imageLabelIndexMax(), replica.snapshotIndex());
      boolean bytesDue = snapshotPolicy.logBytesMin() > 0
          && appliedBytesSinceCapture >= snapshotPolicy.logBytesMin();
      if (captureForHelperAtLeast <= keptIndex) {
        captureForHelperAtLeast = 0; // a kept image reaches what a leader asked for
      }
      boolean helperDue = captureForHelperAtLeast > 0 && label >= captureForHelperAtLeast;
      // the log grew enough since the kept image, and the new image can move the base
      boolean due = label > keptIndex
          && (applied - keptIndex >= snapshotPolicy.entriesMin() || bytesDue)
          && grownSinceCapture(kept);
      if (!due && !helperDue) {
        return;
      }
      appliedBytesSinceCapture = 0;
      pendingImage = store.captureSnapshot(replica.snapshotMetaAt(label));
      if (pendingImage == null) {
        storeTakesNoSnapshots = true;
        return;
      }
    }
    SnapshotMeta m = pendingImage.meta();
    if (replica.compactableIndex() < m.index()) {
      return;
    }
    if (m.index() < replica.snapshotIndex() || replica.log().term(m.index()) != m.term()) {
      pendingImage = null; // overtaken (an installed snapshot) or replaced: take another later
      return;
    }
    if (!store.snapshotReady(pendingImage)) {
      return; // still being written: asked again after the next input
    }
    if (store.snapshotFailed(pendingImage)) {
      pendingImage = null; // abandoned or unwritable: take another later
      return;
    }
    if (replica.durableHereIndex() < pendingImage.effectsThroughIndex()
        && replica.config().variant() != Variant.KEEP_FUZZY_AT_INDEX) {
      return; // a fuzzy image holds effects the shard does not hold durably yet
    }
    store.keepSnapshot(pendingImage);
    replica.imageKept(m.index());
    pendingImage = null;
    snapshotsKept++;
    listener.snapshotKept(m);
    long through = Math.max(m.index() - snapshotPolicy.logTailEntries(),
        tailStartByBytes(m.index()));
    if (through > replica.snapshotIndex()) {
      SnapshotMeta base = replica.compact(through);
      log.truncatePrefix(through);
      listener.compacted(base);
    }
  }

  /** Whether the log since the last capture is large enough against the kept image (see {@link SnapshotPolicy#logGrowthPercent}). */
  private boolean grownSinceCapture(SnapshotImage kept) {
    int percent = snapshotPolicy.logGrowthPercent();
    if (percent == 0 || kept == null || kept.keysOnly() || appliedBytesSinceCapture == 0) {
      return true; // a keys-only member: its entries carry no command bytes, it goes by entries
    }
    return appliedBytesSinceCapture >= kept.bodyBytes() / 100 * percent;
  }

  /** Bytes an entry is counted for in the tail beyond its command (its header in the log). */
  static final int TAIL_ENTRY_OVERHEAD_BYTES = 64;

  /** Bytes of encoded entries one read of the tail brings back from the replica log. */
  static final long TAIL_READ_BYTES = 1 << 20;

  /** Entries in the first window {@link #tailStartByBytes} reads back from the image's index. */
  static final int TAIL_WINDOW_ENTRIES_MIN = 64;

  /**
   * The index through which the log may be compacted so that the entries kept behind the image
   * at {@code imageIndex} carry at most {@code logTailBytesMax} bytes (see {@link
   * SnapshotPolicy#logTailBytesMax}); 0 without a byte cap. Looks at most {@code logTailEntries}
   * entries back from the image's index, reading them from the replica log (the core keeps only
   * its newest entries in memory) in windows going back from the image's index, each sized by
   * the bytes still to find at the average entry size seen so far, each read in chunks of {@link
   * #TAIL_READ_BYTES}; it stops at the first window that reaches the cap. So it reads about the
   * cap's worth of entries, never all {@code logTailEntries}: it runs on the loop thread, and
   * reading back 10,000 entries of 16 KiB MSETs (E2's load) brought ~1 GB of entries onto the
   * heap right after every kept image and stalled the loop for hundreds of milliseconds.
   */
  private long tailStartByBytes(long imageIndex) {
    if (snapshotPolicy.logTailBytesMax() == 0) {
      return 0;
    }
    long capBytes = snapshotPolicy.logTailBytesMax();
    long lowest = Math.max(Math.max(replica.snapshotIndex(), log.firstIndex() - 1) + 1,
        imageIndex - snapshotPolicy.logTailEntries() + 1);
    long sum = 0;
    long seen = 0;
    long windowEnd = imageIndex;
    while (windowEnd >= lowest) {
      long entries = seen == 0 ? TAIL_WINDOW_ENTRIES_MIN
          : Math.max(TAIL_WINDOW_ENTRIES_MIN, (capBytes - sum) / Math.max(1, sum / seen) + 1);
      long windowStart = Math.max(lowest, windowEnd - entries + 1);
      long[] bytes = new long[(int) (windowEnd - windowStart + 1)];
      for (long i = windowStart; i <= windowEnd; ) {
        List<Entry> read = log.read(i, windowEnd, TAIL_READ_BYTES);
        for (Entry e : read) {
          bytes[(int) (e.index() - windowStart)] = TAIL_ENTRY_OVERHEAD_BYTES
              + (e.command() == null ? 0 : e.command().dataLength());
        }
        i += read.size();
      }
      for (long i = windowEnd; i >= windowStart; i--) {
        sum += bytes[(int) (i - windowStart)];
        seen++;
        if (sum > capBytes) {
          return i; // entries i+1..imageIndex fit; i and below go
        }
      }
      windowEnd = windowStart - 1;
    }
    return 0;
  }

  /**
   * Leader: the core asked for a transfer; stream the kept image (if it reaches the base), or ask
   * the helper it named to send one at or above the base (or above {@link
   * SnapshotSend#imageIndexMin}, when the peer needs values of entries every member that kept
   * them compacted away).
   */
  private void startTransfer(SnapshotSend send) {
    if (send.via() != null) {
      transport.send(send.via(), new Message.SendSnapshot(replica.id(), send.via(),
          replica.term(), send.to(), Math.max(replica.snapshotIndex(), send.imageIndexMin())));
      return;
    }
    SnapshotImage image = store.keptSnapshot();
    if (image == null || image.meta().index() < replica.snapshotIndex()
        || replica.status() != Status.LEADER) {
      return;
    }
    snapshotSender.request(send.to(), replica.term(),
        send.keysOnly() ? image.keysOnlyView() : image, replica.snapshotIndex(), nowNanos);
  }

  /**
   * A witness leader asks this member (which keeps values) to send its image to a peer. The
   * peer needs the state at the leader's base or later; a kept image older than the base would
   * be refused or leave the peer still behind it (the simulator's F2: hundreds of useless
   * transfers, and a shard that stopped committing). Then this member captures a new image as
   * soon as its applied state reaches the base ({@link #maybeSnapshot}), keeps it once it is
   * durable on the shard, and sends it when the leader asks again (it asks every heartbeat
   * round while the peer is behind).
   */
  private void onSendSnapshot(Message.SendSnapshot d) {
    if (d.term() != replica.term() || !d.from().equals(replica.leader())
        || d.target().equals(replica.id())) {
      return;
    }
    SnapshotImage image = store.keptSnapshot();
    if (image != null && image.keysOnly()) {
      return;
    }
    if (image == null || image.meta().index() < d.baseIndex()) {
      captureForHelperAtLeast = Math.max(captureForHelperAtLeast, d.baseIndex());
      return;
    }
    snapshotSender.request(d.target(), d.term(), image, nowNanos);
  }

  /** Follower: stage a chunk; a complete image goes to the core, which decides. */
  private void onSnapshotChunk(Message.SnapshotChunk c) {
    SnapshotReceiver.Outcome o = snapshotReceiver.onChunk(c, replica.term(),
        replica.wantsSnapshot(c.snapshotIndex()));
    if (o.ack() != null) {
      transport.send(o.ack().to(), o.ack());
    }
    if (o.complete() == null) {
      return;
    }
    SnapshotReceiver.Staged staged = o.complete();
    installing = staged;
    execute(replica.installSnapshot(staged.meta(), staged.from(), staged.term(), nowNanos));
    if (installing != null) { // refused: this node has that state already
      installing.sink().abort();
      installing = null;
    }
    Message.SnapshotAck done = snapshotReceiver.installedAck(staged, replica.term());
    transport.send(done.to(), done);
  }

  /** Step 1 of a Ready that installs a snapshot: the store, then the replica log behind it. */
  private void install(SnapshotMeta meta) {
    if (installing == null || !installing.meta().equals(meta)) {
      throw new IllegalStateException("the core installs " + meta + " but the staged image is "
          + (installing == null ? "none" : installing.meta()));
    }
    store.installSnapshot(meta, installing.sink());
    installing = null;
    if (store.appliedIndex() != meta.index()) {
      throw new IllegalStateException("store reports applied index " + store.appliedIndex()
          + " after installing " + meta);
    }
    pendingImage = null;
    appliedBytesSinceCapture = 0;
    snapshotsInstalled++;
    listener.snapshotInstalled(meta);
    log.resetAfter(meta.index());
    unflushed = false;
  }

  // =====================================================================================
  // Flushing
  // =====================================================================================

  private void afterInput() {
    if (flushReportDue) {
      flushReportDue = false;
      flushCompleted();
    }
    maybeFlush();
    maybeSnapshot();
    if (snapshotSender.activeTransfers() > 0) {
      snapshotSender.dropOlderThan(replica.term());
      for (Message.SnapshotChunk c : snapshotSender.pump(nowNanos)) {
        transport.send(c.to(), c);
      }
    }
  }

  /** Starts a flush when the policy says so (see the class comment). */
  private void maybeFlush() {
    long intervalDue = intervalFlushDueNanos();
    if (intervalDue == Long.MAX_VALUE) {
      return;
    }
    long wanted = replica.status() == Status.LEADER
        ? proposals.durableWanted() : replica.flushWantedByLeader();
    boolean due = wanted > log.lastFlushedIndex() || nowNanos >= intervalDue;
    if (!due) {
      return;
    }
    long target = log.lastIndex();
    flushInFlight = true;
    log.flush();
    if (log.lastFlushedIndex() >= target) {
      flushCompleted();
    }
  }

  /**
   * When the flush interval makes a flush due: {@code flushIntervalMillis} after the first
   * unflushed write; {@code Long.MAX_VALUE} with nothing unflushed or a flush under way.
   */
  private long intervalFlushDueNanos() {
    return flushInFlight || log.lastFlushedIndex() >= log.lastIndex() ? Long.MAX_VALUE
        : unflushedSinceNanos + flushIntervalNanos;
  }

  private void flushCompleted() {
    flushInFlight = false;
    long flushed = log.lastFlushedIndex();
    listener.flushed(flushed);
    if (flushed >= log.lastIndex()) {
      unflushed = false;
    } else {
      unflushedSinceNanos = nowNanos; // written while the flush ran: the next one is due later
    }
    execute(replica.logFlushed(flushed, nowNanos));
  }
}
