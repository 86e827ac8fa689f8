package io.respawn.sim.node;

/**
 * Time costs of one simulated node.
 *
 * @param tickMicros how often the node's loop calls {@code onTick}
 * @param passMicros length of one loop pass: client writes and reads that arrive within it are
 *     proposed (and lease-checked) together, as the server's NodeLoop batches one pass
 * @param fsyncMicrosMin shortest fsync
 * @param fsyncMicrosMax longest fsync
 */
public record NodeTiming(long tickMicros, long passMicros, long fsyncMicrosMin,
    long fsyncMicrosMax) {

  public NodeTiming {
    if (tickMicros < 1 || passMicros < 1 || fsyncMicrosMin < 0
        || fsyncMicrosMax < fsyncMicrosMin) {
      throw new IllegalArgumentException("bad node timing " + this);
    }
  }
}
