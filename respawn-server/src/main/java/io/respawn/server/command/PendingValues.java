package io.respawn.server.command;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Online recovery, as the command layer sees it (a shard member that took over as primary and
 * serves while it still pulls values from a backup; docs/recovery.md): which keys' values are not
 * here yet, and a way to ask for them now. A command that touches such a key is held, with every
 * later request of its client, until its values are here (see {@code Dispatcher}).
 *
 * <p>Contract: while this member serves, a key only ever stops being pending (a pulled value or a
 * write of this primary lands), never starts; so a command that found none of its keys pending
 * may run. {@link #any} and {@link #pending} are called on the command thread for every data
 * command and must be cheap; {@link #pull} never blocks.
 */
public interface PendingValues {

  /** Whether any key's value is still to be pulled (false in steady state: then nothing waits). */
  boolean any();

  /** Whether {@code key}'s value is still to be pulled. */
  boolean pending(byte[] key);

  /**
   * Asks for the values of {@code keys} now. The future completes (on any thread) once the
   * answer was applied, the pull timed out or this member stopped leading; the caller checks
   * {@link #pending} again.
   */
  CompletableFuture<Void> pull(List<byte[]> keys);
}
