package io.respawn.server.shard;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Linux's range of ephemeral ports: the local ports the kernel hands to outgoing connections
 * ({@code /proc/sys/net/ipv4/ip_local_port_range}, 32768-60999 by default). A member listening
 * on a port inside it works until the day some process's outgoing connection holds that port
 * while the member restarts: then the member cannot listen ("address already in use"), and the
 * supervisor keeps restarting it (a benchmark whose peer ports started at 33400 met exactly
 * that). So {@code respawn up} and {@code respawn node} warn, once, when a RESP or peer port
 * falls inside; they do not refuse (a machine whose range was narrowed by its operator, or
 * whose ports are reserved, is fine).
 */
public final class EphemeralPorts {
  private static final Path RANGE_FILE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
  /** Linux's default, used when the range cannot be read. */
  static final int LOW_DEFAULT = 32_768;
  static final int HIGH_DEFAULT = 60_999;

  private EphemeralPorts() {}

  /** The machine's range as {@code {low, high}}; Linux's default if it cannot be read. */
  static int[] range() {
    try {
      String[] f = Files.readString(RANGE_FILE, StandardCharsets.US_ASCII).trim().split("\\s+");
      return new int[] {Integer.parseInt(f[0]), Integer.parseInt(f[1])};
    } catch (IOException | RuntimeException e) {
      return new int[] {LOW_DEFAULT, HIGH_DEFAULT};
    }
  }

  /** The warning for {@code ports} (with what they are) on this machine, or null. */
  public static String warning(List<Integer> ports, String what) {
    int[] r = range();
    return warning(ports, what, r[0], r[1]);
  }

  /** The warning for {@code ports} inside {@code [low, high]}, or null if none is. */
  static String warning(List<Integer> ports, String what, int low, int high) {
    List<Integer> inside = ports.stream().filter(p -> p >= low && p <= high).sorted().toList();
    if (inside.isEmpty()) {
      return null;
    }
    return "warning: " + what + " " + inside + " in the ephemeral range " + low + "-" + high
        + " (outgoing connections take ports from it, so a restart may find one in use);"
        + " choose ports below " + low;
  }
}
