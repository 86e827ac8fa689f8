package io.respawn.storage;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class StorageConfigTest {
  @Test
  void defaultsAreValidAndDocumented() {
    StorageConfig d = StorageConfig.defaults();
    assertThat(d.keyBytesMax()).isEqualTo(64 << 10);
    assertThat(d.valueBytesMax()).isEqualTo(512 << 20); // Redis's proto-max-bulk-len
    assertThat(d.segmentBytesMax()).isEqualTo(128 << 20); // a larger value gets its own segment
    assertThat(d.flushIntervalMillis()).isEqualTo(100);
    assertThat(d.batchChecksums()).isTrue();
    assertThat(d.truncateCorruptLog()).isFalse();
    assertThat(d.diskReserveBytes()).isEqualTo(64L << 20);
  }

  @Test
  void badValuesNameFieldValueAndBound() {
    StorageConfig d = StorageConfig.defaults();
    assertThatThrownBy(() -> d.withFlushIntervalMillis(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("flushIntervalMillis -1 is out of range: must be >= 0 and <= 60000");
    assertThatThrownBy(() -> d.withFlushIntervalMillis(60_001))
        .hasMessageStartingWith("flushIntervalMillis 60001 is out of range");
    assertThatThrownBy(() -> d.withSegmentBytesMax(1024))
        .hasMessageStartingWith("segmentBytesMax 1024 is out of range: must be >= ");
    assertThatThrownBy(() -> d.withBatchBytesMax(1 << 20))
        .hasMessageStartingWith("batchBytesMax 1048576 is out of range: must be >= 536936534");
    assertThatThrownBy(() -> d.withSizes(1 << 20, 1 << 16, 0, 100))
        .hasMessageStartingWith("keyBytesMax 0 is out of range");
    assertThatThrownBy(() -> d.withCompaction(1000, 1.5, 0))
        .hasMessage("compactionGarbageRatioMin 1.5 must be > 0 and < 1");
  }
}
