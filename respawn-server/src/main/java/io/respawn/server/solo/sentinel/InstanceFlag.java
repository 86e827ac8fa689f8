package io.respawn.server.solo.sentinel;

/**
 * The states of a watched instance that clients read in the {@code flags} field of SENTINEL
 * MASTER / REPLICAS (a comma-separated list, in this order, after the role). Clients act on
 * them: redis-py refuses a master flagged {@code s_down} or {@code o_down}, Lettuce skips
 * replicas flagged {@code s_down}, {@code o_down} or {@code disconnected}.
 */
public enum InstanceFlag {
  /** Subjectively down: this sentinel's detector suspects the instance. */
  S_DOWN("s_down"),
  /** Objectively down: the quorum agrees it is down (with one monitor: the same as s_down). */
  O_DOWN("o_down"),
  /** No connection to the instance at the moment. */
  DISCONNECTED("disconnected"),
  /** A failover of this master is under way. */
  FAILOVER_IN_PROGRESS("failover_in_progress"),
  /** The instance is being promoted to master by the failover under way. */
  PROMOTED("promoted");

  private final String redisName;

  InstanceFlag(String redisName) {
    this.redisName = redisName;
  }

  /** The flag's name on the wire. */
  public String redisName() {
    return redisName;
  }
}
