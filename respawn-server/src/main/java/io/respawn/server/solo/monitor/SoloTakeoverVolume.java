package io.respawn.server.solo.monitor;

import io.respawn.storage.solo.ChildView;
import io.respawn.storage.solo.SoloVolume;
import java.io.IOException;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The monitor's view of a solo volume ({@link SoloVolume}): super and collapse for SpecREDS, and
 * the fence for REDS and the oracle.
 *
 * <p>The volume's only fence is its epoch, which rises when a child is promoted. So a plain
 * takeover also goes through a child: super, then promote at once (the node is believed dead, so
 * its store is clean), and the standby recovers the promoted child. The cost over recovering the
 * parent in place is super's copy of the active segment (hard links for the rest), a few
 * milliseconds to a fraction of a second. If the node wrote after all (it was alive when the
 * timeout fired), promote refuses or fences it without promoting; the next super then finds it
 * fenced and clean. After {@link #FENCE_ATTEMPTS_MAX} refusals the node is evidently alive and
 * writing: the takeover is given up.
 */
public final class SoloTakeoverVolume implements TakeoverVolume {
  private static final Logger log = LoggerFactory.getLogger(SoloTakeoverVolume.class);
  static final int FENCE_ATTEMPTS_MAX = 5;

  private final SoloVolume volume;

  public SoloTakeoverVolume(SoloVolume volume) {
    this.volume = volume;
  }

  @Override
  public Path currentStore() throws IOException {
    return volume.currentStore();
  }

  @Override
  public Path fenceForTakeover(ProcessHandle writer) throws IOException {
    for (int attempt = 1; attempt <= FENCE_ATTEMPTS_MAX; attempt++) {
      ChildView child = volume.superView();
      ChildView.Promotion p = child.promote();
      if (p == ChildView.Promotion.PROMOTED) {
        return child.dir();
      }
      log.warn("fencing for a takeover: the node wrote after it was declared down ({}), attempt"
          + " {} of {}", p, attempt, FENCE_ATTEMPTS_MAX);
    }
    throw new IOException("the serving node kept writing through " + FENCE_ATTEMPTS_MAX
        + " attempts to fence it: it is alive; takeover given up");
  }

  @Override
  public Speculation superView() throws IOException {
    ChildView child = volume.superView();
    return new Speculation() {
      @Override
      public Path dir() {
        return child.dir();
      }

      @Override
      public boolean parentDirty() throws IOException {
        return child.collapse() == ChildView.Collapse.DIRTY;
      }

      @Override
      public boolean promote() throws IOException {
        ChildView.Promotion p = child.promote();
        if (p != ChildView.Promotion.PROMOTED) {
          log.info("promotion refused: {}", p);
        }
        return p == ChildView.Promotion.PROMOTED;
      }

      @Override
      public void abort() throws IOException {
        child.abort();
      }
    };
  }
}
