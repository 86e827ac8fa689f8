package io.respawn.server.shard;

import io.respawn.core.MemberReplacement;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Properties;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads a running member's config file for its spare lines ({@code spare.N}, {@code
 * replace-after-ms}), so an operator refills the spare pool without restarting any member:
 * start a new spare process, add its {@code spare.N} line to the members' files, and the
 * leader (whichever member it is then) may add it within two checks, {@link
 * #CHECK_INTERVAL_MILLIS} apart. Every other key keeps the value the member started with; a
 * changed one takes effect at its next restart (the log line for new spares says so).
 *
 * <p>The worst case it allows: a version of the file is acted on only once two reads a check
 * apart found the same bytes (a file caught while being written is not); one that does not
 * parse, or names another shard or member, is refused and logged once, and the spares stay as
 * they were until a later version parses; a file that cannot be read, or whose secret file
 * cannot, keeps them too and is tried again. A spare line written whole but wrong (a mistyped
 * address) is taken as written: the leader may add a spare that never answers, which the spare
 * policy removes again after the bound. It never stops the member.
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
  /** The version last acted on (taken, or refused for its content); null before the first. */
  private byte[] settled;
  /** A version read once, acted on if the next read finds it again; null if none. */
  private byte[] pending;
  /** The version whose reading failed and was logged (once per version), or null. */
  private byte[] failedLogged;
  /** Whether the file's absence or unreadability was logged since it was last read. */
  private boolean unreadableLogged;
  /** The spares in force. */
  private ShardConfig.Spares inForce;

  /**
   * @param file the config file the member started from (read again from the first check on,
   *     so an edit made while the member started is not missed)
   * @param started the configuration it started with
   * @param use takes the policy for a new set of spares (called on the watch's thread)
   */
  SparePoolWatch(Path file, ShardConfig started, Consumer<MemberReplacement> use) {
    this.file = file;
    this.started = started;
    this.use = use;
    this.inForce = started.spares();
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
   * Reads the file once; acts on a version read twice in a row that differs from the last one
   * acted on: if it parses as this member's configuration with other spares, hands them over.
   * Returns the spares in force after.
   */
  ShardConfig.Spares check() {
    byte[] now;
    try {
      now = Files.readAllBytes(file);
    } catch (IOException e) {
      if (!closed && !unreadableLogged) {
        log.warn("config file {} cannot be read ({}); the spares stay as they were", file,
            e.toString());
        unreadableLogged = true;
      }
      pending = null;
      return inForce;
    }
    unreadableLogged = false;
    if (Arrays.equals(now, settled)) {
      pending = null;
      return inForce;
    }
    if (!Arrays.equals(now, pending)) {
      pending = now; // perhaps caught while being written: act if the next read finds it again
      return inForce;
    }
    pending = null;
    ShardConfig read;
    try {
      Properties p = new Properties();
      p.load(new StringReader(new String(now, StandardCharsets.UTF_8)));
      read = ShardConfig.parse(p, file.toAbsolutePath().getParent());
    } catch (IllegalArgumentException e) {
      settled = now; // its content is wrong: not tried again until it changes
      log.warn("config file {} changed but is refused ({}); the spares stay as they were", file,
          e.getMessage());
      return inForce;
    } catch (IOException e) {
      if (!Arrays.equals(now, failedLogged)) { // something it names cannot be read: try again
        failedLogged = now;
        log.warn("config file {} changed but cannot be used ({}); the spares stay as they were",
            file, e.toString());
      }
      return inForce;
    }
    settled = now;
    if (!read.clusterId().equals(started.clusterId()) || !read.self().equals(started.self())) {
      log.warn("config file {} now names member {} of cluster '{}', not member {} of '{}': "
          + "ignored while this member runs", file, read.self().value(), read.clusterId(),
          started.self().value(), started.clusterId());
      return inForce;
    }
    if (read.spares().equals(inForce)) {
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
