package io.respawn.sim.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.NodeId;
import io.respawn.core.PersistentState;
import io.respawn.node.ReplicaLog;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

/** Both kinds of simulated disk keep the replica log contract across both kinds of crash. */
class SimStorageTest {

  private static Entry normal(long term, long index) {
    byte[] key = ("k" + index).getBytes(StandardCharsets.US_ASCII);
    return Entry.normal(term, index, Command.of(new byte[] {(byte) index, 1, 2}, key));
  }

  @Test
  void segmentedLogFollowsTheContract() {
    checkContract(SimStorage::segmented);
  }

  @Test
  void memoryModelFollowsTheContract() {
    checkContract(SimStorage::memory);
  }

  /**
   * Flushed entries survive every machine crash; unflushed ones survive as a prefix of the
   * changes (a truncation is one change); the hard state is durable when saved; kill -9 keeps
   * everything written.
   */
  private static void checkContract(Supplier<SimStorage> factory) {
    int lostSomething = 0;
    for (int seed = 0; seed < 60; seed++) {
      SplittableRandom random = new SplittableRandom(seed);
      SimStorage s = factory.get();
      ReplicaLog log = s.open(Runnable::run);
      assertThat(log.load()).isEqualTo(PersistentState.EMPTY);
      List<Entry> flushed = new ArrayList<>();
      for (long i = 1; i <= 5; i++) {
        flushed.add(normal(1, i));
      }
      log.append(flushed);
      log.saveHardState(new HardState(1, NodeId.of(0), 0));
      log.flush();
      // unflushed: replace 4..5 with term-2 entries, then append 6
      log.truncateSuffix(4);
      log.append(List.of(normal(2, 4), normal(2, 5)));
      log.append(List.of(normal(2, 6)));
      log.saveHardState(new HardState(2, null, 0));
      assertThat(s.termAt(6)).isEqualTo(2);
      if (s.machineCrash(random)) {
        lostSomething++;
      }
      ReplicaLog again = s.open(Runnable::run);
      PersistentState p = again.load();
      List<Entry> got = p.log();
      assertThat(p.hardState()).as("saved durably").isEqualTo(new HardState(2, null, 0));
      String shape = got.size() + "/" + got.get(got.size() - 1).term();
      assertThat(shape).as("seed %d", seed).isIn("5/1", "3/1", "4/2", "5/2", "6/2");
      assertThat(got.subList(0, 3)).isEqualTo(flushed.subList(0, 3));
      // what survived is durable now: a kill -9 keeps it, and new writes too
      again.append(List.of(normal(3, got.size() + 1)));
      s.processCrash();
      List<Entry> afterKill = s.open(Runnable::run).load().log();
      assertThat(afterKill).hasSize(got.size() + 1);
      assertThat(afterKill.subList(0, got.size())).isEqualTo(got);
    }
    assertThat(lostSomething).as("some crash states drop unflushed changes").isGreaterThan(0);
  }
}
