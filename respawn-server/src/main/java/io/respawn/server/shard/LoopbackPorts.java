package io.respawn.server.shard;

import java.io.BufferedReader;
import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntPredicate;

/**
 * Picks loopback ports for processes started later (a benchmark's servers, a test's shard): a
 * range that is free now <em>and</em> lies below the kernel's ephemeral range, the ports it
 * hands to outgoing connections.
 *
 * <p>Why below: a port found free now is bound by the process only when it starts, seconds or a
 * minute later (a member added to a running shard, a member that restarts after a kill). Every
 * connection the machine opens meanwhile (clients, the members' links to one another) takes a
 * local port from the ephemeral range ({@code /proc/sys/net/ipv4/ip_local_port_range}, 32768 to
 * 60999 by default), and one that took the chosen port makes that process fail to bind. Below
 * the range only another listener can take it.
 *
 * <p>Worst case: another process binds a chosen port between the check and the start; the start
 * then fails with "address in use" and says which port. When the space below the ephemeral
 * range cannot hold the range and its offset copy (a kernel whose range starts below about
 * 11,000 + offset), ports come from the whole unprivileged space, 1,024 up, and the race with
 * outgoing connections is back.
 */
public final class LoopbackPorts {
  /**
   * The lowest base port handed out while the space below the ephemeral range has room: below it
   * live well-known services' ports.
   */
  static final int BASE_MIN = 10_000;

  /** Used when the kernel's range cannot be read (Linux's default low end). */
  static final int EPHEMERAL_LOW_DEFAULT = 32_768;

  static final int ATTEMPTS_MAX = 200;

  private LoopbackPorts() {}

  /** One free loopback port, below the ephemeral range where the space allows. */
  public static int free() throws IOException {
    return freeRange(1, 0);
  }

  /**
   * One loopback UDP port free now, below the ephemeral range where the space allows (a mirror's
   * receiving port: a socket bound to port 0 meanwhile, e.g. the WAN relay's, cannot be given
   * it).
   */
  public static int freeUdp() throws IOException {
    return draw(1, 0, LoopbackPorts::isFreeUdp);
  }

  /**
   * A base port {@code b} such that {@code b .. b+count-1} and, if {@code offset > 0}, {@code
   * b+offset .. b+offset+count-1} are free on loopback now and, where the space allows, below
   * the ephemeral range.
   */
  public static int freeRange(int count, int offset) throws IOException {
    if (count < 1 || offset < 0 || offset + count > 65_536 - 1_024 - 1_000) {
      throw new IllegalArgumentException("count " + count + " offset " + offset
          + ": a range and its offset copy must fit the unprivileged ports with room to spare");
    }
    return draw(count, offset, LoopbackPorts::isFree);
  }

  /** A base whose range and offset copy are all {@code free}, from {@link #baseBounds}. */
  private static int draw(int count, int offset, IntPredicate free) throws IOException {
    int[] bounds = baseBounds(count, offset, ephemeralLow());
    for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      int base = bounds[0] + ThreadLocalRandom.current().nextInt(bounds[1] - bounds[0]);
      boolean ok = true;
      for (int i = 0; i < count && ok; i++) {
        ok = free.test(base + i) && (offset == 0 || free.test(base + offset + i));
      }
      if (ok) {
        return base;
      }
    }
    throw new IOException("no free range of " + count + " loopback ports (offset " + offset
        + ") after " + ATTEMPTS_MAX + " attempts");
  }

  /**
   * The bases to draw from, [low, high): the highest base's range and offset copy end at {@code
   * ephemeralLow - 1} when they fit under it with room to spare, else at 65,535.
   */
  static int[] baseBounds(int count, int offset, int ephemeralLow) {
    int span = offset + count;
    int high = ephemeralLow - span + 1;
    if (high - BASE_MIN >= 1_000) {
      return new int[] {BASE_MIN, high};
    }
    return new int[] {1_024, 65_537 - span};
  }

  /**
   * The ephemeral range's low end (the first number of the kernel's setting). Read line by line:
   * the proc file reports a size of 0, and {@code Files.readString} returned its first byte only.
   */
  static int ephemeralLow() {
    try (BufferedReader in = Files.newBufferedReader(
        Path.of("/proc/sys/net/ipv4/ip_local_port_range"), StandardCharsets.US_ASCII)) {
      return Integer.parseInt(in.readLine().trim().split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      return EPHEMERAL_LOW_DEFAULT;
    }
  }

  private static boolean isFreeUdp(int port) {
    try (DatagramSocket s = new DatagramSocket(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), port))) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getLoopbackAddress())) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }
}
