package io.respawn.core;

import java.util.Objects;

/**
 * Static settings of one replica. Validated on construction with messages that name the limit.
 *
 * @param self this replica's id
 * @param bootstrapMembership the configuration used while the log holds no CONFIG entry
 * @param electionTimeoutMillis base election timeout; each wait is drawn from
 *     [electionTimeoutMillis, 2 * electionTimeoutMillis) with the seeded generator
 * @param heartbeatIntervalMillis how often an idle leader sends AppendEntries
 * @param leaseMillis the leader's lease, measured on its clock from sending a heartbeat
 * @param clockDriftMax bound on any clock's rate error, e.g. 0.01 for 1%
 * @param catchUpTimeoutMillis how long a node waits for RequestLog replies before it campaigns
 *     with what it has
 * @param maxEntriesPerAppend entries per AppendEntries / RequestLogResponse
 * @param catchUpEntriesMax entries a node buffers while catching up before it gives up
 * @param randomSeed seed of the election-jitter generator (SplitMix64)
 * @param variant {@link Variant#CORRECT} except in the simulator's teeth test
 * @param failureDetector optional detector instance (tests); null means {@code phi} decides
 * @param phi settings of a {@link PhiAccrualDetector} the replica creates for itself (a fresh one
 *     per replica instance), used when {@code failureDetector} is null; both null means "use the
 *     election timeout"
 * @param takeover when a follower that may lead campaigns ({@link TakeoverMode});
 *     {@link TakeoverMode#SPECULATIVE} needs a detector
 * @param speculativeSilenceMillis under {@link TakeoverMode#SPECULATIVE}, how long a leader must
 *     have been silent before a warmed-up follower takes over when the leader's process is not
 *     known to be gone (the runtime's reachability hint, {@link Replica#peerUnreachable}): a
 *     stall of the leader shorter than this causes no failover. 0: as soon as it is warmed up
 *     and suspects the leader at all
 * @param logCacheBytesMax bytes of entries the in-memory log holds, newest first; it drops its
 *     oldest entries past this, except those it must hold (not yet acknowledged as persisted, or
 *     not yet handed out to apply), and reads dropped ones back through the replica's {@link
 *     LogReader} when needed. Entries are counted as their
 *     command's keys and data plus {@code RaftLog.ENTRY_OVERHEAD_BYTES}. Without a reader
 *     ({@link LogReader#NONE}) every entry stays in memory whatever this says. Default 1 MiB:
 *     about 2,000 entries of a 496-byte SET (80 ms of log at 25,000 writes a second), enough
 *     for the messages in flight to followers that keep up. The cache is live at every young
 *     collection of a copying collector, which copies all of it each time: with 4 MiB a
 *     member's young pauses were twice as long (docs/benchmarks.md, "The log cache and young
 *     pauses")
 * @param standInAfterMillis a leader that keeps values (the primary) lets a voting witness stand
 *     in for a voting backup it has not heard from for this long, or at once when the runtime
 *     reports the backup unreachable ({@link Replica#peerUnreachable}), so that writes and reads
 *     go on while a backup is away (DESIGN §5.4); the stand-in ends by itself once the backup
 *     holds, flushed, everything committed. 0: never by itself (only through {@link
 *     Replica#standIn}, for a removal)
 * @param inFlightEntriesMax the leader's flow control: entries it keeps in flight to one follower
 *     outside heartbeat rounds (docs/protocol.md §3); 0 means four AppendEntries' worth ({@code 4
 *     * maxEntriesPerAppend}); a heartbeat round's AppendEntries (up to maxEntriesPerAppend from
 *     the follower's match) may exceed it, and then nothing more goes out until answers free room
 */
public record ReplicaConfig(
    NodeId self,
    Membership bootstrapMembership,
    long electionTimeoutMillis,
    long heartbeatIntervalMillis,
    long leaseMillis,
    double clockDriftMax,
    long catchUpTimeoutMillis,
    int maxEntriesPerAppend,
    int catchUpEntriesMax,
    long randomSeed,
    Variant variant,
    FailureDetector failureDetector,
    PhiAccrualDetector.Settings phi,
    TakeoverMode takeover,
    long speculativeSilenceMillis,
    long logCacheBytesMax,
    long standInAfterMillis,
    int inFlightEntriesMax) {

  /** The default of {@link #logCacheBytesMax()}: 1 MiB. */
  public static final long LOG_CACHE_BYTES_DEFAULT = 1L << 20;

  public ReplicaConfig {
    Objects.requireNonNull(self, "self");
    Objects.requireNonNull(bootstrapMembership, "bootstrapMembership");
    Objects.requireNonNull(variant, "variant");
    Objects.requireNonNull(takeover, "takeover");
    require(takeover != TakeoverMode.SPECULATIVE || failureDetector != null || phi != null,
        "takeover speculative needs a failure detector (phi settings)");
    require(phi == null || phi.heartbeatIntervalMillis() == heartbeatIntervalMillis,
        "phi heartbeatIntervalMillis " + (phi == null ? 0 : phi.heartbeatIntervalMillis())
            + " must equal heartbeatIntervalMillis " + heartbeatIntervalMillis);
    require(heartbeatIntervalMillis >= 1, "heartbeatIntervalMillis " + heartbeatIntervalMillis
        + " must be >= 1");
    require(electionTimeoutMillis > 2 * heartbeatIntervalMillis, "electionTimeoutMillis "
        + electionTimeoutMillis + " must exceed 2 * heartbeatIntervalMillis " + heartbeatIntervalMillis);
    require(leaseMillis >= 1, "leaseMillis " + leaseMillis + " must be >= 1");
    require(leaseMillis < electionTimeoutMillis, "leaseMillis " + leaseMillis
        + " must be below electionTimeoutMillis " + electionTimeoutMillis);
    require(clockDriftMax >= 0 && clockDriftMax < 0.5, "clockDriftMax " + clockDriftMax
        + " must be in [0, 0.5)");
    require(catchUpTimeoutMillis >= 1, "catchUpTimeoutMillis must be >= 1");
    require(maxEntriesPerAppend >= 1, "maxEntriesPerAppend must be >= 1");
    require(catchUpEntriesMax >= maxEntriesPerAppend, "catchUpEntriesMax must be >= maxEntriesPerAppend");
    require(logCacheBytesMax >= 0, "logCacheBytesMax " + logCacheBytesMax + " must be >= 0");
    require(speculativeSilenceMillis >= 0, "speculativeSilenceMillis " + speculativeSilenceMillis
        + " must be >= 0");
    require(inFlightEntriesMax >= 0, "inFlightEntriesMax " + inFlightEntriesMax
        + " must be >= 0");
    require(standInAfterMillis >= 0, "standInAfterMillis " + standInAfterMillis
        + " must be >= 0");
  }

  private static void require(boolean ok, String message) {
    if (!ok) {
      throw new IllegalArgumentException(message);
    }
  }

  /**
   * Defaults: election 1000 ms, heartbeat 100 ms, lease 500 ms, drift 1%, catch-up 200 ms, no
   * failure detector, hard-timeout takeover (speculative silence 0), a 1 MiB log cache, no
   * stand-in by itself.
   */
  public static Builder builder(NodeId self, Membership bootstrapMembership) {
    return new Builder(self, bootstrapMembership);
  }

  /** The leader's in-flight budget per follower, in entries ({@link #inFlightEntriesMax()}). */
  public long inFlightEntriesBudget() {
    return inFlightEntriesBudget(inFlightEntriesMax, maxEntriesPerAppend);
  }

  /**
   * The budget {@code inFlightEntriesMax} and {@code maxEntriesPerAppend} give: the former, or four
   * AppendEntries' worth when it is 0.
   */
  public static long inFlightEntriesBudget(int inFlightEntriesMax, int maxEntriesPerAppend) {
    return inFlightEntriesMax > 0 ? inFlightEntriesMax : 4L * maxEntriesPerAppend;
  }

  /** The same config with another variant. */
  public ReplicaConfig withVariant(Variant v) {
    return new ReplicaConfig(self, bootstrapMembership, electionTimeoutMillis,
        heartbeatIntervalMillis, leaseMillis, clockDriftMax, catchUpTimeoutMillis,
        maxEntriesPerAppend, catchUpEntriesMax, randomSeed, v, failureDetector, phi, takeover,
        speculativeSilenceMillis, logCacheBytesMax, standInAfterMillis, inFlightEntriesMax);
  }

  /** The failure detector this config asks for: the instance, else a fresh phi detector, else null. */
  FailureDetector newFailureDetector() {
    if (failureDetector != null) {
      return failureDetector;
    }
    return phi == null ? null : new PhiAccrualDetector(phi);
  }

  /** Mutable builder; {@link #build()} validates. */
  public static final class Builder {
    private final NodeId self;
    private final Membership membership;
    private long electionTimeoutMillis = 1000;
    private long heartbeatIntervalMillis = 100;
    private long leaseMillis = 500;
    private double clockDriftMax = 0.01;
    private long catchUpTimeoutMillis = 200;
    private int maxEntriesPerAppend = 64;
    private int catchUpEntriesMax = 100_000;
    private long randomSeed = 1;
    private Variant variant = Variant.CORRECT;
    private FailureDetector failureDetector;
    private PhiAccrualDetector.Settings phi;
    private TakeoverMode takeover = TakeoverMode.HARD_TIMEOUT;
    private long speculativeSilenceMillis;
    private long logCacheBytesMax = LOG_CACHE_BYTES_DEFAULT;
    private long standInAfterMillis;
    private int inFlightEntriesMax;

    private Builder(NodeId self, Membership membership) {
      this.self = self;
      this.membership = membership;
    }

    public Builder electionTimeoutMillis(long v) {
      electionTimeoutMillis = v;
      return this;
    }

    public Builder heartbeatIntervalMillis(long v) {
      heartbeatIntervalMillis = v;
      return this;
    }

    public Builder leaseMillis(long v) {
      leaseMillis = v;
      return this;
    }

    public Builder clockDriftMax(double v) {
      clockDriftMax = v;
      return this;
    }

    public Builder catchUpTimeoutMillis(long v) {
      catchUpTimeoutMillis = v;
      return this;
    }

    public Builder maxEntriesPerAppend(int v) {
      maxEntriesPerAppend = v;
      return this;
    }

    public Builder catchUpEntriesMax(int v) {
      catchUpEntriesMax = v;
      return this;
    }

    public Builder randomSeed(long v) {
      randomSeed = v;
      return this;
    }

    public Builder variant(Variant v) {
      variant = v;
      return this;
    }

    public Builder failureDetector(FailureDetector v) {
      failureDetector = v;
      return this;
    }

    /** Phi-accrual settings (null: no detector unless an instance is given). */
    public Builder phi(PhiAccrualDetector.Settings v) {
      phi = v;
      return this;
    }

    public Builder takeover(TakeoverMode v) {
      takeover = v;
      return this;
    }

    /** See {@link ReplicaConfig#speculativeSilenceMillis()}. */
    public Builder speculativeSilenceMillis(long v) {
      speculativeSilenceMillis = v;
      return this;
    }

    /** See {@link ReplicaConfig#logCacheBytesMax()}. */
    public Builder logCacheBytesMax(long v) {
      logCacheBytesMax = v;
      return this;
    }

    /** See {@link ReplicaConfig#standInAfterMillis()}. */
    public Builder standInAfterMillis(long v) {
      standInAfterMillis = v;
      return this;
    }

    /** See {@link ReplicaConfig#inFlightEntriesMax()}. */
    public Builder inFlightEntriesMax(int v) {
      inFlightEntriesMax = v;
      return this;
    }

    public ReplicaConfig build() {
      return new ReplicaConfig(self, membership, electionTimeoutMillis, heartbeatIntervalMillis,
          leaseMillis, clockDriftMax, catchUpTimeoutMillis, maxEntriesPerAppend, catchUpEntriesMax,
          randomSeed, variant, failureDetector, phi, takeover, speculativeSilenceMillis,
          logCacheBytesMax, standInAfterMillis, inFlightEntriesMax);
    }
  }
}
