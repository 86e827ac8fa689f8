package io.respawn.sim.kv;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Entry;
import io.respawn.sim.lin.Op;
import io.respawn.sim.lin.OpKind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class KvStateMachineTest {

  private final List<String> regressions = new ArrayList<>();
  private final KvStateMachine sm = new KvStateMachine(4,
      (key, ft, fi, tt, ti) -> regressions.add("k" + key + " " + ft + "/" + fi + "->" + tt + "/" + ti));

  private static Entry write(long term, long index, OpKind kind, int[] keys, long[] values) {
    return Entry.normal(term, index, new KvCommand(kind, index, keys, values).toCommand());
  }

  @Test
  void appliesEveryWriteKindWithItsResult() {
    assertThat(sm.apply(write(1, 1, OpKind.SET, new int[] {0}, new long[] {1000}))).isZero();
    assertThat(sm.apply(write(1, 2, OpKind.INCR, new int[] {0}, new long[] {1001}))).isEqualTo(1001);
    assertThat(sm.apply(write(1, 3, OpKind.INCR, new int[] {1}, new long[] {1}))).isEqualTo(1);
    assertThat(sm.apply(write(1, 4, OpKind.DEL, new int[] {0}, new long[0]))).isEqualTo(1);
    assertThat(sm.apply(write(1, 5, OpKind.DEL, new int[] {0}, new long[0]))).isZero();
    sm.apply(write(2, 6, OpKind.MSET, new int[] {2, 3}, new long[] {5000, 6000}));
    assertThat(sm.value(0)).isEqualTo(Op.ABSENT);
    assertThat(sm.value(1)).isEqualTo(1);
    assertThat(sm.value(2)).isEqualTo(5000);
    assertThat(sm.tsTerm(3)).isEqualTo(2);
    assertThat(sm.tsIndex(3)).isEqualTo(6);
    assertThat(sm.appliedIndex()).isEqualTo(6);
    assertThat(regressions).isEmpty();
  }

  @Test
  void elidedEntryMakesValueUnknownUntilAPullCoversItsNewestWrite() {
    sm.apply(write(1, 1, OpKind.SET, new int[] {0}, new long[] {1000}));
    Entry elided = write(1, 2, OpKind.SET, new int[] {0}, new long[] {2000}).elide();
    assertThat(sm.apply(elided)).isEqualTo(KvStateMachine.UNKNOWN_RESULT);
    assertThat(sm.known(0)).isFalse();
    assertThat(sm.apply(write(1, 3, OpKind.DEL, new int[] {0}, new long[0])))
        .as("DEL's count on an unknown value").isEqualTo(KvStateMachine.UNKNOWN_RESULT);
    assertThat(sm.known(0)).as("deleted: known absent").isTrue();
    sm.apply(write(1, 4, OpKind.SET, new int[] {0}, new long[] {3000}).elide());
    assertThat(sm.known(0)).isFalse();
    assertThat(sm.witnessFormIndex()).isEqualTo(4);
    assertThat(sm.installPulled(0, true, 2000, 3))
        .as("read by a member that had not applied the write at 4").isFalse();
    assertThat(sm.known(0)).isFalse();
    assertThat(sm.installPulled(0, true, 3000, 4)).isTrue();
    assertThat(sm.value(0)).isEqualTo(3000);
    assertThat(sm.installPulled(0, true, 4000, 9)).as("known now: kept").isFalse();
    assertThat(sm.value(0)).isEqualTo(3000);
    assertThat(sm.apply(write(1, 5, OpKind.INCR, new int[] {0}, new long[] {3001})))
        .as("an INCR carries the value its primary computed").isEqualTo(3001);
    assertThat(sm.value(0)).isEqualTo(3001);
  }

  @Test
  void reportsATimestampGoingBack() {
    KvStateMachine other = new KvStateMachine(2,
        (key, ft, fi, tt, ti) -> regressions.add("k" + key));
    // a state machine only ever sees increasing indexes; a lower term is still a regression
    other.apply(write(3, 1, OpKind.SET, new int[] {1}, new long[] {1000}));
    other.apply(write(2, 2, OpKind.SET, new int[] {1}, new long[] {2000}));
    assertThat(regressions).containsExactly("k1");
  }

  /**
   * A fuzzy capture walks the keys while entries are applied: keys walked after an entry hold
   * its effect, the others do not. Replaying the entries after the image's index over it must
   * give exactly the state they lead to: a key that holds an entry's effect already is not set
   * back to an older value by it, and an MSET applies to the keys walked before it only.
   */
  @Test
  void replayOverAFuzzyImageGivesTheExactState() {
    List<Entry> entries = List.of(
        write(1, 1, OpKind.SET, new int[] {0}, new long[] {1000}),
        write(1, 2, OpKind.SET, new int[] {1}, new long[] {2000}),
        write(1, 3, OpKind.INCR, new int[] {0}, new long[] {1001}),
        write(1, 4, OpKind.MSET, new int[] {1, 2}, new long[] {3000, 4000}),
        write(1, 5, OpKind.INCR, new int[] {3}, new long[] {1}),
        write(1, 6, OpKind.INCR, new int[] {0}, new long[] {1002}));
    KvStateMachine exact = new KvStateMachine(4, (k, a, b, c, d) -> { });
    entries.forEach(exact::apply);
    // the walk starts at 2 (the image's index); keys 0 and 1 are copied after 4 was applied
    // (key 0 holds INCR 3, key 1 holds the MSET), keys 2 and 3 after 5 (both hold their writes)
    sm.apply(entries.get(0));
    sm.apply(entries.get(1));
    sm.apply(entries.get(2));
    sm.apply(entries.get(3));
    sm.apply(entries.get(4));
    FuzzyCapture walk = new FuzzyCapture(new io.respawn.core.SnapshotMeta(2, 1,
        io.respawn.core.Membership.of(io.respawn.core.Membership.Member.voter(0,
            io.respawn.core.Role.PRIMARY))), 4);
    KvStateMachine atFour = new KvStateMachine(4, (k, a, b, c, d) -> { });
    entries.subList(0, 4).forEach(atFour::apply);
    walk.step(atFour);
    walk.step(atFour);
    walk.step(sm);
    walk.step(sm);
    assertThat(walk.complete()).isTrue();
    assertThat(walk.effectsThroughIndex()).isEqualTo(5);
    KvStateMachine restored = walk.image().toStateMachine((k, a, b, c, d) -> { });
    assertThat(restored.appliedIndex()).isEqualTo(2);
    entries.subList(2, 6).forEach(restored::apply);
    for (int k = 0; k < 4; k++) {
      assertThat(restored.value(k)).as("key %d", k).isEqualTo(exact.value(k));
      assertThat(restored.tsIndex(k)).as("key %d", k).isEqualTo(exact.tsIndex(k));
    }
    assertThat(restored.value(0)).isEqualTo(1002);
    assertThat(regressions).isEmpty();
  }
}
