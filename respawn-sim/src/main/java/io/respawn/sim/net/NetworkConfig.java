package io.respawn.sim.net;

/**
 * How badly the simulated network behaves.
 *
 * @param delayMinMicros shortest one-way delay
 * @param delayMaxMicros longest one-way delay; delays are uniform in between, which reorders
 * @param dropPerMillion chance a message is lost, in parts per million
 * @param duplicatePerMillion chance a message is delivered twice (the copy has its own delay)
 */
public record NetworkConfig(
    long delayMinMicros, long delayMaxMicros, int dropPerMillion, int duplicatePerMillion) {

  public NetworkConfig {
    if (delayMinMicros < 0 || delayMaxMicros < delayMinMicros) {
      throw new IllegalArgumentException("need 0 <= delayMinMicros <= delayMaxMicros, got "
          + delayMinMicros + ".." + delayMaxMicros);
    }
    if (dropPerMillion < 0 || dropPerMillion > 1_000_000 || duplicatePerMillion < 0
        || duplicatePerMillion > 1_000_000) {
      throw new IllegalArgumentException("rates are parts per million in 0..1000000");
    }
  }
}
