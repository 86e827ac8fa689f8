package io.respawn.core;

/**
 * A tiny, pure pseudo-random generator (Steele, Lea and Flood's SplitMix64). Used for election
 * jitter so that a run is a function of {@link ReplicaConfig#randomSeed()} alone.
 */
final class SplitMix64 {
  private long state;

  SplitMix64(long seed) {
    this.state = seed;
  }

  long nextLong() {
    long z = (state += 0x9E3779B97F4A7C15L);
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }

  /** Uniform in [0, bound), bound > 0. */
  long nextLong(long bound) {
    if (bound <= 0) {
      throw new IllegalArgumentException("bound must be > 0: " + bound);
    }
    long r = nextLong() >>> 1;
    return r % bound;
  }
}
