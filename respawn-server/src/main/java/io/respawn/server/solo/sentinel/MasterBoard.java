package io.respawn.server.solo.sentinel;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * A {@link MonitoredMasters} that holds the masters' views and hands events to listeners: the
 * monitor writes into it ({@link #put}, {@link #switchMaster}, {@link #publish}) and the Sentinel
 * endpoint reads it. Readers get an immutable snapshot and never block; writers are serialised
 * by the board's lock, so events reach every listener in publication order, each after the view
 * change it announces (see {@link MonitoredMasters}).
 *
 * <p>Thread-safe. Listeners run on the publishing thread, under the lock: they must only queue.
 */
public final class MasterBoard implements MonitoredMasters {
  /** Most masters one board holds (Redis Sentinel has no limit; one monitor watches one node). */
  public static final int MASTERS_MAX = 1024;

  private final String myId;
  private final CopyOnWriteArrayList<Consumer<SentinelEvent>> listeners =
      new CopyOnWriteArrayList<>();
  private volatile List<MasterView> masters = List.of();

  /** A board with a fresh random run id. */
  public MasterBoard() {
    this(randomRunId());
  }

  /** A board whose sentinel has run id {@code myId} (40 lowercase hex characters). */
  public MasterBoard(String myId) {
    if (!myId.matches("[0-9a-f]{40}")) {
      throw new IllegalArgumentException("a run id is 40 lowercase hex characters: " + myId);
    }
    this.myId = myId;
  }

  /** 160 random bits as 40 hex characters, as Redis makes its run ids. */
  public static String randomRunId() {
    byte[] bytes = new byte[20];
    new SecureRandom().nextBytes(bytes);
    return HexFormat.of().formatHex(bytes);
  }

  @Override
  public List<MasterView> masters() {
    return masters;
  }

  @Override
  public String myId() {
    return myId;
  }

  @Override
  public Subscription subscribe(Consumer<SentinelEvent> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  /** Adds the master, or replaces the view of the master of that name. No event. */
  public synchronized void put(MasterView view) {
    List<MasterView> next = new ArrayList<>(masters);
    int i = indexOf(next, view.name());
    if (i >= 0) {
      next.set(i, view);
    } else {
      if (next.size() >= MASTERS_MAX) {
        throw new IllegalStateException("a board holds at most " + MASTERS_MAX + " masters");
      }
      next.add(view);
    }
    masters = List.copyOf(next);
  }

  /** Replaces the view of the master {@code name} by {@code change} of it; no event. */
  public synchronized MasterView update(String name, UnaryOperator<MasterView> change) {
    MasterView old = require(name);
    MasterView changed = change.apply(old);
    if (!changed.name().equals(name)) {
      throw new IllegalArgumentException("an update keeps the name " + name);
    }
    put(changed);
    return changed;
  }

  /** Forgets the master {@code name}; false if the board had none of that name. */
  public synchronized boolean remove(String name) {
    List<MasterView> next = new ArrayList<>(masters);
    int i = indexOf(next, name);
    if (i < 0) {
      return false;
    }
    next.remove(i);
    masters = List.copyOf(next);
    return true;
  }

  /**
   * The failover of {@code name} is done: clients must now write to {@code to}. Updates the view
   * (new address, next config epoch, no down flags) and then publishes {@code +switch-master}
   * and {@code +failover-end}, in that order. Returns the new view.
   */
  public synchronized MasterView switchMaster(String name, HostPort to) {
    MasterView old = require(name);
    MasterView now = old.switchedTo(to);
    put(now);
    publish(SentinelEvent.switchMaster(name, old.address(), to));
    publish(SentinelEvent.failoverEnd(name, old.address()));
    return now;
  }

  /** Hands {@code event} to every listener, in order; a listener that throws loses only it. */
  public synchronized void publish(SentinelEvent event) {
    for (Consumer<SentinelEvent> l : listeners) {
      try {
        l.accept(event);
      } catch (RuntimeException e) {
        // One broken listener must not keep the event from the others.
        org.slf4j.LoggerFactory.getLogger(MasterBoard.class)
            .warn("sentinel event listener failed on {}: {}", event.channel(), e.toString());
      }
    }
  }

  private MasterView require(String name) {
    MasterView m = master(name);
    if (m == null) {
      throw new IllegalArgumentException("no master named " + name);
    }
    return m;
  }

  private static int indexOf(List<MasterView> list, String name) {
    for (int i = 0; i < list.size(); i++) {
      if (list.get(i).name().equals(name)) {
        return i;
      }
    }
    return -1;
  }
}
