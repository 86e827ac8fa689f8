package io.respawn.server.solo.monitor;

import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.KvStore;
import io.respawn.storage.LogEngine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link StandbyTarget} over a plain store directory: recovery opens the log engine on it, and
 * serving starts today's single-node server on the recovered engine with the standby's flags.
 */
public final class PlainStoreTarget implements StandbyTarget {
  private final ServerConfig template;

  /** {@code template}: the serving node's flags; its port and data directory are replaced. */
  public PlainStoreTarget(ServerConfig template) {
    this.template = template;
  }

  @Override
  public KvStore recover(Path storeDir) throws IOException {
    return LogEngine.open(new FileChannelDisk(storeDir), template.storage());
  }

  @Override
  public Serving serve(KvStore store, Path storeDir, int port)
      throws IOException, InterruptedException {
    ServerConfig c = template;
    ServerConfig config = new ServerConfig(c.bindHost(), port, storeDir, c.defaultDurability(),
        c.requirePass(), c.limits(), c.clientBuffers(), c.ioThreads(), c.storage(),
        c.memoryBytesMax());
    RespawnServer server = RespawnServer.start(config, dir -> store);
    return new Serving() {
      @Override
      public int port() {
        return server.port();
      }

      @Override
      public CompletableFuture<Void> stopRequested() {
        return server.shutdownRequested();
      }

      @Override
      public void close() {
        server.close();
      }
    };
  }
}
