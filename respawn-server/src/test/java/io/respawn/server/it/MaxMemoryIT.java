package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * {@code --maxmemory} on a real server through Jedis: once the stored keys, values and index use
 * more than the limit, commands that may grow memory get Redis's -OOM error while reads, DEL and
 * FLUSHALL still work; nothing acknowledged is lost (checked after a restart); deleting makes room
 * again; INFO and CONFIG GET report the real figures.
 */
class MaxMemoryIT {
  static final String OOM = "OOM command not allowed when used memory > 'maxmemory'.";
  static final long LIMIT_BYTES = 2 << 20;

  @TempDir Path tmp;

  private static Map<String, String> info(Jedis jedis) {
    Map<String, String> fields = new java.util.HashMap<>();
    for (String line : jedis.info("memory").split("\r\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        fields.put(line.substring(0, colon), line.substring(colon + 1));
      }
    }
    return fields;
  }

  @Test
  void writesPastTheLimitGetOomAndNothingAcknowledgedIsLost() throws Exception {
    int port = ServerProcess.freePort();
    Path data = tmp.resolve("data");
    List<String> acknowledged = new ArrayList<>();
    String value = "v".repeat(500);
    try (ServerProcess server = ServerProcess.start(data, port, "--maxmemory", "2mb");
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(jedis.configGet("maxmemory")).containsEntry("maxmemory", Long.toString(LIMIT_BYTES));
      Map<String, String> empty = info(jedis);
      assertThat(empty.get("maxmemory")).isEqualTo(Long.toString(LIMIT_BYTES));
      assertThat(Long.parseLong(empty.get("used_memory"))).isLessThan(LIMIT_BYTES);

      // Fill with pipelined SETs until the server refuses; every OK is an acknowledged write.
      String refusal = null;
      for (int round = 0; refusal == null; round++) {
        assertThat(round).as("no OOM after %d keys", acknowledged.size()).isLessThan(100);
        Pipeline p = jedis.pipelined();
        List<Response<String>> replies = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
          replies.add(p.set("key:" + round + ":" + i, value));
        }
        try {
          p.sync();
        } catch (JedisDataException e) {
          // sync throws on the first error reply; the replies tell which ones were refused
        }
        for (int i = 0; i < replies.size(); i++) {
          try {
            assertThat(replies.get(i).get()).isEqualTo("OK");
            acknowledged.add("key:" + round + ":" + i);
          } catch (JedisDataException e) {
            refusal = e.getMessage();
          }
        }
      }
      assertThat(refusal).isEqualTo(OOM);
      long used = Long.parseLong(info(jedis).get("used_memory"));
      assertThat(used).isGreaterThan(LIMIT_BYTES);
      // Within a little of the limit: the engine's usage is checked once per pass of the loop.
      assertThat(used).isLessThan(LIMIT_BYTES + (1 << 20));

      // Every command that may grow memory is refused; reads and deletes are not.
      assertThatThrownBy(() -> jedis.set("another", "x")).hasMessage(OOM);
      assertThatThrownBy(() -> jedis.incr("counter")).hasMessage(OOM);
      assertThatThrownBy(() -> jedis.append(acknowledged.get(0), "more")).hasMessage(OOM);
      assertThatThrownBy(() -> jedis.mset("a", "1", "b", "2")).hasMessage(OOM);
      assertThat(jedis.get(acknowledged.get(0))).isEqualTo(value);
      assertThat(jedis.exists("another")).isFalse();
      // In MULTI the refusal flags the transaction, as in Redis.
      Transaction tx = jedis.multi();
      assertThatThrownBy(() -> tx.set("in-tx", "x").get()).isNotNull();
      assertThatThrownBy(tx::exec).hasMessageContaining("EXECABORT");
      assertThat(jedis.exists("in-tx")).isFalse();

      // Deleting makes room: the next SET succeeds.
      int half = acknowledged.size() / 2;
      for (String k : acknowledged.subList(0, half)) {
        assertThat(jedis.del(k)).isEqualTo(1);
      }
      List<String> kept = new ArrayList<>(acknowledged.subList(half, acknowledged.size()));
      assertThat(Long.parseLong(info(jedis).get("used_memory"))).isLessThan(LIMIT_BYTES);
      assertThat(jedis.set("after-delete", value)).isEqualTo("OK");
      kept.add("after-delete");
      assertThat(server.terminate()).isZero();
      acknowledged.clear();
      acknowledged.addAll(kept);
    }
    // A restart recovers every acknowledged write, even past the limit it was refused at.
    try (ServerProcess server = ServerProcess.start(data, port, "--maxmemory", "2mb");
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(jedis.dbSize()).as(server.logTail()).isEqualTo(acknowledged.size());
      for (String k : acknowledged) {
        assertThat(jedis.get(k)).as(k).isEqualTo(value);
      }
      assertThat(jedis.flushAll()).isEqualTo("OK");
      assertThat(jedis.set("fresh", "1")).isEqualTo("OK");
    }
  }

  @Test
  void maxmemoryZeroMeansNoLimitAndBadValuesAreRefused() throws Exception {
    int port = ServerProcess.freePort();
    String[] bad = ServerProcess.runExpectingExit(tmp.resolve("bad"), port, "--maxmemory", "lots");
    assertThat(bad[0]).isEqualTo("2");
    assertThat(bad[1]).contains("--maxmemory");
    try (ServerProcess server = ServerProcess.start(tmp.resolve("nolimit"), port, "--maxmemory", "0");
        Jedis jedis = new Jedis("127.0.0.1", port)) {
      assertThat(info(jedis).get("maxmemory")).as(server.logTail()).isEqualTo("0");
      for (int i = 0; i < 5000; i++) {
        jedis.set("k" + i, "v".repeat(500));
      }
      assertThat(Long.parseLong(info(jedis).get("used_memory"))).isGreaterThan(5000L * 500);
    }
  }
}
