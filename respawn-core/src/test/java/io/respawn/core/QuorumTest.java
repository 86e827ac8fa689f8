package io.respawn.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Membership.Member;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Quorum arithmetic against a brute-force reference over every subset; config validation. */
class QuorumTest {

  static LongStream seeds() {
    return LongStream.rangeClosed(1, 40);
  }

  private static List<Member> randomHalf(Random rnd, int maxId) {
    List<Member> out = new ArrayList<>();
    for (int id = 0; id < maxId; id++) {
      if (rnd.nextInt(3) > 0) {
        out.add(new Member(NodeId.of(id), Role.values()[id % 3], rnd.nextInt(4) > 0));
      }
    }
    if (out.stream().noneMatch(Member::voting)) {
      out.add(Member.voter(maxId, Role.PRIMARY));
    }
    return out;
  }

  /** The definition, written out independently: all required backups and a majority, per half. */
  private static boolean referenceIsQuorum(Membership m, Set<NodeId> s, Map<NodeId, NodeId> standIns) {
    for (List<Member> half : m.halves()) {
      int voters = 0;
      int yes = 0;
      for (Member x : half) {
        if (!x.voting()) {
          continue;
        }
        voters++;
        if (s.contains(x.id())) {
          yes++;
        }
        if (x.role() == Role.BACKUP) {
          NodeId needed = standIns.getOrDefault(x.id(), x.id());
          if (!s.contains(needed)) {
            return false;
          }
        }
      }
      if (2 * yes <= voters) {
        return false;
      }
    }
    return true;
  }

  @ParameterizedTest(name = "seed={0}")
  @MethodSource("seeds")
  void commitValueMatchesBruteForce(long seed) {
    Random rnd = new Random(seed);
    for (int round = 0; round < 50; round++) {
      List<Member> in = randomHalf(rnd, 6);
      Membership m = rnd.nextBoolean()
          ? Membership.of(in)
          : new Membership(in, randomHalf(rnd, 6).stream()
              .map(x -> in.stream().filter(y -> y.id().equals(x.id())).findFirst().orElse(x))
              .toList());
      List<NodeId> voters = new ArrayList<>(m.allVoters());
      Map<NodeId, NodeId> standIns = new HashMap<>();
      if (rnd.nextBoolean()) {
        List<NodeId> backups = new ArrayList<>(m.votingBackups());
        List<NodeId> witnesses = voters.stream().filter(v -> m.role(v) == Role.WITNESS).toList();
        if (!backups.isEmpty() && !witnesses.isEmpty()) {
          standIns.put(backups.get(0), witnesses.get(0));
        }
      }
      Map<NodeId, Long> values = new HashMap<>();
      for (NodeId v : voters) {
        values.put(v, (long) rnd.nextInt(10));
      }
      long expected = Long.MIN_VALUE;
      for (int mask = 0; mask < (1 << voters.size()); mask++) {
        Set<NodeId> s = new HashSet<>();
        long min = Long.MAX_VALUE;
        for (int i = 0; i < voters.size(); i++) {
          if ((mask & (1 << i)) != 0) {
            s.add(voters.get(i));
            min = Math.min(min, values.get(voters.get(i)));
          }
        }
        if (!s.isEmpty() && referenceIsQuorum(m, s, standIns)) {
          expected = Math.max(expected, min);
        }
        assertThat(Quorum.isCommitQuorum(m, s, standIns, Variant.CORRECT))
            .as("seed %d %s %s", seed, m, s).isEqualTo(referenceIsQuorum(m, s, standIns));
      }
      assertThat(Quorum.commitQuorumValue(m, values, standIns, Variant.CORRECT))
          .as("seed %d %s %s", seed, m, values).isEqualTo(expected);
    }
  }

  @Test
  void everyWriteQuorumIntersectsEveryElectionQuorum() {
    Membership m = Cluster.shape(2, 2);
    List<NodeId> voters = new ArrayList<>(m.allVoters());
    for (int a = 0; a < (1 << voters.size()); a++) {
      for (int b = 0; b < (1 << voters.size()); b++) {
        Set<NodeId> sa = new HashSet<>();
        Set<NodeId> sb = new HashSet<>();
        for (int i = 0; i < voters.size(); i++) {
          if ((a & (1 << i)) != 0) {
            sa.add(voters.get(i));
          }
          if ((b & (1 << i)) != 0) {
            sb.add(voters.get(i));
          }
        }
        if (Quorum.isCommitQuorum(m, sa, Map.of(), Variant.CORRECT) && Quorum.isElectionQuorum(m, sb)) {
          sa.retainAll(sb);
          assertThat(sa).isNotEmpty();
        }
      }
    }
  }

  @Test
  void configValidationNamesTheLimit() {
    Membership m = Cluster.shape(1, 1);
    assertThatThrownBy(() -> ReplicaConfig.builder(NodeId.of(1), m).heartbeatIntervalMillis(600)
        .build()).hasMessageContaining("electionTimeoutMillis 1000 must exceed 2 * heartbeatIntervalMillis 600");
    assertThatThrownBy(() -> new Replica(ReplicaConfig.builder(NodeId.of(1), m).leaseMillis(990)
        .clockDriftMax(0.2).build(), PersistentState.EMPTY))
        .hasMessageContaining("must stay below electionTimeoutMillis");
    assertThat(Variant.parse("commit-without-backup")).isEqualTo(Variant.COMMIT_WITHOUT_BACKUP);
    assertThat(Variant.parse("vote-stale-log")).isEqualTo(Variant.VOTE_STALE_LOG);
    assertThat(Variant.parse("read-after-lease")).isEqualTo(Variant.READ_AFTER_LEASE);
  }

  @Test
  void timeMustNotGoBackwards() {
    Replica r = new Replica(ReplicaConfig.builder(NodeId.of(1), Cluster.shape(1, 1)).build(),
        PersistentState.EMPTY);
    r.tick(1_000);
    assertThatThrownBy(() -> r.tick(999)).hasMessageContaining("time went backwards");
  }
}
