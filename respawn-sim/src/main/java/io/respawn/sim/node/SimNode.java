package io.respawn.sim.node;

import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.ReadRequest;
import io.respawn.core.ReadResult;
import io.respawn.core.Ready;
import io.respawn.core.Replica;
import io.respawn.core.ReplicaConfig;
import io.respawn.core.RoleChange;
import io.respawn.core.Status;
import io.respawn.sim.clock.SimClock;
import io.respawn.sim.event.EventQueue;
import io.respawn.sim.kv.KvCommand;
import io.respawn.sim.kv.KvStateMachine;
import io.respawn.sim.lin.OpKind;
import io.respawn.sim.lin.Outcome;
import io.respawn.sim.net.SimNetwork;
import io.respawn.sim.storage.ReplicaStorage;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongFunction;

/**
 * One simulated replica process: the real {@link Replica} plus what the runtime does around it
 * (the simulator's stand-in for respawn-server's NodeLoop).
 *
 * <p>It executes each {@link Ready} as the core's contract says: write the hard state and
 * entries, wait for the (simulated) fsync, and only then send messages, apply committed entries
 * to the {@link KvStateMachine}, answer reads and acknowledge with {@code advance}. While an
 * fsync is in flight the node is busy: arriving messages wait in the network and ticks are
 * skipped, as a NodeLoop blocked on fsync would behave. A crash during the fsync leaves the
 * storage in one of its crash states and the messages unsent.
 *
 * <p>Clients talk to it with {@link ClientRequest}: writes are proposed and answered when the
 * entry is applied here; GETs go through the core's lease read. A value this node holds only in
 * elided form (it was a witness) is pulled from a backup before it is served.
 *
 * <p>Owned by the simulation thread.
 */
public final class SimNode {

  private record PendingWrite(ClientRequest request, long term, Entry entry) {}

  private record WaitingRead(ClientRequest request, long readIndex) {}

  private final int id;
  private final LongFunction<ReplicaConfig> configForSeed;
  private final ReplicaStorage storage;
  private final SimClock clock;
  private final EventQueue events;
  private final SimNetwork<Object> network;
  private final SplittableRandom random;
  private final NodeTiming timing;
  private final int keyCount;
  private final NodeObserver observer;

  private Replica replica;
  private KvStateMachine stateMachine;
  private boolean up;
  private int incarnation;
  private long busyUntilNanos;
  private long pausedUntilNanos;
  private long readSequence;
  private final Map<Long, PendingWrite> pendingWrites = new HashMap<>();
  private final Map<Long, ClientRequest> pendingReads = new HashMap<>();
  private final List<WaitingRead> waitingReads = new ArrayList<>();
  private final long[] pullSentAtNanos;
  private final int[] lastOpIdOfClient;
  private int pullRotation;
  private int clientEndpointBase;
  private long crashesLosingWrites;

  public SimNode(int id, LongFunction<ReplicaConfig> configForSeed, ReplicaStorage storage,
      SimClock clock, EventQueue events, SimNetwork<Object> network, SplittableRandom random,
      NodeTiming timing, int keyCount, int clientCount, NodeObserver observer) {
    this.id = id;
    this.configForSeed = configForSeed;
    this.storage = storage;
    this.clock = clock;
    this.events = events;
    this.network = network;
    this.random = random;
    this.timing = timing;
    this.keyCount = keyCount;
    this.observer = observer;
    this.pullSentAtNanos = new long[keyCount];
    this.lastOpIdOfClient = new int[clientCount + 1];
  }

  public int id() {
    return id;
  }

  public boolean isUp() {
    return up;
  }

  /** True while a Ready waits for its fsync. */
  public boolean isSyncing() {
    return up && busyUntilNanos > events.nowNanos();
  }

  public boolean isPaused() {
    return pausedUntilNanos > events.nowNanos();
  }

  /** The live replica; null while the node is down. */
  public Replica replica() {
    return replica;
  }

  public KvStateMachine stateMachine() {
    return stateMachine;
  }

  public ReplicaStorage storage() {
    return storage;
  }

  public SimClock clock() {
    return clock;
  }

  private long localNanos() {
    return clock.localNanos(events.nowNanos());
  }

  // ---- lifecycle ----

  /** Starts (or restarts) the process from whatever its storage holds. */
  public void start() {
    replica = new Replica(configForSeed.apply(random.nextLong()), storage.recover());
    stateMachine = new KvStateMachine(keyCount,
        (key, ft, fi, tt, ti) -> observer.timestampRegressed(this, key,
            "k" + key + " from " + ft + "/" + fi + " to " + tt + "/" + ti));
    up = true;
    incarnation++;
    busyUntilNanos = 0;
    network.setDown(id, false);
    execute(replica.ready());
  }

  /** Power loss: volatile state is gone, storage drops to a crash state. */
  public void crash() {
    up = false;
    incarnation++;
    replica = null;
    stateMachine = null;
    pendingWrites.clear();
    pendingReads.clear();
    waitingReads.clear();
    network.setDown(id, true);
    if (storage.crash(random)) {
      crashesLosingWrites++;
    }
  }

  /** Crashes whose disk crash state dropped at least one written (unsynced) batch. */
  public long crashesLosingWrites() {
    return crashesLosingWrites;
  }

  public void pause(long durationNanos) {
    pausedUntilNanos = Math.max(pausedUntilNanos, events.nowNanos() + durationNanos);
    holdMessagesUntil(pausedUntilNanos);
  }

  private void holdMessagesUntil(long untilNanos) {
    network.pauseUntil(id, Math.max(untilNanos, Math.max(busyUntilNanos, pausedUntilNanos)));
  }

  private boolean idle() {
    long now = events.nowNanos();
    return up && busyUntilNanos <= now && pausedUntilNanos <= now;
  }

  // ---- inputs ----

  public void tick() {
    if (idle()) {
      execute(replica.tick(localNanos()));
    }
  }

  /** Delivers anything the network hands to this endpoint. */
  public void deliver(int from, Object message) {
    if (!up) {
      return;
    }
    if (message instanceof Message m) {
      execute(replica.step(m, localNanos()));
    } else if (message instanceof ClientRequest request) {
      onClientRequest(request);
    } else if (message instanceof ValuePull pull) {
      answerPull(pull);
    } else if (message instanceof ValuePullReply reply) {
      boolean filled = reply.known()
          && stateMachine.fill(reply.key(), reply.term(), reply.index(), reply.value());
      if (filled || stateMachine.known(reply.key())) {
        serveWaitingReads();
      }
    } else {
      throw new IllegalArgumentException("unknown message " + message);
    }
  }

  private void onClientRequest(ClientRequest request) {
    // a duplicated or late request must not be proposed twice
    if (request.opId() <= lastOpIdOfClient[request.client()]) {
      return;
    }
    lastOpIdOfClient[request.client()] = request.opId();
    OpKind kind = request.command().kind();
    int key = request.command().keys()[0];
    if (kind == OpKind.GET) {
      long readId = ++readSequence;
      pendingReads.put(readId, request);
      execute(replica.read(new ReadRequest(readId), localNanos()));
      return;
    }
    if (!replica.canPropose()) {
      reply(request, Outcome.FAIL, 0);
      return;
    }
    if ((kind == OpKind.INCR || kind == OpKind.DEL) && !stateMachine.known(key)) {
      // the result depends on a value this node only has elided: fetch it, let the client retry
      pull(key);
      reply(request, Outcome.FAIL, 0);
      return;
    }
    KvCommand command = new KvCommand(kind, request.opId(), request.command().keys(),
        request.command().values());
    Ready ready = replica.propose(command.toCommand(), localNanos()).ready();
    List<Entry> appended = ready.entriesToPersist();
    Entry mine = appended.isEmpty() ? null : appended.get(appended.size() - 1);
    if (mine == null || mine.kind() != EntryKind.NORMAL || mine.isElided()
        || KvCommand.decode(mine.command()).opId() != request.opId()) {
      execute(ready);
      reply(request, Outcome.FAIL, 0);
      return;
    }
    pendingWrites.put(mine.index(), new PendingWrite(request, mine.term(), mine));
    execute(ready);
  }

  // ---- executing a Ready ----

  private void execute(Ready ready) {
    if (ready.hardState() == null && ready.entriesToPersist().isEmpty()) {
      finish(ready);
      return;
    }
    storage.write(ready.hardState(), ready.entriesToPersist());
    if (!ready.entriesToPersist().isEmpty()) {
      observer.persisted(this, ready.entriesToPersist());
    }
    long fsyncMicros = timing.fsyncMicrosMin()
        + random.nextLong(timing.fsyncMicrosMax() - timing.fsyncMicrosMin() + 1);
    busyUntilNanos = events.nowNanos() + fsyncMicros * 1_000;
    holdMessagesUntil(busyUntilNanos);
    int expected = incarnation;
    events.at(busyUntilNanos, () -> fsyncDone(expected, ready));
  }

  private void fsyncDone(int expectedIncarnation, Ready ready) {
    if (!up || incarnation != expectedIncarnation) {
      return; // crashed while the fsync was in flight: the crash state decides what survived
    }
    if (isPaused()) {
      events.at(pausedUntilNanos, () -> fsyncDone(expectedIncarnation, ready));
      return;
    }
    storage.sync();
    finish(ready);
  }

  private void finish(Ready ready) {
    for (Message m : ready.messages()) {
      network.send(id, m.to().value(), m);
    }
    for (Entry e : ready.committedEntries()) {
      long result = stateMachine.apply(e);
      observer.applied(this, e);
      PendingWrite pw = pendingWrites.remove(e.index());
      if (pw != null) {
        answerWrite(pw, e, result);
      }
    }
    for (ReadResult r : ready.reads()) {
      ClientRequest request = pendingReads.remove(r.id());
      if (request == null) {
        continue;
      }
      if (!r.ok()) {
        reply(request, Outcome.FAIL, 0);
      } else {
        observer.readServed(this, replica.term());
        waitingReads.add(new WaitingRead(request, r.readIndex()));
      }
    }
    for (RoleChange change : ready.statusChanges()) {
      observer.statusChanged(this, change);
    }
    replica.advance(ready);
    serveWaitingReads();
    Ready next = replica.ready();
    if (!next.isEmpty()) {
      execute(next);
    }
  }

  private void answerWrite(PendingWrite pw, Entry applied, long result) {
    boolean same = applied.term() == pw.term && applied.kind() == EntryKind.NORMAL
        && !applied.isElided()
        && KvCommand.decode(applied.command()).opId() == pw.request.opId();
    if (!same) {
      // another entry is committed at our index: ours can never commit
      reply(pw.request, Outcome.FAIL, 0);
    } else if (result != KvStateMachine.UNKNOWN_RESULT) {
      observer.writeAcknowledged(pw.request.opId(), applied.term(), applied.index());
      reply(pw.request, Outcome.OK, result);
    }
    // else: committed but the result is unknowable here; the client times out (UNKNOWN)
  }

  private void serveWaitingReads() {
    Iterator<WaitingRead> it = waitingReads.iterator();
    while (it.hasNext()) {
      WaitingRead w = it.next();
      int key = w.request.command().keys()[0];
      if (stateMachine.appliedIndex() < w.readIndex) {
        continue;
      }
      if (!stateMachine.known(key)) {
        pull(key);
        continue;
      }
      reply(w.request, Outcome.OK, stateMachine.value(key));
      it.remove();
    }
  }

  // ---- value pulls (live recovery, one key at a time) ----

  private void pull(int key) {
    long now = events.nowNanos();
    if (pullSentAtNanos[key] != 0 && now - pullSentAtNanos[key] < timing.pullRetryMicros() * 1_000) {
      return;
    }
    // Voting backups hold every committed value (DESIGN 5.1). A configuration may have none for
    // a while (a failed backup removed, its replacement still a learner); then the values are
    // on the primary and the witnesses that received full entries, so ask every member in turn.
    List<NodeId> sources = new ArrayList<>(replica.membership().votingBackups());
    for (NodeId member : replica.membership().nodes()) {
      if (member.value() != id && !sources.contains(member)) {
        sources.add(member);
      }
    }
    if (sources.isEmpty()) {
      return;
    }
    pullSentAtNanos[key] = now;
    NodeId target = sources.get(Math.floorMod(pullRotation++, sources.size()));
    network.send(id, target.value(), new ValuePull(id, key));
    int expected = incarnation;
    events.after(timing.pullRetryMicros() * 1_000, () -> {
      if (up && incarnation == expected && !stateMachine.known(key) && !waitingReads.isEmpty()) {
        serveWaitingReads();
      }
    });
  }

  private void answerPull(ValuePull pull) {
    KvStateMachine sm = stateMachine;
    network.send(id, pull.from(), new ValuePullReply(pull.key(), sm.known(pull.key()),
        sm.value(pull.key()), sm.tsTerm(pull.key()), sm.tsIndex(pull.key())));
  }

  private void reply(ClientRequest request, Outcome outcome, long result) {
    int hint = -1;
    if (replica != null && replica.leader() != null) {
      hint = replica.leader().value();
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

  /** This node's role in the configuration it sees, or null if down or not a member. */
  public io.respawn.core.Role role() {
    if (!up || !replica.membership().contains(NodeId.of(id))) {
      return null;
    }
    return replica.role();
  }

  /** Leader only: proposes a membership change and executes what it produced. */
  public boolean proposeMembership(io.respawn.core.Membership target) {
    if (!idle() || !replica.proposeMembership(target, localNanos())) {
      return false;
    }
    execute(replica.ready());
    return true;
  }

  /** Leader only: lets witness standIn replace the failed backup in the write quorum. */
  public boolean standIn(int failed, int standIn) {
    if (!idle() || !replica.standIn(NodeId.of(failed), NodeId.of(standIn))) {
      return false;
    }
    execute(replica.ready());
    return true;
  }

  public boolean isLeader() {
    return up && replica.status() == Status.LEADER;
  }

  @Override
  public String toString() {
    if (!up) {
      return "n" + id + "(down)";
    }
    return "n" + id + "(" + replica.role() + " " + replica.status() + " t" + replica.term()
        + " last=" + replica.lastIndex() + " commit=" + replica.commitIndex() + ")";
  }
}
