package io.respawn.storage;

import java.io.IOException;

/**
 * Whether this engine may still write to its store: the check a store on a shared volume makes
 * before every write batch, so that a process whose store has been taken over (promoted away by
 * {@link io.respawn.storage.solo.SoloVolume}) writes nothing more.
 *
 * <p>Contract. {@link #check} returns normally while the engine may write, and throws {@link
 * FencedException} once it may not; once it has thrown it throws on every later call. The engine
 * calls it on its write path (under its write lock) twice per combined write of one or more
 * batches: before writing them, and after writing them but before acknowledging any (so a batch
 * acknowledged by a fenced store was on the disk before the fence rose); before compaction creates, renames or deletes a file, and before close writes its
 * clean-shutdown mark; it must be cheap (one {@code stat} of a file is the budget). The window a
 * fence leaves: a batch whose first check passed before the fence rose may still reach the disk
 * after it; the second check then fails it, so it is never acknowledged (see {@link
 * io.respawn.storage.solo.SoloVolume} for how a promotion copes with such a write). Any other exception from {@link #check} is treated as a disk error.
 */
@FunctionalInterface
public interface WriteFence {
  /** No fence: a store that owns its directory alone. */
  WriteFence NONE = () -> { };

  /** Returns if writes may go on; throws {@link FencedException} if they may not. */
  void check() throws IOException;
}
