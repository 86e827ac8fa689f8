package io.respawn.storage.solo;

import io.respawn.storage.Disk;
import io.respawn.storage.LogFormat;
import io.respawn.storage.StorageException;
import io.respawn.storage.WriteFence;
import io.respawn.storage.solo.VolumeFormat.EpochRecord;
import io.respawn.storage.solo.VolumeFormat.FileState;
import io.respawn.storage.solo.VolumeFormat.SuperRecord;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;
import java.util.random.RandomGenerator;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node store on a durable volume, with the two primitives of speculative failover
 * (DESIGN.md §4, §7): {@link #superView()} makes a child view of the serving store that a standby
 * recovers while the serving process may still be alive; the child's {@link ChildView#collapse()}
 * says whether the serving process (the parent) wrote since; {@link ChildView#promote()} makes the
 * child the volume's store and fences the parent, {@link ChildView#abort()} drops the child.
 *
 * <p>Layout of the volume directory (the {@code --data} directory of {@code respawn solo}):
 *
 * <pre>
 * volume/
 *   store/                      the first store: LogEngine segments (the directory `respawn
 *                               server --data volume` uses, so a single-node data directory is a
 *                               volume as it is)
 *   store-9f3c0a2b1e4d5c6f/     a child made by super: sealed segments hard-linked from the
 *                               parent, the active segment copied; a store like any other
 *   epoch-00000000000000000000  epoch record: epoch 0 serves "store"        (VolumeFormat)
 *   epoch-00000000000000000001  epoch 1 serves "store" (the fence of a promotion)
 *   epoch-00000000000000000002  epoch 2 serves "store-9f3c..." (the promotion itself)
 *   super-store-9f3c0a2b1e4d5c6f  the parent as super saw it (files, lengths, tail checksum)
 *   store.lock, store-9f3c....lock  held (flock) by the process that serves that store
 * </pre>
 *
 * <p>The volume's state is its names alone: the <b>current store</b> is the one the highest
 * epoch record names, and the <b>fence epoch</b> is that epoch. A process serving a store at
 * epoch E is fenced as soon as {@code epoch-(E+1)} exists ({@link #fenceFor}); every record is
 * written to a temp file, flushed and renamed, so a crash at any point leaves either the old
 * state or the new one, plus leftovers (stores no epoch names, super records, temp files) that the
 * next {@link #superView()} deletes ({@link #dropLeftovers()}). Epoch records are never deleted:
 * a stalled process at any older epoch must still find the one after its own.
 *
 * <p><b>Dirty bit, without the parent's help.</b> Super records the parent's segment files with
 * their lengths and the checksum of the active segment as copied. The parent is dirty if any of
 * that differs now: a write to the active segment changes its bytes (even inside the zeros the
 * engine keeps written ahead of the log; writing more of those zeros, which the engine's flusher
 * does shortly after writes and checks the fence for as batches are, changes its length), a new
 * segment changes the list,
 * a compaction renames and deletes files, a clean stop trims the active segment. Collapse reads
 * the parent's active segment (at most segmentBytesMax bytes) to compare the checksum. Stale
 * files (compaction temp files, the disk reserve, locks) are not compared. The volume must show a
 * write completed by one process to a read by another at once (true of a local filesystem, and of
 * a block volume attached to one machine).
 *
 * <p><b>Promotion and the window it leaves.</b> {@link ChildView#promote()} (1) checks the parent
 * is clean, (2) writes epoch E+1 naming the parent's store — the fence: from here the parent's
 * engine refuses every batch (it checks {@code epoch-(E+1)} before writing a batch and again
 * before acknowledging it, see {@link WriteFence}), (3) waits {@value #FENCE_SETTLE_MILLIS} ms
 * and checks the parent again, (4) writes epoch E+2 naming the child. A check that found no fence
 * vouches for at most {@link #FENCE_CHECK_VALID_NANOS} (1 ms) from when it began, so any write
 * the parent acknowledged was on the disk before the fence plus 1 ms, so before (3), which sees
 * it: if (3) finds the parent dirty, the child is missing
 * acknowledged writes and is dropped ({@link ChildView.Promotion#FENCED_PARENT_WROTE}: the parent
 * stays the current store, fenced; super again to take over from it). The window: a batch whose
 * first check passed just before the fence may still reach the parent's disk after (3); it was
 * never acknowledged (its second check fails), and it is lost with the old store, as an
 * unacknowledged write may be lost in a crash; so may a chunk of zeros ahead of the log (the
 * same window), which makes (3) find the parent dirty although it took no write. Nothing else a
 * fenced engine does writes to the volume (compaction and close check the fence too).
 *
 * <p>Safety of the shared files: a child's engine may delete a shared segment (compaction,
 * recovery of a superseded file: only its own name goes), but must not change one in place.
 * LogEngine writes only segments it creates and truncates only the last, which super copies; but
 * recovery with {@code --on-corruption truncate} could truncate a damaged shared segment, which
 * would truncate the parent's too: open a child with the default ({@code refuse}).
 *
 * <p>One writer: the process that supers, promotes and aborts (the monitor) is the only one
 * changing the volume's records; there is at most one child at a time. Methods are synchronized.
 */
public final class SoloVolume implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(SoloVolume.class);
  private static final int COPY_CHUNK_BYTES = 1 << 20;
  /**
   * How long a fence check that found the store open vouches for it ({@link #fenceFor}); promote
   * waits {@link #FENCE_SETTLE_MILLIS} after writing a fence, longer than this, before it checks
   * the parent again.
   */
  public static final long FENCE_CHECK_VALID_NANOS = 1_000_000;
  static final long FENCE_SETTLE_MILLIS = 3;
  /** Supers a takeover tries before it gives up on a fenced store that keeps changing. */
  static final int TAKEOVER_SUPERS_MAX = 8;

  /** Deliberately broken behaviours, for showing that the crash tests catch them. */
  enum Variant {
    CORRECT,
    /** Super does not flush the child's copy of the active segment. */
    UNFLUSHED_TAIL_COPY,
    /** Promote does not check the parent again after fencing it. */
    NO_CHECK_AFTER_FENCE
  }

  private final VolumeDisk disk;
  private final RandomGenerator ids;
  private final Variant variant;

  SoloVolume(VolumeDisk disk, RandomGenerator ids, Variant variant) {
    this.disk = Objects.requireNonNull(disk);
    this.ids = Objects.requireNonNull(ids);
    this.variant = variant;
  }

  /**
   * Opens the volume in this directory, creating it (with {@link VolumeFormat#FIRST_STORE} at
   * epoch 0) if it has no epoch record yet. A directory that {@code respawn server} used keeps its
   * data: its {@code store/} becomes the first store.
   */
  public static SoloVolume at(Path volumeDir) throws IOException {
    return on(new FileVolumeDisk(volumeDir), new SecureRandom());
  }

  /** Opens the volume on any {@link VolumeDisk} (tests, simulator), naming children with ids. */
  public static SoloVolume on(VolumeDisk disk, RandomGenerator ids) throws IOException {
    return on(disk, ids, Variant.CORRECT);
  }

  static SoloVolume on(VolumeDisk disk, RandomGenerator ids, Variant variant) throws IOException {
    SoloVolume volume = new SoloVolume(disk, ids, variant);
    volume.createIfNew();
    return volume;
  }

  /** The volume's current state: its epoch and the store that epoch serves. */
  public record State(long epoch, String store) {}

  private synchronized void createIfNew() throws IOException {
    if (readState() != null) {
      return;
    }
    disk.store(VolumeFormat.FIRST_STORE).close();
    try {
      writeEpoch(new EpochRecord(0, VolumeFormat.FIRST_STORE));
    } catch (FileAlreadyExistsException e) {
      // another process created it first: fine
    }
    log.info("created solo volume: epoch 0 serves store {}", VolumeFormat.FIRST_STORE);
  }

  /** The epoch and current store, read from the volume now. */
  public synchronized State state() throws IOException {
    State s = readState();
    if (s == null) {
      throw new StorageException("not a solo volume: no epoch record in " + disk.path("x")
          .getParent());
    }
    return s;
  }

  /** The directory of the current store (the one a standby opens to serve the volume). */
  public Path currentStore() throws IOException {
    return disk.path(state().store());
  }

  /** The current epoch: a process serving at a lower one is fenced. */
  public long fenceEpoch() throws IOException {
    return state().epoch();
  }

  /** The port, for opening stores on it (tests and the simulator open engines through it). */
  public VolumeDisk disk() {
    return disk;
  }

  /**
   * The fence an engine serving {@code store} checks before every write batch: open when the
   * store is the current one, raised for good once a later epoch exists. If the store is not
   * current when the first check runs (a child before its promotion), that check fails. The
   * serving epoch is read now if the store is current, so a promotion between this call and the
   * engine's first write fences it.
   */
  public WriteFence fenceFor(String store) throws IOException {
    return new VolumeFence(this, store, state());
  }

  /**
   * Makes a child view of the current store: a new store directory holding a hard link to every
   * sealed segment and a copy of the active one (flushed), then the super record. Deletes the
   * leftovers of earlier supers first, so at most one child exists. The parent may go on writing
   * meanwhile: whatever it writes after listing its files makes it dirty. Crash-safe: until the
   * super record exists the child directory is a leftover.
   */
  public synchronized ChildView superView() throws IOException {
    State state = state();
    dropLeftovers(state);
    String child = VolumeFormat.STORE_PREFIX + HexFormat.of().toHexDigits(ids.nextLong());
    List<FileState> files = new ArrayList<>();
    int tailCrc = 0;
    try (Disk parent = disk.store(state.store()); Disk target = disk.store(child)) {
      List<String> names = new ArrayList<>();
      LogFormat.SegmentId last = null;
      for (String name : parent.list()) {
        if (VolumeFormat.isStoreData(name)) {
          names.add(name);
          LogFormat.SegmentId id = LogFormat.parseSegmentName(name);
          if (id != null && (last == null || id.compareTo(last) > 0)) {
            last = id;
          }
        }
      }
      Collections.sort(names);
      String tail = last == null ? null : last.fileName();
      for (String name : names) {
        if (name.equals(tail) || name.equals(LogFormat.CLEAN_SHUTDOWN_FILE)) {
          long[] copied = copy(parent, target, name);
          if (name.equals(tail)) {
            tailCrc = (int) copied[1];
          }
          files.add(new FileState(name, copied[0], name.equals(tail)));
        } else {
          long bytes;
          try {
            bytes = parent.size(name);
            disk.link(state.store(), name, child);
          } catch (NoSuchFileException e) {
            bytes = -1; // compacted away meanwhile: the parent is live, and collapse will say so
          }
          files.add(new FileState(name, bytes, false));
        }
      }
    }
    SuperRecord record = new SuperRecord(state.epoch(), state.store(), child, tailCrc, files);
    writeRecord(VolumeFormat.superFile(child), VolumeFormat.encodeSuper(record));
    log.info("super: child {} of store {} at epoch {} ({} files, active segment {} bytes)",
        child, state.store(), state.epoch(), files.size(),
        record.tail() == null ? 0 : record.tail().bytes());
    return new ChildView(this, record);
  }

  /**
   * Copies a file whole (to its end as it is while copying) and flushes the copy; returns {bytes,
   * crc32c} of what was copied. A missing source copies nothing ({-1, 0}).
   */
  private long[] copy(Disk from, Disk to, String name) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(COPY_CHUNK_BYTES);
    CRC32C crc = new CRC32C();
    long at = 0;
    to.create(name);
    try {
      while (true) {
        buffer.clear();
        int n = from.read(name, at, buffer);
        if (n < 0) {
          break;
        }
        buffer.flip();
        crc.update(buffer.array(), 0, n);
        to.write(name, at, buffer);
        at += n;
      }
    } catch (NoSuchFileException e) {
      return new long[] {-1, 0};
    }
    if (variant != Variant.UNFLUSHED_TAIL_COPY) {
      to.flush(name);
    }
    return new long[] {at, crc.getValue()};
  }

  /**
   * The dirty bit: whether the parent's store differs from what super recorded (file list,
   * lengths, the active segment's checksum). Reads the parent's active segment whole.
   */
  boolean parentChanged(SuperRecord record) throws IOException {
    try (Disk parent = disk.store(record.parent())) {
      List<String> names = new ArrayList<>();
      for (String name : parent.list()) {
        if (VolumeFormat.isStoreData(name)) {
          names.add(name);
        }
      }
      Collections.sort(names);
      List<FileState> recorded = record.files();
      if (names.size() != recorded.size()) {
        return true;
      }
      for (int i = 0; i < names.size(); i++) {
        FileState f = recorded.get(i);
        if (!names.get(i).equals(f.name()) || parent.size(f.name()) != f.bytes()) {
          return true;
        }
      }
      FileState tail = record.tail();
      return tail != null && crcOf(parent, tail.name(), tail.bytes()) != record.tailCrc();
    } catch (NoSuchFileException e) {
      return true; // a file vanished while we looked
    }
  }

  private static int crcOf(Disk disk, String name, long bytes) throws IOException {
    ByteBuffer buffer = ByteBuffer.allocate(COPY_CHUNK_BYTES);
    CRC32C crc = new CRC32C();
    long at = 0;
    while (at < bytes) {
      buffer.clear();
      buffer.limit((int) Math.min(buffer.capacity(), bytes - at));
      int n = disk.read(name, at, buffer);
      if (n < 0) {
        break;
      }
      crc.update(buffer.array(), 0, n);
      at += n;
    }
    return (int) crc.getValue();
  }

  /**
   * A plain takeover (REDS: the monitor decided the serving process is gone): fences whoever
   * serves the current store, whatever it is doing, and makes a child of that store the current
   * one; returns the new current store's directory, for a standby to recover. Writes epoch E+1
   * naming the current store (the fence: from here the old process acknowledges nothing), then
   * supers and promotes. A batch the fenced process had in flight may still land after the super
   * (never acknowledged) and make the child dirty; then it supers again, at most {@value
   * #TAKEOVER_SUPERS_MAX} times. The child shares the sealed segments and copies the active one,
   * so the standby never opens a directory the old process may still have open. Crash-safe: each
   * step is a super or a promotion.
   *
   * @throws StorageException if the fenced store kept changing (a writer without the fence?)
   */
  public synchronized Path takeOver() throws IOException {
    State state = state();
    writeEpoch(new EpochRecord(state.epoch() + 1, state.store()));
    settleAfterFence();
    log.info("takeover: fenced store {} at epoch {}", state.store(), state.epoch() + 1);
    for (int attempt = 1; attempt <= TAKEOVER_SUPERS_MAX; attempt++) {
      ChildView child = superView();
      if (child.promote() == ChildView.Promotion.PROMOTED) {
        return child.dir();
      }
    }
    throw new StorageException("takeover of store " + state.store() + ": it kept changing after "
        + "its fence, over " + TAKEOVER_SUPERS_MAX + " supers; is a process writing it without "
        + "the fence (respawn server instead of respawn solo)?");
  }

  /** Collapse: see {@link ChildView#collapse()}. */
  synchronized ChildView.Collapse collapse(SuperRecord record) throws IOException {
    requireSuperRecord(record);
    State state = state();
    if (state.epoch() != record.epoch() && !promotedTo(state, record)) {
      return ChildView.Collapse.DIRTY; // the volume moved on: the child is stale
    }
    return parentChanged(record) ? ChildView.Collapse.DIRTY : ChildView.Collapse.CLEAN;
  }

  private static boolean promotedTo(State state, SuperRecord record) {
    return state.epoch() == record.epoch() + 2 && state.store().equals(record.child());
  }

  /** Promote: see {@link ChildView#promote()}. */
  synchronized ChildView.Promotion promote(SuperRecord record) throws IOException {
    requireSuperRecord(record);
    State state = state();
    if (state.epoch() != record.epoch() || !state.store().equals(record.parent())) {
      throw new IllegalStateException("cannot promote " + record.child() + ": the volume moved "
          + "from epoch " + record.epoch() + " (store " + record.parent() + ") to epoch "
          + state.epoch() + " (store " + state.store() + ") since super");
    }
    if (parentChanged(record)) {
      abort(record);
      log.info("promote of {}: the parent wrote since super; child dropped, nothing fenced",
          record.child());
      return ChildView.Promotion.ABORTED_PARENT_WROTE;
    }
    long fence = record.epoch() + 1;
    writeEpoch(new EpochRecord(fence, record.parent()));
    settleAfterFence();
    if (variant != Variant.NO_CHECK_AFTER_FENCE && parentChanged(record)) {
      abort(record);
      log.warn("promote of {}: the parent wrote between the check and the fence (epoch {}); it is "
          + "fenced and stays the current store; super again to take over", record.child(), fence);
      return ChildView.Promotion.FENCED_PARENT_WROTE;
    }
    writeEpoch(new EpochRecord(fence + 1, record.child()));
    log.info("promoted {} at epoch {}; store {} fenced", record.child(), fence + 1,
        record.parent());
    return ChildView.Promotion.PROMOTED;
  }

  /**
   * Waits until every fence check that found the store open before the fence has stopped
   * vouching ({@link #FENCE_CHECK_VALID_NANOS}): a write acknowledged on such a check was on the
   * disk before the check's time ran out, so before the check after this wait. Assumes the
   * serving process's clock runs at the rate of ours (one machine, or any sane clocks: the margin
   * is 2 ms).
   */
  private static void settleAfterFence() throws IOException {
    try {
      Thread.sleep(FENCE_SETTLE_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted after writing a fence");
    }
  }

  /** Abort: see {@link ChildView#abort()}. Deletes the record first, then the directory. */
  synchronized void abort(SuperRecord record) throws IOException {
    State state = state();
    if (state.store().equals(record.child())) {
      throw new IllegalStateException("cannot abort " + record.child() + ": it is the current store");
    }
    deleteIfPresent(disk.root(), VolumeFormat.superFile(record.child()));
    disk.deleteStore(record.child());
    deleteIfPresent(disk.root(), VolumeFormat.lockFile(record.child()));
  }

  private void requireSuperRecord(SuperRecord record) throws IOException {
    if (!disk.exists(VolumeFormat.superFile(record.child()))) {
      throw new IllegalStateException("child " + record.child() + " was aborted or dropped");
    }
  }

  /**
   * Deletes what no epoch names: stores other than the current one (old parents, children of
   * earlier supers, a crashed super's partial child), super records, temp files, and the lock
   * files of deleted stores. {@link #superView()} calls it first. Safe while a fenced process
   * still runs on an old store: it writes nothing more, and its open files stay readable to it.
   */
  public synchronized void dropLeftovers() throws IOException {
    dropLeftovers(state());
  }

  private void dropLeftovers(State state) throws IOException {
    for (String store : disk.stores()) {
      if (!store.equals(state.store())) {
        log.info("dropping leftover store {}", store);
        disk.deleteStore(store);
      }
    }
    for (String name : disk.root().list()) {
      boolean leftover = name.startsWith(VolumeFormat.SUPER_PREFIX)
          || name.endsWith(LogFormat.TEMP_SUFFIX)
          || name.endsWith(VolumeFormat.LOCK_SUFFIX)
              && !name.equals(VolumeFormat.lockFile(state.store()));
      if (leftover) {
        deleteIfPresent(disk.root(), name);
      }
    }
  }

  // ------------------------------------------------------------------ records

  /** The highest valid epoch record, or null if there is none. */
  private State readState() throws IOException {
    long highest = -1;
    for (String name : disk.root().list()) {
      highest = Math.max(highest, VolumeFormat.parseEpochFile(name));
    }
    if (highest < 0) {
      return null;
    }
    String file = VolumeFormat.epochFile(highest);
    byte[] bytes = readSmall(disk.root(), file);
    EpochRecord record = VolumeFormat.decodeEpoch(file, bytes, bytes.length);
    return new State(record.epoch(), record.store());
  }

  private void writeEpoch(EpochRecord record) throws IOException {
    writeRecord(VolumeFormat.epochFile(record.epoch()), VolumeFormat.encodeEpoch(record));
  }

  /** Temp file, flush, rename: the record appears whole or not at all; never replaces one. */
  private void writeRecord(String name, byte[] bytes) throws IOException {
    Disk root = disk.root();
    String temp = name + LogFormat.TEMP_SUFFIX;
    deleteIfPresent(root, temp);
    root.create(temp);
    root.write(temp, 0, ByteBuffer.wrap(bytes));
    root.flush(temp);
    root.rename(temp, name);
  }

  private static byte[] readSmall(Disk disk, String name) throws IOException {
    long size = disk.size(name);
    if (size > VolumeFormat.RECORD_BYTES_MAX) {
      throw new StorageException("record " + name + " of " + size + " bytes exceeds "
          + VolumeFormat.RECORD_BYTES_MAX);
    }
    ByteBuffer dst = ByteBuffer.allocate((int) size);
    while (dst.hasRemaining() && disk.read(name, dst.position(), dst) > 0) {
      // read it whole
    }
    return java.util.Arrays.copyOf(dst.array(), dst.position());
  }

  private static void deleteIfPresent(Disk disk, String name) throws IOException {
    if (disk.list().contains(name)) {
      try {
        disk.delete(name);
      } catch (NoSuchFileException e) {
        // gone meanwhile
      }
    }
  }

  @Override
  public void close() throws IOException {
    disk.close();
  }
}
