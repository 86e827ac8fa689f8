package io.respawn.sim.event;

import java.util.PriorityQueue;

/**
 * The simulation's only source of progress: a queue of actions ordered by virtual time.
 *
 * <p>Virtual time starts at 0 and only moves when the next action runs; nothing reads a wall
 * clock. Actions due at the same instant run in the order they were scheduled (a sequence number
 * breaks ties), so a run is a pure function of its seed. Single-threaded: the simulation loop
 * owns it.
 */
public final class EventQueue {

  private record Scheduled(long atNanos, long sequence, Runnable action)
      implements Comparable<Scheduled> {
    @Override
    public int compareTo(Scheduled o) {
      int byTime = Long.compare(atNanos, o.atNanos);
      return byTime != 0 ? byTime : Long.compare(sequence, o.sequence);
    }
  }

  private final PriorityQueue<Scheduled> queue = new PriorityQueue<>(1024);
  private long nowNanos;
  private long sequence;
  private long eventsRun;

  /** Virtual time of the action running now (or of the last one run). */
  public long nowNanos() {
    return nowNanos;
  }

  /** Number of actions run so far: the "event number" in violation reports. */
  public long eventsRun() {
    return eventsRun;
  }

  public int pending() {
    return queue.size();
  }

  /** Runs action at virtual time atNanos, which must not be in the past. */
  public void at(long atNanos, Runnable action) {
    if (atNanos < nowNanos) {
      throw new IllegalArgumentException("cannot schedule at " + atNanos + " ns, now is "
          + nowNanos + " ns");
    }
    queue.add(new Scheduled(atNanos, sequence++, action));
  }

  /** Runs action delayNanos after now. */
  public void after(long delayNanos, Runnable action) {
    at(nowNanos + delayNanos, action);
  }

  /** Time of the next action, or {@link Long#MAX_VALUE} if none is pending. */
  public long nextAtNanos() {
    Scheduled next = queue.peek();
    return next == null ? Long.MAX_VALUE : next.atNanos;
  }

  /** Runs the earliest action; returns false if there was none. */
  public boolean runNext() {
    Scheduled next = queue.poll();
    if (next == null) {
      return false;
    }
    nowNanos = next.atNanos;
    eventsRun++;
    next.action.run();
    return true;
  }
}
