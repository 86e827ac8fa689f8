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
    assertThat(sm.apply(write(1, 2, OpKind.INCR, new int[] {0}, new long[0]))).isEqualTo(1001);
    assertThat(sm.apply(write(1, 3, OpKind.INCR, new int[] {1}, new long[0]))).isEqualTo(1);
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
  void elidedEntryMakesValueUnknownUntilFilledAtTheSameVersion() {
    sm.apply(write(1, 1, OpKind.SET, new int[] {0}, new long[] {1000}));
    Entry elided = write(1, 2, OpKind.SET, new int[] {0}, new long[] {2000}).elide();
    assertThat(sm.apply(elided)).isEqualTo(KvStateMachine.UNKNOWN_RESULT);
    assertThat(sm.known(0)).isFalse();
    assertThat(sm.apply(write(1, 3, OpKind.INCR, new int[] {0}, new long[0])))
        .as("INCR on an unknown value").isEqualTo(KvStateMachine.UNKNOWN_RESULT);
    assertThat(sm.fill(0, 1, 2, 2000)).as("older version").isFalse();
    assertThat(sm.fill(0, 1, 3, 2001)).isTrue();
    assertThat(sm.value(0)).isEqualTo(2001);
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
}
