package io.respawn.sim.net;

import io.respawn.sim.event.EventQueue;
import java.util.SplittableRandom;

/**
 * A network that does the worst its contract allows: it delays each message by a random amount
 * (so it reorders), drops some, duplicates some, and obeys partitions and stopped endpoints.
 *
 * <p>Endpoints are small integers: replicas first, then clients. A message is lost if its link
 * is cut when it is sent or when it arrives, or if the receiver is down when it arrives. A
 * message that arrives at a paused endpoint waits, like bytes in a socket buffer, and is handed
 * over when the pause ends. Single-threaded; the random source is the simulation's.
 *
 * @param <M> message type; messages must be immutable, since a duplicate is the same object
 */
public final class SimNetwork<M> {

  /** Where arriving messages go. */
  public interface Receiver<M> {
    void deliver(int from, int to, M message);
  }

  private final EventQueue events;
  private final SplittableRandom random;
  private final NetworkConfig config;
  private final Receiver<M> receiver;
  private final boolean[][] cut;
  private final boolean[] down;
  private final long[] pausedUntilNanos;
  private long sent;
  private long dropped;
  private long duplicated;

  public SimNetwork(EventQueue events, SplittableRandom random, NetworkConfig config,
      int endpoints, Receiver<M> receiver) {
    this.events = events;
    this.random = random;
    this.config = config;
    this.receiver = receiver;
    this.cut = new boolean[endpoints][endpoints];
    this.down = new boolean[endpoints];
    this.pausedUntilNanos = new long[endpoints];
  }

  public void send(int from, int to, M message) {
    sent++;
    if (cut[from][to] || down[from] || chance(config.dropPerMillion())) {
      dropped++;
      return;
    }
    scheduleDelivery(from, to, message);
    if (chance(config.duplicatePerMillion())) {
      duplicated++;
      scheduleDelivery(from, to, message);
    }
  }

  private void scheduleDelivery(int from, int to, M message) {
    long delayMicros = config.delayMinMicros()
        + random.nextLong(config.delayMaxMicros() - config.delayMinMicros() + 1);
    events.after(delayMicros * 1_000, () -> arrive(from, to, message));
  }

  private void arrive(int from, int to, M message) {
    if (cut[from][to] || down[to]) {
      dropped++;
      return;
    }
    long resumeAt = pausedUntilNanos[to];
    if (resumeAt > events.nowNanos()) {
      events.at(resumeAt, () -> arrive(from, to, message));
      return;
    }
    receiver.deliver(from, to, message);
  }

  private boolean chance(int perMillion) {
    return perMillion > 0 && random.nextInt(1_000_000) < perMillion;
  }

  /** Cuts every link between the two sides, in both directions. */
  public void partition(int[] sideA, int[] sideB) {
    for (int a : sideA) {
      for (int b : sideB) {
        cut[a][b] = true;
        cut[b][a] = true;
      }
    }
  }

  /** Cuts one direction only: from can no longer reach to. */
  public void cutOneWay(int from, int to) {
    cut[from][to] = true;
  }

  /** Restores every link. */
  public void healAll() {
    for (boolean[] row : cut) {
      java.util.Arrays.fill(row, false);
    }
  }

  public boolean isCut(int from, int to) {
    return cut[from][to];
  }

  /** A down endpoint neither sends nor receives; messages to it are lost. */
  public void setDown(int endpoint, boolean isDown) {
    down[endpoint] = isDown;
  }

  public boolean isDown(int endpoint) {
    return down[endpoint];
  }

  /** Holds messages for endpoint until untilNanos (virtual time). */
  public void pauseUntil(int endpoint, long untilNanos) {
    pausedUntilNanos[endpoint] = untilNanos;
  }

  public boolean isPaused(int endpoint) {
    return pausedUntilNanos[endpoint] > events.nowNanos();
  }

  public long sent() {
    return sent;
  }

  public long dropped() {
    return dropped;
  }

  public long duplicated() {
    return duplicated;
  }
}
