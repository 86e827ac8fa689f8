package io.respawn.bench.e1;

import java.nio.charset.StandardCharsets;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.exceptions.JedisMovedDataException;
import site.ycsb.DBException;

/**
 * E1's YCSB binding for Redis and the Respawn shard over one Jedis connection: a record is one
 * string value (SET / GET). Per connection, optionally:
 *
 * <ul>
 *   <li>{@code RESPAWN DURABILITY ORDERED|DURABLE} once after connecting (the shard's
 *       acknowledgement level for this connection's writes);
 *   <li>{@code WAIT n 0} after every write, which must answer at least {@code n} (Redis primary
 *       + replica: a write counts once a replica holds it).
 * </ul>
 *
 * <p>A {@code MOVED} answer is followed as a cluster-aware client follows it (the shard answers
 * it while a primary is being elected or hands leadership over): connect to the node it names,
 * set the durability again and resend, at most {@link #REDIRECTS_MAX} times per operation.
 */
public final class RedisKvDb extends KvDb {
  /** How to reach the store and what to do per connection and write. */
  public record Target(String host, int port, String durability, int waitReplicas,
      int timeoutMillis) {
    public Target {
      if (durability != null && !durability.equals("ORDERED") && !durability.equals("DURABLE")) {
        throw new IllegalArgumentException("durability must be ORDERED or DURABLE, got "
            + durability);
      }
      if (waitReplicas < 0) {
        throw new IllegalArgumentException("waitReplicas must be >= 0, got " + waitReplicas);
      }
    }
  }

  private static final byte[] RESPAWN = "RESPAWN".getBytes(StandardCharsets.US_ASCII);

  /** Most MOVED answers followed for one operation before it counts as failed. */
  public static final int REDIRECTS_MAX = 5;

  private final Target target;
  private Jedis jedis;
  private long redirects;

  public RedisKvDb(Target target) {
    this.target = target;
  }

  @Override
  public long redirects() {
    return redirects;
  }

  @Override
  public void init() throws DBException {
    try {
      connect(new HostAndPort(target.host(), target.port()));
    } catch (RuntimeException e) {
      throw new DBException("connecting to " + target.host() + ":" + target.port() + ": " + e, e);
    }
  }

  private void connect(HostAndPort node) throws DBException {
    if (jedis != null) {
      jedis.close();
    }
    jedis = new Jedis(node, DefaultJedisClientConfig.builder()
        .timeoutMillis(target.timeoutMillis()).protocol(RedisProtocol.RESP2).build());
    if (target.durability() != null) {
      Object reply = jedis.sendCommand(() -> RESPAWN, "DURABILITY", target.durability());
      String text = reply instanceof byte[] b ? new String(b, StandardCharsets.UTF_8)
          : String.valueOf(reply);
      if (!text.equals("OK")) {
        throw new DBException("RESPAWN DURABILITY " + target.durability() + " answered " + text);
      }
    }
  }

  /** Runs {@code op}, following up to {@link #REDIRECTS_MAX} MOVED answers. */
  private <T> T following(java.util.function.Supplier<T> op) throws DBException {
    for (int redirect = 0; ; redirect++) {
      try {
        return op.get();
      } catch (JedisMovedDataException moved) {
        if (redirect == REDIRECTS_MAX) {
          throw moved;
        }
        redirects++;
        connect(moved.getTargetNode());
      }
    }
  }

  @Override
  protected byte[] get(String key) throws DBException {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    return following(() -> jedis.get(k));
  }

  @Override
  protected void put(String key, byte[] value) throws DBException {
    byte[] k = key.getBytes(StandardCharsets.UTF_8);
    following(() -> {
      write(k, value);
      return null;
    });
  }

  private void write(byte[] key, byte[] value) {
    String ok = jedis.set(key, value);
    if (!"OK".equals(ok)) {
      throw new IllegalStateException("SET answered " + ok);
    }
    if (target.waitReplicas() > 0) {
      long replicas = jedis.waitReplicas(target.waitReplicas(), 0);
      if (replicas < target.waitReplicas()) {
        throw new IllegalStateException("WAIT " + target.waitReplicas() + " 0 answered "
            + replicas);
      }
    }
  }

  @Override
  public void cleanup() {
    if (jedis != null) {
      jedis.close();
    }
  }
}
