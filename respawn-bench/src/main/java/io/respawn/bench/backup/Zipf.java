package io.respawn.bench.backup;

import java.util.SplittableRandom;

/**
 * Zipfian item numbers in [0, n) with skew theta, item 0 the most popular: the generator YCSB
 * uses (Gray et al., "Quickly generating billion-record synthetic databases"), zeta computed once
 * in O(n). Not thread-safe; one per thread.
 */
final class Zipf {
  private final long n;
  private final double theta;
  private final double alpha;
  private final double zetan;
  private final double eta;
  private final double half;
  private final SplittableRandom random;

  Zipf(long n, double theta, long seed) {
    if (n < 2 || !(theta > 0 && theta < 1)) {
      throw new IllegalArgumentException("zipf needs n >= 2 and 0 < theta < 1: " + n + ", " + theta);
    }
    this.n = n;
    this.theta = theta;
    this.random = new SplittableRandom(seed);
    double z = 0;
    for (long i = 1; i <= n; i++) {
      z += 1.0 / Math.pow(i, theta);
    }
    this.zetan = z;
    double zeta2 = 1.0 + 1.0 / Math.pow(2, theta);
    this.alpha = 1.0 / (1.0 - theta);
    this.eta = (1 - Math.pow(2.0 / n, 1 - theta)) / (1 - zeta2 / zetan);
    this.half = 1.0 + Math.pow(0.5, theta);
  }

  long next() {
    double u = random.nextDouble();
    double uz = u * zetan;
    if (uz < 1.0) {
      return 0;
    }
    if (uz < half) {
      return 1;
    }
    return Math.min(n - 1, (long) (n * Math.pow(eta * u - eta + 1, alpha)));
  }

  double theta() {
    return theta;
  }
}
