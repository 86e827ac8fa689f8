package io.respawn.core;

import static io.respawn.core.Cluster.MS;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Seeded property test: random loss, duplication, reordering, partitions, crashes/restarts and
 * clock drift against 1+1+1, 1+1+2 and 1+2+2 shards; {@link Checker} after every event. The
 * simulator goes much deeper; this keeps the core honest on its own. The seed is in the name.
 * More seeds: {@code -Drespawn.core.seeds=200 -Drespawn.core.firstSeed=1000}.
 */
class RandomizedClusterTest {

  static Stream<Arguments> cases() {
    List<Arguments> out = new ArrayList<>();
    int[][] shapes = {{1, 1}, {1, 2}, {2, 2}};
    for (int[] s : shapes) {
      long seeds = Long.getLong("respawn.core.seeds", 8L);
      long firstSeed = Long.getLong("respawn.core.firstSeed", 1L);
      for (long seed = firstSeed; seed < firstSeed + seeds; seed++) {
        out.add(Arguments.of(s[0], s[1], seed));
      }
    }
    return out.stream();
  }

  static String describe(Cluster c) {
    StringBuilder sb = new StringBuilder();
    for (Replica r : c.replicas.values()) {
      sb.append(r).append(" persisted=").append(r.persistedIndex());
      if (r.status() == Status.LEADER) {
        for (NodeId p : r.membership().nodes()) {
          sb.append(' ').append(p).append("->").append(r.matchIndex(p));
        }
        if (r.lastIndex() > r.commitIndex()) {
          sb.append(" firstUncommitted=").append(r.log().entry(r.commitIndex() + 1));
        }
      }
      sb.append('\n');
    }
    return sb.toString();
  }

  @ParameterizedTest(name = "backups={0} witnesses={1} seed={2}")
  @MethodSource("cases")
  void safetyHoldsUnderFaults(int backups, int witnesses, long seed) {
    runScenario(backups, witnesses, seed, Variant.CORRECT);
  }

  /**
   * Teeth: each broken variant must be caught by the checker within a handful of seeds. This
   * harness starts no leadership transfer and gives no reachability hint, so TRANSFER_KEEPS_LEASE
   * and HINT_VOIDS_PROMISE have their teeth in the simulator's LeaseScenarioTest instead;
   * SPECULATIVE_VOTE_IN_LEASE acts only under speculative takeover (teeth in TakeoverTest and
   * LeaseScenarioTest); this harness compacts no log, so INSTALL_STALE_SNAPSHOT has its teeth in
   * SnapshotTest and the simulator's TeethTest, and COMPACT_BEYOND_DURABLE in the simulator's
   * CompactionTeethTest; it changes no membership, so JOINT_NEW_ONLY has its teeth in the
   * simulator's TeethTest. KEEP_FUZZY_AT_INDEX is read by the runtime only (respawn-node), with
   * its teeth in the simulator's CompactionTeethTest. IGNORE_FLUSH_WANTED is read by the runtime
   * only and delays DURABLE acknowledgements without breaking anything this checker sees, with its
   * teeth in the simulator's TeethTest (durable-flush-late). SPECULATIVE_IGNORES_SILENCE only
   * causes a failover a correct node would not (it breaks no safety rule this checker sees), with
   * its teeth in the simulator's TakeoverScenarioTest. DETECTOR_KEEPS_OLD_WINDOW only delays a
   * failover (no safety rule), with its teeth in the simulator's TakeoverScenarioTest too.
   * COUNT_DURABLE_NOTICES_IN_FLIGHT and IGNORE_PROPOSAL_BOUNDS are read by the runtime only and
   * refuse writes it had room for, or accept writes past its bounds (safe either way), with
   * their teeth in the simulator's TeethTest (queue-full-unjustified, write-bound-exceeded).
   * SENDER_HOLDS_NO_IMAGE is read by the runtime only (its snapshot sender), with its teeth in
   * the simulator's CompactionTeethTest (snapshot-read-released). STAND_IN_ENDS_BEHIND acts only
   * when the leader stands in by itself (standInAfterMillis, not set here), with its teeth in the
   * simulator's TeethTest (stand-in-ended-covered), as does HAND_BACK_UNCAPPED.
   * UNBOUNDED_PIPELINE and PROBE_SILENT_FOLLOWERS only send more than the flow control allows
   * (safe), with their teeth in ReplicationTest and the simulator's TeethTest
   * (appends-in-flight). STAND_IN_STAYS_WITH_SILENT_WITNESS only leaves writes waiting (safe),
   * with its teeth in the simulator's StandInScenarioTest. REPLACE_AFTER_ONE_HEARTBEAT is the
   * primary's spare policy, which this cluster does not run (MemberReplacementTest, and the
   * simulator's replaced-while-heard check), as is PRIMARY_SPARE_BESIDE_PRIMARY (the simulator's
   * two-primaries check). TICK_DUE_IGNORES_SILENCE only matters to a driver that ticks when due
   * (this one ticks always): its teeth are the simulator's tick-skipped-when-due check.
   * IN_FLIGHT_INVISIBLE and OVERLAY_READ_UNGATED break the runtime's InFlightWrites, which this
   * core-only cluster does not use: their teeth are the simulator's linearizability checker
   * (TeethTest), as are PULL_IGNORES_APPLIED_INDEX's (the runtime's ValueRecovery);
   * NEVER_GIVE_BACK breaks the runtime's LeadershipHandOver (TeethTest, primary-not-given-back).
   */
  @ParameterizedTest(name = "{0}")
  @org.junit.jupiter.params.provider.EnumSource(value = Variant.class,
      names = {"CORRECT", "TRANSFER_KEEPS_LEASE", "HINT_VOIDS_PROMISE",
          "SPECULATIVE_VOTE_IN_LEASE", "INSTALL_STALE_SNAPSHOT", "COMPACT_BEYOND_DURABLE",
          "JOINT_NEW_ONLY", "KEEP_FUZZY_AT_INDEX", "IGNORE_FLUSH_WANTED",
          "SPECULATIVE_IGNORES_SILENCE", "DETECTOR_KEEPS_OLD_WINDOW",
          "COUNT_DURABLE_NOTICES_IN_FLIGHT", "IGNORE_PROPOSAL_BOUNDS", "SENDER_HOLDS_NO_IMAGE",
          "STAND_IN_ENDS_BEHIND", "HAND_BACK_UNCAPPED", "UNBOUNDED_PIPELINE",
          "PROBE_SILENT_FOLLOWERS", "STAND_IN_STAYS_WITH_SILENT_WITNESS",
          "REPLACE_AFTER_ONE_HEARTBEAT", "PRIMARY_SPARE_BESIDE_PRIMARY", "TICK_DUE_IGNORES_SILENCE",
          "IN_FLIGHT_INVISIBLE", "OVERLAY_READ_UNGATED", "PULL_IGNORES_APPLIED_INDEX",
          "NEVER_GIVE_BACK"},
      mode = org.junit.jupiter.params.provider.EnumSource.Mode.EXCLUDE)
  void brokenVariantsAreCaught(Variant variant) {
    int caught = 0;
    for (long seed = 1; seed <= 20 && caught == 0; seed++) {
      try {
        runScenario(1 + (int) (seed % 2), 1 + (int) (seed % 3), seed, variant);
      } catch (AssertionError | IllegalStateException expected) {
        caught++;
      }
    }
    assertThat(caught).as("%s caught within 20 seeds", variant).isPositive();
  }

  private static void runScenario(int backups, int witnesses, long seed, Variant variant) {
    Random rnd = new Random(seed);
    Cluster c = new Cluster(Cluster.shape(backups, witnesses),
        b -> b.randomSeed(seed).variant(variant));
    for (NodeId id : c.replicas.keySet()) {
      c.clockRate.put(id, 1.0 + (rnd.nextDouble() * 2 - 1) * 0.0099);
    }
    Checker checker = new Checker(c);
    List<NodeId> ids = new ArrayList<>(c.replicas.keySet());
    int maxDown = Math.max(1, (ids.size() - 1) / 2);
    long reads = 0;
    long okReads = 0;
    for (int step = 0; step < 2_500; step++) {
      c.globalNanos += 10 * MS;
      // faults
      int dice = rnd.nextInt(1000);
      if (dice < 4 && c.down.size() < maxDown) {
        c.down.add(ids.get(rnd.nextInt(ids.size())));
      } else if (dice < 12 && !c.down.isEmpty()) {
        NodeId back = new ArrayList<>(c.down).get(rnd.nextInt(c.down.size()));
        c.restart(back.value());
      } else if (dice < 15) {
        Set<NodeId> side = Set.of(ids.get(rnd.nextInt(ids.size())));
        c.partition(side);
      } else if (dice < 25) {
        double loss = rnd.nextDouble() * 0.2;
        c.dropIf = m -> rnd.nextDouble() < loss;
      }
      c.tickAll();
      checker.check();
      // deliver a random, reordered subset of the queue; duplicate a few
      List<Message> batch = new ArrayList<>(c.queue);
      c.queue.clear();
      Collections.shuffle(batch, rnd);
      for (Message m : batch) {
        int r = rnd.nextInt(100);
        if (r < 10) {
          c.queue.add(m); // delay to a later step
          continue;
        }
        c.deliver(m);
        if (r < 12) {
          c.deliver(m);
        }
        checker.check();
      }
      Replica l = c.leader();
      if (l != null && rnd.nextInt(3) == 0) {
        c.handle(l.id(), l.propose(Command.of(("v" + step).getBytes(),
            ("k" + rnd.nextInt(10)).getBytes()), c.now(l.id())).ready());
        checker.check();
      }
      // read at every node that believes it leads, including deposed ones still cut off
      for (Replica any : new ArrayList<>(c.replicas.values())) {
        if (any.status() == Status.LEADER && !c.down.contains(any.id()) && rnd.nextInt(2) == 0) {
          reads++;
          ReadResult rr = c.read(any.id().value(), step * 100L + any.id().value());
          if (rr.ok()) {
            okReads++;
            checker.checkReadAllowed(any);
          }
        }
      }
    }
    // heal everything and make sure the shard makes progress again
    c.heal();
    for (NodeId id : new ArrayList<>(c.down)) {
      c.restart(id.value());
    }
    c.queue.clear();
    c.run(6_000);
    checker.check(true);
    Replica l = c.leader();
    assertThat(l).as("a leader after healing").isNotNull();
    c.propose("final", "k");
    c.run(1_000);
    checker.check(true);
    assertThat(l.commitIndex()).as(() -> describe(c)).isEqualTo(l.lastIndex());
    assertThat(checker.committedCount()).isGreaterThan(10);
    assertThat(okReads).isPositive();
    assertThat(reads).isGreaterThanOrEqualTo(okReads);
  }
}
