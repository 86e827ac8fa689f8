package io.respawn.server.solo.sentinel;

import io.respawn.server.solo.monitor.FailoverMode;
import io.respawn.server.solo.monitor.SoloMonitor;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/**
 * What {@code respawn monitor} shows through its Sentinel endpoint: one master, named as the
 * command line says, at the address of the node serving now ({@link SoloMonitor#primary()}),
 * with the failover count as its config epoch; and a {@code +switch-master}, then a {@code
 * +failover-end}, after every takeover.
 *
 * <p>The view is computed from the monitor's published state at each call (volatile reads, no
 * lock, no I/O). The monitor sets its new primary before it tells its listeners, so the address
 * clients read has changed by the time the event is published. While the monitor takes over,
 * the master is flagged {@code failover_in_progress}; it is never flagged down: a suspicion may
 * be a stall that heals (SpecREDS then aborts), and redis-py refuses a master flagged down. A
 * solo deployment has no replicas (a warm standby holds no data until it takes over) and no
 * other sentinel.
 *
 * <p>Thread-safe: the endpoint reads from its event loop, the monitor calls {@link #switched}
 * from its own thread.
 */
public final class SoloMonitorMasters implements MonitoredMasters, SoloMonitor.Listener {
  private final String name;
  private final SoloMonitor monitor;
  private final String myId = MasterBoard.randomRunId();
  private final CopyOnWriteArrayList<Consumer<SentinelEvent>> listeners =
      new CopyOnWriteArrayList<>();

  /** Registers itself as a listener of {@code monitor}; {@code name} is the service name. */
  public SoloMonitorMasters(String name, SoloMonitor monitor) {
    SentinelEvent.requireWord("the master name", name);
    this.name = name;
    this.monitor = monitor;
    monitor.addListener(this);
  }

  @Override
  public List<MasterView> masters() {
    SoloMonitor.Primary p = monitor.primary();
    if (p == null) {
      return List.of(); // not serving yet: get-master-addr-by-name answers nil, as for no master
    }
    boolean takingOver = !monitor.state().equals("watching");
    return List.of(new MasterView(name, address(p.address()), "",
        takingOver ? Set.of(InstanceFlag.FAILOVER_IN_PROGRESS) : Set.of(), 1,
        monitor.failovers(), monitor.config().detector().timeoutMillis(),
        FAILOVER_TIMEOUT_MILLIS, 0, 0, takingOver ? "wait_promotion" : "", List.of(),
        List.of()));
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
  public void switched(SoloMonitor.Primary from, SoloMonitor.Primary to, FailoverMode how,
      long tookMillis, long recoveryMillis) {
    HostPort old = address(from.address());
    publish(SentinelEvent.switchMaster(name, old, address(to.address())));
    publish(SentinelEvent.failoverEnd(name, old));
  }

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
