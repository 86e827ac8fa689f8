package io.respawn.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The start-up cache's training run (bin/respawn runs it after each build): it serves its scratch
 * server and rehearses a takeover without error, checks the answers it gets, and leaves nothing
 * behind; it is not listed in the help.
 */
class AotTrainCommandTest {
  @TempDir Path tmp;

  @Test
  void trainsOnAScratchServerAndLeavesNothingBehind() {
    Path dir = tmp.resolve("train");
    CommandLine cli = RespawnCommand.newCommandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    int code = cli.execute("aot-train", "--dir", dir.toString());
    assertThat(code).as(err.toString()).isZero();
    assertThat(Files.exists(dir)).isFalse();

    StringWriter help = new StringWriter();
    RespawnCommand.newCommandLine().usage(new PrintWriter(help));
    assertThat(help.toString()).contains("server").doesNotContain("aot-train");
  }
}
