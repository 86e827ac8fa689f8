package io.respawn.server.solo.monitor;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code size} warm standbys ready: starts them at once, hands one out per {@link #take},
 * and starts a replacement for every one taken or found dead. A standby that fails to start is
 * retried after a pause that doubles up to {@link #RETRY_MILLIS_MAX}.
 *
 * <p>Owns one thread ({@code respawn-standby-pool}) that starts processes one at a time (two
 * JVMs warming up at once on a small machine would only slow the serving node down), and not
 * while the monitor holds refilling back during a takeover. {@link #take} may be called from any
 * thread.
 */
public final class StandbyPool implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(StandbyPool.class);
  static final long RETRY_MILLIS_MAX = 30_000;
  /** Largest pool: each standby is a JVM. */
  public static final int SIZE_MAX = 16;

  private final int size;
  private final StandbyProcess.Launch launch;
  private final ArrayDeque<StandbyProcess> ready = new ArrayDeque<>();
  private final AtomicInteger nextId = new AtomicInteger(1);
  private final Thread filler;
  private volatile boolean closed;
  private int starting;
  /** Standbys given back after an abort that have not said {@code +IDLE} yet. */
  private int returning;
  private boolean held;
  private volatile java.util.function.IntConsumer onReady = n -> { };

  public StandbyPool(int size, StandbyProcess.Launch launch) {
    if (size < 1 || size > SIZE_MAX) {
      throw new IllegalArgumentException("standby pool size must be 1.." + SIZE_MAX + ", got "
          + size);
    }
    this.size = size;
    this.launch = launch;
    this.filler = new Thread(this::fill, "respawn-standby-pool");
    filler.setDaemon(true);
    filler.start();
  }

  /**
   * Called with the number of standbys ready each time one is ready or taken (on the pool's
   * thread, or the taker's, under the pool's lock: in the order the count changed). Must not
   * block.
   */
  public void onReady(java.util.function.IntConsumer listener) {
    onReady = listener;
  }

  /**
   * Holds refilling back (while a takeover recovers: a standby's JVM warming up would take CPU
   * from the recovery on a small machine) until {@link #resumeRefill}. A standby already
   * starting finishes.
   */
  public synchronized void holdRefill() {
    held = true;
  }

  /** Lets the pool start replacements again. */
  public synchronized void resumeRefill() {
    held = false;
    notifyAll();
  }

  /** Standbys ready now. */
  public synchronized int readyCount() {
    prune();
    return ready.size();
  }

  /**
   * A warm standby, waiting at most {@code timeoutMillis} for one; the pool starts a replacement.
   */
  public synchronized StandbyProcess take(long timeoutMillis)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (true) {
      prune();
      StandbyProcess s = ready.poll();
      if (s != null) {
        notifyAll(); // the filler starts a replacement
        onReady.accept(ready.size());
        return s;
      }
      long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
      if (closed || leftMillis <= 0) {
        throw new TimeoutException("no warm standby within " + timeoutMillis + " ms");
      }
      wait(Math.min(leftMillis, 100));
    }
  }

  /** Returns a standby that was taken but given no order (it is still warm and idle). */
  public synchronized void giveBack(StandbyProcess s) {
    if (closed || !s.usable() || ready.size() >= size) {
      s.kill();
    } else {
      ready.addFirst(s);
      onReady.accept(ready.size());
    }
    notifyAll();
  }

  /**
   * Takes back a standby whose speculation was aborted once {@code idle} completes with {@code
   * +IDLE} (it finished or dropped its recovery and holds no store): it joins the front of the
   * pool, warm, instead of being killed and replaced by a cold start. Until then it counts
   * towards the pool's size, so no replacement starts meanwhile. Any other outcome (an error,
   * the process or its link gone, a timeout) kills it, and the pool starts a replacement.
   */
  public synchronized void giveBackWhenIdle(StandbyProcess s,
      java.util.concurrent.CompletableFuture<String> idle) {
    returning++;
    idle.whenComplete((reply, failure) -> {
      synchronized (this) {
        returning--;
        if (failure == null && "+IDLE".equals(reply) && !closed && s.usable()
            && ready.size() < size) {
          ready.addFirst(s);
          log.info("{} is idle again after an aborted speculation: back in the pool", s);
          onReady.accept(ready.size());
        } else {
          log.info("{} not reused after an aborted speculation ({}): killed", s,
              failure != null ? failure.toString() : reply);
          s.kill();
        }
        notifyAll();
      }
    });
  }

  /** Waits until the pool is full (for start-up and tests). */
  public synchronized void awaitFull(long timeoutMillis)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000;
    while (readyCount() < size) {
      long leftMillis = (deadline - System.nanoTime()) / 1_000_000;
      if (leftMillis <= 0) {
        throw new TimeoutException("standby pool not full within " + timeoutMillis + " ms ("
            + ready.size() + " of " + size + ")");
      }
      wait(Math.min(leftMillis, 100));
    }
  }

  private void prune() {
    ready.removeIf(s -> {
      if (!s.usable()) {
        log.warn("{} died while waiting; replacing it", s);
        s.kill();
        notifyAll();
        return true;
      }
      return false;
    });
  }

  private void fill() {
    long backoffMillis = 500;
    while (!closed) {
      synchronized (this) {
        prune();
        while (!closed && (held || ready.size() + starting + returning >= size)) {
          try {
            wait(200);
          } catch (InterruptedException e) {
            return;
          }
          prune();
        }
        if (closed) {
          return;
        }
        starting++;
      }
      int id = nextId.getAndIncrement();
      StandbyProcess s = null;
      try {
        long t0 = System.nanoTime();
        s = StandbyProcess.start(id, launch);
        log.info("{} is warm after {} ms", s, (System.nanoTime() - t0) / 1_000_000);
        backoffMillis = 500;
      } catch (IOException | TimeoutException | RuntimeException e) {
        log.error("standby {} failed to start: {}; retrying in {} ms", id, e.toString(),
            backoffMillis);
      } catch (InterruptedException e) {
        return;
      }
      synchronized (this) {
        starting--;
        if (s != null) {
          if (closed) {
            s.kill();
          } else {
            ready.add(s);
            // under the lock, so reports reach the listener in the order the count changed
            onReady.accept(ready.size());
          }
        }
        notifyAll();
      }
      if (s == null) {
        try {
          Thread.sleep(backoffMillis);
        } catch (InterruptedException e) {
          return;
        }
        backoffMillis = Math.min(RETRY_MILLIS_MAX, backoffMillis * 2);
      }
    }
  }

  /** Stops refilling and kills the standbys still waiting (not the ones that serve). */
  @Override
  public void close() {
    closed = true;
    filler.interrupt();
    synchronized (this) {
      for (StandbyProcess s : ready) {
        s.kill();
      }
      ready.clear();
      notifyAll();
    }
  }
}
