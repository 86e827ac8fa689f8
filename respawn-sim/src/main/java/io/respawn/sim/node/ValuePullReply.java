package io.respawn.sim.node;

/**
 * A backup's answer to {@link ValuePull}: its applied version of the key. The asker keeps the
 * value only if the (term, index) matches the version it applied itself.
 */
public record ValuePullReply(int key, boolean known, long value, long term, long index) {}
