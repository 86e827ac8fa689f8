package io.respawn.server.solo.monitor;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class TakeoverPhasesTest {
  @Test
  void theLineNamesEveryPhaseInOrderAsKeyValueWords() {
    TakeoverPhases p = new TakeoverPhases(FailoverMode.SPECREDS, "connection-lost", 1_000, 0, 3,
        900, 880, 5, 12, 1_930);
    assertThat(p.totalMillis()).isEqualTo(930);
    assertThat(p.line()).isEqualTo("mode=specreds cause=connection-lost detected_at_ms=1000 "
        + "standby_ms=0 super_ms=3 recover_ms=900 standby_recover_ms=880 promote_ms=5 "
        + "serve_ms=12 switched_at_ms=1930 total_ms=930");
  }

  @Test
  void aCauseIsOneWord() {
    assertThatThrownBy(() -> new TakeoverPhases(FailoverMode.REDS, "timed out", 0, 0, 0, 0, 0,
        0, 0, 0)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theProcessIdComesFromInfoServer() {
    assertThat(ServingNodeInfo.pidOf("# Server\r\nredis_version:7.2.0\r\nprocess_id:4242\r\n"
        + "tcp_port:7379\r\n")).isEqualTo(4242);
    assertThat(ServingNodeInfo.pidOf("# Server\r\nredis_version:7.2.0\r\n")).isEqualTo(-1);
    assertThat(ServingNodeInfo.pidOf("process_id:x\r\n")).isEqualTo(-1);
  }
}
