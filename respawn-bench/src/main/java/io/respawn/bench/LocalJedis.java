package io.respawn.bench;

import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;

/**
 * A Jedis connection to a server on loopback, speaking RESP2 as every benchmark's client does.
 * Naming the protocol matters: without it Jedis 8 logs a warning about RESP3 negotiation for each
 * connection it opens, hundreds per run for a benchmark that polls a member's INFO.
 */
public final class LocalJedis {
  private LocalJedis() {}

  /** Opens (lazily, at the first command) a connection to 127.0.0.1:port. */
  public static Jedis connect(int port, int timeoutMillis) {
    return new Jedis(new HostAndPort("127.0.0.1", port), DefaultJedisClientConfig.builder()
        .timeoutMillis(timeoutMillis).protocol(RedisProtocol.RESP2).build());
  }
}
