package io.respawn.sim.lin;

/** The client commands the register-map model understands. */
public enum OpKind {
  /** Read one key; result is its value or {@link Op#ABSENT}. */
  GET,
  /** Write one key; no result. */
  SET,
  /** Remove one key; result is the number of keys removed (0 or 1). */
  DEL,
  /** Add one to a key (absent counts as 0); result is the new value. */
  INCR,
  /** Write several keys atomically; no result. */
  MSET;

  /** Whether the command can change state (a GET never does). */
  public boolean writes() {
    return this != GET;
  }
}
