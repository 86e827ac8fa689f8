package io.respawn.server.solo.sentinel;

import io.respawn.server.solo.monitor.FailoverMode;
import io.respawn.server.solo.monitor.SoloMonitor;
import java.net.InetSocketAddress;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What {@code respawn monitor} shows through its Sentinel endpoint: one master, named as the
 * command line says, at the address of the node serving now ({@link SoloMonitor#primary()}),
 * with the failover count as its config epoch; and a {@code +switch-master}, then a {@code
 * +failover-end}, after every takeover.
 *
 * <p>The view is computed from the monitor's published state at each call (volatile reads, no
 * lock, no I/O). The monitor sets its new primary before it tells its listeners, so the address
 * clients read has changed by the time the event is published. While the monitor takes over,
 * the master is flagged {@code failover_in_progress}.
 *
 * <p><b>Down, as Redis Sentinel means it.</b> The master is flagged {@code s_down} and {@code
 * o_down} (one monitor: its quorum of 1 agrees at once) once it has been silent for the
 * detector's timeout ({@code down-after-milliseconds}), and the events a Redis Sentinel publishes
 * then are published too: {@code +sdown}, then {@code +odown ... #quorum 1/1}; {@code -sdown}
 * and {@code -odown} if it answers again. A SpecREDS suspicion (silence of {@code --suspect-ms},
 * or a lost connection) is not "down": the node may only be stalled, and redis-py refuses a
 * master flagged down, so flagging it would fail writes the node can still take. A takeover
 * replaces the master: the new one starts up, and nothing is published about the old one after
 * its {@code +switch-master}. A watcher thread ({@code respawn-sentinel-down}) samples the
 * monitor every {@link #DOWN_SAMPLE_MILLIS}, so events trail the detector by at most that.
 *
 * <p>A solo deployment has no replicas (a warm standby holds no data until it takes over) and no
 * other sentinel.
 *
 * <p>Thread-safe: the endpoint reads from its event loop; the monitor calls {@link #switched}
 * from its own thread and the watcher publishes from its own: {@link #publish} serializes them.
 */
public final class SoloMonitorMasters implements MonitoredMasters, SoloMonitor.Listener,
    AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SoloMonitorMasters.class);
  /** How often the watcher samples whether the master is down. */
  static final long DOWN_SAMPLE_MILLIS = 10;
  private final String name;
  private final SoloMonitor monitor;
  private final String myId = MasterBoard.randomRunId();
  private final CopyOnWriteArrayList<Consumer<SentinelEvent>> listeners =
      new CopyOnWriteArrayList<>();
  private final Thread downWatcher;
  /** The master the watcher last saw down, or null; guarded by {@code this}. */
  private SoloMonitor.Primary downPrimary;
  /** When it was first seen down (System.nanoTime); guarded by {@code this}. */
  private long downSinceNanos;
  private volatile boolean closed;

  /**
   * Registers itself as a listener of {@code monitor} and starts watching whether its master is
   * down; {@code name} is the service name.
   */
  public SoloMonitorMasters(String name, SoloMonitor monitor) {
    SentinelEvent.requireWord("the master name", name);
    this.name = name;
    this.monitor = monitor;
    monitor.addListener(this);
    downWatcher = new Thread(this::watchDown, "respawn-sentinel-down");
    downWatcher.setDaemon(true);
    downWatcher.start();
  }

  private void watchDown() {
    while (!closed) {
      try {
        sampleDown();
      } catch (RuntimeException e) {
        log.error("sampling whether the master is down failed: {}", e.toString(), e);
      }
      try {
        Thread.sleep(DOWN_SAMPLE_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  /** Publishes a change of the master's down state since the last sample. */
  synchronized void sampleDown() {
    SoloMonitor.Primary p = monitor.primary();
    if (p == null) {
      return;
    }
    boolean down = monitor.primaryDown();
    if (downPrimary != null && !downPrimary.equals(p)) {
      downPrimary = null; // replaced by a takeover: the new master starts up
    }
    if (down && downPrimary == null) {
      downPrimary = p;
      downSinceNanos = System.nanoTime();
      HostPort at = address(p.address());
      log.info("master {} at {} is down (silent for {} ms): +sdown, +odown", name, at,
          monitor.lastReplyAgoMillis());
      publish(SentinelEvent.subjectivelyDown(name, at, true));
      publish(SentinelEvent.objectivelyDown(name, at, true, 1, 1));
    } else if (!down && downPrimary != null && monitor.state().equals("watching")) {
      // (while a takeover runs the probe may already watch the new node: wait for its end)
      HostPort at = address(downPrimary.address());
      downPrimary = null;
      log.info("master {} at {} answers again: -sdown, -odown", name, at);
      publish(SentinelEvent.subjectivelyDown(name, at, false));
      publish(SentinelEvent.objectivelyDown(name, at, false, 1, 1));
    }
  }

  private synchronized long downAgoMillis(SoloMonitor.Primary p) {
    return p.equals(downPrimary) ? (System.nanoTime() - downSinceNanos) / 1_000_000 : -1;
  }

  @Override
  public void close() {
    closed = true;
    downWatcher.interrupt();
  }

  @Override
  public List<MasterView> masters() {
    SoloMonitor.Primary p = monitor.primary();
    if (p == null) {
      return List.of(); // not serving yet: get-master-addr-by-name answers nil, as for no master
    }
    boolean takingOver = !monitor.state().equals("watching");
    long downAgo = downAgoMillis(p);
    Set<InstanceFlag> flags = EnumSet.noneOf(InstanceFlag.class);
    if (downAgo >= 0) {
      flags.add(InstanceFlag.S_DOWN);
      flags.add(InstanceFlag.O_DOWN);
    }
    if (takingOver) {
      flags.add(InstanceFlag.FAILOVER_IN_PROGRESS);
    }
    return List.of(new MasterView(name, address(p.address()), "", flags, 1,
        monitor.failovers(), monitor.config().detector().timeoutMillis(),
        FAILOVER_TIMEOUT_MILLIS, monitor.lastReplyAgoMillis(), Math.max(0, downAgo),
        takingOver ? "wait_promotion" : "", List.of(), List.of()));
  }

  /** What SENTINEL MASTER reports as failover-timeout: the longest recovery waited for. */
  static final long FAILOVER_TIMEOUT_MILLIS = 3_600_000;

  @Override
  public String myId() {
    return myId;
  }

  @Override
  public Subscription subscribe(Consumer<SentinelEvent> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  @Override
  public synchronized void switched(SoloMonitor.Primary from, SoloMonitor.Primary to,
      FailoverMode how, long tookMillis, long recoveryMillis) {
    HostPort old = address(from.address());
    publish(SentinelEvent.switchMaster(name, old, address(to.address())));
    publish(SentinelEvent.failoverEnd(name, old));
    downPrimary = null; // the new master starts up; nothing more about the old one
  }

  /** Caller holds {@code this}: events go out one at a time, in order. */
  private void publish(SentinelEvent event) {
    for (Consumer<SentinelEvent> l : listeners) {
      l.accept(event);
    }
  }

  private static HostPort address(InetSocketAddress a) {
    return new HostPort(a.getAddress() != null ? a.getAddress().getHostAddress()
        : a.getHostString(), a.getPort());
  }
}
