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
  /**
   * How often a speculation reads the parent's dirty bit while the standby recovers. Collapse
   * reads and checksums the parent's whole active segment (up to segmentBytesMax, 128 MiB by
   * default), so reading it every tick took a core from the recovery it races (E3 measured
   * SpecREDS's recoveries 3x slower than the oracle's that way). Promote reads it again, before
   * and after the fence, so the rate only bounds how soon a parent that writes without
   * answering heartbeats is noticed; a live node answers its heartbeat first.
   */
  static final long DIRTY_CHECK_MILLIS = 500;
  /**
   * Longest wait for an aborted standby's {@code +IDLE} (it first finishes the recovery under
   * way); past it the standby is killed and replaced.
   */
  static final long ABORT_WAIT_MILLIS = 600_000;
  /** How long {@code --primary}'s node may take to answer before the monitor gives up. */
  static final long WATCH_WAIT_MILLIS = 60_000;

  /**
   * The monitor's settings. {@code servePort}: the port a new serving node takes when free.
   * {@code watch}: the address of a serving node the monitor did not start ({@code --primary}),
   * or null to start the first node from a standby.
   */
  public record Config(FailoverMode mode, FailureDetector detector, long heartbeatMillis,
      String bindHost, int servePort, InetSocketAddress watch) {
    public Config {
      if (servePort < 0 || servePort > 65535) {
        throw new IllegalArgumentException("servePort must be 0..65535, got " + servePort);
      }
    }

    public Config(FailoverMode mode, FailureDetector detector, long heartbeatMillis,
        String bindHost, int servePort) {
      this(mode, detector, heartbeatMillis, bindHost, servePort, null);
    }
  }

  /**
   * The node serving now. {@code pid} is -1 when unknown (a node the monitor did not start that
   * does not say); {@code started}: the monitor started it (a standby it promoted), so it stops
   * it when it stops.
   */
  public record Primary(InetSocketAddress address, long pid, int generation, boolean started) {}

  /** Hears of takeovers. Called on the monitor thread: must not block. */
  public interface Listener {
    /**
     * {@code tookMillis}: from detection (or suspicion) to serving; {@code recoveryMillis}: the
     * standby's recovery alone.
     */
    void switched(Primary from, Primary to, FailoverMode how, long tookMillis,
        long recoveryMillis);

    default void speculationAborted(String why) {}

    /** After {@link #switched}: where that takeover spent its time. */
    default void phases(TakeoverPhases phases) {}
  }

  private final Config config;
  private final TakeoverVolume volume;
  private final StandbyPool pool;
  private final List<Listener> listeners = new CopyOnWriteArrayList<>();
  private volatile Primary primary;
  private StandbyProcess primaryProcess;
  private volatile HeartbeatProbe probe;
  /** The serving node's process when the monitor knows it (for the oracle), else null. */
  private ProcessHandle primaryHandle;
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

  /**
   * Starts the first serving node from a standby on the volume's store (or, with {@link
   * Config#watch}, waits until the node there answers), then watches it.
   */
  public synchronized void start() throws IOException, InterruptedException, TimeoutException {
    Path store = volume.currentStore();
    if (config.watch() != null) {
      long pid = ServingNodeInfo.awaitPid(config.watch(), WATCH_WAIT_MILLIS);
      primary = new Primary(config.watch(), pid, 1, false);
      primaryHandle = pid < 0 ? null : ProcessHandle.of(pid).orElse(null);
      if (config.mode() == FailoverMode.ORACLE && primaryHandle == null) {
        throw new IOException("oracle mode needs the serving node's process on this machine;"
            + " the node at " + config.watch() + " reported pid " + pid);
      }
      log.info("watching serving node {} (pid {}), which this monitor did not start; volume"
          + " store {}", primary.address(), pid, store);
    } else {
      StandbyProcess s = pool.take(STANDBY_WAIT_MILLIS);
      String recovered = await(s.recover(store), RECOVERY_MILLIS_MAX);
      if (!recovered.startsWith("+RECOVERED")) {
        s.kill();
        throw new IOException("the first serving node could not recover " + store + ": "
            + recovered);
      }
      primary = serve(s, 1);
      primaryProcess = s;
      primaryHandle = s.process().toHandle();
      log.info("serving node {} (pid {}) serves {}", primary.address(), primary.pid(), store);
    }
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

  /**
   * Whether the serving node is down as Redis Sentinel means it (subjectively, and with one
   * monitor objectively too): silent for the detector's timeout ({@code
   * down-after-milliseconds}). A suspicion short of that is not "down": it may be a stall that
   * heals. Cleared when the node answers, or when a takeover replaced it.
   */
  public boolean primaryDown() {
    HeartbeatProbe p = probe;
    return p != null && config.detector().assess(System.nanoTime(), p.lastReplyNanos(),
        p.connectionLostAtNanos()) == FailureDetector.Verdict.DOWN;
  }

  /** Milliseconds since the serving node last answered a heartbeat (0 before watching). */
  public long lastReplyAgoMillis() {
    HeartbeatProbe p = probe;
    return p == null ? 0 : Math.max(0, (System.nanoTime() - p.lastReplyNanos()) / 1_000_000);
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
              takeOver(FailoverMode.REDS, now, "timeout");
            }
          }
          case ORACLE -> {
            if (primaryExited()) {
              takeOver(FailoverMode.ORACLE, now, "exited");
            }
          }
          case SPECREDS -> {
            if (v != FailureDetector.Verdict.UP) {
              speculate(now, probe.connectionLostAtNanos() >= 0 ? "connection-lost" : "silent");
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

  private boolean primaryExited() {
    if (primaryProcess != null) {
      return !primaryProcess.process().isAlive(); // reaped by this JVM: exact
    }
    return primaryHandle != null && !primaryHandle.isAlive();
  }

  /** REDS and the oracle: fence the node, recover its store on a standby, serve. */
  private void takeOver(FailoverMode how, long detectedNanos, String cause)
      throws InterruptedException {
    state = "taking over";
    pool.holdRefill();
    Primary old = primary;
    log.info("{}: serving node {} is down; fencing it and recovering on a standby", how,
        old.address());
    try {
      StandbyProcess s = pool.take(STANDBY_WAIT_MILLIS);
      long tookNanos = System.nanoTime();
      Path store;
      try {
        store = volume.fenceForTakeover(writer());
      } catch (IOException | RuntimeException e) {
        pool.giveBack(s); // it was given no order: still warm and idle
        throw e;
      }
      long fencedNanos = System.nanoTime();
      String recovered = await(s.recover(store), RECOVERY_MILLIS_MAX);
      long recoveredNanos = System.nanoTime();
      log.info("{}: standby after {} ms, fenced (super + promote) in {} ms, recovered in {} ms",
          how, (tookNanos - detectedNanos) / 1_000_000, (fencedNanos - tookNanos) / 1_000_000,
          (recoveredNanos - fencedNanos) / 1_000_000);
      if (!recovered.startsWith("+RECOVERED")) {
        s.kill();
        throw new IOException("standby could not recover " + store + ": " + recovered);
      }
      switchTo(s, old, new Timeline(how, cause, detectedNanos, tookNanos, fencedNanos,
          recoveredNanos, recoveredNanos, recoveryMillis(recovered)));
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
  private void speculate(long suspectedNanos, String cause) throws InterruptedException {
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
      long superNanos = System.nanoTime();
      log.info("SPECREDS: standby after {} ms, super in {} ms",
          (tookNanos - suspectedNanos) / 1_000_000, (superNanos - tookNanos) / 1_000_000);
      log.info("SPECREDS: serving node {} suspected; child view {} recovering on {}",
          primary.address(), spec.dir(), s);
      CompletableFuture<String> recovery = s.recover(spec.dir());
      String why = null;
      long deadline = System.nanoTime() + RECOVERY_MILLIS_MAX * 1_000_000;
      long nextDirtyCheckNanos = System.nanoTime() + DIRTY_CHECK_MILLIS * 1_000_000;
      while (!stopped) {
        boolean checkDirty = System.nanoTime() >= nextDirtyCheckNanos;
        if (checkDirty) {
          nextDirtyCheckNanos = System.nanoTime() + DIRTY_CHECK_MILLIS * 1_000_000;
        }
        if (probe.lastReplyNanos() != since) {
          why = "the serving node answered again";
        } else if (checkDirty && spec.parentDirty()) {
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
      long recoveredNanos = System.nanoTime();
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
      switchTo(s, old, new Timeline(FailoverMode.SPECREDS, cause, suspectedNanos, tookNanos,
          superNanos, recoveredNanos, System.nanoTime(), recoveryMillis(recovery.getNow(""))));
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

  /**
   * Drops a speculation. The standby is told to ABORT: it finishes a recovery under way (a
   * recovery cannot be interrupted half-way), closes the child's files and answers {@code +IDLE};
   * only then is the child dropped and the standby, still warm, given back to the pool (which
   * counts it as returning, so it does not start a replacement meanwhile). The monitor does not
   * wait for that: a new suspicion meanwhile takes another standby, or waits for this one. A
   * standby that cannot take the order (its link or process is gone) is killed and replaced.
   */
  private void abortSpeculation(StandbyProcess s, TakeoverVolume.Speculation spec, String why)
      throws InterruptedException {
    speculationsAborted++;
    log.info("SPECREDS: speculation aborted: {}", why);
    for (Listener l : listeners) { // before the standby can be back in the pool
      l.speculationAborted(why);
    }
    if (s.usable()) {
      long abortedNanos = System.nanoTime();
      CompletableFuture<String> idle = s.abort()
          .orTimeout(ABORT_WAIT_MILLIS, TimeUnit.MILLISECONDS)
          .whenComplete((reply, failure) -> {
            dropChild(spec);
            log.info("SPECREDS: {} answered the abort with {} after {} ms", s,
                failure == null ? reply : failure.toString(),
                (System.nanoTime() - abortedNanos) / 1_000_000);
          });
      pool.giveBackWhenIdle(s, idle);
    } else {
      s.kill();
      s.process().waitFor(10, TimeUnit.SECONDS); // its files live in the child
      dropChild(spec);
    }
  }

  private static void dropChild(TakeoverVolume.Speculation spec) {
    try {
      spec.abort();
    } catch (IOException | RuntimeException e) {
      // a later super drops what is left (dropLeftovers)
      log.warn("dropping the child view {} failed: {}", spec.dir(), e.toString());
    }
  }

  /** The instants of one takeover, in System.nanoTime. */
  private record Timeline(FailoverMode mode, String cause, long detectedNanos,
      long standbyNanos, long superNanos, long recoveredNanos, long promotedNanos,
      long standbyRecoverMillis) {}

  /** The millis of a {@code +RECOVERED keys millis} reply, or -1. */
  static long recoveryMillis(String reply) {
    String[] words = reply.split(" ");
    try {
      return words.length == 3 ? Long.parseLong(words[2]) : -1;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private void switchTo(StandbyProcess s, Primary old, Timeline t)
      throws IOException, InterruptedException, TimeoutException {
    long serveNanos = System.nanoTime();
    Primary next = serve(s, old.generation() + 1);
    long servingNanos = System.nanoTime();
    StandbyProcess oldProcess = primaryProcess;
    primaryProcess = s;
    primaryHandle = s.process().toHandle();
    // the probe first: whoever reads the new primary reads fresh heartbeats with it
    probe.retarget(next.address());
    primary = next;
    failovers++;
    FailoverMode how = t.mode();
    long tookMillis = (servingNanos - t.detectedNanos()) / 1_000_000;
    log.info("{}: {} (pid {}) serves now, {} ms after detection (recovery {} ms); was {}", how,
        next.address(), next.pid(), tookMillis, t.standbyRecoverMillis(), old.address());
    if (oldProcess != null) {
      oldProcess.close(); // a node that wakes finds itself fenced and stops by itself
    }
    for (Listener l : listeners) {
      l.switched(old, next, how, tookMillis, t.standbyRecoverMillis());
    }
    long switchedNanos = System.nanoTime();
    TakeoverPhases phases = new TakeoverPhases(how, t.cause(),
        TakeoverPhases.epochMillisOf(t.detectedNanos()),
        TakeoverPhases.millisBetween(t.detectedNanos(), t.standbyNanos()),
        TakeoverPhases.millisBetween(t.standbyNanos(), t.superNanos()),
        TakeoverPhases.millisBetween(t.superNanos(), t.recoveredNanos()),
        t.standbyRecoverMillis(),
        TakeoverPhases.millisBetween(t.recoveredNanos(), t.promotedNanos()),
        TakeoverPhases.millisBetween(serveNanos, servingNanos),
        TakeoverPhases.epochMillisOf(switchedNanos));
    log.info("{} takeover phases: {}", how, phases.line());
    for (Listener l : listeners) {
      l.phases(phases);
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
    return new Primary(new InetSocketAddress(config.bindHost(), bound), s.pid(), generation,
        true);
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
    return primaryHandle;
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
