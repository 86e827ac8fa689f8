package io.respawn.server.mirror;

import java.util.concurrent.CompletableFuture;

/**
 * What the command layer sees of this node's mirror role ({@code Dispatcher.enableMirror}):
 * the connections' default acknowledgement, whether client writes are refused (a mirror before
 * promotion), and the operator commands. Called on the command thread; the answers come back
 * from the link's thread as futures.
 */
public interface MirrorControl {

  /** The acknowledgement mode of a new connection ({@code --mirror-ack}). */
  MirrorAck defaultAck();

  /** Client writes are refused: this node is a mirror that has not been promoted. */
  boolean refusesWrites();

  /** {@code RESPAWN MIRROR STATUS}: {@code name:value} lines. */
  CompletableFuture<String> status();

  /**
   * {@code RESPAWN MIRROR PROMOTE}: a mirror stops applying and starts serving writes; completes
   * with a one-line report of the last applied position, or fails with the reason it cannot.
   */
  CompletableFuture<String> promote();
}
