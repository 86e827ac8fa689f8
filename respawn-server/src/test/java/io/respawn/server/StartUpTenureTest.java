package io.respawn.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Test;

/** The forced collection the launcher's {@code -Drespawn.tenureAtStart=N} relies on. */
class StartUpTenureTest {

  private static long collections() {
    long n = 0;
    for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      n += Math.max(0, gc.getCollectionCount());
    }
    return n;
  }

  @Test
  void eachForcedCollectionRunsAtLeastOneCollection() {
    for (int i = 0; i < 3; i++) {
      long before = collections();
      assertThat(StartUpTenure.youngCollection()).isTrue();
      assertThat(collections()).as("collections after forced collection %d", i)
          .isGreaterThan(before);
    }
  }
}
