package io.respawn.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.ServerConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Start-up validation: every bad flag is a clear message and exit code 2, before anything starts. */
class CliValidationTest {
  @TempDir Path tmp;

  private String[] run(String... args) {
    CommandLine cli = RespawnCommand.newCommandLine();
    StringWriter err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    int code = cli.execute(args);
    return new String[] {Integer.toString(code), err.toString()};
  }

  @Test
  void badFlagsExitWithCode2AndSayWhy() throws Exception {
    String data = tmp.resolve("d").toString();
    String[] r = run("server", "--port", "70000", "--data", data);
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--port must be between 1 and 65535, got 70000");

    r = run("server", "--port", "abc", "--data", data);
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--port");

    r = run("server", "--durability", "SOMETIMES", "--data", data);
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--durability").contains("ORDERED").contains("DURABLE");

    Path file = Files.writeString(tmp.resolve("file"), "x");
    r = run("up", "--data", file.toString());
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--data").contains("cannot be created");

    r = run("server", "--data", data, "--pipeline-depth-max", "0");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("pipelineDepthMax must be between 1");

    r = run("server", "--data", data, "--bulk-length-max", "2g");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("bulkLengthMax");

    r = run("server", "--data", data, "--log-level", "LOUD");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--log-level");

    r = run("server", "--data", data, "--compaction-interval-ms", "-1");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--compaction-interval-ms must be between 0 (off) and 86400000, got -1");

    r = run("server", "--data", data, "--compaction-garbage-ratio", "1.5");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--compaction-garbage-ratio must be above 0 and below 1, got 1.5");

    r = run("server", "--data", data, "--bind", "no.such.host.invalid");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--bind no.such.host.invalid is not a known address");
  }

  /** The configuration {@code respawn server} would run with these flags. */
  private ServerConfig parse(String... args) {
    ServerCommand command = new ServerCommand();
    CommandLine server = new CommandLine(command);
    server.parseArgs(args);
    return command.options.toConfig(server.getCommandSpec());
  }

  @Test
  void valuesUpTo512MegabytesByDefaultAsInRedisAndBothLimitsAreFlags() {
    String data = tmp.resolve("d").toString();
    ServerConfig defaults = parse("--data", data);
    assertThat(defaults.limits().bulkLengthMax()).isEqualTo(512 << 20); // proto-max-bulk-len
    assertThat(defaults.storage().valueBytesMax()).isEqualTo(512 << 20);
    assertThat(defaults.limits().requestBytesMax()).isEqualTo(1L << 30);

    ServerConfig small = parse("--data", data, "--value-bytes-max", "1m", "--bulk-length-max", "2m");
    assertThat(small.storage().valueBytesMax()).isEqualTo(1 << 20);
    assertThat(small.limits().bulkLengthMax()).isEqualTo(2 << 20);

    String[] r = run("server", "--data", data, "--value-bytes-max", "2g");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--value-bytes-max 2147483648 is above the log format's limit");
    r = run("server", "--data", data, "--bulk-length-max", "600m");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("bulkLengthMax must be between 1 and 536870912, got 629145600");
    r = run("server", "--data", data, "--request-bytes-max", "100m");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--bulk-length-max 536870912 is above --request-bytes-max 104857600");
    r = run("server", "--data", data, "--request-bytes-max", "2g");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("--request-bytes-max 2147483648 is above 1073741824");
  }

  @Test
  void aDiskReserveIsKeptBackByDefaultAndIsAFlag() {
    String data = tmp.resolve("d").toString();
    assertThat(parse("--data", data).storage().diskReserveBytes()).isEqualTo(64L << 20);
    assertThat(parse("--data", data, "--disk-reserve-bytes", "0").storage().diskReserveBytes())
        .isZero();
    String[] r = run("server", "--data", data, "--disk-reserve-bytes", "17g");
    assertThat(r[0]).isEqualTo("2");
    assertThat(r[1]).contains("diskReserveBytes 18253611008 is out of range");
  }

  @Test
  void sizesAcceptSuffixes() {
    SizeConverter c = new SizeConverter();
    assertThat(c.convert("64k")).isEqualTo(65536L);
    assertThat(c.convert("1m")).isEqualTo(1L << 20);
    assertThat(c.convert("2G")).isEqualTo(2L << 30);
    assertThat(c.convert("100")).isEqualTo(100L);
  }
}
