package io.respawn.server.shard;

import io.respawn.core.Command;
import io.respawn.core.FailureDetector;
import io.respawn.core.MemberReplacement;
import io.respawn.core.Membership;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.node.LeadershipHandOver;
import io.respawn.node.NodeRuntime;
import io.respawn.node.ProposalHandle;
import io.respawn.node.Refusal;
import io.respawn.server.peer.PeerTransport;
import io.respawn.node.recovery.RecoveryMode;
import io.respawn.node.recovery.ValuePull.BatchPull;
import io.respawn.node.recovery.ValuePull.BatchPullReply;
import io.respawn.node.recovery.ValuePull.PopularityReport;
import io.respawn.node.recovery.ValuePull.PullKeys;
import io.respawn.node.recovery.ValuePull.PullKeysReply;
import io.respawn.node.recovery.ValuePull.PullMessage;
import io.respawn.node.recovery.ValueRecovery;
import io.respawn.storage.Durability;
import io.respawn.storage.Mutation;
import io.respawn.storage.WriteTicket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drives this member's {@link NodeRuntime} with real ports: messages from the {@link
 * PeerTransport}, writes from the command thread ({@link ShardWrites}), ticks (below), value
 * pulls for recovery. Each pass takes every input that arrived, ends with one
 * {@code processQueued} (all connections' writes become one proposal) and publishes a {@link
 * Snapshot} the command thread reads without locks (lease, role, indexes).
 *
 * <p><b>Ticks.</b> The runtime's clock advances every {@link #TICK_NANOS} while anything is
 * going on; a member that is idle (nothing of its own under way: no recovery or warm-up, no
 * BatchPull chunks, no hand-over, no WAIT, no membership change; see {@link #quiet}) wakes for
 * its next tick only when the runtime says something falls due ({@link
 * NodeRuntime#tickDueNanos}: a heartbeat to send, a flush interval, the next time a failure
 * detector's suspicion may rise), at most {@link #IDLE_TICK_NANOS_MAX} later. An idle shard's
 * members woke 530 times a second each for ticks with nothing to do (25 ms of CPU a second
 * each); skipping them delays none of the core's timers (the simulator's sweep runs three seeds
 * in four that way, with a check that no skipped tick was due; docs/simulation.md).
 *
 * <p>Its passes run on the peer transport's event loop ({@link PeerTransport#eventLoop()}), the
 * one thread of this member that reads and writes the peer connections: a message received is
 * stepped in the pass that follows its read, without a hand-over to another thread, and the
 * messages a pass sends are written by the same thread right after it. (With a thread of its own
 * each message crossed two threads, a queue and a wake-up on each member: a quarter of the
 * shard's CPU per write went to those hand-overs.) A shard member lends that event loop to its
 * RESP server too ({@code ShardMember.SHARED_LOOP}), so a client's write is proposed, sent to the
 * followers and answered on one thread: a proposal from a command queues a pass behind the
 * commands of the same read, and an acknowledgement completes its reply without a wake-up.
 * So a pass must never wait for the peer
 * connections; the replica log's fsync runs on its own thread, as do a backup's answers to
 * pulls and snapshot captures. Other threads hand inputs over with {@link #offer}, which queues a
 * pass on the loop (at most one queued at a time).
 *
 * <p>A member that was a witness and now leads pulls the values it holds only as timestamps
 * ({@link ValueRecovery}): with {@link RecoveryMode#OFFLINE} it serves nothing until that is
 * done; with {@link RecoveryMode#ONLINE} it serves at once, and a command that needs a value not
 * here yet asks for it with {@link #pullNow}.
 *
 * <p>A hand-over (planned stop, RESPAWN HANDOVER, giving leadership back to the configured
 * primary) first <em>drains</em>: this member stops serving (commands wait for the shard to
 * settle and are then redirected), proposes the writes the command thread had already executed,
 * and waits until every write it proposed has settled (ORDERED ones applied, DURABLE ones
 * durable), at most {@link LeadershipHandOver#DRAIN_NANOS_MAX}; only then does it transfer
 * leadership ({@link LeadershipHandOver}, which the simulator runs too). So no write
 * is in flight when it stops leading, and none is answered {@code UNCERTAIN}; a write that
 * reaches it afterwards is refused unproposed, and its client is redirected to the new primary.
 *
 * <p>Threads: passes run on the peer transport's event loop; {@link #propose} and the inboxes
 * are called from other threads.
 */
public final class NodeLoop implements ShardWrites, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeLoop.class);
  /** How often the core's clock advances while anything is going on. */
  static final long TICK_NANOS = 2_000_000L;
  /**
   * Longest an idle member goes without a tick ({@link #quiet}): the node loop's own checks
   * (removal, spare replacement, giving leadership back, popularity reports) count in hundreds
   * of milliseconds or more, so they see time this much late at most.
   */
  static final long IDLE_TICK_NANOS_MAX = 50_000_000L;
  /** {@code -Drespawn.idleTicks=false} ticks every {@link #TICK_NANOS} always (comparisons). */
  static final boolean IDLE_TICKS = !"false".equals(System.getProperty("respawn.idleTicks"));
  /**
   * Longest the runtime's outgoing messages wait in {@link #outbound} while the pass handles
   * further inputs; they leave at the latest after the inbox, and at the end of the pass.
   */
  static final long OUTBOUND_HOLD_NANOS_MAX = 200_000L;
  /**
   * A pass that has run this long ends after the BatchPull chunk it just installed, and the
   * next pass is queued behind the event loop's other work: this member's clients are served on
   * the same loop, so a command waits for at most about one chunk's install (a few hundred
   * values, ~1 ms), not for every chunk that arrived meanwhile.
   */
  static final long PASS_AFTER_CHUNK_NANOS_MAX = 250_000L;
  /**
   * Whether the runtime's messages of a pass go out together, redundant acknowledgements dropped
   * ({@link OutboundBatch}); {@code -Drespawn.outboundBatch=false} sends each at once (for
   * comparisons).
   */
  static final boolean OUTBOUND_BATCH =
      Boolean.parseBoolean(System.getProperty("respawn.outboundBatch", "true"));

  /**
   * What the command thread may rely on between passes.
   *
   * @param leader the member this one believes leads, or null
   * @param servingUntilNanos local time until which this member may serve reads (its lease),
   *     {@link Long#MIN_VALUE} when it may not (not leader, nothing committed in its term yet,
   *     recovering values)
   * @param leaderSuspicion this follower's suspicion of its leader (NONE when it leads or
   *     follows no one); SOFT is where proactive recovery starts
   * @param suspicionEpisodes suspicion episodes so far (each SOFT or HARD spell of a leader)
   */
  public record Snapshot(NodeId leader, Status status, Role role, long term, long commitIndex,
      long appliedIndex, long lastIndex, long servingUntilNanos, boolean recovering,
      long keysPulled, Membership membership, FailureDetector.Suspicion leaderSuspicion,
      long suspicionEpisodes, long durableIndex, long logFlushedIndex, boolean flushInFlight,
      long coreFlushedIndex) {}

  private final NodeId self;
  private final NodeRuntime<Void> runtime;
  private final PeerTransport transport;
  /** The runtime's outgoing messages of the current pass; null when they go out at once. */
  private final OutboundBatch outbound;
  private final ValueRecovery recovery;
  /** A backup member's answers to pulls, on their own thread; null on other members. */
  private final PullAnswers answers;
  /** This loop's scheduling policy: real-time while the member takes part in a recovery. */
  private final LoopPriority loopPriority;
  /** The machine's idle CPU share, which keeps the loop real-time while there is room. Loop. */
  private final IdleCpu idleCpu = new IdleCpu();
  /** The configuration the shard is moving to, as of the last pass (null before it). */
  private volatile Membership staying;
  private final ConcurrentLinkedQueue<Object> inbox = new ConcurrentLinkedQueue<>();
  /**
   * Answers to this member's priority pulls (a client command waits for each): handled before
   * the next input of {@link #inbox}, so one does not queue behind BatchPull chunks to install,
   * appends and acknowledgements that arrived before it.
   */
  private final ConcurrentLinkedQueue<PullKeysReply> priorityInbox = new ConcurrentLinkedQueue<>();
  /**
   * BatchPull chunks to install, after everything else a pass has: a chunk's install takes
   * milliseconds of this loop, and the acknowledgements of the clients' writes that a backup
   * sends on the same connection, behind its chunks, must not wait for it (in E2 at 2 GiB every
   * write waited ~15 ms, behind the chunks in flight, while the copy ran). Installing a chunk
   * later than it arrived is safe: a value is installed only if no newer write is known here by
   * then ({@link ValueRecovery}).
   */
  private final ConcurrentLinkedQueue<BatchPullReply> chunkInbox = new ConcurrentLinkedQueue<>();
  /**
   * The first chunk in {@link #chunkInbox} waits for memory made in the background: the pass does
   * not queue another for it (the next tick's does). Node loop thread.
   */
  private boolean chunksAwaitMemory;
  /** Passes whose chunks waited for memory made in the background (INFO). */
  private final AtomicLong chunkWaitsForMemory = new AtomicLong();
  /** The peer transport's event loop, which runs the passes; null until {@link #start}. */
  private volatile io.netty.channel.EventLoop loop;
  /** The loop's thread, once it ran a pass (for {@link LoopWatchdog}). */
  private volatile Thread loopThread;
  /** When the loop last ended a pass (for {@link LoopWatchdog}). */
  private volatile long lastPassEndNanos = System.nanoTime();
  /** Watches {@link #lastPassEndNanos} from a thread of its own; null until {@link #start}. */
  private LoopWatchdog watchdog;
  /** A loop that ends no pass for this long has its threads' stacks logged. */
  static final long STALL_LOG_NANOS = 5_000_000_000L;

  /** Queues passes on {@link #loop}, one at a time. */
  private final PassQueue passes = new PassQueue(this::runPass);
  /** The wake-up armed for the next tick, or null; see {@link #armTick}. Loop thread. */
  private io.netty.util.concurrent.ScheduledFuture<?> ticker;
  /**
   * When the last wake-up armed fires or fired ({@link System#nanoTime}; {@code Long.MAX_VALUE}
   * before the first): kept after it fired until the pass it queued arms the next, so the
   * watchdog, which expects a pass by then, never sees the older end of the pass before.
   * Written on the loop.
   */
  private volatile long tickArmedAtNanos = Long.MAX_VALUE;
  /** Ticks run (INFO). */
  private final AtomicLong ticks = new AtomicLong();
  private final AtomicLong proposalsRefused = new AtomicLong();
  private final AtomicLong pullKeysAnswered = new AtomicLong();
  private volatile Snapshot snapshot;
  /**
   * While leading: how far each other member's log is known to match this one's (Raft's match
   * index), for INFO replication and ROLE; empty otherwise. Rebuilt at most every {@link
   * #PEER_PROGRESS_PUBLISH_NANOS}, so a pass does not allocate it (Redis' own figures for its
   * replicas are as old as their last REPLCONF ACK, up to a second).
   */
  private volatile PeerProgress peerProgress = PeerProgress.NONE;

  static final long PEER_PROGRESS_PUBLISH_NANOS = 100_000_000L;

  /** See {@link #peerProgress}: when it was taken, and each other member's match index. */
  public record PeerProgress(long takenAtNanos, Map<NodeId, Long> matchIndex) {
    static final PeerProgress NONE = new PeerProgress(Long.MIN_VALUE, Map.of());
  }
  private volatile boolean running = true;
  /** When the next tick is due, and when the last ran ({@link System#nanoTime}). Loop thread. */
  private long nextTickNanos;
  private long lastTickNanos;
  private FailureDetector.Suspicion loggedSuspicion = FailureDetector.Suspicion.NONE;
  /**
   * The core's stand-in figures as of the last pass that changed them ({@link #noteStandIns}),
   * for INFO: "backup>witness" per stand-in in force ("" when none) and the counters. Written by
   * the loop only.
   */
  private volatile String standIns = "";
  /** Follows a "backup>witness" pair of {@link #standIns()} while that stand-in is handed back. */
  public static final String HANDING_BACK = " (handing back)";
  private volatile long standInsStarted;
  private volatile long standInsEnded;
  private volatile long handBacksStarted;
  private volatile long handBacksCancelled;
  private volatile long standInsMoved;
  private int standInCount;
  /** Drains, give-backs and the transfers they end in (the simulator runs the same class). */
  private final LeadershipHandOver handOver;
  /** Whether this term's first moment of serving was logged. */
  private boolean servingLogged;

  /** A request to stop leading (planned stop, RESPAWN HANDOVER). */
  private record HandOver(CompletableFuture<Boolean> done) {}

  /** The peer transport found a peer unreachable (its process gone) or reachable again. */
  private record Reachability(NodeId peer, boolean up) {}

  /** The replica log's asynchronous fsync ended; {@code failure} null unless it failed. */
  private record FlushDone(io.respawn.storage.StorageException failure) {}

  /**
   * The config file's spare lines changed ({@link SparePoolWatch}): replace silent members by
   * {@code policy}'s spares from now on, keeping the spent ones in {@code spentFile}.
   */
  record SparePool(MemberReplacement policy, java.nio.file.Path spentFile) {}

  /** Writes proposed through this loop whose acknowledgement (at their level) is not settled. */
  private int writesUnsettled;

  /** Completes with why, once this member finds the shard removed it ({@link RemovalWatch}). */
  private final CompletableFuture<String> removed = new CompletableFuture<>();
  private long nextRemovalCheckNanos = Long.MIN_VALUE;
  /** When this process first saw itself a voter (without a break since), or Long.MIN_VALUE. */
  private long voterSinceNanos = Long.MIN_VALUE;
  private static final long REMOVAL_CHECK_NANOS = 1_000_000_000L;
  private CompletableFuture<Boolean> pendingHandOver;

  private final ReplicaWaits replicaWaits;
  private final MembershipChanges membershipChanges = new MembershipChanges();
  /**
   * The primary's replacement of silent members by spares; null while none are configured.
   * Written by the loop thread (and before the start), read by INFO's.
   */
  private volatile SpareReplacements spares;
  /** The membership last handed to {@link #membershipListener}. */
  private Membership membershipSeen;
  private volatile Consumer<Membership> membershipListener = m -> { };
  private volatile PopularityReports popularity;

  /** A write handed over by the command thread. */
  private record Write(Command command, Durability level, CompletableFuture<Void> ordered,
      CompletableFuture<Void> durable) {}

  /**
   * A leading member that is not of role primary gives leadership back to the voter of role
   * primary once it is caught up ({@link LeadershipHandOver#designatedPrimary}).
   */
  public NodeLoop(NodeId self,
      Function<io.respawn.node.Transport, NodeRuntime<Void>> runtime,
      PeerTransport transport, EngineStateMachine stateMachine) {
    this(self, runtime, transport, stateMachine, ShardConfig.RECOVERY_DEFAULT);
  }

  /** As above, with how this member gets missing values once it leads ({@code recoveryMode}). */
  public NodeLoop(NodeId self,
      Function<io.respawn.node.Transport, NodeRuntime<Void>> runtime,
      PeerTransport transport, EngineStateMachine stateMachine, RecoveryMode recoveryMode) {
    this.self = self;
    this.transport = transport;
    this.outbound = OUTBOUND_BATCH ? new OutboundBatch(transport) : null;
    this.runtime = runtime.apply(outbound != null ? outbound : transport);
    this.recovery = new ValueRecovery(self, stateMachine, transport::sendPull, recoveryMode,
        System::nanoTime).variant(this.runtime.replica().config().variant());
    this.handOver = new LeadershipHandOver(self, this.runtime.replica().config().variant());
    if (this.runtime.replica().config().takeover() == io.respawn.core.TakeoverMode.SPECULATIVE) {
      // Speculative takeover campaigns once the warm-up is done: the hot set staged (or its
      // bound passed), not at once (ValueRecovery#reportWarmUpsTo).
      this.runtime.deferWarmUps();
      recovery.reportWarmUpsTo(this.runtime::onWarmUpDone);
    }
    this.answers = stateMachine.store() instanceof io.respawn.storage.backup.BackupKvStore b
        ? new PullAnswers(self, b.backup(), transport::sendPull, this::staysMember, true) : null;
    this.loopPriority = new LoopPriority(self.toString());
    this.replicaWaits = new ReplicaWaits(self);
    // A backup answers pulls on its own thread, not behind the log entries this loop applies.
    transport.pullInbox(m -> {
      if (answers == null || !answers.offer(m)) {
        offer(m);
      }
    });
    transport.reachability((peer, up) -> offer(new Reachability(peer, up)));
    publish(System.nanoTime());
  }

  /** Replaces members that stay silent by these spares (before the loop starts). */
  void replaceSilentMembers(SpareReplacements replacements) {
    this.spares = replacements;
  }

  /** The spare replacements, or null when no spares are configured. */
  SpareReplacements spareReplacements() {
    return spares;
  }

  /** Popularity sampling and its reports (on when set); call before {@link #start}. */
  void reportPopularity(PopularityReports reports) {
    this.popularity = reports;
  }

  /** Sampling and reporting popularity, or null when off. */
  PopularityReports popularity() {
    return popularity;
  }

  public void start() {
    if (answers != null) {
      answers.start();
    }
    io.netty.channel.EventLoop l = transport.eventLoop();
    loop = l;
    passes.attach(l);
    nextTickNanos = System.nanoTime();
    queuePass(); // inputs offered before the start; the first pass ticks and arms the next
    lastPassEndNanos = System.nanoTime();
    // A healthy loop ends a pass by the tick it armed: silence counts from then at the latest.
    watchdog = new LoopWatchdog(() -> loopThread,
        () -> Math.max(lastPassEndNanos, tickArmedAtNanos == Long.MAX_VALUE ? Long.MIN_VALUE
            : tickArmedAtNanos - TICK_NANOS), STALL_LOG_NANOS)
        .start();
  }

  /** Inbox for the peer transport's messages (called on its event loop). */
  public void offer(Object input) {
    if (input instanceof PullKeysReply r && recovery.awaitsPriorityReply(r.requestId())) {
      priorityInbox.add(r);
    } else if (input instanceof BatchPullReply r) {
      chunkInbox.add(r);
    } else {
      inbox.add(input);
    }
    queuePass();
  }

  /** Queues a pass on the loop, ahead of its next I/O poll, unless one is queued. Any thread. */
  private void queuePass() {
    passes.queue();
  }

  /**
   * Called on the replica log's fsync thread when an asynchronous flush ended (see {@code
   * SegmentedReplicaLog.flushAsynchronously}): the loop tells the runtime, or stops the node if
   * the fsync failed.
   */
  public void flushed(io.respawn.storage.StorageException failure) {
    offer(new FlushDone(failure));
  }

  public Snapshot snapshot() {
    return snapshot;
  }

  /** Each other member's match index as of the last {@link #PEER_PROGRESS_PUBLISH_NANOS}. */
  public PeerProgress peerProgress() {
    return peerProgress;
  }

  private void publishPeerProgress(Replica r, long now) {
    if (r.status() != Status.LEADER) {
      if (peerProgress != PeerProgress.NONE) {
        peerProgress = PeerProgress.NONE;
      }
      return;
    }
    PeerProgress last = peerProgress;
    if (last != PeerProgress.NONE && now - last.takenAtNanos() < PEER_PROGRESS_PUBLISH_NANOS) {
      return;
    }
    Map<NodeId, Long> match = new java.util.TreeMap<>();
    for (NodeId id : r.membership().nodes()) {
      if (!id.equals(self)) {
        match.put(id, Math.max(0, r.matchIndex(id)));
      }
    }
    peerProgress = new PeerProgress(now, java.util.Collections.unmodifiableMap(match));
  }

  /** Keys this member sent values (or "absent") for in answers to other members' pulls. */
  public long pullKeysAnswered() {
    return pullKeysAnswered.get() + (answers == null ? 0 : answers.keysAnswered());
  }

  /**
   * Protocol messages this loop handed to the peer transport, and acknowledgements it dropped
   * because a later one of the same pass covered them ({@link OutboundBatch}); both 0 with
   * {@code respawn.outboundBatch=false}.
   */
  public long peerMessagesSent() {
    return outbound == null ? 0 : outbound.messagesSent();
  }

  public long peerAcksCoalesced() {
    return outbound == null ? 0 : outbound.responsesDropped();
  }

  public long proposalsRefused() {
    return proposalsRefused.get();
  }

  @Override
  public WriteTicket propose(List<Mutation> batch) {
    return propose(batch, Durability.ORDERED);
  }

  @Override
  public WriteTicket propose(List<Mutation> batch, boolean durableWanted) {
    return propose(batch, durableWanted ? Durability.DURABLE : Durability.ORDERED);
  }

  /** Proposes a batch; DURABLE makes the primary flush at once rather than within its interval. */
  public WriteTicket propose(List<Mutation> batch, Durability level) {
    Snapshot s = snapshot;
    if (s.status() != Status.LEADER || (s.recovering() && recovery.mode() == RecoveryMode.OFFLINE)) {
      throw new NotPrimaryException(s.recovering()
          ? "TRYAGAIN the new primary is still pulling values from a backup; retry"
          : "TRYAGAIN this member is not the primary; retry", true);
    }
    List<byte[]> keys = new ArrayList<>(batch.size());
    for (Mutation m : batch) {
      if (m.kind() != Mutation.Kind.CLEAR) {
        keys.add(m.key());
      }
    }
    // The payload is encoded here and nowhere else: the command takes it over (no copy).
    Command command = Command.ofOwned(io.respawn.storage.MutationBatchCodec.encode(batch), keys);
    Write w = new Write(command, level, new CompletableFuture<>(), new CompletableFuture<>());
    offer(w);
    long seq = System.nanoTime();
    return WriteTicket.of(seq, w.ordered(), w.durable());
  }

  @Override
  public boolean mayServeReads() {
    Snapshot s = snapshot;
    return s.servingUntilNanos() != Long.MIN_VALUE && System.nanoTime() < s.servingUntilNanos();
  }

  /**
   * One pass on the loop; if inputs are left over, queues the next behind the loop's next I/O
   * poll (the clients' commands and the peers' messages read meanwhile go first).
   */
  private void runPass() {
    if (!running) {
      return;
    }
    loopThread = Thread.currentThread();
    try {
      pass(System.nanoTime());
      lastPassEndNanos = System.nanoTime();
    } catch (RuntimeException e) {
      log.error("the node runtime stopped: {}; this member must restart", e.toString(), e);
      running = false;
      publishStopped();
      // Fail-stop: the process exits so the supervisor restarts it from its replica log.
      Runtime.getRuntime().halt(70);
      return;
    }
    if (!inbox.isEmpty() || !priorityInbox.isEmpty()
        || (!chunkInbox.isEmpty() && !chunksAwaitMemory)) {
      passes.queueAfterIo(); // left for the next pass: a flood yields to clients and peers
    }
  }

  /**
   * Installs BatchPull chunks, after the pass's other input went out: one at least, more while
   * the pass is under {@link #PASS_AFTER_CHUNK_NANOS_MAX}; the rest wait for the next pass,
   * queued behind the loop's I/O. A chunk whose values would need fresh memory made on this
   * thread waits instead ({@link ValueRecovery#memoryReadyFor}), with those behind it, for the
   * next tick's pass ({@link #chunksAwaitMemory}): the store makes it in the background meanwhile.
   */
  private void installChunks(long now) {
    chunksAwaitMemory = false;
    BatchPullReply chunk;
    while ((chunk = chunkInbox.peek()) != null) {
      if (!recovery.memoryReadyFor(chunk)) {
        chunksAwaitMemory = true;
        chunkWaitsForMemory.incrementAndGet();
        return;
      }
      chunkInbox.poll();
      recovery.onBatchReply(chunk, now);
      if (System.nanoTime() - now >= PASS_AFTER_CHUNK_NANOS_MAX) {
        return;
      }
    }
  }

  private void pass(long now) {
    Object input;
    int handled = 0;
    while (true) {
      PullKeysReply priority;
      while ((priority = priorityInbox.poll()) != null) {
        recovery.onReply(priority, System.nanoTime()); // its latency ends now, not at pass start
      }
      if ((input = inbox.poll()) == null) {
        break;
      }
      if (input instanceof Message m) {
        runtime.onMessage(m);
      } else if (input instanceof Write w) {
        propose(w);
      } else if (input instanceof PullKeys p) {
        PullKeysReply reply = recovery.answer(p);
        pullKeysAnswered.addAndGet(reply.values().size());
        transport.sendPull(reply);
      } else if (input instanceof PullKeysReply r) {
        recovery.onReply(r, now);
      } else if (input instanceof BatchPull p) {
        if (p.term() != 0) {
          transport.sendPull(recovery.answerWithoutLogs(p)); // no logs here to stream
        }
      } else if (input instanceof PopularityReport r) {
        if (popularity != null) {
          popularity.onReport(r);
        }
      } else if (input instanceof HandOver h) {
        startHandOver(h.done(), now);
      } else if (input instanceof FlushDone f) {
        if (f.failure() != null) {
          throw f.failure(); // fail-stop, like any storage failure inside the runtime
        }
        runtime.onFlushed();
      } else if (input instanceof Reachability u) {
        if (u.up()) {
          runtime.onPeerReachable(u.peer());
          recovery.onPeerReachable(u.peer());
        } else {
          log.info("{} is unreachable (its connection closed and nothing listens there)",
              u.peer());
          runtime.onPeerUnreachable(u.peer());
          recovery.onPeerUnreachable(u.peer());
        }
      } else if (input instanceof ReplicaWaits.Request q) {
        replicaWaits.add(q, runtime.replica(), now);
      } else if (input instanceof SparePool u) {
        Membership current = runtime.replica().membership();
        if (spares != null) {
          spares.usePolicy(u.policy(), current);
        } else if (!u.policy().spares().isEmpty()) { // as at start-up: no policy without spares
          SpareReplacements created = new SpareReplacements(u.policy(), u.spentFile());
          created.follow(current);
          spares = created;
        }
      } else if (input instanceof MembershipChanges.Request q) {
        if (q.op() == MembershipChanges.Op.LIST && spares != null) {
          List<String> lines = new ArrayList<>(MembershipChanges.list(runtime.replica()));
          lines.addAll(spares.describe(runtime.replica().membership()));
          q.done().complete(new MembershipChanges.Result(null, lines));
        } else {
          membershipChanges.start(q, runtime, now);
        }
      }
      if (outbound != null) {
        outbound.flushIfHeldLongerThan(OUTBOUND_HOLD_NANOS_MAX);
      }
      if (++handled % 4096 == 0 && System.nanoTime() >= nextTickNanos) {
        break; // a flood of input must not starve heartbeats
      }
    }
    if (now >= nextTickNanos) {
      runtime.onTick();
      ticks.incrementAndGet();
      lastTickNanos = now;
    }
    runtime.processQueued();
    if (outbound != null) {
      outbound.flush(); // acknowledgements, heartbeats and this pass's AppendEntries
    }
    installChunks(now);
    followLeadership(now);
    transferOnceDrained(now);
    maybeGiveBack(now);
    watchRemoval(now);
    recovery.followSuspicion(runtime.replica(), now); // proactive recovery at suspicion
    recovery.tick(now);
    loopPriority.follow(recovery.pulling()
        || (answers != null && answers.answeredSince(now - LoopPriority.LINGER_NANOS)),
        loopPriority.followsIdleCpu() && idleCpu.poll(now));
    if (popularity != null) {
      popularity.tick(runtime.replica(), recovery.active(), now);
    }
    replicaWaits.check(runtime.replica(), now);
    membershipChanges.check(runtime.replica(), now);
    if (spares != null) {
      spares.maybeStep(runtime, membershipChanges, now);
    }
    if (outbound != null) {
      outbound.flush(); // what the checks above had the runtime send
    }
    // What this pass did may bring the next tick nearer (a write to flush, a recovery begun).
    nextTickNanos = nextTickAfter(lastTickNanos);
    armTick(nextTickNanos);
    Membership m = runtime.replica().membership();
    if (!m.equals(membershipSeen)) {
      membershipSeen = m;
      if (spares != null) {
        spares.follow(m);
      }
      staying = m.leaveJoint();
      membershipListener.accept(m);
    }
    publish(now);
  }

  /**
   * The next tick after the one at {@code lastTick}: {@link #TICK_NANOS} later, or when the
   * member is {@link #quiet}, when the runtime says something falls due, at most {@link
   * #IDLE_TICK_NANOS_MAX} later.
   */
  private long nextTickAfter(long lastTick) {
    long next = lastTick + TICK_NANOS;
    if (IDLE_TICKS && quiet()) {
      next = Math.max(next, Math.min(runtime.tickDueNanos(), lastTick + IDLE_TICK_NANOS_MAX));
    }
    return next;
  }

  /**
   * Whether nothing of the node loop's own is under way that it checks at every tick: no value
   * recovery or warm-up, no BatchPull chunk waiting, no drain or hand-over, no client waiting in
   * WAIT, no membership change (an operator's or the spare policy's).
   */
  private boolean quiet() {
    return !recovery.pulling() && chunkInbox.isEmpty() && !chunksAwaitMemory && !draining()
        && pendingHandOver == null && replicaWaits.size() == 0 && !membershipChanges.busy();
  }

  /**
   * Makes sure a pass runs by {@code atNanos}: a wake-up already armed for then or earlier stays;
   * a later one is replaced. A wake-up that fires queues a pass and disarms. Loop thread.
   */
  private void armTick(long atNanos) {
    if ((ticker != null && tickArmedAtNanos <= atNanos) || !running) {
      return;
    }
    if (ticker != null) {
      ticker.cancel(false);
    }
    tickArmedAtNanos = atNanos;
    ticker = loop.schedule(() -> {
      ticker = null;
      queuePass();
    }, Math.max(0, atNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  /**
   * Whether {@code id} is in the configuration the shard is moving to (the incoming half of a
   * joint one; the one in force otherwise): a backup refuses BatchPull from a member being
   * removed ({@link PullAnswers}). Any thread; true before the first pass.
   */
  private boolean staysMember(NodeId id) {
    Membership c = staying;
    return c == null || c.contains(id);
  }

  /**
   * Told (on the loop thread, before the pass publishes its snapshot) of the membership each
   * time it changes, and once at the first pass: the transport dials whom it names.
   */
  public void membershipListener(Consumer<Membership> listener) {
    this.membershipListener = listener;
  }

  /**
   * Online recovery: asks for the values of those of {@code keys} this member holds only as
   * timestamps, in a priority pull sent at once from the calling thread (not at the loop's next
   * pass). Completes (on the loop thread, as soon as the reply is installed) once their replies
   * are applied, their pulls timed out, or this member stopped leading; the caller then checks
   * again. Any thread.
   */
  public CompletableFuture<Void> pullNow(List<byte[]> keys) {
    return recovery.pullNow(keys);
  }

  /**
   * INFO fields of value recovery (mode, phase, keys and bytes pulled, BatchPull and priority
   * pulls), whether the event loop runs real-time now ({@link LoopPriority}), the ticks it ran
   * (an idle member's come only when something falls due) and, on a backup, of the pulls it
   * answered.
   */
  public java.util.Map<String, Object> recoveryInfo() {
    java.util.Map<String, Object> m = recovery.info();
    m.put("respawn_recovery_chunks_awaited_memory", chunkWaitsForMemory.get());
    m.put("respawn_recovery_loop_realtime", loopPriority.realtimeForRecovery() ? 1 : 0);
    m.put("respawn_loop_realtime", loopPriority.realtime() ? 1 : 0);
    m.put("respawn_loop_realtime_idle_moves", loopPriority.idleMoves());
    m.put("respawn_loop_ticks", ticks.get());
    double idle = idleCpu.lastIdleShare();
    m.put("respawn_machine_idle_percent", idle < 0 ? -1 : Math.round(idle * 100));
    if (answers != null) {
      m.putAll(answers.info());
    }
    return m;
  }

  /** RESPAWN MEMBER ADD|PROMOTE|REMOVE|LIST, carried out by the loop (see {@link MembershipChanges}). */
  CompletableFuture<MembershipChanges.Result> changeMembership(MembershipChanges.Op op, NodeId id,
      Role role, String address) {
    CompletableFuture<MembershipChanges.Result> done = new CompletableFuture<>();
    offer(new MembershipChanges.Request(op, id, role, address, done));
    return done;
  }

  private void propose(Write w) {
    ProposalHandle<Void> h = runtime.propose(w.command(), w.level());
    writesUnsettled++;
    (w.level() == Durability.DURABLE ? h.durable() : h.ordered()).whenComplete((v, e) -> {
      writesUnsettled--; // on this thread: the runtime completes its futures inside its calls
      assert writesUnsettled >= 0 : "more writes settled than proposed: " + writesUnsettled;
    });
    // The callbacks hold the write's futures, not the write: an applied proposal may wait for
    // its durable notice for a while, and the write's command (its values) is not needed then.
    CompletableFuture<Void> ordered = w.ordered();
    CompletableFuture<Void> durable = w.durable();
    h.ordered().whenComplete((v, e) -> complete(ordered, e));
    h.durable().whenComplete((v, e) -> complete(durable, e));
  }

  private void complete(CompletableFuture<Void> f, Throwable e) {
    if (e == null) {
      f.complete(null);
      return;
    }
    Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null
        ? e.getCause() : e;
    if (cause instanceof Refusal r) {
      proposalsRefused.incrementAndGet();
      f.completeExceptionally(new NotPrimaryException(refusalText(r), notCarriedOut(r)));
    } else {
      f.completeExceptionally(cause);
    }
  }

  /** The error reply a client gets for a refused or unsettled write. */
  static String refusalText(Refusal r) {
    return switch (r.reason()) {
      case QUEUE_FULL -> "TRYAGAIN too many writes in flight on the primary; retry";
      case NOT_LEADER -> "TRYAGAIN this member is not the primary; retry";
      case SUPERSEDED -> "TRYAGAIN the primary changed and this write was not committed; retry";
      case OUTCOME_UNKNOWN -> "UNCERTAIN the primary changed before this write's outcome was "
          + "known; it may or may not have taken effect";
    };
  }

  /** Whether a refused write certainly did not take effect (and may be redirected). */
  static boolean notCarriedOut(Refusal r) {
    return switch (r.reason()) {
      case NOT_LEADER, SUPERSEDED -> true;
      case QUEUE_FULL, OUTCOME_UNKNOWN -> false; // back-pressure; may have taken effect
    };
  }

  /**
   * WAIT / WAITAOF (see {@link io.respawn.server.command.ShardControl#awaitReplicas}): answered
   * by the node loop once enough members hold every entry appended before the request arrived.
   */
  public CompletableFuture<io.respawn.server.command.ShardControl.ReplicaAcks> awaitReplicas(
      long localMin, long replicasMin, boolean flushed, long timeoutMillis) {
    CompletableFuture<io.respawn.server.command.ShardControl.ReplicaAcks> done =
        new CompletableFuture<>();
    offer(new ReplicaWaits.Request(localMin, replicasMin, flushed, timeoutMillis, done));
    return done;
  }

  /**
   * Asks this member to stop leading: it hands leadership to the best caught-up member (the
   * configured primary first). Completes with true once it no longer leads (at once when it did
   * not lead), false when no member could take over.
   */
  public CompletableFuture<Boolean> handOver() {
    CompletableFuture<Boolean> done = new CompletableFuture<>();
    offer(new HandOver(done));
    return done;
  }

  private void startHandOver(CompletableFuture<Boolean> done, long now) {
    Replica r = runtime.replica();
    if (r.status() != Status.LEADER) {
      done.complete(true);
      return;
    }
    if (pendingHandOver != null) { // one already under way: answer with its outcome
      pendingHandOver.thenAccept(done::complete);
      return;
    }
    pendingHandOver = done;
    startDrain(null, now);
  }

  /** Stops serving and waits for this leader's writes to settle before transferring to target. */
  private void startDrain(NodeId target, long now) {
    if (handOver.startDrain(runtime.replica(), target, now)) {
      log.info("handing leadership over: draining {} writes in flight", writesUnsettled);
    }
  }

  private boolean draining() {
    return handOver.draining();
  }

  /** Transfers leadership once the drain is over (every write settled, or its time is up). */
  private void transferOnceDrained(long now) {
    int unsettled = writesUnsettled;
    switch (handOver.transferOnceDrained(runtime, unsettled, now)) {
      case STARTED -> {
        warnIfUnsettled(unsettled);
        log.info("handing leadership over to {} (its log at {} of {})", handOver.lastTarget(),
            handOver.lastTargetMatch(), runtime.replica().lastIndex());
      }
      case REFUSED -> {
        warnIfUnsettled(unsettled);
        NodeId target = handOver.lastTarget();
        log.warn("cannot hand leadership over{}", target == null ? ": no other member may lead"
            : " to " + target);
        if (pendingHandOver != null) {
          pendingHandOver.complete(false);
          pendingHandOver = null;
        }
      }
      case NONE, LOST_LEADERSHIP -> { }
    }
  }

  private static void warnIfUnsettled(int unsettled) {
    if (unsettled > 0) {
      log.warn("{} writes still unsettled after {} ms of draining; transferring anyway",
          unsettled, LeadershipHandOver.DRAIN_NANOS_MAX / 1_000_000);
    }
  }

  /**
   * A leading member that is not the configured primary gives leadership back to it when due
   * ({@link LeadershipHandOver#maybeGiveBack}; reachable here means a connection is up: a member
   * that was just killed keeps its last match index in our progress, so that alone proves
   * nothing).
   */
  private void maybeGiveBack(long now) {
    if (handOver.maybeGiveBack(runtime, recovery.active(), transport::connected, now)) {
      log.info("giving leadership back to the configured primary {}{}",
          LeadershipHandOver.designatedPrimary(runtime.replica(), self),
          handOver.lastGiveBackBeforeReady() ? " (nothing commits in this term: "
              + (now - handOver.leaderSinceNanos()) / 1_000_000 + " ms after the election)" : "");
      log.info("handing leadership over: draining {} writes in flight", writesUnsettled);
    }
  }

  /**
   * Once a second: whether the shard removed this member while it was away ({@link
   * RemovalWatch}); if so, says why once and completes {@link #removed()} (the process then
   * stops).
   */
  private void watchRemoval(long now) {
    if (removed.isDone() || (nextRemovalCheckNanos != Long.MIN_VALUE
        && now - nextRemovalCheckNanos < 0)) {
      return;
    }
    nextRemovalCheckNanos = now + REMOVAL_CHECK_NANOS;
    // The links' times are System.nanoTime's; so are these.
    long nanoTime = System.nanoTime();
    Membership view = runtime.replica().membership();
    if (!view.isVoter(self)) {
      voterSinceNanos = Long.MIN_VALUE;
      return;
    }
    if (voterSinceNanos == Long.MIN_VALUE) {
      voterSinceNanos = nanoTime;
    }
    Map<NodeId, RemovalWatch.Refusals> refusals = new java.util.HashMap<>();
    for (io.respawn.server.peer.PeerLinkStatus l : transport.links()) {
      refusals.put(l.peer(), new RemovalWatch.Refusals(l.refusedAsNonMemberSinceNanos(),
          l.refusedAsNonMemberLastNanos()));
    }
    String why = RemovalWatch.removedWhy(self, view, voterSinceNanos, refusals, nanoTime);
    if (why != null) {
      log.error("member {} is no longer a member of the shard: {}; stopping (exit code {}), and "
          + "'respawn up' does not start it again", self.value(), why, RemovalWatch.EXIT_REMOVED);
      removed.complete(why);
    }
  }

  /**
   * Completes with why once the shard has removed this member while it was away: it then
   * serves nothing and its process stops with {@link RemovalWatch#EXIT_REMOVED}.
   */
  public CompletableFuture<String> removed() {
    return removed;
  }

  /**
   * Starts value recovery when this member becomes leader holding keys without values, stops it
   * when it stops leading ({@link ValueRecovery#followLeadership}, the simulator's call too).
   */
  private void followLeadership(long now) {
    Replica r = runtime.replica();
    switch (recovery.followLeadership(r, now)) {
      case BEGAN -> {
        handOver.leading(now);
        servingLogged = false;
        log.info("leading in term {} (commit {}); {}", r.term(), r.commitIndex(),
            recovery.active() ? "pulling values held only as timestamps from "
                + recovery.sources() + " (" + recovery.mode().spelling() + " recovery)"
                : "no values to pull");
      }
      case ENDED -> {
        if (pendingHandOver != null) {
          pendingHandOver.complete(true);
          pendingHandOver = null;
        }
        log.info("no longer leading (term {}, leader {})", r.term(), r.leader());
      }
      case UNCHANGED -> { }
    }
  }

  private void publish(long now) {
    Replica r = runtime.replica();
    publishPeerProgress(r, now);
    // The runtime's rule (leading, ready in its term, under its lease), with this server's own
    // holds: an offline recovery that keeps values away, a hand-over under way.
    long servingUntil = Long.MIN_VALUE;
    if (!recovery.holdsServing() && !draining()) {
      servingUntil = runtime.localReadsServableUntilNanos();
      if (!servingLogged && servingUntil != Long.MIN_VALUE) {
        servingLogged = true;
        log.info("serving as primary in term {}, {} ms after it was elected ({} values pulled)",
            r.term(), (now - handOver.leaderSinceNanos()) / 1_000_000, recovery.keysPulled());
      }
    }
    noteStandIns(r);
    if (r.leaderSuspicion() != loggedSuspicion) {
      if (r.leaderSuspicion() != FailureDetector.Suspicion.NONE) {
        log.info("suspects leader {} of term {}: {} (episode {}, {} takeover)", r.leader(),
            r.term(), r.leaderSuspicion(), r.suspicionEpisode(),
            r.config().takeover().spelling());
      } else {
        log.info("suspicion episode {} over (status {}, leader {})", r.suspicionEpisode(),
            r.status(), r.leader());
      }
      loggedSuspicion = r.leaderSuspicion();
    }
    snapshot = new Snapshot(r.leader(), r.status(), r.role(), r.term(), r.commitIndex(),
        r.appliedIndex(), r.lastIndex(), servingUntil, recovery.active(), recovery.keysPulled(),
        r.membership(), r.leaderSuspicion(), r.suspicionEpisode(), r.durableIndex(),
        runtime.log().lastFlushedIndex(), runtime.flushInFlight(), r.flushedIndex());
  }

  /**
   * Logs each stand-in the core starts or ends by itself (a backup silent past {@code
   * stand-in-after-ms}, and caught up again) and publishes the ones in force for INFO; reads the
   * core's counters only, so a pass without a change costs no copy.
   */
  private void noteStandIns(Replica r) {
    if (r.standInsStarted() == standInsStarted && r.standInsEnded() == standInsEnded
        && r.standInCount() == standInCount && r.handBacksStarted() == handBacksStarted
        && r.handBacksCancelled() == handBacksCancelled && r.standInsMoved() == standInsMoved) {
      return;
    }
    StringBuilder text = new StringBuilder();
    Map<NodeId, Long> handBacks = r.handBacks();
    r.standIns().forEach((backup, witness) -> text.append(text.isEmpty() ? "" : ",")
        .append(backup.value()).append('>').append(witness.value())
        .append(handBacks.containsKey(backup) ? HANDING_BACK : ""));
    if (r.standInsStarted() > standInsStarted) {
      log.warn("a witness stands in for a silent backup (backup>witness: {}); writes commit "
          + "without that backup until it is back and caught up", text);
    }
    if (r.standInsMoved() > standInsMoved) {
      log.warn("the witness standing in for a silent backup fell silent too: another witness "
          + "stands in now (backup>witness: {})", text);
    }
    if (r.handBacksStarted() > handBacksStarted) {
      handBacks.forEach((backup, through) -> log.info("backup {} answers and has caught up: "
          + "writes need it again, and its stand-in ends once it flushed through index {}",
          backup, through));
    }
    if (r.handBacksCancelled() > handBacksCancelled) {
      log.warn("a hand-back was called off before its stand-in ended (the backup fell silent "
          + "again, or the configuration changed): the witness stands in alone again ({})",
          text.isEmpty() ? "none" : text);
    }
    if (r.standInsEnded() > standInsEnded) {
      log.info("backup {} caught up: the stand-in for it ended (in force now: {})",
          r.lastStandInEndedFor(), text.isEmpty() ? "none" : text);
    }
    standInCount = r.standInCount();
    standIns = text.toString();
    standInsStarted = r.standInsStarted();
    standInsEnded = r.standInsEnded();
    handBacksStarted = r.handBacksStarted();
    handBacksCancelled = r.handBacksCancelled();
    standInsMoved = r.standInsMoved();
  }

  /** The stand-ins in force as "backup>witness", comma-separated; "" when none. */
  public String standIns() {
    return standIns;
  }

  /** Stand-ins this member started by itself while it led (this process's lifetime). */
  public long standInsStarted() {
    return standInsStarted;
  }

  /** Stand-ins it moved to another witness because the one standing in fell silent too. */
  public long standInsMoved() {
    return standInsMoved;
  }

  /** Of those, the ones it ended once the backup had caught up. */
  public long standInsEnded() {
    return standInsEnded;
  }

  /** Stand-ins it began to hand back (their backup answered and had caught up). */
  public long handBacksStarted() {
    return handBacksStarted;
  }

  /** Hand-backs it cancelled: the backup fell silent again, or the configuration changed. */
  public long handBacksCancelled() {
    return handBacksCancelled;
  }

  private void publishStopped() {
    peerProgress = PeerProgress.NONE;
    Snapshot s = snapshot;
    snapshot = new Snapshot(null, Status.FOLLOWER, s.role(), s.term(), s.commitIndex(),
        s.appliedIndex(), s.lastIndex(), Long.MIN_VALUE, false, s.keysPulled(), s.membership(),
        FailureDetector.Suspicion.NONE, s.suspicionEpisodes(), s.durableIndex(),
        s.logFlushedIndex(), false, s.coreFlushedIndex());
  }

  @Override
  public void close() {
    running = false;
    if (watchdog != null) {
      watchdog.close();
    }
    io.netty.channel.EventLoop l = loop;
    if (l != null) {
      if (ticker != null) {
        ticker.cancel(false);
      }
      if (!l.inEventLoop()) {
        // a pass under way ends before the store and the transport close behind us
        l.submit(() -> { }).awaitUninterruptibly(TimeUnit.SECONDS.toMillis(5));
      }
    }
    if (answers != null) {
      answers.close(); // ends every BatchPull scan: the store's GC resumes
    }
    idleCpu.close();
  }
}
