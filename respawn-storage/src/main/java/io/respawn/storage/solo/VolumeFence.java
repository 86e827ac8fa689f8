package io.respawn.storage.solo;

import io.respawn.storage.FencedException;
import io.respawn.storage.WriteFence;
import java.io.IOException;

/**
 * The {@link WriteFence} of an engine serving one store of a {@link SoloVolume}: open while no
 * epoch after the one the store is served at exists. A {@code stat} that found no later epoch
 * vouches for {@link SoloVolume#FENCE_CHECK_VALID_NANOS} from the moment it started, so a busy
 * engine (two checks per combined write) makes at most one {@code stat} per millisecond;
 * promote waits longer than that after writing a fence before it looks at the parent again, so
 * any write acknowledged on a cached check is on the disk by then. Thread-safe.
 */
final class VolumeFence implements WriteFence {
  private final SoloVolume volume;
  private final String store;
  /** The epoch this store is served at; -1 until known (a child before its promotion). */
  private volatile long servingEpoch = -1;
  private volatile String nextEpochFile;
  private volatile String raised;
  /** System.nanoTime() until which the last stat that found no later epoch vouches. */
  private volatile long openUntilNanos;
  private volatile boolean vouched;

  VolumeFence(SoloVolume volume, String store, SoloVolume.State now) {
    this.volume = volume;
    this.store = store;
    if (now.store().equals(store)) {
      serveAt(now.epoch());
    }
  }

  private void serveAt(long epoch) {
    nextEpochFile = VolumeFormat.epochFile(epoch + 1);
    servingEpoch = epoch;
  }

  @Override
  public void check() throws IOException {
    String why = raised;
    if (why != null) {
      throw new FencedException(why);
    }
    if (servingEpoch < 0) {
      SoloVolume.State now = volume.state();
      if (!now.store().equals(store)) {
        throw new FencedException("store " + store + " is not the volume's current store (epoch "
            + now.epoch() + " serves " + now.store() + "): it takes no writes");
      }
      serveAt(now.epoch());
    }
    long now = System.nanoTime();
    if (vouched && now - openUntilNanos < 0) {
      return;
    }
    if (volume.disk().exists(nextEpochFile)) {
      why = "fenced: this process served store " + store + " at epoch " + servingEpoch
          + " and the volume moved to epoch " + (servingEpoch + 1)
          + " (another process took it over); it writes nothing more";
      raised = why;
      throw new FencedException(why);
    }
    openUntilNanos = now + SoloVolume.FENCE_CHECK_VALID_NANOS; // from before the stat began
    vouched = true;
  }
}
