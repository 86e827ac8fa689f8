package io.respawn.server.solo.sentinel;

import java.util.List;
import java.util.function.Consumer;

/**
 * What the Sentinel endpoint shows to clients and announces on its
 * pub/sub channels: the port between the failure monitor ({@code respawn monitor}), which decides
 * who serves, and the Redis Sentinel protocol, which tells clients. The monitor implements it; the
 * endpoint only reads it. {@link MasterBoard} is a ready implementation the monitor can keep its
 * state in.
 *
 * <p>Contract, which the endpoint relies on and the monitor must keep:
 *
 * <ul>
 *   <li>{@link #masters()} and {@link #myId()} may be called from any thread, often (every client
 *       request), and must not block: return an immutable snapshot kept up to date by the
 *       monitor, not something computed by asking a node.
 *   <li>A master's address in {@link #masters()} changes <b>before</b> the {@code +switch-master}
 *       event that announces it is published, so a client that reacts to the event by asking
 *       {@code SENTINEL get-master-addr-by-name} gets the new address. A client that asks during a
 *       failover gets the old address until then (as from Redis Sentinel) and must retry.
 *   <li>Events reach each listener in the order they were published, one at a time (from the
 *       monitor's threads);
 *       a listener does not block (the endpoint only queues the message for its subscribers).
 *       Nothing is replayed: a client that subscribes after an event never sees it, exactly as
 *       with Redis pub/sub, and must ask for the current address after subscribing.
 *   <li>Names are unique, and a master's replicas are instances that hold its data and serve
 *       reads of it: a warm standby still waiting for a data directory is not one (a client told
 *       of it would send it reads it cannot answer).
 * </ul>
 */
public interface MonitoredMasters {
  /** Every master watched, in a stable order (the order of SENTINEL MASTERS and INFO). */
  List<MasterView> masters();

  /** This sentinel's run id: 40 lowercase hex characters, stable for the process's life. */
  String myId();

  /**
   * Calls {@code listener} with every event published from now on, until the returned handle is
   * closed (closing twice is harmless). Any thread.
   */
  Subscription subscribe(Consumer<SentinelEvent> listener);

  /** Stops the events of one {@link #subscribe}. */
  interface Subscription extends AutoCloseable {
    @Override
    void close();
  }

  /** The master called {@code name}, or null. */
  default MasterView master(String name) {
    for (MasterView m : masters()) {
      if (m.name().equals(name)) {
        return m;
      }
    }
    return null;
  }
}
