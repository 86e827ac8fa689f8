package io.respawn.server.shard;

import io.respawn.node.recovery.RecoveryMode;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The {@code recovery} key of a member's config, and `respawn up --recovery` writing it. */
class ShardRecoveryConfigTest {
  @TempDir Path dir;

  private ShardConfig load(String extra) throws Exception {
    return MemberConfigFiles.load(dir, extra);
  }

  @Test
  void theDefaultIsOnlineAndTheKeySetsEitherMode() throws Exception {
    assertThat(load("").recovery()).isEqualTo(RecoveryMode.ONLINE);
    assertThat(load("recovery = offline\n").recovery()).isEqualTo(RecoveryMode.OFFLINE);
    assertThat(load("recovery = Online \n").recovery()).isEqualTo(RecoveryMode.ONLINE);
  }

  @Test
  void anotherValueIsRefusedNamingTheKey() {
    assertThatThrownBy(() -> load("recovery = lazy\n"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("recovery: 'lazy' is not online or offline");
  }

  @Test
  void theLayoutWritesTheModeIntoEveryMember() throws Exception {
    ShardLayout layout = ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1");
    List<Path> files = layout.prepare(Map.of("recovery", "offline"));
    for (Path f : files) {
      assertThat(ShardConfig.load(f).recovery()).isEqualTo(RecoveryMode.OFFLINE);
    }
  }
}
