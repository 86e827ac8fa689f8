package io.respawn.bench.solo;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A small E3 solo run on real processes: {@code respawn monitor} with a warm standby in each
 * mode, a DURABLE writer following it, a stall and a kill -9 of the serving node per mode. Every
 * kill must end in exactly one takeover after which writes are acknowledged again, no
 * acknowledged write may be lost, and the CSV must carry the header.
 */
class SoloBenchIT {
  @TempDir Path tmp;

  @Test
  void everyModeFailsOverAKilledNodeAndLosesNoAcknowledgedWrite() throws Exception {
    SoloBench bench = new SoloBench();
    int exit = new CommandLine(bench).execute("--out", tmp.resolve("out").toString(),
        "--work", tmp.resolve("work").toString(), "--modes", "reds,specreds,oracle",
        "--timeouts-s", "1", "--short-mb", "1", "--long-mb", "2", "--kills", "1",
        "--stalls-s", "0.2", "--gap-ms", "500",
        // this test checks takeovers, not timing: on a loaded machine a node may take longer
        // than the default 300 ms to answer a heartbeat, and each false suspicion costs a
        // standby's warm-up
        "--suspect-ms", "1500");
    assertThat(exit).as("exit code (1 = lost writes)").isZero();
    assertThat(bench.lostTotal()).isZero();
    assertThat(bench.events()).isEqualTo(3 * 2 * 2);
    for (SoloBench.Row r : bench.rows()) {
      if (r.scenario().equals("kill")) {
        assertThat(r.failovers()).as(r.toString()).isEqualTo(1);
        assertThat(r.failoverMillis()).as(r.toString()).isPositive();
      }
    }
    List<String> csv = Files.readAllLines(tmp.resolve("out").resolve("e3-solo.csv"),
        StandardCharsets.UTF_8);
    assertThat(csv.get(0))
        .isEqualTo("mode,timeout_s,recovery,scenario,failover_ms,failovers,client_errors,lost");
    assertThat(csv).hasSize(1 + 3 * 2 * 2);
    assertThat(tmp.resolve("out").resolve("e3-solo.png")).isNotEmptyFile();
  }
}
