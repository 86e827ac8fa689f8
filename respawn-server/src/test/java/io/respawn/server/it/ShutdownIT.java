package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * SHUTDOWN from a client: every acknowledged write becomes durable, the client gets no reply
 * and its connection closes, the process exits 0, and a restart finds every key. Redis is run
 * beside it to show the same client-visible behaviour.
 */
class ShutdownIT {
  @TempDir Path tmp;

  private static void writeKeys(int port) {
    try (Jedis jedis = new Jedis("127.0.0.1", port)) {
      for (int i = 0; i < 500; i++) {
        jedis.set("ordered" + i, "v" + i);
      }
      jedis.sendCommand(() -> "RESPAWN".getBytes(), "DURABILITY", "DURABLE");
      for (int i = 0; i < 20; i++) {
        jedis.set("durable" + i, "v" + i);
      }
    }
  }

  private static void assertKeys(int port) {
    try (Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(jedis.dbSize()).isEqualTo(520);
      assertThat(jedis.get("ordered499")).isEqualTo("v499");
      assertThat(jedis.get("durable19")).isEqualTo("v19");
    }
  }

  @Test
  void shutdownMakesEveryWriteDurableAndExitsZero() throws Exception {
    Path data = tmp.resolve("data");
    int port = ServerProcess.freePort();
    // A long flush interval: without SHUTDOWN's fsync the ORDERED writes would not be durable.
    try (ServerProcess server = ServerProcess.start(data, port, "--flush-interval-ms", "60000")) {
      writeKeys(port);
      try (TypedClient c = new TypedClient(port)) {
        c.send("SHUTDOWN");
        assertThat(c.closedByServer()).as("no reply, connection closed").isTrue();
      }
      assertThat(server.awaitExit(15)).as(server.logTail()).isZero();
      assertThat(server.logTail()).contains("SHUTDOWN requested by client")
          .contains("all writes are durable").contains("stopped cleanly");
    }
    try (ServerProcess server = ServerProcess.start(data, port)) {
      assertKeys(port);
      try (TypedClient c = new TypedClient(port)) {
        assertThat(c.call("SHUTDOWN", "NOSAVE", "NOW")).as("a second client's view")
            .isNotNull();
      } catch (java.io.EOFException expected) {
        // SHUTDOWN answers nothing: the read sees the connection close
      }
      assertThat(server.awaitExit(15)).as(server.logTail()).isZero();
    }
    try (ServerProcess server = ServerProcess.start(data, port)) {
      assertKeys(port);
      assertThat(server.terminate()).isZero();
    }
  }

  @Test
  void redisShowsTheSameClientSideBehaviour() throws Exception {
    try (RedisServerProcess redis = RedisServerProcess.start(tmp.resolve("redis"));
        TypedClient c = new TypedClient(redis.port())) {
      assertThat(c.call("SHUTDOWN", "ABORT")).isEqualTo("-ERR No shutdown in progress.");
      c.send("SHUTDOWN", "NOSAVE");
      assertThat(c.closedByServer()).isTrue();
      assertThat(redis.process().waitFor(15, TimeUnit.SECONDS)).isTrue();
      assertThat(redis.process().exitValue()).isZero();
    }
  }
}
