package io.respawn.sim.lin;

/** The three answers a bounded linearizability search can give. */
public enum Verdict {
  /** A legal linearization exists for every component. */
  LINEARIZABLE,
  /** Some component has no legal linearization: a real bug or a broken recorder. */
  NOT_LINEARIZABLE,
  /** The search hit its state limit before deciding; nothing is claimed either way. */
  UNKNOWN
}
