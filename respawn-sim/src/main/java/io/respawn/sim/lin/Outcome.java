package io.respawn.sim.lin;

/** What the client learned about an operation. */
public enum Outcome {
  /** The operation took effect once, between invoke and complete, with the recorded result. */
  OK,
  /** The operation definitely did not take effect (for example rejected before it was proposed). */
  FAIL,
  /**
   * The client gave up (timeout, lost connection): the operation may never take effect, or take
   * effect once at any time after its invocation, even after the client stopped waiting.
   */
  UNKNOWN
}
