package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class EphemeralPortsTest {
  @Test
  void portsInsideTheRangeAreNamedAndOthersAreNot() {
    assertThat(EphemeralPorts.warning(List.of(7379, 17379), "ports", 32768, 60999)).isNull();
    String w = EphemeralPorts.warning(List.of(23400, 33401, 33400, 60999, 61000), "peer ports",
        32768, 60999);
    assertThat(w).contains("peer ports [33400, 33401, 60999] in the ephemeral range 32768-60999")
        .contains("below 32768").doesNotContain("23400").doesNotContain("61000");
  }

  @Test
  void theMachinesRangeIsReadOrLinuxsDefault() {
    int[] r = EphemeralPorts.range();
    assertThat(r[0]).isPositive().isLessThanOrEqualTo(r[1]);
    assertThat(r[1]).isLessThanOrEqualTo(65535);
  }
}
