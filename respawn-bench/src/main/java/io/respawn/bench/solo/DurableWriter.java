package io.respawn.bench.solo;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.JedisClientConfig;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.exceptions.JedisException;

/**
 * The experiment's client: one closed-loop writer of unique keys ({@code e3:<seq>} = seq), each
 * acknowledged only once DURABLE (fsynced), that follows the monitor to the serving node. A
 * write whose attempt fails (connection lost or refused, error reply, timeout) is retried on
 * whatever the monitor names until it is acknowledged — SET of the same value is idempotent — and
 * counts as one client error. Every acknowledged key is kept, to be read back at the end.
 *
 * <p>Failover latency as a client sees it: from an event (kill -9, SIGSTOP) to the completion of
 * the first write invoked after it.
 *
 * <p>Owns its thread ({@code e3-writer}); counters are read by any thread.
 */
final class DurableWriter implements Runnable {
  /** Longer than the longest stall: a stalled node's write waits instead of failing. */
  static final int TIMEOUT_MILLIS = 30_000;

  private final Supplier<MonitorRun.Node> primary;
  private final long paceMicros;
  private final ConcurrentHashMap<Long, Boolean> acknowledged = new ConcurrentHashMap<>();
  private final AtomicLong clientErrors = new AtomicLong();
  private volatile boolean running = true;
  private volatile long eventAtNanos = -1;
  private volatile long recoveredAfterNanos = -1;
  private final Thread thread;
  private Jedis jedis;
  private MonitorRun.Node connectedTo;
  private long seq;

  DurableWriter(Supplier<MonitorRun.Node> primary, long paceMicros, long firstSeq) {
    this.primary = primary;
    this.paceMicros = paceMicros;
    this.seq = firstSeq;
    this.thread = new Thread(this, "e3-writer");
  }

  void start() {
    thread.start();
  }

  /** Marks an event: the next write invoked after now measures the outage. */
  void eventAt(long nanos) {
    recoveredAfterNanos = -1;
    eventAtNanos = nanos;
  }

  /** Nanos from the last event to the first write invoked after it acknowledged, or -1. */
  long recoveredAfterNanos() {
    return recoveredAfterNanos;
  }

  long clientErrors() {
    return clientErrors.get();
  }

  ConcurrentHashMap<Long, Boolean> acknowledged() {
    return acknowledged;
  }

  long lastSeq() {
    return seq;
  }

  @Override
  public void run() {
    while (running) {
      long key = ++seq;
      long invokedAt = System.nanoTime();
      boolean failed = false;
      while (true) {
        try {
          connection().set("e3:" + key, Long.toString(key));
          break;
        } catch (JedisException e) {
          failed = true;
          closeConnection();
          if (!running) {
            return; // outcome unknown; not counted as acknowledged
          }
          sleepMicros(5_000);
        }
      }
      long doneAt = System.nanoTime();
      acknowledged.put(key, Boolean.TRUE);
      if (failed) {
        clientErrors.incrementAndGet();
      }
      long event = eventAtNanos;
      if (event >= 0 && invokedAt > event && recoveredAfterNanos < 0) {
        recoveredAfterNanos = doneAt - event;
        eventAtNanos = -1;
      }
      sleepMicros(paceMicros);
    }
    closeConnection();
  }

  private static final JedisClientConfig CONFIG = DefaultJedisClientConfig.builder()
      .timeoutMillis(TIMEOUT_MILLIS).connectionTimeoutMillis(1_000)
      .protocol(RedisProtocol.RESP2).build();

  private Jedis connection() {
    MonitorRun.Node now = primary.get();
    if (jedis != null && !now.equals(connectedTo)) {
      closeConnection(); // the monitor switched: follow it
    }
    if (jedis == null) {
      Jedis j = new Jedis(new HostAndPort(now.address().getHostString(), now.address().getPort()),
          CONFIG);
      try {
        j.sendCommand(() -> "RESPAWN".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
            "DURABILITY", "DURABLE");
      } catch (JedisException e) {
        j.close();
        throw e;
      }
      jedis = j;
      connectedTo = now;
    }
    return jedis;
  }

  private void closeConnection() {
    if (jedis != null) {
      try {
        jedis.close();
      } catch (RuntimeException ignored) {
        // gone
      }
      jedis = null;
    }
  }

  private static void sleepMicros(long micros) {
    try {
      Thread.sleep(micros / 1000, (int) (micros % 1000) * 1000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  void stop() throws InterruptedException {
    running = false;
    thread.join(TIMEOUT_MILLIS + 10_000);
  }
}
