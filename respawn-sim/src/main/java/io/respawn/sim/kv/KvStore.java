package io.respawn.sim.kv;

import io.respawn.core.Entry;
import io.respawn.core.SnapshotMeta;
import io.respawn.node.StateMachineStore;
import io.respawn.node.recovery.RecoverableStore;
import io.respawn.node.recovery.ValuePull.PulledValue;
import io.respawn.node.snapshot.SnapshotImage;
import io.respawn.node.snapshot.SnapshotSink;
import io.respawn.sim.storage.SimStorage;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The simulator's {@link StateMachineStore}: the {@link KvStateMachine} behind the runtime's
 * port. A result the node cannot know (its value was elided) is {@code null}, as the port says.
 *
 * <p>Snapshots: an image is a {@link KvImage} of the state; the kept one lives in the node's
 * {@link SimStorage} (it survives every crash, replaced atomically) and a restarted node opens
 * its state machine from it ({@link #open}). Captures are fuzzy, as the shard member's are
 * ({@link FuzzyCapture}): the walk copies one key after each entry applied and each time the
 * runtime asks whether the image is ready, so the image says how far its effects reach ({@link
 * SnapshotImage#effectsThroughIndex}).
 *
 * <p>Value recovery ({@link RecoverableStore}, the port the server's state machine implements
 * too): a key is unknown while {@link KvStateMachine#known} says so; keys travel as their names
 * ({@link KvCommand#keyName}) and values as 8-byte big-endian longs ({@link #valueBytes}), as
 * the simulated nodes write them.
 */
public final class KvStore implements StateMachineStore<Long>, RecoverableStore {

  /** Hears about installs, before the state is replaced (for the simulator's checks). */
  public interface InstallListener {
    void installing(SnapshotMeta meta, long appliedBefore);
  }

  private final KvStateMachine sm;
  private final SimStorage storage;
  private final InstallListener installListener;
  /** The capture being walked, if any (abandoned when an install replaces the state). */
  private FuzzyCapture walking;

  public KvStore(KvStateMachine sm) {
    this(sm, null, (m, a) -> {});
  }

  /** A store whose snapshots are kept in {@code storage} (null: no snapshots). */
  public KvStore(KvStateMachine sm, SimStorage storage, InstallListener installListener) {
    this.sm = sm;
    this.storage = storage;
    this.installListener = installListener;
  }

  /** Opens the state machine from the kept image in {@code storage}, if any. */
  public static KvStore open(KvStateMachine sm, SimStorage storage, InstallListener listener) {
    if (storage.keptSnapshot() instanceof KvImage kept) {
      KvImage.restore(kept.meta(), kept.body(), sm);
    }
    return new KvStore(sm, storage, listener);
  }

  @Override
  public SnapshotImage captureSnapshot(SnapshotMeta meta) {
    if (storage == null) {
      return null;
    }
    if (meta.index() > sm.appliedIndex()) {
      throw new IllegalArgumentException("capture " + meta + " at applied " + sm.appliedIndex());
    }
    walking = new FuzzyCapture(meta, sm.keyCount());
    walking.step(sm);
    return walking;
  }

  @Override
  public boolean snapshotReady(SnapshotImage image) {
    if (image instanceof FuzzyCapture c) {
      if (c == walking) {
        c.step(sm);
      }
      return c.complete() || c != walking;
    }
    return true;
  }

  @Override
  public boolean snapshotFailed(SnapshotImage image) {
    return image instanceof FuzzyCapture c && !c.complete(); // an install abandoned its walk
  }

  @Override
  public void keepSnapshot(SnapshotImage image) {
    if (image instanceof FuzzyCapture c) {
      if (walking == c) {
        walking = null;
      }
      storage.keepSnapshot(c.image());
    } else {
      storage.keepSnapshot(image);
    }
  }

  @Override
  public SnapshotImage keptSnapshot() {
    return storage == null ? null : storage.keptSnapshot();
  }

  @Override
  public SnapshotSink stageSnapshot(SnapshotMeta meta, boolean keysOnly, long bodyBytes) {
    return new Staging(meta, keysOnly);
  }

  @Override
  public void installSnapshot(SnapshotMeta meta, SnapshotSink staged) {
    Staging s = (Staging) staged;
    if (!s.meta.equals(meta)) {
      throw new IllegalArgumentException("install " + meta + " from a staging of " + s.meta);
    }
    KvImage image = new KvImage(meta, s.keysOnly, s.bytes.toByteArray());
    installListener.installing(meta, sm.appliedIndex());
    walking = null; // the state it walks is replaced
    KvImage.restore(meta, image.body(), sm);
    storage.keepSnapshot(image);
  }

  /** Staged bytes in memory (the images are a few hundred bytes). */
  private static final class Staging implements SnapshotSink {
    final SnapshotMeta meta;
    final boolean keysOnly;
    final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    Staging(SnapshotMeta meta, boolean keysOnly) {
      this.meta = meta;
      this.keysOnly = keysOnly;
    }

    @Override
    public void write(byte[] src, int off, int len) {
      bytes.write(src, off, len);
    }

    @Override
    public long bytes() {
      return bytes.size();
    }

    @Override
    public void abort() {
      bytes.reset();
    }
  }

  public KvStateMachine stateMachine() {
    return sm;
  }

  @Override
  public long appliedIndex() {
    return sm.appliedIndex();
  }

  @Override
  public Long apply(Entry entry) {
    long r = sm.apply(entry);
    if (walking != null) {
      walking.step(sm);
    }
    return r == KvStateMachine.UNKNOWN_RESULT ? null : r;
  }

  // ---- value recovery ----

  /** Where {@link #unknownKeys} goes on walking (so keys a source cannot answer hide no others). */
  private int unknownCursor;

  @Override
  public long witnessFormIndex() {
    return sm.witnessFormIndex();
  }

  @Override
  public long unknownKeyCount() {
    long n = 0;
    for (int k = 0; k < sm.keyCount(); k++) {
      if (!sm.known(k)) {
        n++;
      }
    }
    return n;
  }

  @Override
  public boolean isUnknown(byte[] key) {
    return !sm.known(keyOf(key));
  }

  @Override
  public long newestUnknownIndex(List<byte[]> keys) {
    long newest = 0;
    for (byte[] name : keys) {
      int k = keyOf(name);
      if (!sm.known(k)) {
        newest = Math.max(newest, sm.tsIndex(k));
      }
    }
    return newest;
  }

  @Override
  public List<byte[]> unknownKeys(int max) {
    List<byte[]> out = new ArrayList<>();
    int n = sm.keyCount();
    for (int i = 0; i < n && out.size() < max; i++) {
      int k = (unknownCursor + i) % n;
      if (!sm.known(k)) {
        out.add(KvCommand.keyName(k));
        if (out.size() == max) {
          unknownCursor = (k + 1) % n;
        }
      }
    }
    return out;
  }

  @Override
  public List<PulledValue> installPulled(List<PulledValue> values, long sourceAppliedIndex) {
    List<PulledValue> installed = new ArrayList<>(values.size());
    for (PulledValue v : values) {
      if (sm.installPulled(keyOf(v.key()), v.found(), v.found() ? valueOf(v.value()) : 0,
          sourceAppliedIndex)) {
        installed.add(v);
      }
    }
    return installed;
  }

  @Override
  public PulledValue answerPull(byte[] key) {
    int k = keyOf(key);
    if (!sm.known(k)) {
      return null;
    }
    long v = sm.value(k);
    boolean found = v != io.respawn.sim.lin.Op.ABSENT;
    return new PulledValue(key, found, 0, found ? valueBytes(v) : null);
  }

  @Override
  public void finishDrain() {
    // keys become unknown only as elided entries are applied: nothing is left to move
  }

  @Override
  public void expectPulledValues(boolean begins) {
    // no memory to make ahead
  }

  @Override
  public boolean hasRoomWithoutFaulting(long bytes) {
    return true;
  }

  /** A value as the simulated nodes write it: 8 bytes, big-endian. */
  public static byte[] valueBytes(long v) {
    return ByteBuffer.allocate(Long.BYTES).putLong(v).array();
  }

  /** The value {@link #valueBytes} wrote. */
  public static long valueOf(byte[] bytes) {
    if (bytes.length != Long.BYTES) {
      throw new IllegalArgumentException("a value of " + bytes.length + " bytes");
    }
    return ByteBuffer.wrap(bytes).getLong();
  }

  /** The key index of a key name "k&lt;n&gt;" ({@link KvCommand#keyName}). */
  public static int keyOf(byte[] name) {
    return Integer.parseInt(new String(name, 1, name.length - 1, StandardCharsets.US_ASCII));
  }
}
