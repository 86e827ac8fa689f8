package io.respawn.server.shard;

import io.respawn.core.Role;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * What a member knows about its shard at one instant, as the Redis Cluster commands and
 * redirects describe it: every member with its client address, which one is the primary (if
 * any is known), and the current term (shown as the cluster epoch). Immutable; the runtime
 * publishes a new one when anything in it changes, and the command thread reads the latest.
 *
 * @param self index of this member in {@code members}
 * @param primary index of the member known to lead, or -1 while none is known
 * @param epoch the current term
 * @param members every member, in id order
 * @param selfServing this member is the primary and may serve now (it holds the read lease and
 *     has no offline recovery or hand-over under way)
 * @param keysToLoad values this member, the primary, still copies from a backup before it serves
 *     (offline recovery); 0 otherwise
 */
public record ShardView(int self, int primary, long epoch, List<MemberView> members,
    boolean selfServing, long keysToLoad) {

  /**
   * One member as clients see it.
   *
   * @param nodeName the 40-hex-digit name CLUSTER NODES shows (stable for a member of a shard)
   * @param host address clients connect to
   * @param port RESP port
   * @param peerPort the shard's peer port (shown as the cluster bus port)
   * @param role the member's configured role
   * @param reachable this member currently hears from it (always true for itself)
   * @param outOfReach this member found it cannot reach it: its connection attempts fail
   *     (nothing listens there), or it refuses this member as not a member of the shard; false
   *     while that is not known (a link being set up, as at start-up) and for itself
   */
  public record MemberView(String nodeName, String host, int port, int peerPort, Role role,
      boolean reachable, boolean outOfReach) {
    public MemberView {
      if (reachable && outOfReach) {
        throw new IllegalArgumentException("member " + nodeName + " reachable and out of reach");
      }
    }

    /** A member that is out of reach exactly when it is not reachable (tests, single views). */
    public MemberView(String nodeName, String host, int port, int peerPort, Role role,
        boolean reachable) {
      this(nodeName, host, port, peerPort, role, reachable, !reachable);
    }
  }

  public ShardView {
    members = List.copyOf(members);
    if (self < 0 || self >= members.size() || primary < -1 || primary >= members.size()) {
      throw new IllegalArgumentException("self " + self + " / primary " + primary
          + " out of range for " + members.size() + " members");
    }
  }

  /** A view with nothing to load before serving. */
  public ShardView(int self, int primary, long epoch, List<MemberView> members,
      boolean selfServing) {
    this(self, primary, epoch, members, selfServing, 0);
  }

  /** A view in which this member serves whenever it is the primary (tests, single views). */
  public ShardView(int self, int primary, long epoch, List<MemberView> members) {
    this(self, primary, epoch, members, primary == self);
  }

  public boolean selfIsPrimary() {
    return primary == self;
  }

  public MemberView me() {
    return members.get(self);
  }

  /** The primary, or null while none is known. */
  public MemberView primaryMember() {
    return primary < 0 ? null : members.get(primary);
  }

  /** The 40-hex-digit Redis-style node name of member {@code id} of shard {@code clusterId}. */
  public static String nodeName(String clusterId, int id) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-1")
          .digest((clusterId + "/" + id).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
