package io.respawn.bench.e2;

import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import redis.clients.jedis.DefaultJedisClientConfig;
import redis.clients.jedis.HostAndPort;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.RedisProtocol;
import redis.clients.jedis.exceptions.JedisConnectionException;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.exceptions.JedisMovedDataException;

/**
 * One E2 client thread: YCSB workload B (95 % GET, 5 % SET of whole values) over zipfian keys,
 * paced to a fixed rate (one operation every {@code intervalNanos}, no catching up after a stall:
 * a closed-loop client with think time, as the seed's clients), over one Jedis connection that
 * does what a cluster-aware client does through a failover: it follows {@code MOVED}, moves to
 * another member when its member is gone (connection refused or reset), and retries {@code
 * TRYAGAIN}, {@code LOADING} and {@code CLUSTERDOWN} after {@link #RETRY_PAUSE_NANOS}. An
 * operation's latency runs from its first send to its answer, across every retry; one that gets
 * no answer within {@link #OPERATION_TIMEOUT_NANOS} counts as failed.
 */
final class ShardClient {
  static final long RETRY_PAUSE_NANOS = 5_000_000L;
  static final long OPERATION_TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);
  static final int SOCKET_TIMEOUT_MILLIS = 10_000;
  static final double READ_PROPORTION = 0.95;

  private final List<Integer> memberPorts;
  private final KeyChooser keys;
  private final byte[] value;
  private final long intervalNanos;
  private final long originNanos;
  private final java.util.SplittableRandom random;
  final Windows samples = new Windows();
  /** Operations slower than {@link #SLOW_OP_NANOS}, at most {@link #SLOW_OPS_MAX} of them. */
  final List<SlowOp> slow = new java.util.ArrayList<>();
  static final long SLOW_OP_NANOS = 2_000_000L;
  static final int SLOW_OPS_MAX = 100_000;

  /** One slow operation: when it completed (on the samples' clock), how long it took, its kind. */
  record SlowOp(long completedNanos, long latencyNanos, boolean read) {}
  long failed;
  long retries;
  long redirects;
  String firstError;
  private Jedis jedis;
  private int member;

  /**
   * @param keys this thread's own key chooser
   * @param originNanos time 0 of the samples' completion times ({@code System.nanoTime()})
   */
  ShardClient(List<Integer> memberPorts, int firstMember, KeyChooser keys, byte[] value,
      long intervalNanos, long originNanos, long seed) {
    this.memberPorts = memberPorts;
    this.member = firstMember;
    this.keys = keys;
    this.value = value;
    this.intervalNanos = intervalNanos;
    this.originNanos = originNanos;
    this.random = new java.util.SplittableRandom(seed);
  }

  /** Runs operations until {@code stopAtNanos} (read before each) has passed. */
  void runUntil(java.util.function.LongSupplier stopAtNanos) {
    long next = System.nanoTime() + random.nextLong(intervalNanos);
    try {
      while (true) {
        long now = System.nanoTime();
        if (now >= stopAtNanos.getAsLong()) {
          return;
        }
        if (now < next) {
          LockSupport.parkNanos(next - now);
          continue;
        }
        next = Math.max(next + intervalNanos, now); // no burst after a stall
        byte[] key = keys.next();
        boolean read = random.nextDouble() < READ_PROPORTION;
        long start = System.nanoTime();
        if (operate(key, read, start)) {
          long end = System.nanoTime();
          samples.add(end - originNanos, end - start);
          if (end - start > SLOW_OP_NANOS && slow.size() < SLOW_OPS_MAX) {
            slow.add(new SlowOp(end - originNanos, end - start, read));
          }
        } else {
          failed++;
        }
      }
    } finally {
      if (jedis != null) {
        jedis.close();
      }
    }
  }

  /** One operation through every redirect and retry; false if it got no answer in time. */
  private boolean operate(byte[] key, boolean read, long start) {
    while (System.nanoTime() - start < OPERATION_TIMEOUT_NANOS) {
      try {
        if (jedis == null) {
          jedis = new Jedis(new HostAndPort("127.0.0.1", memberPorts.get(member)),
              DefaultJedisClientConfig.builder().timeoutMillis(SOCKET_TIMEOUT_MILLIS)
                  .protocol(RedisProtocol.RESP2).build());
        }
        if (read) {
          jedis.get(key);
        } else {
          jedis.set(key, value);
        }
        return true;
      } catch (JedisMovedDataException moved) {
        redirects++;
        int port = moved.getTargetNode().getPort();
        int target = memberPorts.indexOf(port);
        if (target < 0) {
          throw new IllegalStateException("MOVED to " + moved.getTargetNode()
              + ", not a member of " + memberPorts);
        }
        if (target != member) {
          member = target;
          reset();
        }
      } catch (JedisConnectionException gone) {
        // The member is gone (killed) or the connection broke: try the next member, which
        // redirects to the primary once one serves.
        note(gone);
        member = (member + 1) % memberPorts.size();
        reset();
        pause();
      } catch (JedisDataException busy) {
        // TRYAGAIN (not ready yet), LOADING (offline recovery), CLUSTERDOWN (election).
        note(busy);
        pause();
      }
    }
    return false;
  }

  private void note(RuntimeException e) {
    retries++;
    if (firstError == null) {
      firstError = e.getMessage();
    }
  }

  private void reset() {
    if (jedis != null) {
      try {
        jedis.close();
      } catch (RuntimeException ignored) {
        // the connection is broken anyway
      }
      jedis = null;
    }
  }

  private static void pause() {
    LockSupport.parkNanos(RETRY_PAUSE_NANOS);
  }

  /** YCSB's scrambled zipfian over the records, named as E1 names them (16-byte keys). */
  static final class KeyChooser {
    private final site.ycsb.generator.NumberGenerator generator;

    KeyChooser(long records, double zipfianConstant) {
      this.generator = new site.ycsb.generator.ScrambledZipfianGenerator(0, records - 1,
          zipfianConstant);
    }

    byte[] next() {
      return keyName(generator.nextValue().longValue());
    }

    /** Record {@code n}'s key: "user" and 12 digits of its FNV hash (E1Workload's keys). */
    static byte[] keyName(long n) {
      long h = Math.floorMod(site.ycsb.Utils.hash(n), 1_000_000_000_000L);
      return String.format("user%012d", h).getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }
  }
}
