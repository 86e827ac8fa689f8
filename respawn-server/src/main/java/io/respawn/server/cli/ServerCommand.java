package io.respawn.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import io.respawn.server.DataDirInUseException;
import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.server.mirror.MirrorSettings;
import io.respawn.storage.StorageConfig;
import java.io.IOException;
import java.net.BindException;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code respawn server}: runs one node until SIGTERM, SIGINT or a client's SHUTDOWN, then stops
 * accepting, makes every write durable and exits 0. Prints one line to stdout when it is ready:
 * {@code respawn: serving RESP on HOST:PORT (data DIR)}.
 */
@Command(name = "server", mixinStandardHelpOptions = true,
    description = "Run one Respawn node (no replication yet).")
public class ServerCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(ServerCommand.class);

  @Mixin ServerOptions options = new ServerOptions();

  @Mixin MirrorOptions mirrorOptions = new MirrorOptions();

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ServerConfig config = options.toConfig(spec);
    MirrorSettings mirror = mirrorOptions.toSettings(spec, config.bindHost(),
        config.limits().requestBytesMax() + (64L << 20));
    setLogLevel(options.logLevel);
    StorageConfig storage = config.storage();
    if (config.limits().bulkLengthMax() > storage.valueBytesMax()) {
      log.warn("--bulk-length-max {} is above the engine's value limit {}: larger values are "
          + "refused when written", config.limits().bulkLengthMax(), storage.valueBytesMax());
    }

    if (java.nio.file.Files.exists(config.dataDir().resolve(
        io.respawn.storage.solo.VolumeFormat.epochFile(0)))) {
      // Its stores change hands by promotion; only the fenced solo node may serve one.
      System.err.println("respawn: " + config.dataDir() + " is a solo volume: serve it with "
          + "respawn solo --data " + config.dataDir());
      return 2;
    }
    return DeferredServe.defer(() -> serve(config, mirror));
  }

  /** Runs the server until a signal or SHUTDOWN: 0 after a clean stop, 2 or 1 if it cannot start. */
  private static int serve(ServerConfig config, MirrorSettings mirror) throws Exception {
    CountDownLatch stop = new CountDownLatch(1);
    // Handling the signals ourselves (instead of a shutdown hook) lets us exit 0 after a clean stop.
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    RespawnServer server;
    try {
      server = RespawnServer.start(config, mirror == null ? null : mirror.newSite());
    } catch (DataDirInUseException e) {
      System.err.println("respawn: " + e.getMessage());
      return 2;
    } catch (IOException | RuntimeException e) {
      if (isBindFailure(e)) {
        System.err.println("respawn: cannot listen on " + config.bindHost() + ":" + config.port()
            + ": " + e.getMessage());
        return 2;
      }
      log.error("cannot start: {}", e.toString(), e);
      System.err.println("respawn: cannot start: " + e.getMessage());
      return 1;
    }
    log.info("serving RESP on {}:{} with {} transport, default durability {}",
        config.bindHost(), server.port(), server.usesEpoll() ? "epoll" : "nio",
        config.defaultDurability());
    System.out.println("respawn: serving RESP on " + config.bindHost() + ":" + server.port()
        + " (data " + config.dataDir() + ")");
    System.out.flush();
    server.shutdownRequested().thenRun(stop::countDown);
    stop.await();
    log.info(server.shutdownRequested().isDone() ? "SHUTDOWN command: stopping"
        : "signal received: stopping");
    server.close();
    log.info("stopped cleanly");
    return 0;
  }

  /** Netty's epoll transport reports bind errors as NativeIoException, NIO as BindException. */
  static boolean isBindFailure(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof BindException
          || (t.getMessage() != null && t.getMessage().contains("bind("))) {
        return true;
      }
    }
    return false;
  }

  static void setLogLevel(String level) {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).setLevel(Level.toLevel(level));
    }
  }
}
