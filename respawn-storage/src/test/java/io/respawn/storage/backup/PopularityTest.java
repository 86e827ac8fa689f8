package io.respawn.storage.backup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PopularityTest {

  static byte[] key(int i) {
    return ("user:" + i).getBytes(StandardCharsets.UTF_8);
  }

  @Test
  void theSamplerTakesAboutTheConfiguredShareAndBoundsItsReport() {
    PopularitySampler sampler = new PopularitySampler(0.001, 10_000, 42);
    for (int i = 0; i < 2_000_000; i++) {
      sampler.observe(key(i % 1000));
    }
    long[] report = sampler.drainReport();
    assertThat(report.length).isBetween(1_800, 2_200); // 2,000 expected
    assertThat(sampler.drainReport()).isEmpty();

    PopularitySampler small = new PopularitySampler(1.0, 5, 1);
    for (int i = 0; i < 8; i++) {
      small.observe(key(i));
    }
    assertThat(small.drainReport()).hasSize(5);
    assertThat(small.dropped()).isEqualTo(3);
    assertThatThrownBy(() -> new PopularitySampler(0, 5, 1))
        .hasMessage("probability 0.0 must be > 0 and <= 1");
  }

  /**
   * With a minimum per report the probability follows the request rate: a period of 2,000
   * requests is sampled about as much as one of 2,000,000, and the configured probability stays
   * the least.
   */
  @Test
  void anAdaptiveSamplerKeepsItsReportsUsefulAtALowRequestRate() {
    PopularitySampler sampler = new PopularitySampler(0.001, 10_000, 1_000, 42);
    for (int i = 0; i < 2_000; i++) {
      sampler.observe(key(i % 1000));
    }
    assertThat(sampler.drainReport().length).as("the first period at the configured 0.001")
        .isBetween(0, 10);
    assertThat(sampler.probability()).isCloseTo(0.5, org.assertj.core.api.Assertions.within(0.01));
    for (int round = 0; round < 3; round++) {
      for (int i = 0; i < 2_000; i++) {
        sampler.observe(key(i % 1000));
      }
      assertThat(sampler.drainReport().length).isBetween(850, 1_150); // 1,000 expected
    }
    for (int i = 0; i < 2_000_000; i++) {
      sampler.observe(key(i % 1000));
    }
    sampler.drainReport(); // a period of 2,000,000: back to the configured 0.001
    assertThat(sampler.probability()).isEqualTo(0.001);
    for (int i = 0; i < 2_000_000; i++) {
      sampler.observe(key(i % 1000));
    }
    assertThat(sampler.drainReport().length).isBetween(1_800, 2_200);
    sampler.drainReport(); // an idle period changes nothing
    assertThat(sampler.probability()).isEqualTo(0.001);
    assertThatThrownBy(() -> new PopularitySampler(0.001, 5, 6, 1))
        .hasMessageContaining("samplesPerReportMin 6");
  }

  @Test
  void skewedSamplesMakeTheHeadHotAndOldPopularityAgesOut() {
    PopularKeys popular = new PopularKeys(10, 2);
    PopularitySampler sampler = new PopularitySampler(0.01, 100_000, 7);
    Random random = new Random(3);
    for (int report = 0; report < 4; report++) {
      for (int i = 0; i < 200_000; i++) {
        // keys 0..9 take half the requests, 10,000 others share the rest
        sampler.observe(key(random.nextBoolean() ? random.nextInt(10) : 10 + random.nextInt(10_000)));
      }
      popular.report(sampler.drainReport());
    }
    assertThat(popular.hotKeys()).isEqualTo(10);
    for (int i = 0; i < 10; i++) {
      assertThat(popular.isHot(key(i))).as("key %d", i).isTrue();
    }
    long version = popular.version();
    // the workload moves to keys 500..509: within two epochs they replace the old head
    for (int report = 0; report < 4; report++) {
      for (int i = 0; i < 200_000; i++) {
        sampler.observe(key(random.nextBoolean() ? 500 + random.nextInt(10) : 10_000 + random.nextInt(10_000)));
      }
      popular.report(sampler.drainReport());
    }
    assertThat(popular.version()).isGreaterThan(version);
    for (int i = 0; i < 10; i++) {
      assertThat(popular.isHot(key(500 + i))).isTrue();
      assertThat(popular.isHot(key(i))).isFalse();
    }
  }

  /**
   * As many equally popular keys as the set holds, read ten times per report, amid a tail of
   * keys sampled once each (four times as many per report): after the first report every hot
   * key stays in the set at every report. A sketch with room for only 1.5 times the set purges
   * by subtracting its median count, which is then a hot key's count, so half the hot keys left
   * the set at each purge (the hot set flapped between 26 and 100 of 100 on a real shard).
   */
  @Test
  void aFullHotSetStaysWholeAmidATailOfKeysSampledOnce() {
    int hot = 100;
    PopularKeys popular = new PopularKeys(hot, 8);
    Random random = new Random(11);
    int tailKey = 1_000_000;
    for (int report = 0; report < 40; report++) {
      long[] hashes = new long[hot * 10 + hot * 4];
      int n = 0;
      for (int round = 0; round < 10; round++) {
        for (int i = 0; i < hot; i++) {
          hashes[n++] = KeyHash.of(key(i));
        }
      }
      for (int i = 0; i < hot * 4; i++) {
        hashes[n++] = KeyHash.of(key(tailKey++));
      }
      for (int i = hashes.length - 1; i > 0; i--) { // interleave the tail with the reads
        int j = random.nextInt(i + 1);
        long t = hashes[i];
        hashes[i] = hashes[j];
        hashes[j] = t;
      }
      popular.report(hashes);
      int inSet = 0;
      for (int i = 0; i < hot; i++) {
        inSet += popular.isHot(key(i)) ? 1 : 0;
      }
      if (report > 0) {
        assertThat(inSet).as("hot keys in the set after report %d", report).isEqualTo(hot);
      }
    }
  }
}
