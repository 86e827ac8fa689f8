package io.respawn.core;

/**
 * One replica of one shard: the whole replication protocol as a pure, deterministic state
 * machine (the shape of etcd raft's Step/Ready/Advance).
 *
 * <h2>Driving it</h2>
 *
 * <pre>
 *   Replica r = new Replica(config, persistedStateOrEmpty);
 *   loop:
 *     Ready rd = r.tick(now)            // every few ms
 *             | r.step(msg, now)        // for every message whose to() is this node
 *             | r.propose(cmd, now)     // leader only: a client write
 *             | r.read(req, now)        // leader only: a client read under the lease
 *     execute rd (see {@link Ready}: persist, then send, then apply, then answer reads)
 *     r.advance(rd)
 * </pre>
 *
 * Every input method returns what that input produced (plus anything still pending); each
 * {@link Ready} is handed out once. Ready values must be executed and acknowledged in the order
 * they were returned. {@code nowNanos} is this node's own clock: it must never decrease, it may
 * run fast or slow against real time by at most {@link ReplicaConfig#clockDriftMax()}, and it is
 * the only notion of time the core has. Randomness comes from {@link ReplicaConfig#randomSeed()}.
 *
 * <h2>Persistence contract</h2>
 *
 * The runtime must persist a Ready's hard state and entries before sending its messages (a vote
 * or an AppendEntries ack is a promise about persisted state) and must not apply an entry before
 * it is persisted. On restart it passes the persisted hard state and log back to the
 * constructor. The leader counts its own log toward a quorum only up to the last index the
 * runtime has acknowledged via {@link #advance(Ready)}.
 *
 * <h2>Threading</h2>
 *
 * Not thread-safe: one owner (the runtime's NodeLoop, or the simulator) calls everything.
 *
 * <p>Invariants (checked after every input): {@code commitIndex <= lastIndex};
 * {@code appliedIndex <= commitIndex}; {@code commitIndex} and {@code term} never decrease; a
 * leader's log holds an entry of every term it led only after that term's no-op.
 */
public final class Replica {
  private final ReplicaConfig config;

  /** Restores a replica from its persisted state ({@link PersistentState#EMPTY} when new). */
  public Replica(ReplicaConfig config, PersistentState state) {
    this.config = config;
    throw new UnsupportedOperationException("core: API only, implementation follows");
  }

  /** Advances time: heartbeats, election timeouts, lease expiry, catch-up timeouts. */
  public Ready tick(long nowNanos) {
    throw new UnsupportedOperationException();
  }

  /** Handles one message addressed to this replica ({@code m.to()} must equal {@link #id()}). */
  public Ready step(Message m, long nowNanos) {
    throw new UnsupportedOperationException();
  }

  /**
   * Appends a client write if this replica can accept writes ({@link #canPropose()}); then the
   * new entry is {@code (term(), lastIndex())} and the last of {@link Ready#entriesToPersist()}.
   * Otherwise nothing is appended and the returned Ready carries no entry for it. The command's
   * keys travel to witnesses; its data only to members that store values.
   */
  public Ready propose(Command command, long nowNanos) {
    throw new UnsupportedOperationException();
  }

  /**
   * Asks to serve a linearizable read locally; the Ready's {@link Ready#reads()} holds the answer
   * (ok with a read index, or refused: not leader / no lease / nothing committed in this term).
   */
  public Ready read(ReadRequest request, long nowNanos) {
    throw new UnsupportedOperationException();
  }

  /**
   * Leader only: starts moving to {@code target} (a simple configuration). If the set of voters
   * or their roles change this goes through a joint configuration first; the leader leaves the
   * joint configuration by itself once it commits. Learners can be added or removed directly.
   * Returns false (and does nothing) when not leader or a configuration change is in flight.
   */
  public boolean proposeMembership(Membership target, long nowNanos) {
    throw new UnsupportedOperationException();
  }

  /**
   * Leader only: treat voting backup {@code failed} as gone and let voting witness
   * {@code standIn} take its place in the write quorum (it then receives full entries), so that
   * the configuration change removing {@code failed} can commit. Leader-local; cleared when the
   * leader steps down or the backup is no longer a voter.
   */
  public boolean standIn(NodeId failed, NodeId standIn) {
    throw new UnsupportedOperationException();
  }

  /** Anything produced since the last Ready (e.g. after an {@link #advance(Ready)}). */
  public Ready ready() {
    throw new UnsupportedOperationException();
  }

  /** Acknowledges that {@code ready} was executed (persisted, sent, applied, answered). */
  public void advance(Ready ready) {
    throw new UnsupportedOperationException();
  }

  // ---- inspection, for the runtime and the simulator's checkers ----

  public NodeId id() {
    return config.self();
  }

  public ReplicaConfig config() {
    return config;
  }

  /** This node's role in the configuration in effect. */
  public Role role() {
    throw new UnsupportedOperationException();
  }

  public Status status() {
    throw new UnsupportedOperationException();
  }

  public long term() {
    throw new UnsupportedOperationException();
  }

  public NodeId votedFor() {
    throw new UnsupportedOperationException();
  }

  /** The leader of the current term as far as this node knows, or null. */
  public NodeId leader() {
    throw new UnsupportedOperationException();
  }

  public long commitIndex() {
    throw new UnsupportedOperationException();
  }

  /** Last index acknowledged as applied via {@link #advance(Ready)}. */
  public long appliedIndex() {
    throw new UnsupportedOperationException();
  }

  public long lastIndex() {
    throw new UnsupportedOperationException();
  }

  public long lastTerm() {
    throw new UnsupportedOperationException();
  }

  public LogView log() {
    throw new UnsupportedOperationException();
  }

  /** The configuration in effect (the latest CONFIG entry in the log, or the bootstrap one). */
  public Membership membership() {
    throw new UnsupportedOperationException();
  }

  /** True for a leader that can accept writes now. */
  public boolean canPropose() {
    throw new UnsupportedOperationException();
  }

  /**
   * Leader: the local time (this node's clock) until which it may serve reads, from its quorum of
   * heartbeat acks; {@link Long#MIN_VALUE} when it holds no lease or is not leader.
   */
  public long leaseExpiryNanos() {
    throw new UnsupportedOperationException();
  }

  /**
   * Follower: the local time until which it refuses to vote for anyone but the leader it last
   * acknowledged a heartbeat from; {@link Long#MIN_VALUE} when it has no such promise.
   */
  public long votePromiseExpiryNanos() {
    throw new UnsupportedOperationException();
  }
}
