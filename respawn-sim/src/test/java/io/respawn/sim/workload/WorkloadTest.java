package io.respawn.sim.workload;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.sim.lin.OpKind;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WorkloadTest {

  @Test
  void msetStaysInOneGroupAndValuesAreUniqueAndSpaced() {
    Workload w = new Workload(WorkloadConfig.standard(), new SplittableRandom(1));
    Set<Long> values = new HashSet<>();
    Map<OpKind, Integer> kinds = new EnumMap<>(OpKind.class);
    for (int i = 0; i < 5_000; i++) {
      Command c = w.next();
      kinds.merge(c.kind(), 1, Integer::sum);
      if (c.kind() == OpKind.MSET) {
        int group = c.keys()[0] / 4;
        for (int k : c.keys()) {
          assertThat(k / 4).isEqualTo(group);
        }
      }
      for (long v : c.values()) {
        assertThat(v % 1000).isZero();
        assertThat(values.add(v)).isTrue();
      }
    }
    assertThat(kinds).containsOnlyKeys(OpKind.values());
  }

  @Test
  void sameSeedSameCommands() {
    Workload a = new Workload(WorkloadConfig.standard(), new SplittableRandom(9));
    Workload b = new Workload(WorkloadConfig.standard(), new SplittableRandom(9));
    for (int i = 0; i < 100; i++) {
      Command x = a.next();
      Command y = b.next();
      assertThat(y.kind()).isEqualTo(x.kind());
      assertThat(y.keys()).isEqualTo(x.keys());
      assertThat(y.values()).isEqualTo(x.values());
    }
  }
}
