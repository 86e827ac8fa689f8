package io.respawn.bench.e2;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/** 100 ms windows and the seed's TTR definition. */
class WindowsTest {
  static final long MS = 1_000_000L;

  /** Ten operations of {@code latencyMs} completing in the window starting at {@code startMs}. */
  private static void fill(Windows w, long startMs, double latencyMs) {
    for (int i = 0; i < 10; i++) {
      w.add(startMs * MS + i * 10 * MS, (long) (latencyMs * MS));
    }
  }

  @Test
  void ttrIsTheEndOfTheFirstGoodWindowAfterWhichNoWindowMisses() {
    Windows w = new Windows();
    long kill = 1_000;
    for (long t = 0; t < kill; t += 100) {
      fill(w, t, 1); // steady state
    }
    // 1000-1200: nothing completes (election); 1200: one slow window; 1300: good; 1400: bad
    // again; from 1500 on good.
    fill(w, 1_200, 50);
    fill(w, 1_300, 1);
    fill(w, 1_400, 9);
    for (long t = 1_500; t < 3_000; t += 100) {
      fill(w, t, 1.5);
    }
    List<Windows.Window> windows = w.windows(0, 3_000 * MS);
    assertThat(windows).hasSize(30);
    assertThat(windows.get(10).operations()).isZero();
    assertThat(windows.get(12).p999Millis()).isEqualTo(50.0);
    // SLO 2 ms: the first window of the last good run starts at 1500, ends at 1600.
    assertThat(Windows.ttrMillis(windows, kill * MS, "p99.9", 2)).isEqualTo(600.0);
    // SLO 10 ms: 1300 onwards is good (the 9 ms window meets it); ends at 1400.
    assertThat(Windows.ttrMillis(windows, kill * MS, "p99.9", 10)).isEqualTo(400.0);
    // SLO 100 ms: the empty windows still miss it: the first good one is 1200-1300.
    assertThat(Windows.ttrMillis(windows, kill * MS, "p99.9", 100)).isEqualTo(300.0);
    // SLO 1 ms: the end misses it: not repaired.
    assertThat(Windows.ttrMillis(windows, kill * MS, "p99.9", 1)).isEqualTo(-1.0);
  }

  @Test
  void aRunThatNeverMissesHasTheFirstWindowAfterTheKillAsItsTtr() {
    Windows w = new Windows();
    for (long t = 0; t < 2_000; t += 100) {
      fill(w, t, 1);
    }
    List<Windows.Window> windows = w.windows(0, 2_000 * MS);
    assertThat(Windows.ttrMillis(windows, 1_000 * MS, "p50", 2)).isEqualTo(100.0);
  }

  @Test
  void quantilesAreNearestRank() {
    long[] sorted = new long[1000];
    for (int i = 0; i < sorted.length; i++) {
      sorted[i] = i + 1;
    }
    assertThat(Windows.quantile(sorted, 0.5)).isEqualTo(500);
    assertThat(Windows.quantile(sorted, 0.999)).isEqualTo(999);
    assertThat(Windows.quantile(new long[] {7}, 0.999)).isEqualTo(7);
  }
}
