package io.respawn.server.shard;

import io.respawn.node.recovery.RecoveryMode;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.PhiAccrualDetector;
import io.respawn.core.Role;
import io.respawn.core.TakeoverMode;
import java.io.IOException;
import java.io.Reader;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * One member's view of its shard, read from the file {@code respawn node --config FILE} names.
 * The file is Java properties; every member of a shard gets the same {@code member.N} lines and
 * its own {@code node-id}:
 *
 * <pre>
 * cluster-id = shop-sessions          # names the shard; peers of another shard are refused
 * node-id    = 2                      # which member.N this process is
 * data       = /var/lib/respawn       # data directory of this member
 * bind       = 0.0.0.0                # where RESP and peer ports listen (default 127.0.0.1)
 * member.1   = primary 10.0.0.1:7379 10.0.0.1:17379    # role, RESP address, peer address
 * member.2   = backup  10.0.0.2:7379 10.0.0.2:17379
 * member.3   = witness 10.0.0.3:7379 10.0.0.3:17379
 * secret-file = /etc/respawn/secret   # optional: members prove they know it (HMAC-SHA256)
 * election-timeout-ms = 300           # optional timing, see ReplicaConfig
 * heartbeat-interval-ms = 50
 * lease-ms = 200
 * join = true                         # optional: a member added online (see below)
 * takeover = hard-timeout             # or speculative (DESIGN §6); see docs/shard.md
 * recovery = online                   # or offline: see {@link RecoveryMode}, docs/recovery.md
 * phi-soft = 3                        # phi-accrual thresholds: soft suspicion starts recovery,
 * phi-hard = 8                        #   hard suspicion allows a hard-timeout campaign
 * phi-acceptable-pause-ms = 250       # silence added to the mean before phi rises
 * phi-min-std-deviation-ms = 25       # floor on the spread of heartbeat arrivals
 * phi-window = 200                    # heartbeat intervals remembered per peer
 * popularity-sample-probability = 0.001   # optional, see {@link BackupSettings}
 * popularity-report-ms = 1000
 * backup-hot-keys = 100000
 * backup-segment-bytes = 67108864
 * backup-writeback-interval-ms = 50
 * snapshot-entries = 100000           # optional, see {@link SnapshotSettings}
 * snapshot-log-bytes = 67108864
 * snapshot-log-growth-percent = 100   # also wait for this share of the kept image's bytes
 * snapshot-tail-entries = 10000
 * snapshot-tail-bytes = 16777216
 * snapshot-chunk-bytes = 65536
 * snapshot-bytes-per-sec = 33554432
 * log-cache-bytes = 1048576           # newest log entries kept in memory, see SnapshotSettings
 * spare.4 = witness 10.0.0.4:7379 10.0.0.4:17379   # optional: a spare process, see Spares
 * spare.5 = primary 10.0.0.5:7379 10.0.0.5:17379   # a spare only for a lost primary
 * replace-after-ms = 60000            # a member silent this long is replaced by a spare
 * </pre>
 *
 * <p>A member added to a running shard ({@code respawn member add}) lists the shard's current
 * members and itself, and sets {@code join = true}: it starts as a non-voting learner that never
 * campaigns, and learns the shard's real membership from the primary's log. Every member learns
 * the addresses of members added online from the membership itself (each member record carries
 * "RESP_HOST:PORT PEER_HOST:PORT", see {@link #addressText}), so the other members' files need
 * no change.
 *
 * Every error names the key and what was expected; unknown keys are refused (a typo must not
 * silently fall back to a default).
 *
 * @param clusterId the shard's name
 * @param self this member's id
 * @param dataDir this member's data directory
 * @param bindHost where this member's ports listen
 * @param members every member, by id
 * @param secret the cluster secret, or null
 * @param electionTimeoutMillis base election timeout
 * @param heartbeatIntervalMillis idle leader's heartbeat interval
 * @param leaseMillis the primary's read lease
 * @param join this member joins a running shard: it starts as a learner
 * @param takeover when a witness (or the configured primary, following) campaigns
 * @param speculativeSilenceMillis under speculative takeover, the silence after which a
 *     warmed-up witness takes over a primary whose process is not known to be gone
 * @param rehearseTakeover a witness or backup rehearses value recovery on scratch stores after
 *     it starts, so the code runs compiled at a takeover ({@code TakeoverRehearsal})
 * @param phi the phi-accrual detector every member runs on its leader
 * @param backup the backup role's storage and popularity sampling
 * @param recovery how this member, once it leads, gets the values it holds only as timestamps
 * @param snapshot snapshots, log compaction and snapshot transfers
 * @param standInAfterMillis the primary lets a witness stand in for a voting backup silent this
 *     long (at once when its process is gone), so writes and reads go on while the backup is
 *     away; the stand-in ends once the backup is back and caught up (DESIGN §5.4). 0: never by
 *     itself (writes then wait for the backup, or for an operator's {@code respawn member
 *     remove})
 * @param spares processes the primary adds in place of members that stay silent
 */
public record ShardConfig(String clusterId, NodeId self, Path dataDir, String bindHost,
    Map<NodeId, MemberAddress> members, byte[] secret, long electionTimeoutMillis,
    long heartbeatIntervalMillis, long leaseMillis, boolean join, TakeoverMode takeover,
    long speculativeSilenceMillis, boolean rehearseTakeover, PhiAccrualDetector.Settings phi,
    BackupSettings backup, RecoveryMode recovery, SnapshotSettings snapshot,
    long standInAfterMillis, Spares spares) {

  /** With the default {@link SnapshotSettings}. */
  public ShardConfig(String clusterId, NodeId self, Path dataDir, String bindHost,
      Map<NodeId, MemberAddress> members, byte[] secret, long electionTimeoutMillis,
      long heartbeatIntervalMillis, long leaseMillis, boolean join, TakeoverMode takeover,
      PhiAccrualDetector.Settings phi, BackupSettings backup, RecoveryMode recovery) {
    this(clusterId, self, dataDir, bindHost, members, secret, electionTimeoutMillis,
        heartbeatIntervalMillis, leaseMillis, join, takeover, SPECULATIVE_SILENCE_MILLIS_DEFAULT,
        true, phi, backup, recovery, SnapshotSettings.defaults(), STAND_IN_AFTER_MILLIS_DEFAULT,
        Spares.NONE);
  }

  /** With the default {@link BackupSettings} and {@link #RECOVERY_DEFAULT}. */
  public ShardConfig(String clusterId, NodeId self, Path dataDir, String bindHost,
      Map<NodeId, MemberAddress> members, byte[] secret, long electionTimeoutMillis,
      long heartbeatIntervalMillis, long leaseMillis, boolean join, TakeoverMode takeover,
      PhiAccrualDetector.Settings phi) {
    this(clusterId, self, dataDir, bindHost, members, secret, electionTimeoutMillis,
        heartbeatIntervalMillis, leaseMillis, join, takeover, phi, BackupSettings.defaults(),
        RECOVERY_DEFAULT);
  }

  /**
   * Spare processes the primary adds in place of a member silent for {@code replaceAfterMillis}
   * ({@code MemberReplacement}, docs/operations.md): each runs {@code respawn node} with {@code
   * join = true} and waits to be added.
   *
   * @param members the spares by id, in the order they are used
   * @param replaceAfterMillis how long a member stays silent (counted by the primary from its
   *     election on) before a spare replaces it
   */
  public record Spares(Map<NodeId, MemberAddress> members, long replaceAfterMillis) {
    public static final Spares NONE = new Spares(Map.of(), REPLACE_AFTER_MILLIS_DEFAULT);

    public Spares {
      members = java.util.Collections.unmodifiableMap(new TreeMap<>(members));
      if (replaceAfterMillis < 1) {
        throw new IllegalArgumentException("replace-after-ms: " + replaceAfterMillis
            + " is below 1");
      }
    }

    /** The spares as the membership records the primary adds. */
    public List<Member> asMembers() {
      List<Member> out = new ArrayList<>();
      for (MemberAddress m : members.values()) {
        out.add(new Member(m.id(), m.role(), false, addressText(m)));
      }
      return out;
    }
  }

  /** Where one member listens. */
  public record MemberAddress(NodeId id, Role role, InetSocketAddress resp,
      InetSocketAddress peer) {}

  private static final Set<String> KEYS = Set.of("cluster-id", "node-id", "data", "bind",
      "secret-file", "election-timeout-ms", "heartbeat-interval-ms", "lease-ms", "join",
      "takeover", "speculative-silence-ms", "takeover-rehearsal", "phi-soft", "phi-hard", "phi-acceptable-pause-ms", "phi-min-std-deviation-ms",
      "phi-window", "popularity-sample-probability", "popularity-report-ms", "backup-hot-keys",
      "backup-segment-bytes", "backup-writeback-interval-ms", "recovery", "snapshot-entries", "snapshot-log-bytes",
      "snapshot-log-growth-percent", "snapshot-tail-entries", "snapshot-tail-bytes", "snapshot-chunk-bytes",
      "snapshot-bytes-per-sec", "log-cache-bytes", "stand-in-after-ms", "replace-after-ms");
  /**
   * Timing defaults sized for a failover well under a second on one machine or a LAN: a member
   * campaigns after 300-600 ms of silence, an idle primary heartbeats every 50 ms, and its read
   * lease (200 ms) ends before anyone may campaign.
   */
  public static final long ELECTION_TIMEOUT_MILLIS_DEFAULT = 300;
  public static final long HEARTBEAT_INTERVAL_MILLIS_DEFAULT = 50;
  public static final long LEASE_MILLIS_DEFAULT = 200;
  /**
   * Phi-accrual defaults (docs/protocol.md §5 has the formula): with a 50 ms heartbeat, soft
   * suspicion after ~376 ms of silence and hard after ~430 ms, about where the randomized
   * 300-600 ms election timeout used to fire. A kill -9 does not wait for them (the closed
   * connection counts as hard suspicion at once); a lower acceptable pause speeds up the
   * detection of a lost machine at the price of failovers on shorter stalls.
   */
  public static final double PHI_SOFT_DEFAULT = 3;
  public static final double PHI_HARD_DEFAULT = 8;
  /** Acceptable pause, in heartbeat intervals. */
  public static final long PHI_ACCEPTABLE_PAUSE_HEARTBEATS = 5;
  public static final int PHI_WINDOW_DEFAULT = 200;
  /**
   * Speculative since it met its must-shows on a real shard (docs/recovery.md, E3: a kill taken
   * over in ~263 ms, stalls of up to 1 s without a failover); hard-timeout is CANDStore's rule,
   * the baseline.
   */
  public static final TakeoverMode TAKEOVER_DEFAULT = TakeoverMode.SPECULATIVE;
  /**
   * Under speculative takeover, the silence after which a warmed-up witness takes over a primary
   * whose process is not known to be gone: 1.5 s, so that a stall of up to a second (a long
   * collector pause, a stopped VM) causes no failover, with room for a heartbeat interval and
   * scheduling. A killed primary is taken over after about one lease instead: its closed
   * connections tell the witness that its process is gone.
   */
  public static final long SPECULATIVE_SILENCE_MILLIS_DEFAULT = 1500;
  /**
   * Three heartbeats: a backup silent this long has its place in the write quorum and the lease
   * taken by a witness before the primary's 200 ms lease can lapse, so a stalled or dead backup
   * holds writes for at most this long and reads not at all; a backup's young collections (a
   * few milliseconds) stay far below it.
   */
  public static final long STAND_IN_AFTER_MILLIS_DEFAULT = 150;
  public static final RecoveryMode RECOVERY_DEFAULT = RecoveryMode.ONLINE;
  /**
   * A minute: far above any stall a member recovers from by itself (a collector pause, a VM
   * migration, a restart by the service manager), short against the time a shard that lost its
   * primary's machine runs without a second member that may lead.
   */
  public static final long REPLACE_AFTER_MILLIS_DEFAULT = 60_000;

  public ShardConfig {
    members = Map.copyOf(members);
    java.util.Objects.requireNonNull(recovery, "recovery");
    java.util.Objects.requireNonNull(snapshot, "snapshot");
    if (!members.containsKey(self)) {
      throw new IllegalArgumentException("node-id " + self.value() + " is not one of the members "
          + new TreeMap<>(members).keySet());
    }
  }

  /** Reads and validates a config file; relative paths in it resolve against its directory. */
  public static ShardConfig load(Path file) throws IOException {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(r);
    }
    Path base = file.toAbsolutePath().getParent();
    return parse(p, base);
  }

  static ShardConfig parse(Properties p, Path base) throws IOException {
    for (String key : p.stringPropertyNames()) {
      if (!KEYS.contains(key) && !key.matches("(member|spare)\\.[0-9]+")) {
        throw new IllegalArgumentException("unknown key '" + key + "' (expected one of "
            + new java.util.TreeSet<>(KEYS) + ", member.N or spare.N)");
      }
    }
    String cluster = required(p, "cluster-id");
    NodeId self = NodeId.of(intValue(p, "node-id", required(p, "node-id"), 0, Integer.MAX_VALUE));
    Path data = base.resolve(required(p, "data")).normalize();
    String bind = p.getProperty("bind", "127.0.0.1").trim();
    Map<NodeId, MemberAddress> members = lines(p, "member.");
    boolean joining = booleanValue(p, "join", false);
    int primaries = 0;
    for (MemberAddress m : members.values()) {
      // A spare primary that joins lists itself beside the primary it may replace.
      primaries += m.role() == Role.PRIMARY && !(joining && m.id().equals(self)) ? 1 : 0;
    }
    Map<NodeId, MemberAddress> spares = lines(p, "spare.");
    for (MemberAddress m : spares.values()) {
      String key = "spare." + m.id().value();
      if (members.containsKey(m.id())) {
        throw new IllegalArgumentException(key + ": id " + m.id().value() + " is also member."
            + m.id().value() + "; a spare needs an id of its own");
      }
    }
    if (members.isEmpty()) {
      throw new IllegalArgumentException("no member.N lines: a shard needs at least one member");
    }
    // A member that joins lists the shard as it is now, which may have no voter of role primary
    // (a lost primary replaced by a spare witness: the witness that took over leads for good).
    if (joining ? primaries > 1 : primaries != 1) {
      throw new IllegalArgumentException("a shard has " + (joining ? "at most" : "exactly")
          + " one member with role primary, found " + primaries);
    }
    byte[] secret = null;
    String secretFile = p.getProperty("secret-file");
    if (secretFile != null) {
      secret = Files.readAllBytes(base.resolve(secretFile.trim()));
      if (secret.length < 16) {
        throw new IllegalArgumentException("secret-file " + secretFile.trim() + " holds "
            + secret.length + " bytes; use at least 16 random bytes");
      }
    }
    long election = longValue(p, "election-timeout-ms", ELECTION_TIMEOUT_MILLIS_DEFAULT, 10);
    long heartbeat = longValue(p, "heartbeat-interval-ms", HEARTBEAT_INTERVAL_MILLIS_DEFAULT, 1);
    long lease = longValue(p, "lease-ms", LEASE_MILLIS_DEFAULT, 1);
    boolean join = joining;
    TakeoverMode takeover = TAKEOVER_DEFAULT;
    if (p.getProperty("takeover") != null) {
      try {
        takeover = TakeoverMode.parse(p.getProperty("takeover"));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("takeover: '" + p.getProperty("takeover").trim()
            + "' is not hard-timeout or speculative");
      }
    }
    // Settings validates the thresholds and names the limit (phi-soft, phi-hard, phi window).
    PhiAccrualDetector.Settings phi = new PhiAccrualDetector.Settings(heartbeat,
        (int) Math.min(Integer.MAX_VALUE, longValue(p, "phi-window", PHI_WINDOW_DEFAULT, 2)),
        longValue(p, "phi-min-std-deviation-ms", Math.max(1, heartbeat / 2), 1),
        longValue(p, "phi-acceptable-pause-ms", PHI_ACCEPTABLE_PAUSE_HEARTBEATS * heartbeat, 0),
        doubleValue(p, "phi-soft", PHI_SOFT_DEFAULT),
        doubleValue(p, "phi-hard", PHI_HARD_DEFAULT));
    BackupSettings d = BackupSettings.defaults();
    double probability = d.sampleProbability();
    String pv = p.getProperty("popularity-sample-probability");
    if (pv != null) {
      try {
        probability = Double.parseDouble(pv.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("popularity-sample-probability: '" + pv.trim()
            + "' is not a number in (0, 1]");
      }
    }
    BackupSettings backup = new BackupSettings(probability,
        longValue(p, "popularity-report-ms", d.reportIntervalMillis(), 10),
        (int) Math.min(Integer.MAX_VALUE,
            longValue(p, "backup-hot-keys", d.hotKeysMax(), 0)),
        longValue(p, "backup-segment-bytes", d.segmentBytesMax(), 1),
        longValue(p, "backup-writeback-interval-ms", d.writebackIntervalMillis(), 1));
    RecoveryMode recovery = p.getProperty("recovery") == null ? RECOVERY_DEFAULT
        : RecoveryMode.parse(p.getProperty("recovery"));
    SnapshotSettings sd = SnapshotSettings.defaults();
    SnapshotSettings snapshot = new SnapshotSettings(
        longValue(p, "snapshot-entries", sd.entries(), 0),
        longValue(p, "snapshot-log-bytes", sd.logBytes(), 0),
        longValue(p, "snapshot-tail-entries", sd.tailEntries(), 0),
        longValue(p, "snapshot-tail-bytes", sd.tailBytes(), 0),
        (int) Math.min(Integer.MAX_VALUE,
            longValue(p, "snapshot-chunk-bytes", sd.chunkBytes(), 1024)),
        longValue(p, "snapshot-bytes-per-sec", sd.bytesPerSecond(), 1024),
        longValue(p, "log-cache-bytes", sd.logCacheBytes(), 0),
        (int) Math.min(SnapshotSettings.LOG_GROWTH_PERCENT_MAX + 1L,
            longValue(p, "snapshot-log-growth-percent", sd.logGrowthPercent(), 0)));
    return new ShardConfig(cluster, self, data, bind, members, secret, election, heartbeat, lease,
        join, takeover,
        longValue(p, "speculative-silence-ms", SPECULATIVE_SILENCE_MILLIS_DEFAULT, 0),
        booleanValue(p, "takeover-rehearsal", true), phi, backup, recovery, snapshot,
        longValue(p, "stand-in-after-ms", STAND_IN_AFTER_MILLIS_DEFAULT, 0),
        new Spares(spares, replaceAfterMillis(p, heartbeat, election)));
  }

  /** The {@code PREFIX.N = ROLE RESP_HOST:PORT PEER_HOST:PORT} lines of {@code p}, by id. */
  private static Map<NodeId, MemberAddress> lines(Properties p, String prefix) {
    Map<NodeId, MemberAddress> out = new TreeMap<>();
    for (String key : p.stringPropertyNames()) {
      if (!key.startsWith(prefix)) {
        continue;
      }
      int id = intValue(p, key, key.substring(prefix.length()), 0, Integer.MAX_VALUE);
      String[] parts = p.getProperty(key).trim().split("\\s+");
      if (parts.length != 3) {
        throw new IllegalArgumentException(key + " = '" + p.getProperty(key).trim()
            + "': expected 'ROLE RESP_HOST:PORT PEER_HOST:PORT'");
      }
      out.put(NodeId.of(id), new MemberAddress(NodeId.of(id), role(key, parts[0]),
          address(key, parts[1]), address(key, parts[2])));
    }
    return out;
  }

  /** Longest {@code replace-after-ms}: a week (and far from overflowing as nanoseconds). */
  static final long REPLACE_AFTER_MILLIS_MAX = 7L * 24 * 3600 * 1000;

  /**
   * {@code replace-after-ms}, at least ten heartbeats and two election timeouts: a shorter bound
   * would take a lost heartbeat or an election for a lost member (the simulator's broken variant
   * {@code replace-after-one-heartbeat} shows what that does).
   */
  private static long replaceAfterMillis(Properties p, long heartbeatMillis, long electionMillis) {
    long min = Math.max(10 * heartbeatMillis, 2 * electionMillis);
    long v = longValue(p, "replace-after-ms", REPLACE_AFTER_MILLIS_DEFAULT, 1);
    if (v < min || v > REPLACE_AFTER_MILLIS_MAX) {
      throw new IllegalArgumentException("replace-after-ms: " + v + " is not in [" + min + ", "
          + REPLACE_AFTER_MILLIS_MAX + "] (at least ten heartbeat intervals and two election "
          + "timeouts, at most a week)");
    }
    return v;
  }

  /** This member's own addresses. */
  public MemberAddress me() {
    return members.get(self);
  }

  /**
   * The configured members as the core's bootstrap membership, each with its addresses: all
   * voting, except this member when it {@link #join}s (a learner until the primary promotes it).
   */
  public Membership membership() {
    List<Member> list = new ArrayList<>();
    for (MemberAddress m : new TreeMap<>(members).values()) {
      boolean voting = !(join && m.id().equals(self));
      list.add(new Member(m.id(), m.role(), voting, addressText(m)));
    }
    return Membership.of(list);
  }

  /** A member's addresses as its membership record carries them: "RESP PEER". */
  public static String addressText(MemberAddress m) {
    return m.resp().getHostString() + ":" + m.resp().getPort() + " "
        + m.peer().getHostString() + ":" + m.peer().getPort();
  }

  /** {@code text} as a role, or an error naming {@code key}. */
  static Role role(String key, String text) {
    try {
      return Role.valueOf(text.toUpperCase(java.util.Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(key + ": role '" + text
          + "' is not primary, backup or witness");
    }
  }

  /**
   * A member's address text ({@link #addressText}) from its RESP and peer HOST:PORT, checked.
   *
   * @throws IllegalArgumentException naming {@code key} when either is malformed
   */
  static String addressText(String key, String resp, String peer) {
    InetSocketAddress r = address(key, resp);
    InetSocketAddress p = address(key, peer);
    return r.getHostString() + ":" + r.getPort() + " " + p.getHostString() + ":" + p.getPort();
  }

  /**
   * The addresses of a member as its membership record names them ({@link #addressText}), or
   * null when the record carries none.
   *
   * @throws IllegalArgumentException when the address text is malformed
   */
  public static MemberAddress fromMember(Member m) {
    if (m.address().isEmpty()) {
      return null;
    }
    String[] parts = m.address().trim().split("\\s+");
    if (parts.length != 2) {
      throw new IllegalArgumentException("member " + m.id() + "'s address '" + m.address()
          + "' is not 'RESP_HOST:PORT PEER_HOST:PORT'");
    }
    String key = "member " + m.id().value();
    return new MemberAddress(m.id(), m.role(), address(key, parts[0]), address(key, parts[1]));
  }

  /** Every other member's peer address. */
  public Map<NodeId, InetSocketAddress> peerAddresses() {
    Map<NodeId, InetSocketAddress> out = new TreeMap<>();
    members.forEach((id, m) -> {
      if (!id.equals(self)) {
        out.put(id, m.peer());
      }
    });
    return out;
  }

  private static String required(Properties p, String key) {
    String v = p.getProperty(key);
    if (v == null || v.isBlank()) {
      throw new IllegalArgumentException("missing required key '" + key + "'");
    }
    return v.trim();
  }

  private static int intValue(Properties p, String key, String v, int min, int max) {
    try {
      int x = Integer.parseInt(v.trim());
      if (x < min || x > max) {
        throw new NumberFormatException();
      }
      return x;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": '" + v.trim() + "' is not an integer in ["
          + min + ", " + max + "]");
    }
  }

  private static boolean booleanValue(Properties p, String key, boolean dflt) {
    String v = p.getProperty(key);
    if (v == null) {
      return dflt;
    }
    return switch (v.trim()) {
      case "true" -> true;
      case "false" -> false;
      default -> throw new IllegalArgumentException(key + ": '" + v.trim()
          + "' is not true or false");
    };
  }

  private static long longValue(Properties p, String key, long dflt, long min) {
    String v = p.getProperty(key);
    if (v == null) {
      return dflt;
    }
    try {
      long x = Long.parseLong(v.trim());
      if (x < min) {
        throw new NumberFormatException();
      }
      return x;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": '" + v.trim() + "' is not an integer >= " + min);
    }
  }

  private static double doubleValue(Properties p, String key, double dflt) {
    String v = p.getProperty(key);
    if (v == null) {
      return dflt;
    }
    try {
      double x = Double.parseDouble(v.trim());
      if (!Double.isFinite(x)) {
        throw new NumberFormatException();
      }
      return x;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + ": '" + v.trim() + "' is not a number");
    }
  }

  private static InetSocketAddress address(String key, String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new IllegalArgumentException(key + ": '" + hostPort + "' is not HOST:PORT");
    }
    String host = hostPort.substring(0, colon);
    int port;
    try {
      port = Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException(key + ": port in '" + hostPort + "' is not 1..65535");
    }
    return InetSocketAddress.createUnresolved(host, port);
  }
}
