package io.respawn.bench.faults;

import io.respawn.sim.lin.HistoryRecorder;
import io.respawn.sim.lin.Op;
import io.respawn.sim.lin.OpKind;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;

/**
 * One closed-loop client of a fault campaign: GET, SET (unique values), INCR and DEL on a small
 * key space, each operation recorded in a shared {@link HistoryRecorder} with what the client
 * really learned. It follows {@code -MOVED} to the named member and waits out {@code
 * -CLUSTERDOWN} (both mean the command did not run, so the same operation is retried); a lost
 * connection or a timeout leaves the operation's outcome unknown, as it may or may not have
 * taken effect, and the client moves on to another member.
 *
 * <p>Owns its thread ({@code run}); the recorder is shared under {@code history}'s lock.
 */
final class RecordingClient implements Runnable {
  private static final int TIMEOUT_MILLIS = 2_000;
  private static final long OP_DEADLINE_NANOS = 15_000_000_000L;
  /**
   * A reader's pause between two reads: about a thousand reads a second each, enough to catch
   * a stale read in a window of tens of ms, and not so many that a long campaign's history
   * (every operation is kept for the checker) outgrows the heap.
   */
  private static final long READER_PAUSE_MILLIS = 1;

  private final int id;
  private final HistoryRecorder history;
  private final List<Integer> ports;
  private final int keys;
  private final Random random;
  private final AtomicBoolean running;
  private final List<FailoverClock> failovers;
  private final java.util.Map<Integer, String> trace;
  private Jedis jedis;
  private int port;
  private long nextValue;
  volatile long acknowledgedWrites;
  volatile long unknownOutcomes;
  volatile long unexpectedErrors;
  /** Operations given up after only refusals until their deadline. */
  volatile long refusedOutcomes;
  /** Whether this client only reads (GET): set before its thread starts. */
  private boolean readsOnly;

  RecordingClient(int id, HistoryRecorder history, List<Integer> ports, int keys, long seed,
      AtomicBoolean running, List<FailoverClock> failovers,
      java.util.Map<Integer, String> trace) {
    this.id = id;
    this.trace = trace;
    this.history = history;
    this.ports = ports;
    this.keys = keys;
    this.random = new Random(seed);
    this.running = running;
    this.failovers = failovers;
    this.port = ports.get(id % ports.size());
    this.nextValue = (long) (id + 1) * 1_000_000_000L;
  }

  /**
   * Makes this client a reader: GETs only. A reader stays with the member that answers it (it
   * moves only when redirected, refused or timed out), so behind a partition it keeps asking a
   * primary that was cut off, where a read served after the lease ran out is a stale read.
   * Readers pause {@link #READER_PAUSE_MILLIS} between reads.
   */
  RecordingClient readsOnly() {
    readsOnly = true;
    return this;
  }

  @Override
  public void run() {
    while (running.get()) {
      int key = random.nextInt(keys);
      int dice = random.nextInt(100);
      OpKind kind = readsOnly || dice < 45 ? OpKind.GET : dice < 85 ? OpKind.SET
          : dice < 95 ? OpKind.INCR : OpKind.DEL;
      execute(kind, key);
      if (readsOnly) {
        pause(READER_PAUSE_MILLIS);
      }
    }
    close();
  }

  /** One operation, recorded; also used for the final reads. */
  void execute(OpKind kind, int key) {
    long value = kind == OpKind.SET ? (nextValue += 1_000) : 0;
    int op;
    long invokedAt = System.nanoTime();
    synchronized (history) {
      op = switch (kind) {
        case GET -> history.invokeGet(id, key);
        case SET -> history.invokeSet(id, key, value);
        case INCR -> history.invokeIncr(id, key);
        case DEL -> history.invokeDel(id, key);
        case MSET -> throw new IllegalArgumentException("MSET is not in this workload");
      };
    }
    long deadline = System.nanoTime() + OP_DEADLINE_NANOS;
    while (true) {
      try {
        Jedis j = connection();
        long result = switch (kind) {
          case GET -> {
            String v = j.get("k" + key);
            yield v == null ? Op.ABSENT : Long.parseLong(v);
          }
          case SET -> {
            j.set("k" + key, Long.toString(value));
            yield 0;
          }
          case INCR -> j.incr("k" + key);
          case DEL -> j.del("k" + key);
          case MSET -> 0;
        };
        synchronized (history) {
          history.ok(op, result);
        }
        note(op, invokedAt, "ok");
        if (kind.writes()) {
          acknowledgedWrites++;
          long completedAt = System.nanoTime();
          for (FailoverClock f : failovers) {
            f.writeSucceeded(invokedAt, completedAt);
          }
        }
        return;
      } catch (JedisDataException e) {
        String m = String.valueOf(e.getMessage());
        if (m.startsWith("MOVED ")) {
          redirect(m);
        } else if (m.startsWith("CLUSTERDOWN") || m.startsWith("TRYAGAIN")
            || m.startsWith("LOADING")) {
          pause(20);
        } else if (m.startsWith("UNCERTAIN")) {
          unknownOutcomes++; // the primary changed before the outcome was known
          synchronized (history) {
            history.timeout(op);
          }
          note(op, invokedAt, "uncertain");
          return;
        } else {
          unexpectedErrors++;
          synchronized (history) {
            history.fail(op); // an error reply: the command did not take effect
          }
          System.err.println("client " + id + ": unexpected reply '" + m + "' to " + kind);
          return;
        }
        if (System.nanoTime() > deadline) {
          refusedOutcomes++;
          synchronized (history) {
            history.fail(op); // only refusals so far: it never ran
          }
          return;
        }
      } catch (JedisConnectionException e) {
        if (jedis == null) {
          // The connection was refused before the command was sent: it never ran. Try the
          // same operation on another member.
          port = ports.get(random.nextInt(ports.size()));
          pause(10);
          if (System.nanoTime() > deadline) {
            refusedOutcomes++;
            synchronized (history) {
              history.fail(op);
            }
            return;
          }
          continue;
        }
        unknownOutcomes++;
        synchronized (history) {
          history.timeout(op);
        }
        note(op, invokedAt, "connection lost: " + e.getMessage());
        close();
        port = ports.get(random.nextInt(ports.size()));
        pause(10);
        return;
      } catch (NumberFormatException e) {
        unexpectedErrors++;
        synchronized (history) {
          history.timeout(op);
        }
        System.err.println("client " + id + ": not a number: " + e.getMessage());
        return;
      }
      if (!running.get() && kind != OpKind.GET) {
        synchronized (history) {
          history.fail(op);
        }
        return;
      }
    }
  }

  /**
   * Keeps, per operation, which member answered and when (wall clock, to match the members'
   * logs): printed for the keys of a history that is not linearizable.
   */
  /**
   * Errors this client saw, for E3: unknown outcomes, unexpected replies and operations given
   * up after refusals; not the redirects it followed nor the CLUSTERDOWN it waited out.
   * Written by this client's thread only (volatile, read by the bench between events).
   */
  long clientErrors() {
    return unknownOutcomes + unexpectedErrors + refusedOutcomes;
  }

  private void note(int op, long invokedAtNanos, String how) {
    long nowMillis = System.currentTimeMillis();
    long tookMillis = (System.nanoTime() - invokedAtNanos) / 1_000_000;
    trace.put(op, java.time.Instant.ofEpochMilli(nowMillis) + " port " + port + " after "
        + tookMillis + " ms: " + how);
  }

  private static final redis.clients.jedis.JedisClientConfig CONFIG =
      redis.clients.jedis.DefaultJedisClientConfig.builder().timeoutMillis(TIMEOUT_MILLIS)
          .connectionTimeoutMillis(TIMEOUT_MILLIS).protocol(redis.clients.jedis.RedisProtocol.RESP2)
          .build();

  /** A connected client to the current member; throws ConnectException-caused errors. */
  private Jedis connection() {
    if (jedis == null) {
      Jedis j = new Jedis(new redis.clients.jedis.HostAndPort("127.0.0.1", port), CONFIG);
      j.connect(); // connect before the command, so a refusal means "never sent"
      jedis = j;
    }
    return jedis;
  }

  private void redirect(String moved) {
    String target = moved.substring(moved.lastIndexOf(' ') + 1);
    int p = Integer.parseInt(target.substring(target.lastIndexOf(':') + 1));
    if (p != port) {
      close();
      port = p;
    } else {
      pause(20); // a member redirecting to itself is changing its mind; let it settle
    }
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  void close() {
    if (jedis != null) {
      try {
        jedis.close();
      } catch (RuntimeException ignored) {
        // the connection is gone already
      }
      jedis = null;
    }
  }
}
