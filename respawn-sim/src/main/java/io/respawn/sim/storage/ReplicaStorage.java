package io.respawn.sim.storage;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Where one simulated node keeps its hard state and log, with the crash behaviour of DESIGN §4.
 *
 * <p>{@link #write} is ordered but volatile; {@link #sync} makes every earlier write durable. A
 * {@link #crash} keeps everything synced and, of what was written after, some prefix of the
 * write history (the storage engine's guarantee: torn or partial batches are detected and
 * dropped). {@link #recover} returns what survived, in the form the core's constructor takes.
 */
public interface ReplicaStorage {

  /**
   * Stores hardState (if non-null) and entries: every stored entry with index at or above the
   * first new one is replaced, as the core's persistence contract says.
   */
  void write(HardState hardState, List<Entry> entries);

  /** Makes every earlier write durable. */
  void sync();

  /**
   * Simulates power loss: unsynced writes survive only as a random prefix. Returns true if the
   * crash lost at least one written batch (the crash state is older than the last write).
   */
  boolean crash(SplittableRandom random);

  /** The state a restarting node hands to its replica. */
  PersistentState recover();

  /** Term of the persisted entry at index (0 for index 0 or past the end). */
  long termAt(long index);
}
