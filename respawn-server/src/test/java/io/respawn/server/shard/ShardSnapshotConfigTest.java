package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code snapshot-log-growth-percent} key of a member's config, down to the runtime's policy. */
class ShardSnapshotConfigTest {
  @TempDir Path dir;

  private ShardConfig load(String extra) throws Exception {
    return MemberConfigFiles.load(dir, extra);
  }

  @Test
  void theGrowthGateDefaultsToTheImagesSizeAndReachesThePolicy() throws Exception {
    assertThat(load("").snapshot().toPolicy().logGrowthPercent()).isEqualTo(100);
    assertThat(load("snapshot-log-growth-percent = 0\n").snapshot().toPolicy()
        .logGrowthPercent()).isZero();
    assertThat(load("snapshot-log-growth-percent = 250\n").snapshot().logGrowthPercent())
        .isEqualTo(250);
  }

  @Test
  void aShareOutOfRangeIsRefusedNamingTheKey() {
    assertThatThrownBy(() -> load("snapshot-log-growth-percent = 20000\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("snapshot-log-growth-percent");
    assertThatThrownBy(() -> load("snapshot-log-growth-percent = -1\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("snapshot-log-growth-percent");
  }
}
