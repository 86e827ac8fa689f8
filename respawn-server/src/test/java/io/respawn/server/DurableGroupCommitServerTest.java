package io.respawn.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.resp.RespLimits;
import io.respawn.storage.Durability;
import io.respawn.storage.StorageConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;

/**
 * DURABLE group commit with closed-loop clients (a real server on real files, Jedis): a pass
 * with DURABLE writes is held open for more clients once the previous one answered several, and
 * closes as soon as every client of that previous group is back instead of waiting out the whole
 * delay; every write it acknowledged is there afterwards.
 */
class DurableGroupCommitServerTest {
  static final int CLIENTS = 8;
  static final int WRITES_PER_CLIENT = 400;

  @TempDir Path tmp;

  @Test
  void closedLoopClientsEndTheGroupCommitDelayOnceTheWholeGroupIsBack() throws Exception {
    ServerConfig config = new ServerConfig("127.0.0.1", 0, tmp.resolve("data"),
        Durability.DURABLE, null, RespLimits.DEFAULTS, 1, StorageConfig.defaults());
    ExecutorService clients = Executors.newFixedThreadPool(CLIENTS);
    try (RespawnServer server = RespawnServer.start(config)) {
      int port = server.port();
      List<Future<?>> done = new ArrayList<>();
      for (int c = 0; c < CLIENTS; c++) {
        int client = c;
        done.add(clients.submit(() -> {
          try (Jedis jedis = new Jedis("127.0.0.1", port)) {
            for (int i = 0; i < WRITES_PER_CLIENT; i++) {
              assertThat(jedis.set("k:" + client + ":" + i, "v" + i)).isEqualTo("OK");
            }
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      try (Jedis jedis = new Jedis("127.0.0.1", port)) {
        Map<String, String> info = jedis.info("persistence").lines()
            .filter(l -> l.contains(":"))
            .collect(Collectors.toMap(l -> l.substring(0, l.indexOf(':')),
                l -> l.substring(l.indexOf(':') + 1)));
        long delayed = Long.parseLong(info.get("respawn_group_commits_delayed"));
        long closedEarly = Long.parseLong(info.get("respawn_group_commits_closed_early"));
        assertThat(delayed).as("passes held open for the group").isPositive();
        assertThat(closedEarly).as("passes that ended once the whole group was back")
            .isPositive().isLessThanOrEqualTo(delayed);
        assertThat(jedis.dbSize()).isEqualTo((long) CLIENTS * WRITES_PER_CLIENT);
        for (int c = 0; c < CLIENTS; c++) {
          assertThat(jedis.get("k:" + c + ":" + (WRITES_PER_CLIENT - 1)))
              .isEqualTo("v" + (WRITES_PER_CLIENT - 1));
        }
      }
    } finally {
      clients.shutdownNow();
    }
  }
}
