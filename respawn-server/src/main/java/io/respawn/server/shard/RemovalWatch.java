package io.respawn.server.shard;

import io.respawn.core.Membership;
import io.respawn.core.NodeId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Tells a member that the shard removed it while it was away. A member that was killed (or cut
 * off), then removed from the configuration (by an operator, or replaced by a spare), and then
 * started again never receives the change: its own log still lists it as a voter, so without
 * this it would serve as a member of a shard that no longer has it, naming itself in CLUSTER
 * SLOTS as the primary it was and holding every data command until CLUSTERDOWN. Its peers tell
 * it the truth at every connection attempt: they refuse the handshake because it is not a
 * member of their configuration.
 *
 * <p>The rule: this member is a voter in its own configuration, and a majority of that
 * configuration's voters (this member counted as not refusing) have refused it as a non-member
 * at every attempt for at least {@link #REFUSED_FOR_NANOS_MIN}. A majority cannot hold a
 * configuration without it unless such a configuration was appended on a majority, which is
 * what a commit takes; the bound rides out a change that was appended but not committed and a
 * peer that starts from an older view. A removed id is never added again (docs/operations.md),
 * so nothing is lost by stopping: the process exits with {@link #EXIT_REMOVED} and {@code
 * respawn up} does not start it again. A spare or any member that joins is a learner in its own
 * configuration until it is added, and is refused meanwhile by design: the rule never applies to
 * it.
 *
 * <p>Pure: the node loop passes its configuration and, per peer, since when that peer has
 * refused it as a non-member.
 */
final class RemovalWatch {
  /** How long a majority must have refused this member before it counts as removed. */
  static final long REFUSED_FOR_NANOS_MIN = 10_000_000_000L;
  /** The exit code of a member that found itself removed. */
  static final int EXIT_REMOVED = 3;

  private RemovalWatch() {}

  /**
   * Why {@code self} counts as removed at {@code nowNanos}, or null.
   *
   * @param refusedSinceNanos per peer, the time of the first of an unbroken run of handshake
   *     refusals as a non-member ({@link Long#MIN_VALUE}, or absent: none)
   */
  static String removedWhy(NodeId self, Membership view, Map<NodeId, Long> refusedSinceNanos,
      long nowNanos) {
    if (!view.isVoter(self)) {
      return null;
    }
    List<NodeId> voters = new ArrayList<>(view.allVoters());
    List<String> refusing = new ArrayList<>();
    for (NodeId v : voters) {
      Long since = refusedSinceNanos.get(v);
      if (!v.equals(self) && since != null && since != Long.MIN_VALUE
          && nowNanos - since >= REFUSED_FOR_NANOS_MIN) {
        refusing.add(Integer.toString(v.value()));
      }
    }
    if (refusing.size() < voters.size() / 2 + 1) {
      return null;
    }
    return "members " + String.join(", ", refusing) + " of " + voters.size() + " voters have "
        + "refused this member as not a member of the shard for "
        + REFUSED_FOR_NANOS_MIN / 1_000_000_000L + " s or more: it was removed while it was away";
  }
}
