package io.respawn.server.shard;

import static io.respawn.server.shard.ShardEntries.b;
import static io.respawn.server.shard.ShardEntries.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Entry;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The state machine a witness keeps: timestamps in the off-heap witness table while it follows,
 * values in the store only for what it pulled or wrote while leading, and never a stale or missing
 * value for a key whose newest write it knows only by timestamp.
 */
class EngineStateMachineTest {
  private static String s(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  @Test
  void aFollowingWitnessKeepsTimestampsOnlyAndReportsTheirKeysUnknown() {
    MapKvStore store = new MapKvStore();
    try (EngineStateMachine witness = new EngineStateMachine(store)) {
      for (int i = 1; i <= 2000; i++) {
        witness.apply(write(1, i, Mutation.put(b("k" + (i % 1000)), b("v" + i))).elide());
      }
      assertThat(store.keyCount()).as("a witness that follows holds no value").isZero();
      assertThat(witness.unknownKeyCount()).isEqualTo(1000);
      assertThat(witness.unknownKeyBytes()).isPositive();
      assertThat(witness.read(b("k5")).unknown()).isTrue();
      assertThat(witness.read(b("k5")).value()).isNull();
      assertThat(witness.read(b("never")).unknown()).as("a key never written is absent").isFalse();
      assertThat(witness.appliedIndex()).isEqualTo(2000);
    }
  }

  /**
   * The stale read: a witness that led holds a value it wrote; back to following, it applies a
   * newer write of that key in witness form. The read must say "unknown" — neither the old value
   * (the store must drop it) nor "absent" (the table must be consulted).
   */
  @Test
  void aValueHeldBeforeANewerWitnessFormWriteIsNeverReadStaleOrMissing() {
    MapKvStore store = new MapKvStore();
    try (EngineStateMachine witness = new EngineStateMachine(store)) {
      witness.apply(write(2, 1, Mutation.put(b("a"), b("old")), Mutation.put(b("b"), b("kept"))));
      assertThat(s(witness.read(b("a")).value().value())).isEqualTo("old");
      witness.apply(write(3, 2, Mutation.put(b("a"), b("new"))).elide());
      EngineStateMachine.Read a = witness.read(b("a"));
      assertThat(a.value()).as("no stale value").isNull();
      assertThat(a.unknown()).as("unknown, not absent").isTrue();
      assertThat(store.get(b("a"))).isNull();
      assertThat(witness.read(b("b")).unknown())
          .as("following again, it trusts no value it held (a CLEAR may hide in witness form)")
          .isTrue();
      assertThat(store.keyCount()).isZero();
      // Written again in full (it leads again): known, with the new value.
      witness.apply(write(4, 3, Mutation.put(b("a"), b("newest"))));
      assertThat(witness.read(b("a")).unknown()).isFalse();
      assertThat(s(witness.read(b("a")).value().value())).isEqualTo("newest");
      assertThat(witness.unknownKeyCount()).as("b, until pulled").isEqualTo(1);
    }
  }

  /**
   * A FLUSHALL's witness form names no key; alone or in a batch with other writes, the values a
   * witness held from when it led must not survive it as current (a later lead would serve them).
   */
  @Test
  void aClearHiddenInWitnessFormLeavesNoStaleValue() {
    MapKvStore store = new MapKvStore();
    try (EngineStateMachine witness = new EngineStateMachine(store)) {
      witness.apply(write(2, 1, Mutation.put(b("a"), b("1")), Mutation.put(b("b"), b("1"))));
      witness.apply(write(3, 2, Mutation.clear()).elide());
      assertThat(witness.read(b("a")).unknown()).as("alone").isTrue();
      assertThat(witness.read(b("a")).value()).isNull();
      // Pulled from a backup that applied the CLEAR: absent.
      assertThat(witness.installPulled(b("a"), false, null, 0, 2)).isTrue();
      assertThat(witness.read(b("a")).unknown()).isFalse();
      assertThat(witness.read(b("a")).value()).isNull();
      witness.apply(write(4, 3, Mutation.put(b("c"), b("1"))));
      witness.apply(write(4, 4, Mutation.clear(), Mutation.put(b("d"), b("2"))).elide());
      assertThat(witness.read(b("c")).unknown()).as("in a batch with a write").isTrue();
      assertThat(witness.read(b("d")).unknown()).isTrue();
      assertThat(store.keyCount()).isZero();
    }
  }

  /** A witness that led, holding {@code held} values k0..k(held-1) written at 2/1. */
  private static EngineStateMachine ledWith(MapKvStore store, int held) {
    EngineStateMachine witness = new EngineStateMachine(store);
    Mutation[] puts = new Mutation[held];
    for (int i = 0; i < held; i++) {
      puts[i] = Mutation.put(b("k" + i), b("v" + i));
    }
    witness.apply(write(2, 1, puts));
    return witness;
  }

  /**
   * A witness that led and follows again moves the keys it held into the table a few pages per
   * entry it applies in witness form (a 4 M-key store moved at once stood its event loop still
   * for 5.3 s). Meanwhile every key it held reads unknown, never its old value nor absent; a newer
   * witness-form write keeps its newer timestamp; and the store is emptied once the last key moved.
   */
  @Test
  void aWitnessThatLedMovesItsKeysIntoTheTableOverTheEntriesThatFollow() {
    MapKvStore store = new MapKvStore();
    int held = 5 * EngineStateMachine.DRAIN_KEYS_PER_ENTRY + 7;
    try (EngineStateMachine witness = ledWith(store, held)) {
      witness.apply(write(3, 2, Mutation.put(b("other"), b("x"))).elide());
      assertThat(witness.draining()).isTrue();
      assertThat(store.keyCount()).as("one step moved, the store not emptied yet").isEqualTo(held);
      assertThat(witness.unknownKeyCount()).as("a step's worth of keys, not all")
          .isBetween((long) EngineStateMachine.DRAIN_KEYS_PER_ENTRY, (long) held - 1);
      for (int i = 0; i < held; i++) {
        EngineStateMachine.Read r = witness.read(b("k" + i));
        assertThat(r.value()).as("k%d: no value held while leading is served", i).isNull();
        assertThat(r.unknown()).as("k%d: unknown, not absent", i).isTrue();
        assertThat(witness.isUnknown(b("k" + i))).isTrue();
      }
      assertThat(witness.read(b("never")).unknown()).isFalse();
      witness.apply(write(3, 3, Mutation.put(b("k" + (held - 1)), b("newer"))).elide());
      long index = 3;
      while (witness.draining()) {
        witness.apply(write(3, ++index, Mutation.put(b("other"), b("x"))).elide());
        assertThat(index).as("the move ends within a few entries").isLessThan(20);
      }
      assertThat(store.keyCount()).isZero();
      assertThat(witness.unknownKeyCount()).isEqualTo(held + 1); // and "other"
      assertThat(witness.newestUnknownIndex(List.of(b("k" + (held - 1)))))
          .as("the newer write's timestamp, not the move's").isEqualTo(3);
      assertThat(witness.newestUnknownIndex(List.of(b("k0")))).isEqualTo(2);
    }
  }

  /**
   * What needs every unknown key or writes the store finishes the move at once: listing the
   * unknown keys (a new primary's recovery), installing a pulled value, a full entry.
   */
  @Test
  void listingInstallingOrAFullEntryFinishesTheMoveFirst() {
    int held = 3 * EngineStateMachine.DRAIN_KEYS_PER_ENTRY;
    MapKvStore listed = new MapKvStore();
    try (EngineStateMachine witness = ledWith(listed, held)) {
      witness.apply(write(3, 2, Mutation.put(b("other"), b("x"))).elide());
      assertThat(witness.draining()).isTrue();
      Set<String> keys = new HashSet<>();
      for (byte[] k : witness.unknownKeys(held + 10)) {
        keys.add(s(k));
      }
      assertThat(keys).hasSize(held + 1).contains("k0", "k" + (held - 1), "other");
      assertThat(witness.draining()).isFalse();
      assertThat(listed.keyCount()).isZero();
    }
    MapKvStore written = new MapKvStore();
    try (EngineStateMachine witness = ledWith(written, held)) {
      witness.apply(write(3, 2, Mutation.put(b("other"), b("x"))).elide());
      witness.apply(write(4, 3, Mutation.put(b("k1"), b("full"))));
      assertThat(witness.draining()).isFalse();
      assertThat(s(witness.read(b("k1")).value().value())).isEqualTo("full");
      assertThat(witness.read(b("k2")).unknown()).as("not the value held while leading").isTrue();
      assertThat(written.keyCount()).isEqualTo(1);
    }
    MapKvStore installed = new MapKvStore();
    try (EngineStateMachine witness = ledWith(installed, held)) {
      witness.apply(write(3, 2, Mutation.put(b("other"), b("x"))).elide());
      assertThat(witness.installPulled(b("k5"), true, b("pulled"), 0, 2)).isTrue();
      assertThat(witness.draining()).isFalse();
      assertThat(s(witness.read(b("k5")).value().value())).isEqualTo("pulled");
      assertThat(witness.read(b("k6")).unknown()).isTrue();
    }
  }

  @Test
  void aFullDeleteOrClearMakesUnknownKeysAbsent() {
    try (EngineStateMachine witness = new EngineStateMachine(new MapKvStore())) {
      witness.apply(write(1, 1, Mutation.put(b("a"), b("1")), Mutation.put(b("c"), b("1")))
          .elide());
      witness.apply(write(1, 2, Mutation.delete(b("a"))));
      assertThat(witness.read(b("a")).unknown()).isFalse();
      assertThat(witness.read(b("a")).value()).isNull();
      assertThat(witness.read(b("c")).unknown()).isTrue();
      witness.apply(write(1, 3, Mutation.clear()));
      assertThat(witness.read(b("c")).unknown()).isFalse();
      assertThat(witness.unknownKeyCount()).isZero();
      assertThat(witness.unknownKeys(10)).isEmpty();
    }
  }

  /**
   * A whole answer installed at once (one store write): only the values still unknown here whose
   * newest known write the answer's applied index covers, each key once; "absent" values leave
   * nothing in the store but make the key known.
   */
  @Test
  void anAnswerIsInstalledInOneBatchUnderTheSameRule() {
    MapKvStore store = new MapKvStore();
    try (EngineStateMachine witness = new EngineStateMachine(store)) {
      witness.apply(write(1, 1, Mutation.put(b("a"), b("1")), Mutation.put(b("b"), b("1")),
          Mutation.put(b("c"), b("1")), Mutation.put(b("d"), b("1"))).elide());
      witness.apply(write(1, 2, Mutation.put(b("b"), b("2"))).elide());
      witness.apply(write(1, 3, Mutation.put(b("d"), b("here"))));
      List<io.respawn.node.recovery.ValuePull.PulledValue> answer = List.of(
          new io.respawn.node.recovery.ValuePull.PulledValue(b("a"), true, 0, b("A")),
          new io.respawn.node.recovery.ValuePull.PulledValue(b("b"), true, 0, b("old")),
          new io.respawn.node.recovery.ValuePull.PulledValue(b("c"), false, 0, null),
          new io.respawn.node.recovery.ValuePull.PulledValue(b("d"), true, 0, b("stale")),
          new io.respawn.node.recovery.ValuePull.PulledValue(b("a"), true, 0, b("again")));
      var installed = witness.installPulled(answer, 1);
      assertThat(installed).extracting(v -> s(v.key())).containsExactly("a", "c");
      assertThat(s(witness.read(b("a")).value().value())).isEqualTo("A");
      assertThat(witness.read(b("b")).unknown()).as("its newest write (2) is not covered").isTrue();
      assertThat(witness.read(b("c")).unknown()).isFalse();
      assertThat(witness.read(b("c")).value()).isNull();
      assertThat(s(witness.read(b("d")).value().value())).as("written here: kept").isEqualTo("here");
      assertThat(witness.unknownKeyCount()).isEqualTo(1);
    }
  }

  /** A recovery tells the store how many keys it will hold: those it has and the unknown ones. */
  @Test
  void aRecoveryTellsTheStoreHowManyKeysAreComing() {
    MapKvStore store = new MapKvStore();
    try (EngineStateMachine witness = new EngineStateMachine(store)) {
      witness.apply(write(1, 1, Mutation.put(b("a"), b("1")), Mutation.put(b("b"), b("1")),
          Mutation.put(b("c"), b("1"))).elide());
      witness.apply(write(1, 2, Mutation.put(b("d"), b("here"))));
      witness.expectPulledValues(true);
      assertThat(store.expectedKeys()).isEqualTo(4);
      witness.expectPulledValues(false);
      assertThat(store.expectedKeys()).isZero();
    }
  }

  /**
   * An answer of more values than one prefetch group of the key table (64), with keys known here,
   * keys whose newest write the answer does not cover and keys named twice far apart, installs
   * exactly what installing its values one by one installs, with the same reads after.
   */
  @Test
  void aLargeAnswerInstallsWhatItsValuesOneByOneWould() {
    java.util.Random random = new java.util.Random(5);
    MapKvStore batchStore = new MapKvStore();
    MapKvStore oneStore = new MapKvStore();
    try (EngineStateMachine batch = new EngineStateMachine(batchStore);
        EngineStateMachine one = new EngineStateMachine(oneStore)) {
      for (EngineStateMachine m : List.of(batch, one)) {
        for (int i = 0; i < 400; i++) { // witness form: every key unknown, newest write at 1..400
          m.apply(write(1, i + 1, Mutation.put(b("k" + i), b("w"))).elide());
        }
        m.apply(write(1, 401, Mutation.put(b("k7"), b("local")))); // written here: known
      }
      List<io.respawn.node.recovery.ValuePull.PulledValue> answer = new java.util.ArrayList<>();
      for (int k = 0; k < 300; k++) {
        int key = k == 150 ? 3 : random.nextInt(400); // k3 at least twice, 150 values apart
        answer.add(new io.respawn.node.recovery.ValuePull.PulledValue(b("k" + key),
            random.nextInt(10) != 0, 0, b("v" + k)));
      }
      answer.set(3, new io.respawn.node.recovery.ValuePull.PulledValue(b("k3"), true, 0, b("first")));
      long covered = 250; // writes after 250 are newer than the answer: those keys stay unknown
      var installed = batch.installPulled(answer, covered);
      Set<String> oneByOne = new HashSet<>();
      for (var v : answer) {
        if (one.installPulled(v.key(), v.found(), v.value(), v.expiresAtMillis(), covered)) {
          oneByOne.add(s(v.key()));
        }
      }
      assertThat(installed).extracting(v -> s(v.key())).doesNotHaveDuplicates()
          .containsExactlyInAnyOrderElementsOf(oneByOne);
      assertThat(installed.size()).isGreaterThan(64);
      assertThat(s(batch.read(b("k3")).value().value())).as("the first of a key's values").isEqualTo("first");
      for (int i = 0; i < 400; i++) {
        EngineStateMachine.Read a = batch.read(b("k" + i));
        EngineStateMachine.Read o = one.read(b("k" + i));
        assertThat(a.unknown()).as("k%d", i).isEqualTo(o.unknown());
        assertThat(a.value() == null ? null : s(a.value().value()))
            .isEqualTo(o.value() == null ? null : s(o.value().value()));
      }
      assertThat(batch.unknownKeyCount()).isEqualTo(one.unknownKeyCount());
    }
  }

  /**
   * A pulled value is installed only if the backup's applied index covers the newest write known
   * here: one sent before a later witness-form write of the key would be stale.
   */
  @Test
  void aPulledValueOlderThanTheNewestKnownWriteIsNotInstalled() {
    try (EngineStateMachine witness = new EngineStateMachine(new MapKvStore())) {
      witness.apply(write(1, 1, Mutation.put(b("a"), b("v1"))).elide());
      witness.apply(write(1, 2, Mutation.put(b("a"), b("v2"))).elide());
      assertThat(witness.installPulled(b("a"), true, b("v1"), 0, 1)).isFalse();
      assertThat(witness.read(b("a")).unknown()).isTrue();
      assertThat(witness.installPulled(b("a"), true, b("v2"), 0, 2)).isTrue();
      assertThat(s(witness.read(b("a")).value().value())).isEqualTo("v2");
      assertThat(witness.installPulled(b("a"), true, b("late"), 0, 9))
          .as("a key no longer unknown keeps its value").isFalse();
      assertThat(s(witness.read(b("a")).value().value())).isEqualTo("v2");
      witness.apply(write(1, 3, Mutation.put(b("g"), b("x"))).elide());
      assertThat(witness.installPulled(b("g"), false, null, 0, 3)).isTrue();
      assertThat(witness.read(b("g")).unknown()).as("absent on the backup: absent").isFalse();
      assertThat(witness.read(b("g")).value()).isNull();
    }
  }

  /**
   * Successive calls walk on through the table: every unknown key comes within one pass, none twice
   * in one answer, and keys left unknown (no backup answered them) come again in the next pass.
   */
  @Test
  void unknownKeysWalkOnAndComeAgainUntilPulled() {
    try (EngineStateMachine witness = new EngineStateMachine(new MapKvStore())) {
      int n = 5000;
      for (int i = 1; i <= n; i++) {
        witness.apply(write(1, i, Mutation.put(b("k" + i), b("v"))).elide());
      }
      Set<String> firstPass = new HashSet<>();
      int calls = 0;
      while (firstPass.size() < n) {
        List<byte[]> keys = witness.unknownKeys(256);
        calls++;
        assertThat(keys).hasSizeBetween(1, 256);
        Set<String> answer = new HashSet<>();
        for (byte[] k : keys) {
          assertThat(answer.add(s(k))).as("twice in one answer: %s", s(k)).isTrue();
          firstPass.add(s(k));
          if (Integer.parseInt(s(k).substring(1)) % 3 != 0) {
            witness.installPulled(k, true, b("pulled"), 0, n);
          }
        }
        assertThat(calls).as("one pass covers every key").isLessThanOrEqualTo(n / 256 + 2);
      }
      assertThat(witness.unknownKeyCount()).isEqualTo(n / 3);
      Set<String> left = new HashSet<>();
      while (witness.unknownKeyCount() > 0) {
        for (byte[] k : witness.unknownKeys(256)) {
          left.add(s(k));
          witness.installPulled(k, true, b("pulled"), 0, n);
        }
      }
      assertThat(left).hasSize(n / 3);
      assertThat(s(witness.read(b("k3")).value().value())).isEqualTo("pulled");
    }
  }
}
