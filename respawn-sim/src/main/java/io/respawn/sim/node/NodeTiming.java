package io.respawn.sim.node;

/**
 * Time costs of one simulated node.
 *
 * @param tickMicros how often the node's loop calls {@code tick}
 * @param fsyncMicrosMin shortest fsync; a Ready's messages wait for it
 * @param fsyncMicrosMax longest fsync
 * @param pullRetryMicros how long a primary waits for a value pull before asking again
 */
public record NodeTiming(long tickMicros, long fsyncMicrosMin, long fsyncMicrosMax,
    long pullRetryMicros) {

  public NodeTiming {
    if (tickMicros < 1 || fsyncMicrosMin < 0 || fsyncMicrosMax < fsyncMicrosMin
        || pullRetryMicros < 1) {
      throw new IllegalArgumentException("bad node timing " + this);
    }
  }
}
