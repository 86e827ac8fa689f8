package io.respawn.server.command;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** The process's resident set, for INFO's used_memory_rss. */
final class MemoryFigures {
  private static final Path STATUS = Path.of("/proc/self/status");

  private MemoryFigures() {}

  /** VmRSS of this process in bytes, or 0 where /proc is absent. */
  static long residentSetBytes() {
    try {
      for (String line : Files.readAllLines(STATUS)) {
        if (line.startsWith("VmRSS:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or /proc unreadable: report 0 as an unknown
    }
    return 0;
  }
}
