package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real redis-cli (Debian redis-tools) against a server process. */
class RedisCliIT {
  static final Path REDIS_CLI = Path.of("/usr/bin/redis-cli");
  @TempDir static Path tmp;
  static ServerProcess server;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(REDIS_CLI),
        "redis-cli not installed at /usr/bin/redis-cli (scripts/install-test-deps.sh installs it)");
    server = ServerProcess.start(tmp.resolve("data"), ServerProcess.freePort());
  }

  @AfterAll
  static void stop() {
    if (server != null) {
      server.close();
    }
  }

  private static String cli(String stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(REDIS_CLI.toString(), "-p",
        Integer.toString(server.port())));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    if (stdin != null) {
      p.getOutputStream().write(stdin.getBytes(StandardCharsets.UTF_8));
    }
    p.getOutputStream().close();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(20, TimeUnit.SECONDS)).as("redis-cli finished").isTrue();
    return out.strip();
  }

  @Test
  void setGetScanInfo() throws Exception {
    assertThat(cli(null, "set", "a", "b")).isEqualTo("OK");
    assertThat(cli(null, "get", "a")).isEqualTo("b");
    assertThat(cli(null, "ping")).isEqualTo("PONG");
    for (int i = 0; i < 30; i++) {
      cli(null, "set", "scan:" + i, "v");
    }
    List<String> scanned = List.of(cli(null, "--scan", "--pattern", "scan:*").split("\n"));
    assertThat(scanned).hasSize(30).allMatch(k -> k.startsWith("scan:"));
    assertThat(cli(null, "--scan").split("\n")).hasSize(31);
    assertThat(cli(null, "info")).contains("# Server").contains("redis_version:")
        .contains("db0:keys=31");
    assertThat(cli(null, "dbsize")).isEqualTo("31");
    assertThat(cli(null, "incr", "n")).isEqualTo("1");
    assertThat(cli(null, "get", "nope")).isEmpty();
    assertThat(cli(null, "nosuch", "x")).contains("ERR unknown command 'nosuch'");
  }

  @Test
  void commandsFromStdinAndAMultiExec() throws Exception {
    String out = cli("set x 1\nincr x\nmulti\nincr x\nincr x\nexec\nget x\n");
    assertThat(out.split("\n")).containsExactly("OK", "2", "OK", "QUEUED", "QUEUED", "3", "4", "4");
  }

  @Test
  void respawnExtensionsThroughRedisCli() throws Exception {
    assertThat(cli(null, "respawn", "durability")).isEqualTo("ORDERED");
    assertThat(cli(null, "respawn", "status")).contains("role:standalone");
    assertThat(cli(null, "config", "get", "appendonly")).isEqualTo("appendonly\nno");
  }
}
