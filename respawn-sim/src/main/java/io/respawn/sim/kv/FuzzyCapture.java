package io.respawn.sim.kv;

import io.respawn.core.SnapshotMeta;
import io.respawn.node.snapshot.SnapshotImage;

/**
 * A snapshot image captured the way the shard member captures one (docs/protocol.md §15,
 * "Capturing"): a walk over the keys while the node goes on applying entries. It is labelled S,
 * the applied index when it starts or lower (a member that keeps no values labels its images no
 * further than the value keepers' kept images), and copies one key per step; {@link KvStore} takes a step after
 * every entry it applies and whenever the runtime asks whether the image is ready, so entries
 * applied meanwhile reach the keys walked after them and not the others. When the last key is
 * copied the image is complete, with {@code effectsThrough} E = the index applied last (or, while
 * the state still replays the entries after a fuzzy image it was restored from, that image's
 * effects-through index, if higher: its keys may hold effects past the applied index): each key
 * as of some index in [S, E]. Replaying S+1..E over it ({@link KvStateMachine}'s idempotent
 * replay) gives exactly the state at E. The runtime keeps it only once E is durable on the shard.
 *
 * <p>Until complete, only {@link #meta()} and {@link #keysOnly()} may be asked. Owned by the
 * node's thread.
 */
final class FuzzyCapture implements SnapshotImage {

  private final SnapshotMeta meta;
  private final KvStateMachine copy;
  private final boolean[] known;
  private final long[] value;
  private final long[] tsTerm;
  private final long[] tsIndex;
  private int walked;
  private long effectsThrough;
  private KvImage image;

  FuzzyCapture(SnapshotMeta meta, int keyCount) {
    this.meta = meta;
    this.copy = new KvStateMachine(keyCount, (k, a, b, c, d) -> {});
    this.known = new boolean[keyCount];
    this.value = new long[keyCount];
    this.tsTerm = new long[keyCount];
    this.tsIndex = new long[keyCount];
    this.effectsThrough = meta.index();
  }

  /** Copies the next key of {@code sm} (applied through {@code sm.appliedIndex()}). */
  void step(KvStateMachine sm) {
    if (image != null) {
      return;
    }
    int k = walked++;
    known[k] = sm.known(k) && !sm.pulled(k); // a pulled value may be ahead of its timestamp
    value[k] = sm.value(k);
    tsTerm[k] = sm.tsTerm(k);
    tsIndex[k] = sm.tsIndex(k);
    // not just the applied index: a state restored from a fuzzy image holds, until its replay
    // passes that image's effects-through index, keys written after the applied index
    effectsThrough = Math.max(effectsThrough, sm.effectsThrough());
    if (walked == known.length) {
      copy.restore(meta.index(), effectsThrough, known, value, tsTerm, tsIndex);
      image = KvImage.of(meta, effectsThrough, copy, false);
    }
  }

  boolean complete() {
    return image != null;
  }

  /** The finished image. */
  KvImage image() {
    if (image == null) {
      throw new IllegalStateException("capture at " + meta + " walked " + walked + " of "
          + known.length + " keys");
    }
    return image;
  }

  @Override
  public SnapshotMeta meta() {
    return meta;
  }

  @Override
  public boolean keysOnly() {
    return false;
  }

  @Override
  public long effectsThroughIndex() {
    return image().effectsThroughIndex();
  }

  @Override
  public long bodyBytes() {
    return image().bodyBytes();
  }

  @Override
  public int bodyCrc32c() {
    return image().bodyCrc32c();
  }

  @Override
  public void read(long offset, byte[] dst, int dstOff, int len) {
    image().read(offset, dst, dstOff, len);
  }

  @Override
  public SnapshotImage keysOnlyView() {
    return image().keysOnlyView();
  }
}
