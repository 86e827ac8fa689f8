package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * Damage to the log as an operator meets it: after a clean stop, a corrupt last record refuses
 * the start with advice that can be followed ({@code --on-corruption truncate}); after kill -9,
 * the zeros preallocated ahead of the log are trimmed without a warning.
 */
class CorruptionIT {
  @TempDir Path tmp;

  private static Path lastSegment(Path data) throws Exception {
    try (Stream<Path> files = Files.list(data.resolve("store"))) {
      List<Path> segments = files
          .filter(p -> p.getFileName().toString().matches("\\d{20}-\\d+\\.log")).sorted().toList();
      return segments.get(segments.size() - 1);
    }
  }

  @Test
  void aCorruptLastRecordAfterACleanStopRefusesTheStartUntilTheOperatorChoosesToTruncate()
      throws Exception {
    int port = ServerProcess.freePort();
    Path data = tmp.resolve("data");
    try (ServerProcess server = ServerProcess.start(data, port);
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      for (int i = 0; i < 100; i++) {
        jedis.set("k" + i, "v" + i);
      }
      assertThat(server.terminate()).isZero();
    }
    Path last = lastSegment(data);
    byte[] bytes = Files.readAllBytes(last);
    bytes[bytes.length - 5] ^= 1; // inside the commit record of the last SET's batch
    Files.write(last, bytes);

    String[] refused = ServerProcess.runExpectingExit(data, port);
    assertThat(refused[0]).as(refused[1]).isEqualTo("1");
    assertThat(refused[1])
        .contains("corrupt log: segment " + last.getFileName() + " offset ")
        .contains("the store was stopped cleanly")
        .contains("start with --on-corruption truncate");

    try (ServerProcess server = ServerProcess.start(data, port, "--on-corruption", "truncate");
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(jedis.dbSize()).isEqualTo(99);
      assertThat(jedis.get("k99")).isNull();
      assertThat(jedis.get("k98")).isEqualTo("v98");
      assertThat(server.terminate()).isZero();
      assertThat(server.logTail()).contains("--on-corruption truncate: dropping");
    }
    try (ServerProcess server = ServerProcess.start(data, port); // repaired: no flag needed
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(jedis.dbSize()).isEqualTo(99);
    }
  }

  @Test
  void afterKill9ThePreallocatedTailIsTrimmedWithoutAWarning() throws Exception {
    int port = ServerProcess.freePort();
    Path data = tmp.resolve("data");
    try (ServerProcess server = ServerProcess.start(data, port);
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      for (int i = 0; i < 100; i++) {
        jedis.set("k" + i, "v" + i);
      }
      server.kill9();
    }
    try (ServerProcess server = ServerProcess.start(data, port);
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(jedis.dbSize()).isEqualTo(100);
      String log = server.logTail();
      assertThat(log).contains("bytes of preallocated space").contains("nothing is lost");
      assertThat(log.lines().filter(l -> l.contains(" WARN ") || l.contains(" ERROR ")))
          .as(log).isEmpty();
    }
  }
}
