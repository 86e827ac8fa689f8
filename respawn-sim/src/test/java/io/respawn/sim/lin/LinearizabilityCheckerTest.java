package io.respawn.sim.lin;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class LinearizabilityCheckerTest {

  private static final long NIL = Op.ABSENT;
  private final LinearizabilityChecker checker = new LinearizabilityChecker(1_000_000);

  private Verdict verdict(HistoryRecorder h) {
    return checker.check(h.history()).verdict();
  }

  @Test
  void sequentialHistoryIsLinearizable() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 10));
    h.ok(h.invokeGet(0, 1), 10);
    h.ok(h.invokeIncr(0, 1), 11);
    h.ok(h.invokeDel(0, 1), 1);
    h.ok(h.invokeGet(0, 1), NIL);
    h.ok(h.invokeDel(0, 1), 0);
    assertThat(verdict(h)).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void concurrentReadMaySeeOldOrNewValue() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 1));
    int write = h.invokeSet(0, 1, 2);
    int readNew = h.invokeGet(1, 1);
    int readOld = h.invokeGet(2, 1);
    h.ok(readNew, 2);
    h.ok(readOld, 1);
    h.ok(write);
    assertThat(verdict(h)).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void readsMayNotGoBackInTimeOnceNewValueSeen() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 1));
    int write = h.invokeSet(0, 1, 2);
    h.ok(h.invokeGet(1, 1), 2);
    h.ok(h.invokeGet(2, 1), 1);
    h.ok(write);
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void staleReadAfterAcknowledgedWriteIsCaught() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 1));
    h.ok(h.invokeSet(0, 1, 2));
    h.ok(h.invokeGet(1, 1), 1);
    CheckResult r = checker.check(h.history());
    assertThat(r.verdict()).isEqualTo(Verdict.NOT_LINEARIZABLE);
    assertThat(r.description()).contains("GET k1");
    assertThat(r.culprits()).isNotEmpty();
  }

  @Test
  void lostAcknowledgedWriteIsCaught() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 3, 7));
    h.ok(h.invokeGet(1, 3), NIL);
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void incrementAppliedTwiceIsCaught() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 5));
    h.ok(h.invokeIncr(0, 1), 6);
    h.ok(h.invokeGet(1, 1), 7);
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void timedOutIncrementRetriedIsFineOnceButNotTwiceMore() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 5));
    h.timeout(h.invokeIncr(0, 1));
    h.ok(h.invokeIncr(0, 1), 7);
    h.ok(h.invokeGet(1, 1), 7);
    assertThat(verdict(h)).as("unknown INCR applied once").isEqualTo(Verdict.LINEARIZABLE);

    HistoryRecorder twice = new HistoryRecorder();
    twice.ok(twice.invokeSet(0, 1, 5));
    twice.timeout(twice.invokeIncr(0, 1));
    twice.ok(twice.invokeIncr(0, 1), 7);
    twice.ok(twice.invokeGet(1, 1), 8);
    assertThat(verdict(twice)).as("one unknown INCR cannot count twice")
        .isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void unknownWriteMayTakeEffectLongAfterTheClientGaveUp() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 1));
    h.timeout(h.invokeSet(0, 1, 2));
    h.ok(h.invokeGet(1, 1), 1);
    h.ok(h.invokeGet(1, 1), 1);
    h.ok(h.invokeGet(1, 1), 2);
    assertThat(verdict(h)).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void unknownWriteMayNeverTakeEffect() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 1));
    h.timeout(h.invokeSet(0, 1, 2));
    h.ok(h.invokeGet(1, 1), 1);
    assertThat(verdict(h)).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void unknownWriteCannotTakeEffectBeforeItsInvocation() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeGet(1, 1), 2);
    h.timeout(h.invokeSet(0, 1, 2));
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void unknownWriteOnceSeenCannotBeUnseen() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeSet(0, 1, 1));
    h.timeout(h.invokeSet(0, 1, 2));
    h.ok(h.invokeGet(1, 1), 2);
    h.ok(h.invokeGet(1, 1), 1);
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void failedWriteMustNotBeVisible() {
    HistoryRecorder h = new HistoryRecorder();
    h.fail(h.invokeSet(0, 1, 9));
    h.ok(h.invokeGet(1, 1), 9);
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void deleteResultMustMatchState() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invokeDel(0, 1), 1);
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);
  }

  @Test
  void msetIsAtomicAcrossKeys() {
    // a per-key check would accept this: each key alone has a legal order
    HistoryRecorder h = new HistoryRecorder();
    int mset = h.invoke(0, OpKind.MSET, new int[] {1, 2}, new long[] {5, 6});
    h.ok(h.invokeGet(1, 1), 5);
    h.ok(h.invokeGet(1, 2), NIL);
    h.ok(mset);
    assertThat(verdict(h)).isEqualTo(Verdict.NOT_LINEARIZABLE);

    HistoryRecorder fine = new HistoryRecorder();
    int mset2 = fine.invoke(0, OpKind.MSET, new int[] {1, 2}, new long[] {5, 6});
    fine.ok(fine.invokeGet(1, 1), 5);
    fine.ok(fine.invokeGet(1, 2), 6);
    fine.ok(mset2);
    assertThat(verdict(fine)).isEqualTo(Verdict.LINEARIZABLE);
  }

  @Test
  void componentsSplitByMsetKeyGroups() {
    HistoryRecorder h = new HistoryRecorder();
    h.ok(h.invoke(0, OpKind.MSET, new int[] {1, 2}, new long[] {1, 2}));
    h.ok(h.invoke(0, OpKind.MSET, new int[] {3, 4}, new long[] {3, 4}));
    h.ok(h.invokeSet(0, 5, 5));
    CheckResult r = checker.check(h.history());
    assertThat(r.verdict()).isEqualTo(Verdict.LINEARIZABLE);
    assertThat(r.components()).isEqualTo(3);
  }

  @Test
  void boundedSearchSaysUnknownInsteadOfHanging() {
    // Many concurrent unknown increments: the search space is exponential without a bound.
    HistoryRecorder h = new HistoryRecorder();
    List<Integer> incrs = new ArrayList<>();
    for (int c = 0; c < 40; c++) {
      incrs.add(h.invokeSet(c, 1, c * 1000L));
    }
    for (int c = 0; c < 40; c++) {
      h.timeout(incrs.get(c));
    }
    h.ok(h.invokeGet(99, 1), 123_456L);
    CheckResult r = new LinearizabilityChecker(10_000).check(h.history());
    assertThat(r.verdict()).isEqualTo(Verdict.UNKNOWN);
    assertThat(r.statesExplored()).isLessThanOrEqualTo(10_000);
  }

  @Test
  void randomSequentiallyConsistentRegisterHistoriesAreLinearizable() {
    // Simulate a real atomic register with random overlap and random timeouts.
    for (int seed = 0; seed < 200; seed++) {
      SplittableRandom random = new SplittableRandom(seed);
      HistoryRecorder h = new HistoryRecorder();
      long[] store = RegisterMapModel.initial(4);
      int[] inFlight = new int[5];
      long[] inFlightResult = new long[5];
      boolean[] busy = new boolean[5];
      for (int step = 0; step < 300; step++) {
        int c = random.nextInt(5);
        if (!busy[c]) {
          int key = random.nextInt(4);
          int kind = random.nextInt(4);
          int id;
          // the register applies the op at invocation: a legal linearization point
          switch (kind) {
            case 0 -> {
              id = h.invokeGet(c, key);
              inFlightResult[c] = store[key];
            }
            case 1 -> {
              long v = random.nextLong(1000);
              id = h.invokeSet(c, key, v);
              store[key] = v;
            }
            case 2 -> {
              id = h.invokeIncr(c, key);
              store[key] = (store[key] == Op.ABSENT ? 0 : store[key]) + 1;
              inFlightResult[c] = store[key];
            }
            default -> {
              id = h.invokeDel(c, key);
              inFlightResult[c] = store[key] == Op.ABSENT ? 0 : 1;
              store[key] = Op.ABSENT;
            }
          }
          inFlight[c] = id;
          busy[c] = true;
        } else {
          if (random.nextInt(20) == 0) {
            h.timeout(inFlight[c]);
          } else {
            h.ok(inFlight[c], inFlightResult[c]);
          }
          busy[c] = false;
        }
      }
      CheckResult r = checker.check(h.history());
      assertThat(r.verdict()).as("seed %d: %s", seed, r.description())
          .isEqualTo(Verdict.LINEARIZABLE);
    }
  }
}
