package io.respawn.sim.storage;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.PersistentState;
import io.respawn.core.Role;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class ReplicaStorageTest {

  private static Entry normal(long term, long index) {
    byte[] key = ("k" + index).getBytes(StandardCharsets.US_ASCII);
    return Entry.normal(term, index, Command.of(new byte[] {(byte) index, 1, 2}, key));
  }

  @Test
  void entryCodecRoundTrips() {
    Membership joint = new Membership(
        List.of(Member.voter(0, Role.PRIMARY), Member.learner(3, Role.BACKUP)),
        List.of(Member.voter(0, Role.PRIMARY), Member.voter(2, Role.WITNESS)));
    List<Entry> entries = List.of(normal(3, 7), normal(3, 8).elide(), Entry.noop(4, 9),
        Entry.config(4, 10, joint));
    for (Entry e : entries) {
      Entry back = EntryCodec.decode(EntryCodec.encode(e));
      assertThat(back).isEqualTo(e);
    }
    HardState hs = new HardState(9, NodeId.of(4), 77);
    assertThat(EntryCodec.decodeHardState(EntryCodec.encode(hs))).isEqualTo(hs);
    HardState none = new HardState(1, null, 0);
    assertThat(EntryCodec.decodeHardState(EntryCodec.encode(none))).isEqualTo(none);
  }

  @Test
  void memoryStorageFollowsTheContract() {
    checkContract(MemoryReplicaStorage::new);
  }

  @Test
  void engineStorageFollowsTheContract() {
    checkContract(EngineReplicaStorage::new);
  }

  /**
   * Synced writes survive every crash; unsynced ones survive as a prefix of batches; a later
   * batch that replaces a suffix is atomic.
   */
  private static void checkContract(Supplier<ReplicaStorage> factory) {
    for (int seed = 0; seed < 60; seed++) {
      SplittableRandom random = new SplittableRandom(seed);
      ReplicaStorage s = factory.get();
      List<Entry> synced = new ArrayList<>();
      for (long i = 1; i <= 5; i++) {
        synced.add(normal(1, i));
      }
      s.write(new HardState(1, NodeId.of(0), 0), synced);
      s.sync();
      // unsynced: replace 4..5 with term-2 entries, then append 6
      s.write(new HardState(2, null, 3), List.of(normal(2, 4), normal(2, 5)));
      s.write(null, List.of(normal(2, 6)));
      assertThat(s.termAt(6)).isEqualTo(2);
      s.crash(random);
      PersistentState p = s.recover();
      List<Entry> log = p.log();
      String seen = p.hardState() + " " + log.size() + " last term "
          + log.get(log.size() - 1).term();
      assertThat(seen).as("seed %d", seed).isIn(
          "HardState[term=1, votedFor=n0, commitIndex=0] 5 last term 1",
          "HardState[term=2, votedFor=null, commitIndex=3] 5 last term 2",
          "HardState[term=2, votedFor=null, commitIndex=3] 6 last term 2");
      assertThat(log.subList(0, 3)).isEqualTo(synced.subList(0, 3));
      // what survived is durable now: a second crash keeps it
      s.crash(random);
      assertThat(s.recover().log()).isEqualTo(log);
    }
  }
}
