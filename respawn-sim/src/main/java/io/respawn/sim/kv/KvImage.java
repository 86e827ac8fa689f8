package io.respawn.sim.kv;

import io.respawn.core.SnapshotMeta;
import io.respawn.node.snapshot.SnapshotImage;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * A {@link KvStateMachine} image, the body of the simulator's snapshots. Big-endian:
 *
 * <pre>
 *  | keyCount u32 | effectsThrough i64 | keyCount x ( flags u8 | tsTerm i64 | tsIndex i64 |
 *  value i64 ) |
 *  flags: bit 0 = the value is known (a witness's image, or the keys-only view, clears it for
 *  every key ever written; value is then 0)
 *  effectsThrough: the newest entry whose effect a key may hold (the image's index, or above it
 *  for a fuzzy image, {@link FuzzyCapture}); a restore replays the entries up to it idempotently
 * </pre>
 *
 * Immutable: built from a copy of the state.
 */
public final class KvImage implements SnapshotImage {
  static final int KEY_BYTES = 25;
  static final int HEADER_BYTES = 12;

  private final SnapshotMeta meta;
  private final boolean keysOnly;
  private final byte[] body;
  private final int crc;
  /**
   * Holds on the image, as a member counts them on its image files (respawn-server's ImageFile):
   * the store's own (the kept image) and each transfer's; at 0 the image is freed, and a read of
   * it then is a violation ({@link ReadOfReleased}).
   */
  private int holds = 1;

  KvImage(SnapshotMeta meta, boolean keysOnly, byte[] body) {
    this.meta = meta;
    this.keysOnly = keysOnly;
    this.body = body;
    CRC32C c = new CRC32C();
    c.update(body);
    this.crc = (int) c.getValue();
  }

  /** The image of {@code sm} as it is now, labelled {@code meta} (whose index it is at). */
  static KvImage of(SnapshotMeta meta, KvStateMachine sm, boolean keysOnly) {
    return of(meta, meta.index(), sm, keysOnly);
  }

  /**
   * The image of {@code sm} as it is now (each key as of some index from {@code meta}'s to
   * {@code effectsThrough}), labelled {@code meta}.
   */
  static KvImage of(SnapshotMeta meta, long effectsThrough, KvStateMachine sm, boolean keysOnly) {
    ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + sm.keyCount() * KEY_BYTES);
    b.putInt(sm.keyCount()).putLong(effectsThrough);
    for (int k = 0; k < sm.keyCount(); k++) {
      boolean written = sm.tsIndex(k) != 0;
      boolean known = sm.known(k) && !sm.pulled(k) && !(keysOnly && written);
      b.put((byte) (known ? 1 : 0)).putLong(sm.tsTerm(k)).putLong(sm.tsIndex(k))
          .putLong(known ? sm.value(k) : 0);
    }
    return new KvImage(meta, keysOnly, b.array());
  }

  /** Replaces {@code sm}'s state by the image {@code body} at {@code meta}'s index. */
  static void restore(SnapshotMeta meta, byte[] body, KvStateMachine sm) {
    ByteBuffer b = ByteBuffer.wrap(body);
    int n = b.getInt();
    long effectsThrough = b.getLong();
    if (n != sm.keyCount() || body.length != HEADER_BYTES + n * KEY_BYTES) {
      throw new IllegalArgumentException("image of " + n + " keys in " + body.length
          + " bytes for " + sm.keyCount() + " keys");
    }
    boolean[] known = new boolean[n];
    long[] value = new long[n];
    long[] tsTerm = new long[n];
    long[] tsIndex = new long[n];
    for (int k = 0; k < n; k++) {
      int flags = b.get();
      if ((flags & ~1) != 0) {
        throw new IllegalArgumentException("image key " + k + " flags " + flags);
      }
      known[k] = flags == 1;
      tsTerm[k] = b.getLong();
      tsIndex[k] = b.getLong();
      value[k] = b.getLong();
    }
    sm.restore(meta.index(), effectsThrough, known, value, tsTerm, tsIndex);
  }

  /** A state machine holding exactly this image (for checks). */
  public KvStateMachine toStateMachine(KvStateMachine.Listener listener) {
    KvStateMachine sm = new KvStateMachine(ByteBuffer.wrap(body).getInt(), listener);
    restore(meta, body, sm);
    return sm;
  }

  byte[] body() {
    return body;
  }

  @Override
  public long effectsThroughIndex() {
    return ByteBuffer.wrap(body).getLong(4);
  }

  @Override
  public SnapshotMeta meta() {
    return meta;
  }

  @Override
  public boolean keysOnly() {
    return keysOnly;
  }

  @Override
  public long bodyBytes() {
    return body.length;
  }

  @Override
  public int bodyCrc32c() {
    return crc;
  }

  @Override
  public void read(long offset, byte[] dst, int dstOff, int len) {
    if (holds <= 0) {
      throw new ReadOfReleased(this + " read after its last hold was released");
    }
    System.arraycopy(body, (int) offset, dst, dstOff, len);
  }

  @Override
  public boolean retain() {
    if (holds <= 0) {
      return false;
    }
    holds++;
    return true;
  }

  @Override
  public void release() {
    if (holds <= 0) {
      throw new ReadOfReleased(this + " released more often than held");
    }
    holds--;
  }

  /** A freed image read (or released) again: the simulator reports it as snapshot-read-released. */
  public static final class ReadOfReleased extends IllegalStateException {
    ReadOfReleased(String message) {
      super(message);
    }
  }

  @Override
  public String toString() {
    return "KvImage[" + meta + (keysOnly ? ", keys only" : "") + "]";
  }

  @Override
  public SnapshotImage keysOnlyView() {
    if (keysOnly) {
      return this;
    }
    KvStateMachine sm = toStateMachine((k, a, b, c, d) -> {});
    return of(meta, effectsThroughIndex(), sm, true);
  }
}
