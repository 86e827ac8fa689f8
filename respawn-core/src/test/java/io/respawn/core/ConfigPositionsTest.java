package io.respawn.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link ConfigPositions} against a sorted-set model, over random appends, truncations, drops. */
class ConfigPositionsTest {
  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8})
  void answersLikeAWalkBackThroughTheLog(long seed) {
    Random rnd = new Random(seed);
    ConfigPositions positions = new ConfigPositions();
    TreeSet<Long> model = new TreeSet<>();
    long first = 1;
    long last = 0;
    for (int step = 0; step < 5_000; step++) {
      int op = rnd.nextInt(10);
      if (op < 6) { // append, sometimes a CONFIG
        last++;
        if (rnd.nextInt(20) == 0) {
          positions.appended(last);
          model.add(last);
        }
      } else if (op < 8 && last >= first) { // truncate a suffix
        long from = first + rnd.nextInt((int) Math.min(40, last - first + 1));
        from = Math.max(from, last - 40);
        positions.truncatedFrom(from);
        model.tailSet(from, true).clear();
        last = from - 1;
      } else if (op == 8 && last >= first) { // compact a prefix
        long through = first + rnd.nextInt((int) Math.min(30, last - first + 1));
        positions.droppedThrough(through);
        model.headSet(through, true).clear();
        first = through + 1;
      }
      assertThat(positions.size()).isEqualTo(model.size());
      for (int probe = 0; probe < 4; probe++) {
        long at = first - 2 + rnd.nextInt((int) (last - first + 5));
        Long expected = model.floor(at);
        assertThat(positions.latestAtOrBelow(at)).as("seed %d step %d at %d", seed, step, at)
            .isEqualTo(expected == null ? -1 : expected);
      }
    }
  }
}
