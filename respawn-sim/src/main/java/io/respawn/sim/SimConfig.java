package io.respawn.sim;

import io.respawn.core.Variant;
import io.respawn.node.recovery.RecoveryMode;
import io.respawn.storage.Durability;
import io.respawn.sim.nemesis.NemesisConfig;
import io.respawn.sim.net.NetworkConfig;
import io.respawn.sim.node.NodeTiming;
import io.respawn.sim.workload.WorkloadConfig;

/**
 * Everything a run needs besides its seed. Two runs with the same config and seed are identical.
 *
 * @param eventsMax events of the faulty phase; then faults stop and the run settles
 * @param settleMillis virtual time the run settles (faults healed) before final reads
 * @param shape starting shard layout
 * @param membershipChanges whether the nemesis may change membership
 * @param variant the core's behaviour (CORRECT except in the teeth test)
 * @param engineStorage persist through the segmented replica log on a crash-recording disk
 *     (else the plain in-memory model of the replica log contract)
 * @param clientCount concurrent clients
 * @param clientTimeoutMillis a client gives up on an operation after this long
 * @param clockDriftPpmMax each node's clock rate error is drawn from +-this, in ppm
 * @param electionTimeoutMillis core setting
 * @param heartbeatIntervalMillis core setting
 * @param leaseMillis core setting
 * @param catchUpTimeoutMillis core setting
 * @param timing node tick and fsync costs
 * @param network network faults
 * @param nemesis fault schedule
 * @param workload client command mix
 * @param linearizabilityStatesMax bound on the checker's search
 * @param leaderMayStandIn let a witness-led primary name itself as stand-in for a down backup
 *     (the only choice in 1+1+1 once the original primary is gone); off by default because the
 *     core throws on it (FINDINGS.md)
 * @param perEventInvariants check protocol invariants after every event; false leaves only the
 *     end-of-run checks (linearizability, acknowledged writes, final reads), to measure what
 *     they catch on their own
 * @param replicaAck when members acknowledge entries: ORDERED (written in order, the default)
 *     or DURABLE (flushed before the ack leaves; the node is busy for the fsync)
 * @param flushIntervalMillis the runtime's flushIntervalMillis: longest time an entry a leader
 *     wrote stays unflushed when no DURABLE write waits
 * @param durableAckEarly broken on purpose (teeth for the durability checks): a node answers a
 *     DURABLE write as soon as it is ORDERED
 * @param takeover failure detection and takeover mode of the run's replicas ({@link
 *     SimTakeover}; MIXED draws one per seed)
 * @param snapshotEntriesMin each node takes a snapshot and compacts its log once it applied this
 *     many entries past its last one (small, so compaction and snapshot transfers happen many
 *     times per run; 0 turns snapshots off)
 * @param fsyncMode how the replica log's flushes complete ({@link FsyncMode}; ASYNC, the
 *     member's mode, unless the in-memory log or DURABLE replica acks need DEFERRED)
 * @param proposalLimits the runtime's bounds on client writes ({@link SimProposalLimits}; MIXED
 *     draws the server's defaults or tight ones per seed)
 * @param standInAfterMillis the core's {@code standInAfterMillis}: a leader lets a witness stand
 *     in for a backup silent this long ({@link #STAND_IN_DRAWN}: drawn per seed by {@link
 *     #standInAfterMillis(long)}; 0: never by itself)
 * @param replaceAfterMillis the primary's replacement of silent members by spares ({@code
 *     MemberReplacement}): a member silent this long is replaced ({@link #REPLACE_DRAWN}: drawn
 *     per seed by {@link #replaceAfterMillis(long)}; 0: no spares, membership changes as the
 *     nemesis draws them)
 * @param leadingSpareRole the role of the spare that may lead (n4 in 1+1+1): witness, or
 *     primary (a spare that takes a lost primary's place and is given leadership back); null:
 *     drawn per seed by {@link #leadingSpareRole(long)}
 * @param ticksWhenDue whether nodes tick only when their runtime says something is due: null
 *     drawn per seed by {@link #ticksWhenDue(long)}; true or false in every seed
 * @param recoveryMode how a new primary gets the values it holds only as timestamps (the
 *     server's {@code ValueRecovery}): null drawn per seed by {@link #recoveryMode(long)}
 */
public record SimConfig(
    long eventsMax,
    long settleMillis,
    Shape shape,
    boolean membershipChanges,
    Variant variant,
    boolean engineStorage,
    int clientCount,
    long clientTimeoutMillis,
    long clockDriftPpmMax,
    long electionTimeoutMillis,
    long heartbeatIntervalMillis,
    long leaseMillis,
    long catchUpTimeoutMillis,
    NodeTiming timing,
    NetworkConfig network,
    NemesisConfig nemesis,
    WorkloadConfig workload,
    long linearizabilityStatesMax,
    boolean perEventInvariants,
    boolean leaderMayStandIn,
    Durability replicaAck,
    long flushIntervalMillis,
    boolean durableAckEarly,
    SimTakeover takeover,
    long snapshotEntriesMin,
    FsyncMode fsyncMode,
    SimProposalLimits proposalLimits,
    long standInAfterMillis,
    long replaceAfterMillis,
    io.respawn.core.Role leadingSpareRole,
    Boolean ticksWhenDue,
    RecoveryMode recoveryMode) {

  /** {@link #standInAfterMillis()}: drawn per seed. */
  public static final long STAND_IN_DRAWN = -1;
  /** {@link #replaceAfterMillis()}: drawn per seed. */
  public static final long REPLACE_DRAWN = -1;

  /** The configuration the CI sweep and the CLI use unless told otherwise. */
  public static SimConfig standard() {
    return new SimConfig(
        5_000, 3_000, Shape.RANDOM, true, Variant.CORRECT, true,
        4, 400, 10_000, 200, 25, 120, 60,
        new NodeTiming(10_000, 100, 100, 3_000),
        new NetworkConfig(100, 8_000, 20_000, 10_000),
        NemesisConfig.standard(),
        WorkloadConfig.standard(),
        2_000_000,
        true,
        true,
        Durability.ORDERED,
        20,
        false,
        SimTakeover.MIXED,
        40,
        FsyncMode.ASYNC,
        SimProposalLimits.MIXED,
        STAND_IN_DRAWN,
        REPLACE_DRAWN,
        null,
        null,
        null);
  }

  /**
   * The role of seed {@code seed}'s spare that may lead: {@link #leadingSpareRole()}, or when
   * drawn primary for half of the seeds (the top bit of the seed times a constant of its own, so
   * the draw follows neither the seed's parity nor the other per-seed draws) and witness for the
   * rest. Drawn apart from the run's random stream, so a seed that draws a witness runs as
   * before.
   */
  public io.respawn.core.Role leadingSpareRole(long seed) {
    if (leadingSpareRole != null) {
      return leadingSpareRole;
    }
    return (seed * 0x9E6C63D0676A9A99L) < 0 ? io.respawn.core.Role.PRIMARY
        : io.respawn.core.Role.WITNESS;
  }

  public SimConfig withLeadingSpareRole(io.respawn.core.Role v) {
    return edit(b -> b.leadingSpareRole = v);
  }

  /**
   * The spare policy's bound of seed {@code seed}'s run: {@link #replaceAfterMillis()}, or when
   * drawn (and the run changes membership) 16 heartbeats for one eighth of the seeds and 40 for
   * another eighth (the top three bits of the seed times a constant of its own), 0 for the rest.
   * With it, in a shape that leaves replicas out (1+1+1: spares n3 and n4), the primary's
   * policy makes the membership changes, not the nemesis; 1+2+2 seeds change membership through
   * the nemesis whatever is drawn here.
   */
  public long replaceAfterMillis(long seed) {
    if (replaceAfterMillis != REPLACE_DRAWN) {
      return replaceAfterMillis;
    }
    if (!membershipChanges) {
      return 0;
    }
    int draw = (int) ((seed * 0xD6E8FEB86659FD93L) >>> 61);
    return new long[] {16, 40, 0, 0, 0, 0, 0, 0}[draw] * heartbeatIntervalMillis;
  }

  public SimConfig withReplaceAfterMillis(long v) {
    return edit(b -> b.replaceAfterMillis = v);
  }

  /**
   * The stand-in bound of seed {@code seed}'s run: {@link #standInAfterMillis()}, or when drawn
   * none for a quarter of the seeds (writes wait for a silent backup, the behaviour before
   * leaders stood in by themselves), 3 heartbeats for a quarter and 6 for the rest (the top two
   * bits of the seed times the golden-ratio constant, so the draw does not follow the seed's
   * parity or residue, which other per-seed draws use).
   */
  public long standInAfterMillis(long seed) {
    if (standInAfterMillis != STAND_IN_DRAWN) {
      return standInAfterMillis;
    }
    int draw = (int) ((seed * 0x9E3779B97F4A7C15L) >>> 62);
    return new long[] {0, 3, 6, 6}[draw] * heartbeatIntervalMillis;
  }

  /**
   * Whether seed {@code seed}'s nodes tick only when their runtime says something is due ({@code
   * NodeRuntime.tickDueNanos}), as the server's node loop does, skipping the driver's other
   * ticks: {@link #ticksWhenDue()} when set, else three seeds in four (a draw of its own, apart
   * from the run's random stream); always for {@link Variant#TICK_DUE_IGNORES_SILENCE}, which
   * breaks it. The other seeds tick at every driver tick.
   */
  public boolean ticksWhenDue(long seed) {
    if (variant == Variant.TICK_DUE_IGNORES_SILENCE) {
      return true;
    }
    return ticksWhenDue != null ? ticksWhenDue : (seed * 0xA24BAED4963EE407L) >>> 62 != 0;
  }

  /**
   * How seed {@code seed}'s new primaries recover values: {@link #recoveryMode()} when set, else
   * offline in one seed in four (a draw of its own, apart from the run's random stream; a new
   * primary then serves nothing until every value is here), online in the rest (the server's
   * default).
   */
  public RecoveryMode recoveryMode(long seed) {
    if (recoveryMode != null) {
      return recoveryMode;
    }
    return (seed * 0xD1B54A32D192ED03L) >>> 62 == 0 ? RecoveryMode.OFFLINE : RecoveryMode.ONLINE;
  }

  /** One recovery mode in every seed, or drawn (null). */
  public SimConfig withRecoveryMode(RecoveryMode mode) {
    return edit(b -> b.recoveryMode = mode);
  }

  /** Ticks only when due in every seed (true), at every driver tick (false), or drawn (null). */
  public SimConfig withTicksWhenDue(Boolean v) {
    return edit(b -> b.ticksWhenDue = v);
  }

  /** Entries per AppendEntries (and per RequestLog page) in every seed. */
  public static final int ENTRIES_PER_APPEND = 16;

  /**
   * The leader's in-flight budget per follower for this seed ({@code
   * ReplicaConfig.inFlightEntriesMax}): 4 entries for about a quarter of the seeds (drawn from
   * the seed times a constant of its own), so that ordinary writes to a paused, partitioned or
   * crashed follower reach it between two of its answers; 0 (the core's default, the shard
   * server's: four AppendEntries' worth) for the rest.
   */
  public int inFlightEntriesMax(long seed) {
    return (seed * 0xC2B2AE3D27D4EB4FL) >>> 62 == 0 ? 4 : 0;
  }

  public SimConfig withStandInAfterMillis(long v) {
    return edit(b -> b.standInAfterMillis = v);
  }

  public SimConfig withEventsMax(long v) {
    return edit(b -> b.eventsMax = v);
  }

  public SimConfig withShape(Shape v) {
    return edit(b -> b.shape = v);
  }

  public SimConfig withVariant(Variant v) {
    return edit(b -> b.variant = v);
  }

  public SimConfig withNemesis(NemesisConfig v) {
    return edit(b -> b.nemesis = v);
  }

  public SimConfig withPerEventInvariants(boolean v) {
    return edit(b -> b.perEventInvariants = v);
  }

  public SimConfig withLeaderMayStandIn(boolean v) {
    return edit(b -> b.leaderMayStandIn = v);
  }

  public SimConfig withNetwork(NetworkConfig v) {
    return edit(b -> b.network = v);
  }

  public SimConfig withMembershipChanges(boolean v) {
    return edit(b -> b.membershipChanges = v);
  }

  public SimConfig withEngineStorage(boolean v) {
    return edit(b -> b.engineStorage = v);
  }

  public SimConfig withClockDriftPpmMax(long v) {
    return edit(b -> b.clockDriftPpmMax = v);
  }

  public SimConfig withReplicaAck(Durability v) {
    return edit(b -> b.replicaAck = v);
  }

  public SimConfig withFlushIntervalMillis(long v) {
    return edit(b -> b.flushIntervalMillis = v);
  }

  public SimConfig withWorkload(WorkloadConfig v) {
    return edit(b -> b.workload = v);
  }

  public SimConfig withClients(int count, long timeoutMillis) {
    return edit(b -> {
      b.clientCount = count;
      b.clientTimeoutMillis = timeoutMillis;
    });
  }

  public SimConfig withDurableAckEarly(boolean v) {
    return edit(b -> b.durableAckEarly = v);
  }

  public SimConfig withTakeover(SimTakeover v) {
    return edit(b -> b.takeover = v);
  }

  public SimConfig withTiming(NodeTiming v) {
    return edit(b -> b.timing = v);
  }

  public SimConfig withSnapshotEntriesMin(long v) {
    return edit(b -> b.snapshotEntriesMin = v);
  }

  public SimConfig withFsyncMode(FsyncMode v) {
    return edit(b -> b.fsyncMode = v);
  }

  public SimConfig withProposalLimits(SimProposalLimits v) {
    return edit(b -> b.proposalLimits = v);
  }

  /**
   * The fsync mode the nodes run: {@link FsyncMode#DEFERRED} wherever the asynchronous one
   * cannot run (the in-memory log model has none; DURABLE replica acks need a flush that
   * completes before it returns).
   */
  public FsyncMode effectiveFsyncMode() {
    if (!engineStorage || replicaAck == io.respawn.storage.Durability.DURABLE) {
      return FsyncMode.DEFERRED;
    }
    return fsyncMode;
  }

  /**
   * The runtime's snapshot policy for this run: tiny chunks and a tight rate, to exercise both,
   * and a tail behind the snapshot capped at {@link #SNAPSHOT_TAIL_BYTES_MAX} bytes as well as
   * entries, so the byte cap production uses ({@code snapshot-tail-bytes}) decides where the
   * log is cut in the sweep too. Seeds of one parity run with production's growth gate ({@code
   * snapshot-log-growth-percent} 100: a value keeper captures only once the commands applied
   * since its last image carry as many bytes as that image), the others without it, so the
   * sweep covers both ways a capture is started.
   */
  public io.respawn.node.snapshot.SnapshotPolicy snapshotPolicy(long seed) {
    if (snapshotEntriesMin == 0) {
      return io.respawn.node.snapshot.SnapshotPolicy.OFF;
    }
    return new io.respawn.node.snapshot.SnapshotPolicy(snapshotEntriesMin,
        Math.max(1, snapshotEntriesMin / 4), 64, 2, 16 * 1024, 100, 1 << 20, 0,
        SNAPSHOT_TAIL_BYTES_MAX, growthGatePercent(seed));
  }

  /** The growth gate of seed {@code seed}'s run: 100 % for even seeds, none for odd ones. */
  public static int growthGatePercent(long seed) {
    return seed % 2 == 0 ? 100 : 0;
  }

  /** A few entries' worth (each counts 64 bytes of header plus its command). */
  static final long SNAPSHOT_TAIL_BYTES_MAX = 400;

  /** A copy of this config with {@code change} applied to its fields. */
  private SimConfig edit(java.util.function.Consumer<Fields> change) {
    Fields b = new Fields(this);
    change.accept(b);
    return b.config();
  }

  /** The fields of a config being copied with changes ({@link #edit}). */
  private static final class Fields {
    long eventsMax;
    long settleMillis;
    Shape shape;
    boolean membershipChanges;
    Variant variant;
    boolean engineStorage;
    int clientCount;
    long clientTimeoutMillis;
    long clockDriftPpmMax;
    long electionTimeoutMillis;
    long heartbeatIntervalMillis;
    long leaseMillis;
    long catchUpTimeoutMillis;
    NodeTiming timing;
    NetworkConfig network;
    NemesisConfig nemesis;
    WorkloadConfig workload;
    long linearizabilityStatesMax;
    boolean perEventInvariants;
    boolean leaderMayStandIn;
    Durability replicaAck;
    long flushIntervalMillis;
    boolean durableAckEarly;
    SimTakeover takeover;
    long snapshotEntriesMin;
    FsyncMode fsyncMode;
    SimProposalLimits proposalLimits;
    long standInAfterMillis;
    long replaceAfterMillis;
    io.respawn.core.Role leadingSpareRole;
    Boolean ticksWhenDue;
    RecoveryMode recoveryMode;

    Fields(SimConfig c) {
      eventsMax = c.eventsMax;
      settleMillis = c.settleMillis;
      shape = c.shape;
      membershipChanges = c.membershipChanges;
      variant = c.variant;
      engineStorage = c.engineStorage;
      clientCount = c.clientCount;
      clientTimeoutMillis = c.clientTimeoutMillis;
      clockDriftPpmMax = c.clockDriftPpmMax;
      electionTimeoutMillis = c.electionTimeoutMillis;
      heartbeatIntervalMillis = c.heartbeatIntervalMillis;
      leaseMillis = c.leaseMillis;
      catchUpTimeoutMillis = c.catchUpTimeoutMillis;
      timing = c.timing;
      network = c.network;
      nemesis = c.nemesis;
      workload = c.workload;
      linearizabilityStatesMax = c.linearizabilityStatesMax;
      perEventInvariants = c.perEventInvariants;
      leaderMayStandIn = c.leaderMayStandIn;
      replicaAck = c.replicaAck;
      flushIntervalMillis = c.flushIntervalMillis;
      durableAckEarly = c.durableAckEarly;
      takeover = c.takeover;
      snapshotEntriesMin = c.snapshotEntriesMin;
      fsyncMode = c.fsyncMode;
      proposalLimits = c.proposalLimits;
      standInAfterMillis = c.standInAfterMillis;
      replaceAfterMillis = c.replaceAfterMillis;
      leadingSpareRole = c.leadingSpareRole;
      ticksWhenDue = c.ticksWhenDue;
      recoveryMode = c.recoveryMode;
    }

    SimConfig config() {
      return new SimConfig(
          eventsMax, settleMillis, shape, membershipChanges, variant, engineStorage, clientCount,
          clientTimeoutMillis, clockDriftPpmMax, electionTimeoutMillis, heartbeatIntervalMillis,
          leaseMillis, catchUpTimeoutMillis, timing, network, nemesis, workload,
          linearizabilityStatesMax, perEventInvariants, leaderMayStandIn, replicaAck,
          flushIntervalMillis, durableAckEarly, takeover, snapshotEntriesMin, fsyncMode,
          proposalLimits, standInAfterMillis, replaceAfterMillis, leadingSpareRole, ticksWhenDue,
          recoveryMode);
    }
  }
}
