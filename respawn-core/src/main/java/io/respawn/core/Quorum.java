package io.respawn.core;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Quorum arithmetic, pure and stateless.
 *
 * <p><b>Write (commit) quorum</b> of one half of a configuration: every voting backup of that half
 * (a backup the leader has declared failed is replaced by its stand-in witness) <em>and</em> a
 * strict majority of the half's voters. In a joint configuration both halves must be satisfied.
 * The leases use the same shape. With {@link Variant#COMMIT_WITHOUT_BACKUP} the backup clause is
 * dropped (deliberately unsafe).
 *
 * <p><b>Election quorum</b>: a strict majority of voters in each half (unchanged Raft). It
 * intersects every write quorum, which is what leader completeness needs.
 */
final class Quorum {
  private Quorum() {}

  /** Members whose ack every write needs in {@code half}. */
  static Set<NodeId> requiredAcks(List<Membership.Member> half, Map<NodeId, NodeId> standIns) {
    Set<NodeId> out = new LinkedHashSet<>();
    for (Membership.Member m : half) {
      if (m.voting() && m.role() == Role.BACKUP) {
        out.add(requiredAckFor(m.id(), standIns));
      }
    }
    return out;
  }

  /** The member whose ack a write needs for voting backup {@code backup}: it, or its stand-in. */
  static NodeId requiredAckFor(NodeId backup, Map<NodeId, NodeId> standIns) {
    NodeId sub = standIns.isEmpty() ? null : standIns.get(backup);
    return sub != null ? sub : backup;
  }

  static boolean isMajority(List<Membership.Member> half, Set<NodeId> yes) {
    int voters = 0;
    int count = 0;
    for (Membership.Member m : half) {
      if (m.voting()) {
        voters++;
        if (yes.contains(m.id())) {
          count++;
        }
      }
    }
    return count > voters / 2;
  }

  static boolean isCommitQuorum(
      Membership membership, Set<NodeId> acked, Map<NodeId, NodeId> standIns, Variant variant) {
    List<List<Membership.Member>> halves = variant == Variant.JOINT_NEW_ONLY
        ? membership.halves().subList(0, 1) : membership.halves();
    for (List<Membership.Member> half : halves) {
      if (!isMajority(half, acked)) {
        return false;
      }
      if (variant != Variant.COMMIT_WITHOUT_BACKUP && !acked.containsAll(requiredAcks(half, standIns))) {
        return false;
      }
    }
    return true;
  }

  static boolean isElectionQuorum(Membership membership, Set<NodeId> granted) {
    for (List<Membership.Member> half : membership.halves()) {
      if (!isMajority(half, granted)) {
        return false;
      }
    }
    return true;
  }

  /** True once so many voters said no that a majority can no longer be reached in some half. */
  static boolean isElectionLost(Membership membership, Set<NodeId> rejected) {
    for (List<Membership.Member> half : membership.halves()) {
      List<Membership.Member> voters = new ArrayList<>();
      for (Membership.Member m : half) {
        if (m.voting()) {
          voters.add(m);
        }
      }
      long no = voters.stream().filter(m -> rejected.contains(m.id())).count();
      if (voters.size() - no <= voters.size() / 2) {
        return true;
      }
    }
    return false;
  }

  /**
   * The largest {@code x} such that the members with {@code values.get(n) >= x} form a write
   * quorum; {@link Long#MIN_VALUE} if even all of them do not. Members absent from {@code values}
   * count as {@link Long#MIN_VALUE}. Used for the commit index (values = match indexes) and the
   * lease start (values = acknowledged heartbeat send times).
   */
  static long commitQuorumValue(
      Membership membership, Map<NodeId, Long> values, Map<NodeId, NodeId> standIns, Variant variant) {
    NodeId[] voters = membership.voterIds();
    long[] byVoter = new long[voters.length];
    for (int i = 0; i < voters.length; i++) {
      byVoter[i] = values.getOrDefault(voters[i], Long.MIN_VALUE);
    }
    return commitQuorumValue(membership, byVoter, standIns, variant);
  }

  /**
   * {@link #commitQuorumValue(Membership, Map, Map, Variant)} without a map: {@code byVoter[i]} is
   * the value of {@code membership.voterIds()[i]}. Allocates nothing (the leader computes this on
   * every commit and lease check). A stand-in that is no voter counts as absent. Candidates are
   * the distinct values, tried from the largest down (at most a handful of voters, so each is
   * found by a scan instead of a sort).
   */
  static long commitQuorumValue(
      Membership membership, long[] byVoter, Map<NodeId, NodeId> standIns, Variant variant) {
    boolean first = true;
    long x = Long.MAX_VALUE;
    while (true) {
      // the largest value below the last candidate (or the largest, first)
      boolean found = false;
      long next = Long.MIN_VALUE;
      for (long v : byVoter) {
        if ((first || v < x) && (!found || v > next)) {
          next = v;
          found = true;
        }
      }
      if (!found) {
        return Long.MIN_VALUE;
      }
      first = false;
      x = next;
      if (isCommitQuorumAt(membership, byVoter, x, standIns, variant)) {
        return x;
      }
      if (x == Long.MIN_VALUE) {
        return Long.MIN_VALUE;
      }
    }
  }

  /** Whether the voters with {@code byVoter[i] >= x} form a write quorum. */
  private static boolean isCommitQuorumAt(Membership membership, long[] byVoter, long x,
      Map<NodeId, NodeId> standIns, Variant variant) {
    int halves = variant == Variant.JOINT_NEW_ONLY ? 1 : membership.halves().size();
    for (int h = 0; h < halves; h++) {
      int[] voters = membership.halfVoters(h);
      int yes = 0;
      for (int i : voters) {
        if (byVoter[i] >= x) {
          yes++;
        }
      }
      if (yes <= voters.length / 2) {
        return false;
      }
      if (variant == Variant.COMMIT_WITHOUT_BACKUP) {
        continue;
      }
      for (int b : membership.halfBackups(h)) {
        NodeId backup = membership.voterIds()[b];
        NodeId ack = requiredAckFor(backup, standIns);
        int j = ack == backup ? b : membership.voterIndex(ack);
        if (j < 0 || byVoter[j] < x) {
          return false;
        }
      }
    }
    return true;
  }
}
