package io.respawn.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code respawn wan} refuses bad flags with exit code 2 and a message naming the flag. */
class WanCommandTest {
  private static String[] run(String... args) {
    CommandLine cli = RespawnCommand.newCommandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new String[] {Integer.toString(code), err.toString()};
  }

  @Test
  void badFlagsExitWithCode2AndSayWhy() {
    String[] r = run("wan", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--loss", "2");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("loss must be between 0 and 1");

    r = run("wan", "--listen", "127.0.0.1", "--to", "127.0.0.1:9");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--listen must be host:port");

    r = run("wan", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:0");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--to port must be between 1 and 65535");

    r = run("wan", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--burst-enter", "0.1",
        "--burst-exit", "0");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("badToGood");

    r = run("wan", "--listen", "127.0.0.1:0", "--to", "127.0.0.1:9", "--bandwidth-mbit", "-5");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("bandwidth");
  }
}
