package io.respawn.server.cli;

import io.respawn.server.DataDirInUseException;
import io.respawn.server.DataDirLock;
import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.storage.FencedException;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.LogEngine;
import io.respawn.storage.WriteFence;
import io.respawn.storage.solo.SoloVolume;
import io.respawn.storage.solo.VolumeFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import sun.misc.Signal;

/**
 * {@code respawn solo --data VOLUME}: the serving node of solo mode (docs/solo.md). Runs today's
 * single-node server on the volume's current store ({@link SoloVolume}) with the engine's write
 * fence: once the volume moves to a later epoch (a monitor promoted a standby), every write is
 * refused with a READONLY error, nothing more is written to the volume, and the process exits
 * with {@value #EXIT_FENCED}. A watcher thread ({@code respawn-fence-watch}) also checks the fence
 * every {@code --fence-check-ms}, so an idle node notices too. Otherwise it behaves as {@code
 * respawn server}: exit 0 after SIGTERM, SIGINT or SHUTDOWN, 2 for bad flags or a store in use, 1
 * if it cannot start. Prints {@code respawn: serving RESP on HOST:PORT (data DIR, store S, epoch
 * E)} when ready.
 */
@Command(name = "solo", mixinStandardHelpOptions = true,
    description = "Serve the current store of a solo volume (--data), fenced: the process exits "
        + "(code 3) once a standby is promoted on the volume. See docs/solo.md.")
public final class SoloCommand implements Callable<Integer> {
  private static final Logger log = LoggerFactory.getLogger(SoloCommand.class);
  /** Exit code of a node that found itself fenced. */
  public static final int EXIT_FENCED = 3;

  @Mixin ServerOptions options = new ServerOptions();

  @Option(names = "--fence-check-ms", defaultValue = "100",
      description = "How often an idle node checks whether it was fenced, in ms (writes check "
          + "every batch regardless); 1 to 10000 (default: ${DEFAULT-VALUE}).")
  long fenceCheckMillis;

  @Spec CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    ServerConfig config = options.toConfig(spec);
    if (fenceCheckMillis < 1 || fenceCheckMillis > 10_000) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--fence-check-ms must be between 1 and 10000, got " + fenceCheckMillis);
    }
    ServerCommand.setLogLevel(options.logLevel);
    Path volumeDir = config.dataDir();
    try {
      // `respawn server` on this directory would open the first store without the fence.
      DataDirLock.acquire(volumeDir).close();
    } catch (DataDirInUseException e) {
      System.err.println("respawn: " + e.getMessage());
      return 2;
    }
    SoloVolume volume = SoloVolume.at(volumeDir);
    SoloVolume.State state = volume.state();
    Path storeDir = volume.disk().path(state.store());
    DataDirLock lock;
    try {
      lock = DataDirLock.acquire(volumeDir, VolumeFormat.lockFile(state.store()));
    } catch (DataDirInUseException e) {
      System.err.println("respawn: store " + state.store() + " of volume " + volumeDir
          + " is served by another process: " + e.getMessage());
      volume.close();
      return 2;
    }
    CompletableFuture<FencedException> fenced = new CompletableFuture<>();
    WriteFence volumeFence = volume.fenceFor(state.store());
    WriteFence fence = () -> {
      try {
        volumeFence.check();
      } catch (FencedException e) {
        fenced.complete(e);
        throw e;
      }
    };
    CountDownLatch stop = new CountDownLatch(1);
    Signal.handle(new Signal("TERM"), s -> stop.countDown());
    Signal.handle(new Signal("INT"), s -> stop.countDown());
    RespawnServer server;
    try {
      server = RespawnServer.start(config,
          dir -> LogEngine.open(new FileChannelDisk(storeDir), config.storage(), fence));
    } catch (IOException | RuntimeException e) {
      lock.close();
      volume.close();
      if (ServerCommand.isBindFailure(e)) {
        System.err.println("respawn: cannot listen on " + config.bindHost() + ":" + config.port()
            + ": " + e.getMessage());
        return 2;
      }
      log.error("cannot start: {}", e.toString(), e);
      System.err.println("respawn: cannot start: " + e.getMessage());
      return 1;
    }
    Thread watcher = new Thread(() -> {
      while (!fenced.isDone() && stop.getCount() > 0) {
        try {
          fence.check();
          Thread.sleep(fenceCheckMillis);
        } catch (FencedException e) {
          return; // fenced completed by the check
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          log.warn("fence check failed (the next write checks again): {}", e.toString());
          try {
            Thread.sleep(fenceCheckMillis);
          } catch (InterruptedException again) {
            return;
          }
        }
      }
    }, "respawn-fence-watch");
    watcher.setDaemon(true);
    watcher.start();
    fenced.thenRun(stop::countDown);
    server.shutdownRequested().thenRun(stop::countDown);
    log.info("solo: serving store {} of volume {} at epoch {}", state.store(), volumeDir,
        state.epoch());
    System.out.println("respawn: serving RESP on " + config.bindHost() + ":" + server.port()
        + " (data " + volumeDir + ", store " + state.store() + ", epoch " + state.epoch() + ")");
    System.out.flush();
    stop.await();
    int exit = 0;
    if (fenced.isDone()) {
      String why = fenced.getNow(null).getMessage();
      log.warn("{}: stopping without writing anything more", why);
      System.err.println("respawn: " + why);
      exit = EXIT_FENCED;
    } else {
      log.info(server.shutdownRequested().isDone() ? "SHUTDOWN command: stopping"
          : "signal received: stopping");
    }
    watcher.interrupt();
    server.close(); // a fenced engine's close writes nothing (it checks the fence first)
    lock.close();
    volume.close();
    if (exit == 0 && fenced.isDone()) {
      exit = EXIT_FENCED; // fenced while stopping: the close wrote nothing
    }
    log.info(exit == 0 ? "stopped cleanly" : "stopped: fenced");
    watcher.join(TimeUnit.SECONDS.toMillis(1));
    return exit;
  }
}
