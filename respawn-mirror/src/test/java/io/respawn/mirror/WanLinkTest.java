package io.respawn.mirror;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class WanLinkTest {
  static final long MS = 1_000_000;

  static List<WanLink.Decision> run(WanLink link, int n) {
    List<WanLink.Decision> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(link.offer(1000, i * 10_000L));
    }
    return out;
  }

  @Test
  void theSameSeedGivesTheSameDecisions() {
    WanLink.Settings s = WanLink.Settings.delay(25 * MS).withLoss(0.05).withBursts(0.01, 0.2, 0.8)
        .withDelay(25 * MS, MS);
    assertThat(run(new WanLink(s, 42), 5000)).isEqualTo(run(new WanLink(s, 42), 5000));
    assertThat(run(new WanLink(s, 42), 5000)).isNotEqualTo(run(new WanLink(s, 43), 5000));
  }

  @Test
  void aPerfectLinkDelaysEverythingByTheDelay() {
    WanLink link = new WanLink(WanLink.Settings.delay(50 * MS), 1);
    for (int i = 0; i < 100; i++) {
      WanLink.Decision d = link.offer(500, i * MS);
      assertThat(d.passed()).isTrue();
      assertThat(d.deliverAtNanos()).isEqualTo(i * MS + 50 * MS);
    }
  }

  @Test
  void randomLossMatchesItsRate() {
    WanLink link = new WanLink(WanLink.Settings.delay(0).withLoss(0.01), 7);
    run(link, 200_000);
    assertThat(link.count(WanLink.Fate.LOST_RANDOM)).isBetween(1_800L, 2_200L);
  }

  @Test
  void gilbertElliottLossComesInBursts() {
    // Enter the bad state 1 in 1000, stay 10 datagrams on average, lose all there.
    WanLink link = new WanLink(WanLink.Settings.delay(0).withBursts(0.001, 0.1, 1.0), 9);
    List<WanLink.Decision> decisions = run(link, 200_000);
    int lost = 0;
    int bursts = 0;
    boolean previousLost = false;
    for (WanLink.Decision d : decisions) {
      if (!d.passed()) {
        lost++;
        if (!previousLost) {
          bursts++;
        }
      }
      previousLost = !d.passed();
    }
    double meanBurst = (double) lost / bursts;
    assertThat(meanBurst).isBetween(8.0, 12.0);
    assertThat((double) lost / decisions.size()).isBetween(0.007, 0.013);
  }

  @Test
  void theBandwidthCapSerialisesAndTheQueueOverflows() {
    // 1 MB/s: a 1000-byte datagram takes 1 ms; offered 2 per ms, half must be queued or dropped.
    WanLink link = new WanLink(
        WanLink.Settings.delay(10 * MS).withBandwidth(1_000_000, 20_000), 3);
    long lastOut = 0;
    int passed = 0;
    for (int i = 0; i < 2000; i++) {
      WanLink.Decision d = link.offer(1000, i * MS / 2);
      if (d.passed()) {
        passed++;
        assertThat(d.deliverAtNanos()).isGreaterThanOrEqualTo(lastOut + MS);
        lastOut = d.deliverAtNanos();
      }
    }
    assertThat(passed).isBetween(1000, 1025); // one per ms over 1 s, plus the queue
    assertThat(link.count(WanLink.Fate.QUEUE_FULL)).isPositive();
  }

  @Test
  void aCutDropsEverythingOfferedButWhatIsInFlightStillArrives() {
    WanLink link = new WanLink(WanLink.Settings.delay(50 * MS), 5);
    WanLink.Decision inFlight = link.offer(100, 0);
    link.update(link.settings().withCut(true));
    for (int i = 1; i < 100; i++) {
      assertThat(link.offer(100, i * MS).fate()).isEqualTo(WanLink.Fate.CUT);
    }
    assertThat(inFlight.deliverAtNanos()).isEqualTo(50 * MS);
    link.update(link.settings().withCut(false));
    assertThat(link.offer(100, 200 * MS).passed()).isTrue();
  }

  @Test
  void badSettingsAreRefused() {
    assertThatThrownBy(() -> WanLink.Settings.delay(-1)).hasMessageContaining("delay");
    assertThatThrownBy(() -> WanLink.Settings.delay(0).withLoss(1.5)).hasMessageContaining("loss");
    assertThatThrownBy(() -> WanLink.Settings.delay(0).withBursts(0.1, 0, 1))
        .hasMessageContaining("badToGood");
  }
}
