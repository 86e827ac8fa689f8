package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/** Authentication, clean stop on SIGTERM (exit 0, ORDERED data durable), restart. */
class LifecycleIT {
  @TempDir Path tmp;

  @Test
  void sigtermFlushesOrderedWritesAndExitsZero() throws Exception {
    int port = ServerProcess.freePort();
    Path data = tmp.resolve("data");
    try (ServerProcess server = ServerProcess.start(data, port, "--flush-interval-ms", "60000")) {
      try (Jedis jedis = new Jedis("127.0.0.1", port)) {
        for (int i = 0; i < 1000; i++) {
          jedis.set("k" + i, "v" + i);
        }
      }
      assertThat(server.terminate()).as(server.logTail()).isZero();
      assertThat(server.logTail()).contains("all writes are durable");
    }
    try (ServerProcess server = ServerProcess.start(data, port);
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(jedis.dbSize()).isEqualTo(1000);
      assertThat(jedis.get("k999")).isEqualTo("v999");
    }
  }

  @Test
  void aSecondProcessCannotOpenTheSameDataDirectoryOrPort() throws Exception {
    int port = ServerProcess.freePort();
    Path data = tmp.resolve("shared");
    try (ServerProcess server = ServerProcess.start(data, port)) {
      String[] sameData = ServerProcess.runExpectingExit(data, ServerProcess.freePort());
      assertThat(sameData[0]).isEqualTo("2");
      assertThat(sameData[1]).contains("is in use by another respawn process (pid "
          + server.pid() + ")");
      String[] samePort = ServerProcess.runExpectingExit(tmp.resolve("other"), port);
      assertThat(samePort[0]).isEqualTo("2");
      assertThat(samePort[1]).contains("cannot listen on 127.0.0.1:" + port);
      String[] badFlag = ServerProcess.runExpectingExit(tmp.resolve("x"), port,
          "--durability", "SOMETIMES");
      assertThat(badFlag[0]).isEqualTo("2");
      assertThat(badFlag[1]).contains("--durability");
    }
  }

  @Test
  void connectionsOverMaxclientsAreRefusedWithoutDisturbingOthers() throws Exception {
    int port = ServerProcess.freePort();
    try (ServerProcess server = ServerProcess.start(tmp.resolve("max"), port, "--maxclients", "2");
        Jedis first = new Jedis("127.0.0.1", port);
        Jedis second = new Jedis("127.0.0.1", port)) {
      assertThat(first.ping()).isEqualTo("PONG");
      assertThat(second.ping()).isEqualTo("PONG");
      try (RawClient third = new RawClient(port)) {
        assertThat(third.read()).isEqualTo("-ERR max number of clients reached");
        assertThat(third.isClosedByServer()).isTrue();
      }
      assertThat(first.set("still", "fine")).isEqualTo("OK");
    }
  }

  @Test
  void requirepassNeedsAuth() throws Exception {
    int port = ServerProcess.freePort();
    try (ServerProcess server = ServerProcess.start(tmp.resolve("auth"), port,
        "--requirepass", "s3cret");
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThatThrownBy(() -> jedis.get("a")).hasMessage("NOAUTH Authentication required.");
      assertThatThrownBy(() -> jedis.auth("wrong"))
          .hasMessage("WRONGPASS invalid username-password pair or user is disabled.");
      assertThat(jedis.auth("s3cret")).isEqualTo("OK");
      assertThat(jedis.set("a", "1")).isEqualTo("OK");
    }
  }
}
