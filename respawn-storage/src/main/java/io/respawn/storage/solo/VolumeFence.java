package io.respawn.storage.solo;

import io.respawn.storage.FencedException;
import io.respawn.storage.WriteFence;
import java.io.IOException;

/**
 * The {@link WriteFence} of an engine serving one store of a {@link SoloVolume}: open while no
 * epoch after the one the store is served at exists; one {@code stat} per check. Thread-safe.
 */
final class VolumeFence implements WriteFence {
  private final SoloVolume volume;
  private final String store;
  /** The epoch this store is served at; -1 until known (a child before its promotion). */
  private volatile long servingEpoch = -1;
  private volatile String nextEpochFile;
  private volatile String raised;

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
    if (volume.disk().exists(nextEpochFile)) {
      why = "fenced: this process served store " + store + " at epoch " + servingEpoch
          + " and the volume moved to epoch " + (servingEpoch + 1)
          + " (another process took it over); it writes nothing more";
      raised = why;
      throw new FencedException(why);
    }
  }
}
