package io.respawn.server.shard;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Whether the machine has CPU to spare: the share of its CPUs' time spent idle over the last
 * {@link #SAMPLE_NANOS}, from the first line of {@code /proc/stat}, with hysteresis. A member's
 * event loop runs real-time while it does ({@link LoopPriority}).
 *
 * <p>Why a machine-wide figure: a real-time event loop takes a CPU from any thread of normal
 * priority the moment it wakes. While the machine idles at least {@link #ROOMY_IDLE_MIN} of the
 * time that costs nobody much and spares the loop the wait behind whatever held the CPU (a JIT
 * compiler, a snapshot capture, another member's background work: up to a 4 ms scheduler tick
 * each time on the development VM, the steady state's slowest operations in E2). On a saturated
 * machine it preempts the clients' threads at every wake-up, which cost a closed-loop write-only
 * load (E1, clients on the same two cores, ~17 % idle) a third of its throughput; below {@link
 * #BUSY_IDLE_MAX} idle the loop goes back to normal. A loop that spun out of control under the
 * real-time policy would itself take the idle time away, and so lose the policy.
 *
 * <p>{@code /proc/stat}'s first line sums every CPU's time in clock ticks: user, nice, system,
 * idle, iowait, irq, softirq, steal (guest time is counted in user already). Idle here is idle
 * plus iowait; steal (time the hypervisor gave to someone else) counts as busy. Where the file
 * cannot be read (not Linux) the machine never has room and nothing changes.
 *
 * <p>Owned by one thread (the event loop, which polls it every pass; it reads the file at most
 * once per {@link #SAMPLE_NANOS}, ~10 us).
 */
final class IdleCpu implements AutoCloseable {
  /** How often the idle share is measured. */
  static final long SAMPLE_NANOS = 500_000_000L;
  /** Idle share at which the machine has room, in {@link #ROOMY_SAMPLES} samples in a row. */
  static final double ROOMY_IDLE_MIN = 0.40;
  static final int ROOMY_SAMPLES = 2;
  /** Idle share below which it has none (one sample). */
  static final double BUSY_IDLE_MAX = 0.30;
  /** Bytes read from the file: the first line, with room (10 counters of up to 20 digits). */
  private static final int READ_BYTES = 512;

  private final FileChannel stat;
  private final ByteBuffer buffer = ByteBuffer.allocate(READ_BYTES);
  private long nextSampleNanos = Long.MIN_VALUE;
  private long lastIdleTicks = -1;
  private long lastTotalTicks = -1;
  private int roomySamples;
  private boolean roomy;
  private volatile double lastIdleShare = -1;

  /** Reads {@code /proc/stat}; a machine without it never has room. */
  IdleCpu() {
    this(Path.of("/proc/stat"));
  }

  IdleCpu(Path procStat) {
    FileChannel c = null;
    try {
      c = FileChannel.open(procStat, StandardOpenOption.READ);
    } catch (IOException | UnsupportedOperationException e) {
      // not Linux: no room, ever
    }
    this.stat = c;
  }

  /** Samples the file if {@link #SAMPLE_NANOS} passed since the last sample; returns roomy(). */
  boolean poll(long nowNanos) {
    if (stat == null || (nextSampleNanos != Long.MIN_VALUE && nowNanos < nextSampleNanos)) {
      return roomy;
    }
    nextSampleNanos = nowNanos + SAMPLE_NANOS;
    try {
      buffer.clear();
      int n = stat.read(buffer, 0);
      if (n > 0) {
        long[] ticks = parseCpuLine(new String(buffer.array(), 0, n, StandardCharsets.US_ASCII));
        if (ticks != null) {
          onSample(ticks[0], ticks[1]);
        }
      }
    } catch (IOException e) {
      roomy = false;
    }
    return roomy;
  }

  /**
   * One reading of the cumulative counters: {@code idleTicks} (idle + iowait) and {@code
   * totalTicks} (every state). Updates the share since the last reading and the hysteresis.
   */
  void onSample(long idleTicks, long totalTicks) {
    if (lastTotalTicks >= 0 && totalTicks > lastTotalTicks && idleTicks >= lastIdleTicks) {
      double share = (double) (idleTicks - lastIdleTicks) / (totalTicks - lastTotalTicks);
      lastIdleShare = share;
      if (share < BUSY_IDLE_MAX) {
        roomySamples = 0;
        roomy = false;
      } else if (share >= ROOMY_IDLE_MIN) {
        roomySamples++;
        if (roomySamples >= ROOMY_SAMPLES) {
          roomy = true;
        }
      } else {
        roomySamples = 0; // between the two: stays as it was
      }
    }
    lastIdleTicks = idleTicks;
    lastTotalTicks = totalTicks;
  }

  /** Whether the machine has CPU to spare now (as of the last sample). */
  boolean roomy() {
    return roomy;
  }

  /** The idle share of the last sample interval, -1 before two samples. */
  double lastIdleShare() {
    return lastIdleShare;
  }

  /**
   * {@code {idle + iowait, total}} from {@code /proc/stat}'s first line ({@code cpu  user nice
   * system idle iowait irq softirq steal ...}), or null if it is not that line.
   */
  static long[] parseCpuLine(String text) {
    int end = text.indexOf('\n');
    String line = end < 0 ? text : text.substring(0, end);
    String[] f = line.trim().split("\\s+");
    if (f.length < 9 || !f[0].equals("cpu")) {
      return null;
    }
    long total = 0;
    long[] v = new long[8];
    try {
      for (int i = 0; i < 8; i++) {
        v[i] = Long.parseLong(f[i + 1]);
        total += v[i];
      }
    } catch (NumberFormatException e) {
      return null;
    }
    return new long[] {v[3] + v[4], total};
  }

  @Override
  public void close() {
    if (stat != null) {
      try {
        stat.close();
      } catch (IOException e) {
        // nothing to do
      }
    }
  }
}
