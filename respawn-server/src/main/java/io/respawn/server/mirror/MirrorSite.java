package io.respawn.server.mirror;

import io.respawn.storage.KvStore;

/**
 * This node's part in mirroring, wired into the server at start: a primary site ships its
 * committed batches ({@link ShippingSite}), a mirror applies them ({@link ReceivingSite}).
 */
public interface MirrorSite extends MirrorControl, AutoCloseable {

  /**
   * Called once the engine is open, before any command runs: returns the store the command layer
   * must use (a primary's ships every committed batch) and starts the link.
   */
  KvStore attach(KvStore engine) throws InterruptedException;

  /** Stops the link (before the engine closes). */
  @Override
  void close();
}
