package io.respawn.server.solo.monitor;

/** How the monitor fails over (DESIGN.md §7). */
public enum FailoverMode {
  /**
   * Recovery from disaggregated storage: wait for the hard timeout, fence the serving node, then
   * a standby recovers the volume's store and serves. Failover = timeout + recovery.
   */
  REDS,
  /**
   * Speculative REDS: at the first suspicion, super the volume and let a standby recover the
   * child view at once; collapse decides — parent dirty (the node wrote again) or answering
   * again: abort; recovery done and parent clean: promote the child, fencing the parent.
   * Failover = recovery; a stall shorter than recovery costs nothing.
   */
  SPECREDS,
  /**
   * For experiments: the monitor started the serving node and learns of its death the instant
   * the process exits (stalls are never failures to it); then fences and recovers as REDS does.
   * The lower bound both other modes are compared with.
   */
  ORACLE
}
