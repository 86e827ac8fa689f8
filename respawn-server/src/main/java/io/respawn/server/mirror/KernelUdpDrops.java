package io.respawn.server.mirror;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Datagrams the kernel dropped for a UDP socket because its receive buffer was full, read from
 * Linux's {@code /proc/net/udp} and {@code /proc/net/udp6} (the last column, {@code drops}). Such
 * a datagram was taken from its sender ({@code sendto} succeeded: for the sender it is handed to
 * the network) and never reached the socket's reader, so to the link it is loss like any other;
 * the mirror status and the WAN relay show it so that it is never mistaken for the emulated loss.
 *
 * <p>Lines look like {@code "  12: 0100007F:A1B2 00000000:0000 07 ... 0 <drops>"}: the local
 * port is the hexadecimal after the colon of the second field. Sums over the sockets bound to
 * the port (one, here). Returns -1 where the files are absent or unreadable (not Linux).
 */
final class KernelUdpDrops {
  private static final List<Path> TABLES = List.of(Path.of("/proc/net/udp"),
      Path.of("/proc/net/udp6"));

  private KernelUdpDrops() {}

  /** Drops counted for the sockets bound to {@code port}, or -1 if unknown. */
  static long of(int port) {
    long total = 0;
    boolean read = false;
    for (Path table : TABLES) {
      List<String> lines;
      try {
        lines = Files.readAllLines(table, StandardCharsets.US_ASCII);
      } catch (IOException | SecurityException e) {
        continue;
      }
      read = true;
      total += parse(lines, port);
    }
    return read ? total : -1;
  }

  /** The drops of {@code port}'s sockets in one table's lines (the header line is skipped). */
  static long parse(List<String> lines, int port) {
    long total = 0;
    for (String line : lines) {
      String[] f = line.trim().split("\\s+");
      if (f.length < 13 || !f[0].endsWith(":")) {
        continue; // the header, or a line of a format this does not know
      }
      int colon = f[1].lastIndexOf(':');
      try {
        if (colon > 0 && Integer.parseInt(f[1].substring(colon + 1), 16) == port) {
          total += Long.parseLong(f[f.length - 1]);
        }
      } catch (NumberFormatException e) {
        // not a socket line
      }
    }
    return total;
  }
}
