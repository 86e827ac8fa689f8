package io.respawn.server.shard;

import io.respawn.core.SnapshotMeta;
import io.respawn.node.RuntimeListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The runtime's snapshot events on a shard member: logged, and the compaction point published
 * for INFO ({@link MemberImages.Stats}). Called on the node loop thread.
 */
final class SnapshotEvents implements RuntimeListener<Void> {
  private static final Logger log = LoggerFactory.getLogger(SnapshotEvents.class);
  private final MemberImages.Stats stats;

  SnapshotEvents(MemberImages.Stats stats) {
    this.stats = stats;
  }

  @Override
  public void snapshotKept(SnapshotMeta meta) {
    log.debug("snapshot image kept at index {} (term {})", meta.index(), meta.term());
  }

  @Override
  public void compacted(SnapshotMeta base) {
    stats.compactedThrough.set(base.index());
    log.debug("replica log compacted through index {}", base.index());
  }

  @Override
  public void snapshotInstalled(SnapshotMeta meta) {
    stats.compactedThrough.set(meta.index());
    log.info("snapshot installed at index {} (term {}): state replaced, replica log reset "
        + "behind it", meta.index(), meta.term());
  }
}
