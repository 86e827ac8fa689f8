package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.respawn.core.TakeoverMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The takeover and phi-accrual keys of a member's config, and `respawn up` writing them. */
class ShardTakeoverConfigTest {
  @TempDir Path dir;

  private ShardConfig load(String extra) throws Exception {
    return MemberConfigFiles.load(dir, extra);
  }

  @Test
  void defaultsAreSpeculativeWithPhiThreeAndEightOverTheHeartbeat() throws Exception {
    ShardConfig c = load("");
    assertThat(c.takeover()).isEqualTo(TakeoverMode.SPECULATIVE);
    assertThat(c.speculativeSilenceMillis()).isEqualTo(1_500);
    assertThat(c.rehearseTakeover()).isTrue();
    assertThat(load("takeover-rehearsal = false\n").rehearseTakeover()).isFalse();
    assertThat(c.phi().phiSoft()).isEqualTo(3);
    assertThat(c.phi().phiHard()).isEqualTo(8);
    assertThat(c.phi().heartbeatIntervalMillis()).isEqualTo(50);
    assertThat(c.phi().acceptablePauseMillis()).isEqualTo(250);
    assertThat(c.phi().minStdDeviationMillis()).isEqualTo(25);
    // docs/shard.md: 50 + 250 + 25 y(3) and 50 + 250 + 25 y(8).
    assertThat(c.phi().steadySilenceMillisFor(3)).isCloseTo(376.5, within(1.0));
    assertThat(c.phi().steadySilenceMillisFor(8)).isCloseTo(430.5, within(1.0));
  }

  @Test
  void keysSetTheModeAndThresholdsAndFollowTheHeartbeat() throws Exception {
    ShardConfig c = load("takeover = hard-timeout\nphi-soft = 2.5\nphi-hard = 12\n"
        + "heartbeat-interval-ms = 20\nphi-window = 50\nspeculative-silence-ms = 800\n");
    assertThat(c.takeover()).isEqualTo(TakeoverMode.HARD_TIMEOUT);
    assertThat(c.speculativeSilenceMillis()).isEqualTo(800);
    assertThat(c.phi().phiSoft()).isEqualTo(2.5);
    assertThat(c.phi().phiHard()).isEqualTo(12);
    assertThat(c.phi().heartbeatIntervalMillis()).isEqualTo(20);
    assertThat(c.phi().acceptablePauseMillis()).isEqualTo(100);
    assertThat(c.phi().windowSize()).isEqualTo(50);
  }

  @Test
  void aWitnessStandsInForABackupSilentForThreeHeartbeatsUnlessTurnedOff() throws Exception {
    assertThat(load("").standInAfterMillis()).isEqualTo(150);
    assertThat(load("stand-in-after-ms = 400\n").standInAfterMillis()).isEqualTo(400);
    assertThat(load("stand-in-after-ms = 0\n").standInAfterMillis()).isZero();
    assertThatThrownBy(() -> load("stand-in-after-ms = -1\n"))
        .hasMessageContaining("stand-in-after-ms: '-1' is not an integer >= 0");
    assertThatThrownBy(() -> load("stand-in-after-ms = soon\n"))
        .hasMessageContaining("stand-in-after-ms: 'soon' is not an integer >= 0");
  }

  @Test
  void badValuesAreRefusedNamingTheKey() {
    assertThatThrownBy(() -> load("takeover = eventually\n"))
        .hasMessageContaining("takeover: 'eventually' is not hard-timeout or speculative");
    assertThatThrownBy(() -> load("phi-soft = 9\nphi-hard = 8\n"))
        .hasMessageContaining("phi-hard 8.0 must be above phi-soft 9.0");
    assertThatThrownBy(() -> load("phi-soft = lots\n"))
        .hasMessageContaining("phi-soft: 'lots' is not a number");
    assertThatThrownBy(() -> load("takeover-rehearsal = maybe\n"))
        .hasMessageContaining("takeover-rehearsal: 'maybe' is not true or false");
    assertThatThrownBy(() -> load("speculative-silence-ms = -5\n"))
        .hasMessageContaining("speculative-silence-ms");
    assertThatThrownBy(() -> load("phi-window = 1\n"))
        .hasMessageContaining("phi-window: '1' is not an integer >= 2");
  }

  @Test
  void theLayoutWritesTheGivenSettingsIntoEveryMember() throws Exception {
    ShardLayout layout = ShardLayout.of(dir.resolve("data"), "127.0.0.1", 7379, "1+1+1");
    List<Path> files = layout.prepare(Map.of("takeover", "hard-timeout", "phi-soft", "2"));
    for (Path f : files) {
      ShardConfig c = ShardConfig.load(f);
      assertThat(c.takeover()).isEqualTo(TakeoverMode.HARD_TIMEOUT);
      assertThat(c.phi().phiSoft()).isEqualTo(2);
    }
  }
}
