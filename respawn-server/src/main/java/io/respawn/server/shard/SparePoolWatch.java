package io.respawn.server.shard;

import io.respawn.core.MemberReplacement;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads a running member's config file for its spare lines ({@code spare.N}, {@code
 * replace-after-ms}), so an operator refills the spare pool without restarting any member:
 * start a new spare process, add its {@code spare.N} line to the members' files, and the
 * leader (whichever member it is then) may add it within {@link #CHECK_INTERVAL_MILLIS}. Every
 * other key keeps the value the member started with; a changed one takes effect at its next
 * restart (logged once per version of the file).
 *
 * <p>The worst case it allows: a file caught half-written is refused (it does not parse, or
 * names another shard or member) and logged, and the spares stay as they were until the next
 * version of the file parses; a file that cannot be read keeps them too. It never stops the
 * member.
 *
 * <p>One daemon thread ({@code respawn-spare-pool-watch}) reads the file (a few hundred bytes)
 * every {@link #CHECK_INTERVAL_MILLIS}; a change of spares reaches the node loop as one input.
 */
final class SparePoolWatch implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SparePoolWatch.class);
  /** Between two reads of the file. */
  static final long CHECK_INTERVAL_MILLIS = 1_000;

  private final Path file;
  private final ShardConfig started;
  private final Consumer<MemberReplacement> use;
  private final Thread thread;
  private volatile boolean closed;
  /** The file's bytes when last looked at (a change is acted on once). */
  private byte[] lastSeen;
  /** The spares in force. */
  private ShardConfig.Spares inForce;

  /**
   * @param file the config file the member started from
   * @param started the configuration it started with
   * @param use takes the policy for a new set of spares (called on the watch's thread)
   */
  SparePoolWatch(Path file, ShardConfig started, Consumer<MemberReplacement> use) {
    this.file = file;
    this.started = started;
    this.use = use;
    this.inForce = started.spares();
    try {
      this.lastSeen = Files.readAllBytes(file);
    } catch (IOException e) {
      this.lastSeen = new byte[0];
    }
    this.thread = new Thread(this::run, "respawn-spare-pool-watch");
    thread.setDaemon(true);
  }

  SparePoolWatch start() {
    thread.start();
    return this;
  }

  private void run() {
    while (!closed) {
      try {
        Thread.sleep(CHECK_INTERVAL_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
      check();
    }
  }

  /**
   * Reads the file once; if it changed since the last look and parses as this member's
   * configuration with other spares, hands them over. Returns the spares in force after.
   */
  ShardConfig.Spares check() {
    byte[] now;
    try {
      now = Files.readAllBytes(file);
    } catch (IOException e) {
      if (lastSeen.length > 0) {
        log.warn("config file {} cannot be read ({}); the spares stay as they were", file,
            e.toString());
        lastSeen = new byte[0];
      }
      return inForce;
    }
    if (Arrays.equals(now, lastSeen)) {
      return inForce;
    }
    lastSeen = now;
    ShardConfig read;
    try {
      read = ShardConfig.load(file);
    } catch (IOException | IllegalArgumentException e) {
      log.warn("config file {} changed but is refused ({}); the spares stay as they were", file,
          e.getMessage());
      return inForce;
    }
    if (!read.clusterId().equals(started.clusterId()) || !read.self().equals(started.self())) {
      log.warn("config file {} now names member {} of cluster '{}', not member {} of '{}': "
          + "ignored while this member runs", file, read.self().value(), read.clusterId(),
          started.self().value(), started.clusterId());
      return inForce;
    }
    if (read.spares().equals(inForce)) {
      log.info("config file {} changed; its spare lines did not (other keys take effect at the "
          + "member's next restart)", file);
      return inForce;
    }
    log.info("config file {} changed: spares {} (replace after {} ms), were {} ({} ms); other "
        + "keys take effect at the member's next restart", file, read.spares().members().keySet(),
        read.spares().replaceAfterMillis(), inForce.members().keySet(),
        inForce.replaceAfterMillis());
    inForce = read.spares();
    use.accept(ShardMember.sparePolicy(started, inForce));
    return inForce;
  }

  @Override
  public void close() {
    closed = true;
    thread.interrupt();
  }
}
