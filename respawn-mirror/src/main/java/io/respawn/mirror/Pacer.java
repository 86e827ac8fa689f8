package io.respawn.mirror;

/**
 * Paces datagrams to {@code bytesPerSecond} with a burst allowance, as a virtual clock: each
 * datagram moves {@code availableAtNanos} on by its transmission time; the next may leave once
 * the clock has caught up with it. After an idle period up to {@code burstBytes} may leave back
 * to back. {@code bytesPerSecond} 0 means unpaced. Pure; time is passed in.
 */
final class Pacer {
  private final long bytesPerSecond;
  private final long burstNanos;
  private long availableAtNanos = Long.MIN_VALUE / 2;

  Pacer(long bytesPerSecond, long burstBytes) {
    this.bytesPerSecond = bytesPerSecond;
    this.burstNanos = bytesPerSecond == 0 ? 0 : nanosFor(burstBytes, bytesPerSecond);
  }

  /** The next datagram may leave now. */
  boolean ready(long nowNanos) {
    return bytesPerSecond == 0 || availableAtNanos <= nowNanos;
  }

  /** When the next datagram may leave. */
  long readyAtNanos() {
    return bytesPerSecond == 0 ? Long.MIN_VALUE : availableAtNanos;
  }

  /** A datagram of {@code bytes} left at nowNanos. */
  void charge(int bytes, long nowNanos) {
    if (bytesPerSecond == 0) {
      return;
    }
    availableAtNanos = Math.max(availableAtNanos, nowNanos - burstNanos)
        + nanosFor(bytes, bytesPerSecond);
  }

  private static long nanosFor(long bytes, long bytesPerSecond) {
    return Math.multiplyHigh(bytes, 1_000_000_000L) == 0
        ? bytes * 1_000_000_000L / bytesPerSecond
        : (long) (bytes * 1e9 / bytesPerSecond);
  }
}
