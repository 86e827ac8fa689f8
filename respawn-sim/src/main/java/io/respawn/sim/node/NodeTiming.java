package io.respawn.sim.node;

/**
 * Time costs of one simulated node.
 *
 * @param tickMicros how often the node's loop calls {@code onTick}
 * @param passMicros length of one loop pass: client writes and reads that arrive within it are
 *     proposed (and lease-checked) together, as the server's NodeLoop batches one pass
 * @param fsyncMicrosMin shortest fsync
 * @param fsyncMicrosMax longest fsync
 * @param pullRetryMicros how long a primary waits for a value pull before asking again
 */
public record NodeTiming(long tickMicros, long passMicros, long fsyncMicrosMin,
    long fsyncMicrosMax, long pullRetryMicros) {

  public NodeTiming {
    if (tickMicros < 1 || passMicros < 1 || fsyncMicrosMin < 0 || fsyncMicrosMax < fsyncMicrosMin
        || pullRetryMicros < 1) {
      throw new IllegalArgumentException("bad node timing " + this);
    }
  }
}
