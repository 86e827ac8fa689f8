package io.respawn.server.command;

import java.util.ArrayList;
import java.util.List;

/**
 * CLIENT PAUSE: while a pause lasts, the commands it covers are held back, in arrival order per
 * client, and run once it ends (CLIENT UNPAUSE or its timeout). {@code WRITE} holds the commands
 * that write (and an EXEC whose queue holds one) and also stops expiry, so the data does not
 * change at all; {@code ALL} holds every command. A command refused anyway (unknown, wrong arity,
 * NOAUTH) is answered at once, as in Redis. A new pause while one lasts keeps the later end and
 * the stricter mode.
 *
 * <p>Clients held back are listed in the order they were first held; a client's later requests
 * queue behind its first held one ({@link Session#postponed}), so its replies stay in order.
 *
 * <p>Owned by the command thread.
 */
final class ClientPause {
  /** What a pause holds back. */
  enum Mode {
    /** No pause. */
    OFF,
    /** Commands that change data (Redis' may-replicate commands). */
    WRITE,
    /** Every command of every client. */
    ALL
  }

  private Mode mode = Mode.OFF;
  private long endMillis;
  private final List<Session> held = new ArrayList<>();

  /** Starts or extends a pause until {@code endMillis} (0 = ends at the next check). */
  void pause(Mode newMode, long newEndMillis) {
    assert newMode != Mode.OFF : "pause with mode OFF";
    mode = mode.ordinal() > newMode.ordinal() ? mode : newMode;
    endMillis = Math.max(endMillis, newEndMillis);
  }

  void unpause() {
    mode = Mode.OFF;
    endMillis = 0;
  }

  /** The mode in force at {@code nowMillis}; an expired pause ends here. */
  Mode mode(long nowMillis) {
    if (mode != Mode.OFF && endMillis < nowMillis) {
      unpause();
    }
    return mode;
  }

  /** Whether writes (and expiry) are held at {@code nowMillis}. */
  boolean writesPaused(long nowMillis) {
    return mode(nowMillis) != Mode.OFF;
  }

  long endMillis() {
    return endMillis;
  }

  /** Whether a command is held back now: {@code writes} says whether it would change data. */
  boolean holds(boolean writes, long nowMillis) {
    Mode m = mode(nowMillis);
    return m == Mode.ALL || (m == Mode.WRITE && writes);
  }

  void hold(Session s) {
    held.add(s);
  }

  /** Clients with held requests, in the order they were first held. */
  List<Session> held() {
    return held;
  }

  int heldCount() {
    return held.size();
  }

  void forget(Session s) {
    held.remove(s);
  }
}
