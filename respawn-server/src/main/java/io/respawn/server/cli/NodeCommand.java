package io.respawn.server.cli;

import io.respawn.server.DataDirInUseException;
import io.respawn.server.resp.RespLimits;
import io.respawn.server.shard.RemovedMarker;
import io.respawn.server.shard.ShardConfig;
import io.respawn.server.shard.ShardMember;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import sun.misc.Signal;

/**
 * {@code respawn node --config FILE}: runs one member of a replicated shard (the file format is
 * {@link ShardConfig}'s) until SIGTERM or SIGINT, then stops cleanly and exits 0. Prints {@code
 * respawn: member N (ROLE) serving RESP on HOST:PORT} once it listens. Exit code 2 when the
 * configuration is refused or a port or the data directory is taken; exit code 3 when the shard
 * removed this member while it was away (it then leaves {@link RemovedMarker} in its data
 * directory, and a member whose directory holds that marker exits with 3 at once).
 */
@Command(name = "node", mixinStandardHelpOptions = true,
    description = "Run one member of a replicated shard (see docs/shard.md for the config file).")
public final class NodeCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(NodeCommand.class);

  @Option(names = "--config", required = true, description = "The member's config file.")
  Path config;

  @Option(names = "--log-level", defaultValue = "INFO",
      description = "TRACE, DEBUG, INFO, WARN or ERROR (default: ${DEFAULT-VALUE}).")
  String logLevel;

  @Override
  public Integer call() throws Exception {
    ServerCommand.setLogLevel(logLevel);
    ShardConfig shard;
    try {
      shard = ShardConfig.load(config);
    } catch (NoSuchFileException e) {
      System.err.println("respawn: config file " + config + " does not exist");
      return 2;
    } catch (IllegalArgumentException | IOException e) {
      System.err.println("respawn: config file " + config + ": " + e.getMessage());
      return 2;
    }
    return DeferredServe.defer(() -> serve(shard, config));
  }

  /** Runs the member until a signal or SHUTDOWN: 0 after a clean stop, 2 or 1 if it cannot start. */
  private static int serve(ShardConfig shard, Path configFile) throws Exception {
    String removedEarlier = RemovedMarker.read(shard.dataDir());
    if (removedEarlier != null) {
      System.err.println("respawn: member " + shard.self().value() + " is not started: it was "
          + removedEarlier + ". Its data directory " + shard.dataDir() + " can go; delete "
          + RemovedMarker.in(shard.dataDir()) + " to start it anyway");
      return ShardMember.EXIT_REMOVED;
    }
    String ephemeral = io.respawn.server.shard.EphemeralPorts.warning(List.of(
        shard.me().resp().getPort(), shard.me().peer().getPort()), "member "
        + shard.self().value() + "'s RESP and peer ports");
    if (ephemeral != null) {
      System.err.println("respawn: " + ephemeral + " (its member line in " + configFile + ")");
    }
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    ShardMember member;
    try {
      member = ShardMember.start(shard, RespLimits.DEFAULTS);
    } catch (DataDirInUseException e) {
      System.err.println("respawn: " + e.getMessage());
      return 2;
    } catch (IOException | RuntimeException e) {
      if (ServerCommand.isBindFailure(e)) {
        System.err.println("respawn: cannot listen: " + e.getMessage());
        return 2;
      }
      log.error("cannot start: {}", e.toString(), e);
      System.err.println("respawn: cannot start: " + e.getMessage());
      return 1;
    }
    System.out.println("respawn: member " + shard.self().value() + " ("
        + member.role().name().toLowerCase(java.util.Locale.ROOT) + ") serving RESP on "
        + shard.bindHost() + ":" + member.respPort() + " (data " + shard.dataDir() + ")");
    System.out.flush();
    member.watchSpareLines(configFile);
    member.shutdownRequested().thenRun(stop::countDown);
    member.removedFromShard().thenRun(stop::countDown);
    stop.await();
    String removed = member.removedFromShard().getNow(null);
    log.info(removed != null ? "removed from the shard: stopping"
        : member.shutdownRequested().isDone() ? "SHUTDOWN command: stopping"
        : "signal received: stopping");
    member.close();
    log.info("stopped cleanly");
    if (removed != null) {
      try {
        RemovedMarker.write(shard.dataDir(), removed, java.time.Instant.now());
      } catch (IOException e) {
        log.warn("could not write {}: {}; a later start will find out again, in 10 s",
            RemovedMarker.in(shard.dataDir()), e.toString());
      }
      System.err.println("respawn: member " + shard.self().value() + " is no longer a member "
          + "of the shard (" + removed + "); its data directory " + shard.dataDir() + " can go"
          + " (it holds the marker '" + RemovedMarker.FILE_NAME + "', so the member is not"
          + " started again)");
      return ShardMember.EXIT_REMOVED;
    }
    return 0;
  }
}
