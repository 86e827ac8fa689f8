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
 * at every attempt for at least {@link #REFUSED_FOR_NANOS_MIN}, counted from when this process
 * first saw itself a voter (a spare knocks for hours before it is added, and is refused all
 * along: its links clear only as they redial after its promotion), each with a refusal within
 * the last {@link #REFUSED_LATELY_NANOS} (a peer that died keeps the run it had). A majority
 * cannot hold a
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
  /**
   * A refusal counts only if the latest came this recently: links redial at most every 2 s
   * (PeerConfig's reconnect maximum), so a peer that refuses refuses again within this.
   */
  static final long REFUSED_LATELY_NANOS = 5_000_000_000L;
  /** The exit code of a member that found itself removed. */
  static final int EXIT_REMOVED = 3;

  private RemovalWatch() {}

  /**
   * Whether a peer whose latest refusal of this member as a non-member came at {@code lastNanos}
   * ({@link Long#MIN_VALUE}: never) refuses it still at {@code nowNanos}: within {@link
   * #REFUSED_LATELY_NANOS}.
   */
  static boolean refusedLately(long lastNanos, long nowNanos) {
    return lastNanos != Long.MIN_VALUE && nowNanos - lastNanos <= REFUSED_LATELY_NANOS;
  }

  /** One peer's refusals as a non-member: the first of the current run and the latest. */
  record Refusals(long sinceNanos, long lastNanos) {
    static final Refusals NONE = new Refusals(Long.MIN_VALUE, Long.MIN_VALUE);
  }

  /**
   * Why {@code self} counts as removed at {@code nowNanos}, or null.
   *
   * @param voterSinceNanos when this process first saw itself a voter in its view (without a
   *     break since), or {@link Long#MIN_VALUE} if it is not one
   * @param refusals per peer ({@link Refusals#NONE}, or absent: none)
   */
  static String removedWhy(NodeId self, Membership view, long voterSinceNanos,
      Map<NodeId, Refusals> refusals, long nowNanos) {
    if (!view.isVoter(self) || voterSinceNanos == Long.MIN_VALUE) {
      return null;
    }
    List<NodeId> voters = new ArrayList<>(view.allVoters());
    List<String> refusing = new ArrayList<>();
    for (NodeId v : voters) {
      Refusals r = refusals.getOrDefault(v, Refusals.NONE);
      if (v.equals(self) || r.sinceNanos() == Long.MIN_VALUE) {
        continue;
      }
      long from = Math.max(r.sinceNanos(), voterSinceNanos);
      if (nowNanos - from >= REFUSED_FOR_NANOS_MIN && refusedLately(r.lastNanos(), nowNanos)) {
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
