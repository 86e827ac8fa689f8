package io.respawn.storage.memory;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Every segment class named for loading exists in this JDK: a JDK that renamed one would leave a
 * kind unloaded, and the first use of it would again invalidate the compiled write path.
 */
class SegmentKindsTest {
  @Test
  void everyNamedSegmentClassIsFoundAndLoaded() {
    SegmentKinds.loadAll();
    assertThat(SegmentKinds.loadedByName()).isEqualTo(SegmentKinds.BY_NAME.size());
    SegmentKinds.loadAll(); // idempotent
    assertThat(SegmentKinds.loadedByName()).isEqualTo(SegmentKinds.BY_NAME.size());
  }
}
