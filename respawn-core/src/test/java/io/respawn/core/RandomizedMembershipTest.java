package io.respawn.core;

import static io.respawn.core.Cluster.MS;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Membership.Member;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.LongStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded property test with a membership nemesis: while messages are lost and reordered and
 * nodes crash, the leader adds learners, promotes them, removes voters and lets witnesses stand
 * in for down backups. {@link Checker} after every event. Seed in the test name.
 */
class RandomizedMembershipTest {

  static LongStream seeds() {
    long n = Long.getLong("respawn.core.seeds", 8L);
    long first = Long.getLong("respawn.core.firstSeed", 1L);
    return LongStream.range(first, first + n);
  }

  @ParameterizedTest(name = "seed={0}")
  @MethodSource("seeds")
  void safetyHoldsAcrossReconfigurations(long seed) {
    Random rnd = new Random(seed);
    Cluster c = new Cluster(Cluster.shape(1, 1), b -> b.randomSeed(seed));
    Checker checker = new Checker(c);
    int nextId = 4;
    int changes = 0;
    for (int step = 0; step < 3_000; step++) {
      c.globalNanos += 10 * MS;
      int dice = rnd.nextInt(1000);
      List<NodeId> ids = new ArrayList<>(c.replicas.keySet());
      if (dice < 3 && c.down.isEmpty()) {
        c.down.add(ids.get(rnd.nextInt(ids.size())));
      } else if (dice < 10 && !c.down.isEmpty()) {
        NodeId back = new ArrayList<>(c.down).get(0);
        c.restart(back.value());
      }
      double loss = (step / 300) % 2 == 0 ? 0.0 : 0.1;
      c.dropIf = m -> rnd.nextDouble() < loss;
      c.tickAll();
      checker.check();
      List<Message> batch = new ArrayList<>(c.queue);
      c.queue.clear();
      Collections.shuffle(batch, rnd);
      for (Message m : batch) {
        if (rnd.nextInt(100) < 8) {
          c.queue.add(m);
        } else {
          c.deliver(m);
          checker.check();
        }
      }
      Replica l = c.leader();
      if (l == null) {
        continue;
      }
      if (rnd.nextInt(3) == 0) {
        c.handle(l.id(), l.propose(Command.of(("v" + step).getBytes(),
            ("k" + rnd.nextInt(8)).getBytes()), c.now(l.id())).ready());
      }
      if (rnd.nextInt(2) == 0) {
        ReadResult rr = c.read(l.id().value(), step);
        if (rr.ok()) {
          checker.checkReadAllowed(l);
        }
      }
      if (rnd.nextInt(60) == 0) {
        Membership cur = l.membership();
        if (!cur.isJoint()) {
          Membership target = pickChange(cur, l, c, rnd, nextId);
          if (target != null) {
            for (NodeId id : target.nodes()) {
              if (!c.replicas.containsKey(id)) {
                nextId = Math.max(nextId, id.value() + 1);
                c.add(id, ReplicaConfig.builder(id, target).electionTimeoutMillis(1000)
                    .heartbeatIntervalMillis(100).leaseMillis(500).maxEntriesPerAppend(8)
                    .catchUpTimeoutMillis(200).randomSeed(seed * 31 + id.value()).build());
              }
            }
            if (l.proposeMembership(target, c.now(l.id()))) {
              changes++;
            }
            c.handle(l.id(), l.ready());
          }
        }
      }
      // a down voting backup: let a witness stand in so the shard keeps committing
      for (NodeId b : l.membership().votingBackups()) {
        if (c.down.contains(b) && !l.standIns().containsKey(b)) {
          for (NodeId w : l.membership().allVoters()) {
            if (l.membership().role(w) == Role.WITNESS && !w.equals(l.id()) && !c.down.contains(w)) {
              if (l.standIn(b, w)) {
                c.handle(l.id(), l.ready());
                break;
              }
            }
          }
        }
      }
      checker.check();
    }
    c.heal();
    for (NodeId id : new ArrayList<>(c.down)) {
      c.restart(id.value());
    }
    c.run(8_000);
    checker.check(true);
    assertThat(c.leader()).as("leader after healing (%d changes)", changes).isNotNull();
    assertThat(checker.committedCount()).isGreaterThan(10);
    assertThat(changes).as("configuration changes proposed").isGreaterThan(2);
    assertThat(c.leader().membership().nodes().size()).isGreaterThanOrEqualTo(3);
  }

  /** A random legal next configuration, or null. */
  private static Membership pickChange(Membership cur, Replica leader, Cluster c, Random rnd,
      int nextId) {
    List<Member> ms = new ArrayList<>(cur.incoming());
    List<Member> learners = ms.stream().filter(m -> !m.voting()).toList();
    long voters = ms.stream().filter(Member::voting).count();
    switch (rnd.nextInt(3)) {
      case 0 -> {
        if (ms.size() >= 6) {
          return null;
        }
        ms.add(Member.learner(nextId, rnd.nextBoolean() ? Role.BACKUP : Role.WITNESS));
      }
      case 1 -> {
        if (learners.isEmpty()) {
          return null;
        }
        Member p = learners.get(rnd.nextInt(learners.size()));
        if (leader.matchIndex(p.id()) < leader.commitIndex()) {
          return null; // not caught up yet
        }
        ms.set(ms.indexOf(p), new Member(p.id(), p.role(), true));
      }
      default -> {
        if (voters <= 3) {
          return null;
        }
        List<Member> removable = ms.stream()
            .filter(m -> m.voting() && !m.id().equals(leader.id())).toList();
        ms.remove(removable.get(rnd.nextInt(removable.size())));
      }
    }
    return Membership.of(ms);
  }
}
