package io.respawn.server.solo.monitor;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The failure monitor of a solo deployment (DESIGN.md §7): one serving node on a durable volume,
 * a pool of warm standbys, and the decision when and how one of them takes over.
 *
 * <pre>
 *             REDS: DOWN            ORACLE: process exited
 *   SERVING ─────────────────────▶ fence ─▶ standby recovers the store ─▶ serve ─▶ SERVING'
 *      │
 *      │ SPECREDS: SUSPECT
 *      ▼
 *   SPECULATING: super; standby recovers the child ──┬─ node answers or parent dirty ─▶ abort ─▶ SERVING
 *                                                    └─ recovery done, parent clean ─▶ promote (fences
 *                                                       the parent) ─▶ serve ─▶ SERVING'
 * </pre>
 *
 * After every takeover (not during it: a JVM warming up would slow the recovery down) the pool
 * starts a replacement standby, and listeners hear of the switch (the Sentinel face publishes
 * {@code +switch-master}).
 *
 * <p>Owns one thread ({@code respawn-monitor}) that makes every decision, polling the heartbeat
 * probe every {@link #TICK_MILLIS}; the state it publishes ({@link #primary()}, counters) is read
 * by any thread.
 */
public final class SoloMonitor implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SoloMonitor.class);
  static final long TICK_MILLIS = 2;
  /** Longest wait for a standby from the pool, or for one to answer an order. */
  static final long STANDBY_WAIT_MILLIS = 120_000;
  /** Longest recovery the monitor waits for before it gives the standby up. */
  static final long RECOVERY_MILLIS_MAX = 3_600_000;

  /** The monitor's settings. {@code servePort}: the port a new serving node takes when free. */
  public record Config(FailoverMode mode, FailureDetector detector, long heartbeatMillis,
      String bindHost, int servePort) {
    public Config {
      if (servePort < 0 || servePort > 65535) {
        throw new IllegalArgumentException("servePort must be 0..65535, got " + servePort);
      }
    }
  }

  /** The node serving now. {@code process} is null for a node the monitor did not start. */
  public record Primary(InetSocketAddress address, long pid, int generation) {}

  /** Hears of takeovers. Called on the monitor thread: must not block. */
  public interface Listener {
    /**
     * {@code tookMillis}: from detection (or suspicion) to serving; {@code recoveryMillis}: the
     * standby's recovery alone.
     */
    void switched(Primary from, Primary to, FailoverMode how, long tookMillis,
        long recoveryMillis);

    default void speculationAborted(String why) {}
  }

  private final Config config;
  private final TakeoverVolume volume;
  private final StandbyPool pool;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private volatile Primary primary;
  private StandbyProcess primaryProcess;
  private HeartbeatProbe probe;
  private Thread thread;
  private volatile boolean stopped;
  private volatile long failovers;
  private volatile long speculationsAborted;
  private volatile String state = "starting";

  public SoloMonitor(Config config, TakeoverVolume volume, StandbyPool pool) {
    this.config = config;
    this.volume = volume;
    this.pool = pool;
  }

  public void addListener(Listener l) {
    listeners.add(l);
  }

  /** Starts the first serving node from a standby on the volume's store, then watches it. */
  public synchronized void start() throws IOException, InterruptedException, TimeoutException {
    StandbyProcess s = pool.take(STANDBY_WAIT_MILLIS);
    Path store = volume.currentStore();
    String recovered = await(s.recover(store), RECOVERY_MILLIS_MAX);
    if (!recovered.startsWith("+RECOVERED")) {
      s.kill();
      throw new IOException("the first serving node could not recover " + store + ": "
          + recovered);
    }
    primary = serve(s, 1);
    primaryProcess = s;
    log.info("serving node {} (pid {}) serves {}", primary.address(), primary.pid(), store);
    probe = new HeartbeatProbe(primary.address(), config.heartbeatMillis());
    state = "watching";
    thread = new Thread(this::loop, "respawn-monitor");
    thread.start();
  }

  public Primary primary() {
    return primary;
  }

  public long failovers() {
    return failovers;
  }

  public long speculationsAborted() {
    return speculationsAborted;
  }

  /** watching, speculating or taking over. */
  public String state() {
    return state;
  }

  public Config config() {
    return config;
  }

  private void loop() {
    try {
      while (!stopped) {
        long now = System.nanoTime();
        FailureDetector.Verdict v = config.detector().assess(now, probe.lastReplyNanos(),
            probe.connectionLostAtNanos());
        switch (config.mode()) {
          case REDS -> {
            if (v == FailureDetector.Verdict.DOWN) {
              takeOver(FailoverMode.REDS, now);
            }
          }
          case ORACLE -> {
            if (primaryProcess != null && !primaryProcess.process().isAlive()) {
              takeOver(FailoverMode.ORACLE, now);
            }
          }
          case SPECREDS -> {
            if (v != FailureDetector.Verdict.UP) {
              speculate(now);
            }
          }
        }
        Thread.sleep(TICK_MILLIS);
      }
    } catch (InterruptedException e) {
      // closing
    } catch (RuntimeException e) {
      log.error("monitor failed: {}", e.toString(), e);
    }
  }

  /** REDS and the oracle: fence the node, recover its store on a standby, serve. */
  private void takeOver(FailoverMode how, long detectedNanos) throws InterruptedException {
    state = "taking over";
    pool.holdRefill();
    Primary old = primary;
    log.info("{}: serving node {} is down; fencing it and recovering on a standby", how,
        old.address());
    try {
      StandbyProcess s = pool.take(STANDBY_WAIT_MILLIS);
      long tookNanos = System.nanoTime();
      Path store = volume.fenceForTakeover(writer());
      long fencedNanos = System.nanoTime();
      String recovered = await(s.recover(store), RECOVERY_MILLIS_MAX);
      log.info("{}: standby after {} ms, fenced (super + promote) in {} ms, recovered in {} ms",
          how, (tookNanos - detectedNanos) / 1_000_000, (fencedNanos - tookNanos) / 1_000_000,
          (System.nanoTime() - fencedNanos) / 1_000_000);
      if (!recovered.startsWith("+RECOVERED")) {
        s.kill();
        throw new IOException("standby could not recover " + store + ": " + recovered);
      }
      switchTo(s, old, how, detectedNanos, recoveryMillis(recovered));
    } catch (IOException | TimeoutException e) {
      log.error("{} takeover failed: {}; trying again", how, e.toString());
      Thread.sleep(200);
    } finally {
      pool.resumeRefill();
      state = "watching";
    }
  }

  /**
   * SpecREDS: super, recover the child at once, and let collapse decide. Returns when the
   * superposition collapsed one way or the other.
   */
  private void speculate(long suspectedNanos) throws InterruptedException {
    state = "speculating";
    pool.holdRefill();
    long since = probe.lastReplyNanos();
    StandbyProcess s = null;
    TakeoverVolume.Speculation spec = null;
    try {
      s = pool.take(STANDBY_WAIT_MILLIS);
      long tookNanos = System.nanoTime();
      if (probe.lastReplyNanos() != since) {
        // The node answered while this waited for a standby: no superposition to make.
        log.info("SPECREDS: the node answered before the speculation started; nothing to do");
        pool.giveBack(s);
        return;
      }
      spec = volume.superView();
      log.info("SPECREDS: standby after {} ms, super in {} ms",
          (tookNanos - suspectedNanos) / 1_000_000, (System.nanoTime() - tookNanos) / 1_000_000);
      log.info("SPECREDS: serving node {} suspected; child view {} recovering on {}",
          primary.address(), spec.dir(), s);
      CompletableFuture<String> recovery = s.recover(spec.dir());
      String why = null;
      long deadline = System.nanoTime() + RECOVERY_MILLIS_MAX * 1_000_000;
      while (!stopped) {
        if (probe.lastReplyNanos() != since) {
          why = "the serving node answered again";
        } else if (spec.parentDirty()) {
          why = "the parent wrote again (dirty)";
        } else if (recovery.isDone()) {
          break;
        } else if (System.nanoTime() > deadline) {
          why = "recovery took longer than " + RECOVERY_MILLIS_MAX + " ms";
        }
        if (why != null) {
          break;
        }
        Thread.sleep(TICK_MILLIS);
      }
      if (why == null) {
        String recovered = recovery.getNow("-ERR not done");
        if (!recovered.startsWith("+RECOVERED")) {
          why = "the standby's recovery failed: " + recovered;
        } else if (!spec.promote()) {
          why = "the parent wrote again (dirty at promote)";
        }
      }
      if (why != null) {
        abortSpeculation(s, spec, why);
        return;
      }
      Primary old = primary;
      switchTo(s, old, FailoverMode.SPECREDS, suspectedNanos,
          recoveryMillis(recovery.getNow("")));
    } catch (IOException | TimeoutException e) {
      log.error("SPECREDS speculation failed: {}", e.toString());
      if (s != null && spec != null) {
        abortSpeculation(s, spec, "error: " + e.getMessage());
      } else if (s != null) {
        s.kill();
      }
      Thread.sleep(200);
    } finally {
      pool.resumeRefill();
      state = "watching";
    }
  }

  private void abortSpeculation(StandbyProcess s, TakeoverVolume.Speculation spec, String why)
      throws InterruptedException {
    speculationsAborted++;
    log.info("SPECREDS: speculation aborted: {}", why);
    // The standby's files live in the child: it closes them before the child is dropped. It
    // cannot be reused while its recovery still runs, so it is killed; the pool replaces it.
    s.kill();
    try {
      s.process().waitFor(10, TimeUnit.SECONDS);
      spec.abort();
    } catch (IOException e) {
      log.error("dropping the child view failed: {}", e.toString());
    }
    for (Listener l : listeners) {
      l.speculationAborted(why);
    }
  }

  /** The millis of a {@code +RECOVERED keys millis} reply, or -1. */
  static long recoveryMillis(String reply) {
    String[] words = reply.split(" ");
    try {
      return words.length == 3 ? Long.parseLong(words[2]) : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private void switchTo(StandbyProcess s, Primary old, FailoverMode how, long detectedNanos,
      long recoveryMillis) throws IOException, InterruptedException, TimeoutException {
    Primary next = serve(s, old.generation() + 1);
    StandbyProcess oldProcess = primaryProcess;
    primaryProcess = s;
    primary = next;
    probe.retarget(next.address());
    failovers++;
    long tookMillis = (System.nanoTime() - detectedNanos) / 1_000_000;
    log.info("{}: {} (pid {}) serves now, {} ms after detection (recovery {} ms); was {}", how,
        next.address(), next.pid(), tookMillis, recoveryMillis, old.address());
    if (oldProcess != null) {
      oldProcess.close(); // a node that wakes finds itself fenced and stops by itself
    }
    for (Listener l : listeners) {
      l.switched(old, next, how, tookMillis, recoveryMillis);
    }
  }

  /** Tells a recovered standby to serve, on the configured port when it is free. */
  private Primary serve(StandbyProcess s, int generation)
      throws IOException, InterruptedException, TimeoutException {
    int port = config.servePort() != 0 && portFree(config.servePort()) ? config.servePort() : 0;
    String reply = await(s.serve(port), STANDBY_WAIT_MILLIS);
    if (!reply.startsWith("+SERVING ")) {
      s.kill();
      throw new IOException("standby would not serve: " + reply);
    }
    int bound = Integer.parseInt(reply.substring("+SERVING ".length()).trim());
    return new Primary(new InetSocketAddress(config.bindHost(), bound), s.pid(), generation);
  }

  private boolean portFree(int port) {
    try (ServerSocket ss = new ServerSocket()) {
      ss.setReuseAddress(true);
      ss.bind(new InetSocketAddress(InetAddress.getByName(config.bindHost()), port));
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private ProcessHandle writer() {
    return primaryProcess == null ? null : primaryProcess.process().toHandle();
  }

  private static String await(CompletableFuture<String> f, long timeoutMillis)
      throws IOException, InterruptedException, TimeoutException {
    try {
      return f.get(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    }
  }

  /**
   * Stops watching. The serving node keeps serving (it does not depend on the monitor); waiting
   * standbys are the pool's to stop.
   */
  @Override
  public void close() {
    stopped = true;
    if (thread != null) {
      thread.interrupt();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (probe != null) {
      probe.close();
    }
    if (primaryProcess != null) {
      primaryProcess.close();
    }
  }
}
