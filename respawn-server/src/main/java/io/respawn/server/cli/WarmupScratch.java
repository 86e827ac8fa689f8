package io.respawn.server.cli;

import io.respawn.server.shard.ShardMember;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scratch directory of a standby's warm-up: a small store it recovers and serves to compile
 * the serving code, ~75 MB in the system's temporary directory, deleted when the warm-up ends. A
 * standby killed during its warm-up (SIGKILL, a machine that went down) cannot delete it, and
 * each such kill left one behind (one a run of the test suite). So the directory's name carries
 * its owner's pid,
 *
 * <pre>
 *   respawn-standby-warmup-&lt;pid&gt;-&lt;random&gt;
 * </pre>
 *
 * and every standby that starts deletes the ones whose owner is no longer running ({@link
 * #removeAbandoned}); a name without a pid (an older version's) goes once it is {@link
 * #UNNAMED_AGE_MAX} old. A pid the system has given to another process since keeps its
 * directory until that one ends too: never deletes a live standby's.
 */
final class WarmupScratch {
  private static final Logger log = LoggerFactory.getLogger(WarmupScratch.class);
  static final String PREFIX = "respawn-standby-warmup";
  /** A directory named without a pid (before pids were in the name) is abandoned past this. */
  static final Duration UNNAMED_AGE_MAX = Duration.ofHours(1);

  private WarmupScratch() {}

  /** A new scratch directory in the system's temporary directory, after removing abandoned ones. */
  static Path create() throws IOException {
    Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
    removeAbandoned(tmp);
    return Files.createTempDirectory(tmp, PREFIX + "-" + ProcessHandle.current().pid() + "-");
  }

  /** Deletes the scratch directories in {@code dir} whose owner is gone; returns how many. */
  static int removeAbandoned(Path dir) {
    List<Path> abandoned = new ArrayList<>();
    try (Stream<Path> entries = Files.list(dir)) {
      entries.filter(p -> p.getFileName().toString().startsWith(PREFIX) && Files.isDirectory(p))
          .filter(WarmupScratch::isAbandoned)
          .forEach(abandoned::add);
    } catch (IOException e) {
      log.warn("could not look for abandoned warm-up directories in {}: {}", dir, e.getMessage());
      return 0;
    }
    for (Path p : abandoned) {
      log.info("deleting {}: a standby's warm-up left it behind (its process is gone)", p);
      delete(p);
    }
    return abandoned.size();
  }

  private static boolean isAbandoned(Path scratch) {
    String rest = scratch.getFileName().toString().substring(PREFIX.length());
    int end = rest.indexOf('-', 1);
    if (rest.startsWith("-") && end > 1) {
      try {
        long pid = Long.parseLong(rest.substring(1, end));
        return ProcessHandle.of(pid).isEmpty();
      } catch (NumberFormatException e) {
        // not our naming: judged by age below
      }
    }
    try {
      FileTime modified = Files.getLastModifiedTime(scratch);
      return modified.toInstant().isBefore(Instant.now().minus(UNNAMED_AGE_MAX));
    } catch (IOException e) {
      return false;
    }
  }

  /** Deletes a scratch directory ({@link ShardMember#deleteTree}); a failure is logged. */
  static void delete(Path scratch) {
    try {
      ShardMember.deleteTree(scratch);
    } catch (IOException | java.io.UncheckedIOException e) {
      log.warn("could not delete {}: {}", scratch, e.getMessage());
    }
  }
}
