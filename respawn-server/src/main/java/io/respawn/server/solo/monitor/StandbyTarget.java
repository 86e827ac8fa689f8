package io.respawn.server.solo.monitor;

import io.respawn.storage.KvStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * What a warm standby becomes when the monitor picks it: the serving node of a solo volume. Split
 * in the two steps the monitor drives separately, so that SpecREDS can recover on a child view
 * while the parent may still wake up, and only serve once collapse said the parent is clean.
 */
public interface StandbyTarget {

  /**
   * Opens the store in {@code storeDir}: replays its log and rebuilds the index (the recovery
   * whose length the failover pays). Blocks for as long as that takes; writes nothing the parent
   * could observe except what recovery itself repairs in {@code storeDir}.
   */
  KvStore recover(Path storeDir) throws IOException;

  /**
   * Closes a store {@link #recover} opened that will not be served (its speculation was
   * aborted), and forgets everything kept about it, so that a standby reused after an abort
   * holds nothing of it.
   */
  default void discard(KvStore store) throws IOException {
    store.close();
  }

  /**
   * Serves a store {@link #recover} opened, on {@code port} (0 = any). Returns once clients can
   * connect.
   */
  Serving serve(KvStore store, Path storeDir, int port) throws IOException, InterruptedException;

  /**
   * A store being served: the bound port, a future that completes when the node must stop
   * (SHUTDOWN, or fenced by a newer epoch), and how to stop it.
   */
  interface Serving extends AutoCloseable {
    int port();

    CompletableFuture<Void> stopRequested();

    /** Whether it stopped because the volume moved on (another node took over). */
    default boolean fenced() {
      return false;
    }

    @Override
    void close();
  }
}
