package io.respawn.sim.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class SimulateCommandTest {

  private final StringWriter out = new StringWriter();

  private int run(String... args) {
    CommandLine cli = new CommandLine(new SimulateCommand());
    cli.setOut(new PrintWriter(out));
    cli.setErr(new PrintWriter(out));
    return cli.execute(args);
  }

  @Test
  void cleanSweepEndsWithTheSummaryAndExitsZero() {
    int code = run("--seeds", "1..3", "--events", "2000", "--shape", "1-1-1");
    String[] lines = out.toString().strip().split("\n");
    assertThat(code).isZero();
    assertThat(lines[lines.length - 1]).matches(".* seeds=3 events=\\d+ violations=0");
  }

  @Test
  void violationPrintsSeedAndReplayCommandAndExitsOne() {
    int code = run("--seeds", "1..1", "--variant", "commit-without-backup", "--nemesis",
        "aggressive");
    String text = out.toString();
    assertThat(code).isEqualTo(1);
    assertThat(text).contains("VIOLATION seed=1")
        .contains("replay: bin/respawn simulate --seeds 1..1 --events 5000 --variant "
            + "commit-without-backup --shape random --nemesis aggressive");
    assertThat(text.strip()).matches("(?s).* seeds=1 events=\\d+ violations=1");
  }

  @Test
  void badSeedRangeIsAUsageError() {
    int code = run("--seeds", "9..3");
    assertThat(code).isEqualTo(2);
    assertThat(out.toString()).contains("LAST 3 is below FIRST 9");
  }

  @Test
  void unknownVariantIsAUsageError() {
    int code = run("--seeds", "1", "--variant", "sloppy");
    assertThat(code).isEqualTo(2);
    assertThat(out.toString()).contains("commit-without-backup");
  }

  @Test
  void durableReplicaAcksRunAndAreReplayedByName() {
    int code = run("--seeds", "1..1", "--replica-ack", "durable",
        "--flush-interval-ms", "5", "--variant", "commit-without-backup", "--nemesis",
        "aggressive");
    assertThat(out.toString()).contains("--replica-ack durable --flush-interval-ms 5");
    assertThat(code).isEqualTo(1);
    out.getBuffer().setLength(0);
    assertThat(run("--seeds", "1", "--replica-ack", "sometimes")).isEqualTo(2);
    assertThat(out.toString()).contains("--replica-ack must be ordered or durable");
  }

  @Test
  void seedRangeParsesBothForms() {
    assertThat(SeedRange.parse("5")).containsExactly(5, 5);
    assertThat(SeedRange.parse(" 1..20000 ")).containsExactly(1, 20000);
  }
}
