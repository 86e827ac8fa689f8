package io.respawn.server.solo.monitor;

import io.respawn.server.DataDirLock;
import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.storage.FencedException;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.KvStore;
import io.respawn.storage.LogEngine;
import io.respawn.storage.WriteFence;
import io.respawn.storage.solo.SoloVolume;
import io.respawn.storage.solo.VolumeFormat;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link StandbyTarget} over the stores of solo volumes (a store directory's parent is its
 * volume): the serving node of {@code respawn solo}, fenced by the volume's epoch.
 *
 * <p>The engine is opened at RECOVER, possibly on a child view that is not the volume's store
 * yet, with a fence that lets everything through until SERVE: nothing writes to a recovered
 * store before then (clients cannot reach it; at most a compaction rewrites the child's own
 * files, which a dropped child loses with the rest). SERVE checks that the store is the volume's
 * current one (the monitor promoted it) and arms the real fence ({@link SoloVolume#fenceFor}):
 * from then on every write batch checks the epoch, and a watcher thread ({@code
 * respawn-fence-watch}) checks it every {@link #FENCE_CHECK_MILLIS} so an idle node notices too;
 * a fenced node stops. Like {@code respawn solo}, a serving standby holds its store's lock
 * ({@code <store>.lock} in the volume), so no second process serves the same store.
 */
public final class SoloStandbyTarget implements StandbyTarget {
  private static final Logger log = LoggerFactory.getLogger(SoloStandbyTarget.class);
  static final long FENCE_CHECK_MILLIS = 100;

  private final ServerConfig template;
  private final Map<KvStore, ArmedLater> fences = new ConcurrentHashMap<>();

  /** {@code template}: the serving node's flags; its port and data directory are replaced. */
  public SoloStandbyTarget(ServerConfig template) {
    this.template = template;
  }

  /** A fence that is open until armed with the volume's, then delegates. */
  private static final class ArmedLater implements WriteFence {
    private volatile WriteFence armed;

    @Override
    public void check() throws IOException {
      WriteFence f = armed;
      if (f != null) {
        f.check();
      }
    }
  }

  @Override
  public KvStore recover(Path storeDir) throws IOException {
    ArmedLater fence = new ArmedLater();
    LogEngine engine = LogEngine.open(new FileChannelDisk(storeDir), template.storage(), fence);
    fences.put(engine, fence);
    return engine;
  }

  @Override
  public void discard(KvStore store) throws IOException {
    fences.remove(store); // else the map would keep the whole recovered store reachable
    store.close();
  }

  @Override
  public Serving serve(KvStore store, Path storeDir, int port)
      throws IOException, InterruptedException {
    ArmedLater fence = fences.remove(store);
    if (fence == null) {
      throw new IllegalStateException("serve() of a store recover() did not open");
    }
    Path volumeDir = storeDir.toAbsolutePath().getParent();
    SoloVolume volume = SoloVolume.at(volumeDir);
    String name = storeDir.getFileName().toString();
    SoloVolume.State state = volume.state();
    if (!state.store().equals(name)) {
      volume.close();
      throw new IOException("store " + name + " is not the current store of volume " + volumeDir
          + " (epoch " + state.epoch() + " serves " + state.store() + ")");
    }
    DataDirLock lock;
    try {
      lock = DataDirLock.acquire(volumeDir, VolumeFormat.lockFile(name));
    } catch (IOException e) {
      volume.close();
      throw e;
    }
    CompletableFuture<Void> stop = new CompletableFuture<>();
    CompletableFuture<FencedException> fenced = new CompletableFuture<>();
    WriteFence volumeFence = volume.fenceFor(name);
    fence.armed = () -> {
      try {
        volumeFence.check();
      } catch (FencedException e) {
        fenced.complete(e);
        throw e;
      }
    };
    ServerConfig c = template;
    ServerConfig config = new ServerConfig(c.bindHost(), port, storeDir, c.defaultDurability(),
        c.requirePass(), c.limits(), c.clientBuffers(), c.ioThreads(), c.storage(),
        c.memoryBytesMax());
    RespawnServer server;
    try {
      server = RespawnServer.start(config, dir -> store);
    } catch (IOException | RuntimeException e) {
      lock.close();
      volume.close();
      throw e;
    }
    Thread watcher = new Thread(() -> {
      while (!stop.isDone()) {
        try {
          fence.check();
          Thread.sleep(FENCE_CHECK_MILLIS);
        } catch (FencedException e) {
          return;
        } catch (InterruptedException e) {
          return;
        } catch (IOException | RuntimeException e) {
          log.warn("fence check failed (the next write checks again): {}", e.toString());
          try {
            Thread.sleep(FENCE_CHECK_MILLIS);
          } catch (InterruptedException again) {
            return;
          }
        }
      }
    }, "respawn-fence-watch");
    watcher.setDaemon(true);
    watcher.start();
    fenced.thenAccept(e -> {
      log.warn("{}: stopping without writing anything more", e.getMessage());
      stop.complete(null);
    });
    server.shutdownRequested().thenRun(() -> stop.complete(null));
    log.info("serving store {} of volume {} at epoch {}", name, volumeDir, state.epoch());
    return new Serving() {
      @Override
      public int port() {
        return server.port();
      }

      @Override
      public CompletableFuture<Void> stopRequested() {
        return stop;
      }

      @Override
      public boolean fenced() {
        return fenced.isDone();
      }

      @Override
      public void close() {
        stop.complete(null);
        watcher.interrupt();
        server.close(); // a fenced engine's close writes nothing
        try {
          lock.close();
          volume.close();
        } catch (IOException e) {
          log.warn("closing the volume failed: {}", e.toString());
        }
      }
    };
  }
}
