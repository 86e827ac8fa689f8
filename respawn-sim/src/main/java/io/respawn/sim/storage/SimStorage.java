package io.respawn.sim.storage;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import io.respawn.node.ReplicaLog;
import io.respawn.node.log.MemoryReplicaLog;
import io.respawn.node.log.ReplicaLogConfig;
import io.respawn.node.log.SegmentedReplicaLog;
import io.respawn.storage.ForwardingDisk;
import io.respawn.storage.StorageException;
import io.respawn.storage.crash.RecordingDisk;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Executor;
import java.util.function.Consumer;

/**
 * One simulated node's disk across its incarnations, with the crash behaviour of the {@link
 * ReplicaLog} contract. Two kinds: the production {@link SegmentedReplicaLog} on a {@link
 * RecordingDisk} (a machine crash replaces the disk by one of its crash states: unflushed blocks
 * lost in any subset, some torn, and the log recovers through its own recovery), or the plain
 * {@link MemoryReplicaLog} model of the same contract, to tell a file-format bug from a protocol
 * bug.
 *
 * <p>Each incarnation gets the log through {@link #open}, wrapped so that every change is
 * recorded: after a machine crash the recovered log must equal the log after some change since
 * the last flush, and the hard state the last one saved; after a process crash (kill -9, the page
 * cache survives) it must equal the log as last written. Anything else is an {@link
 * IllegalStateException}, which the simulation reports as a violation with the seed.
 *
 * <p>Flushes complete in one of two ways ({@code FsyncMode}): {@link #open} defers each flush
 * itself and then calls the log's synchronous flush; {@link #openAsync} hands the segmented log
 * an executor ({@link SegmentedReplicaLog#flushAsynchronously}, as the shard member does), so
 * the log's own asynchronous fsync path runs, and the legal crash states move on when its fsync
 * task actually ran. {@link #runWithFsyncsDeferred} is the broken disk of the teeth: an fsync
 * that returns before the bytes are durable.
 *
 * <p>Owned by the simulation thread.
 */
public final class SimStorage {

  /** Small segments and batches: simulated disks stay tiny, segments rotate. */
  static final ReplicaLogConfig SEGMENTED = new ReplicaLogConfig(64 << 10, 8 << 10, true);

  /** Decides when a flush the runtime asked for takes effect (the node models its latency). */
  public interface FlushScheduler {
    /** Runs {@code flush} now or later; it does nothing if the node crashed in between. */
    void schedule(Runnable flush);
  }

  private final boolean segmented;
  private RecordingDisk disk;
  /** The disk the segmented log writes to: {@link #disk}, or lying about fsyncs on demand. */
  private DeferringDisk logDisk;
  private MemoryReplicaLog memory;
  private ReplicaLog inner;
  private HardState savedHardState = HardState.INITIAL;
  // log summaries a machine crash may recover to: the flushed one, then one per change since
  private final List<String> legalLogStates = new ArrayList<>();

  private SimStorage(boolean segmented) {
    this.segmented = segmented;
    if (segmented) {
      disk = new RecordingDisk();
      inner = openSegmented();
    } else {
      memory = new MemoryReplicaLog();
      inner = memory;
    }
    legalLogStates.add(summary());
  }

  public static SimStorage segmented() {
    return new SimStorage(true);
  }

  public static SimStorage memory() {
    return new SimStorage(false);
  }

  public boolean isSegmented() {
    return segmented;
  }

  /**
   * The state machine's kept snapshot image: survives every crash, and a keep replaces it
   * atomically (a store writes a new image file, fsyncs it and renames it over the old one; the
   * file's own crash states are not modelled).
   */
  private io.respawn.node.snapshot.SnapshotImage keptSnapshot;

  public io.respawn.node.snapshot.SnapshotImage keptSnapshot() {
    return keptSnapshot;
  }

  /** Keeps {@code image}, letting go of the one it replaces (freed once no transfer holds it). */
  public void keepSnapshot(io.respawn.node.snapshot.SnapshotImage image) {
    io.respawn.node.snapshot.SnapshotImage replaced = keptSnapshot;
    keptSnapshot = image;
    if (replaced != null && replaced != image) {
      replaced.release();
    }
  }

  private SegmentedReplicaLog openSegmented() {
    logDisk = new DeferringDisk(disk);
    return SegmentedReplicaLog.open(logDisk, SEGMENTED);
  }

  /** The log for a new incarnation, as the disk holds it now; flushes go through {@code flushes}. */
  public ReplicaLog open(FlushScheduler flushes) {
    return new RecordingLog(flushes);
  }

  /**
   * The log for a new incarnation, flushing asynchronously as the shard member's does: the
   * segmented log runs each fsync as a task on {@code fsyncThread} (which the node runs later in
   * virtual time) and reports its end to {@code onFlushed} (null, or the failure). Once the task
   * ran, the disk holds everything written before it durably, so a machine crash may recover
   * only to that state or a later one.
   */
  public ReplicaLog openAsync(Executor fsyncThread, Consumer<StorageException> onFlushed) {
    if (!segmented) {
      throw new IllegalStateException("the in-memory log model has no asynchronous flush");
    }
    SegmentedReplicaLog log = (SegmentedReplicaLog) inner;
    log.flushAsynchronously(fsyncThread, failure -> {
      if (log == inner && failure == null) {
        legalLogStates.clear();
        legalLogStates.add(summary());
      }
      onFlushed.accept(failure);
    });
    return new RecordingLog(null);
  }

  /**
   * Broken on purpose (teeth): runs {@code fsyncTask} now with the disk acknowledging every
   * fsync without making anything durable, and returns what makes those files durable for real
   * (to run one fsync time later; it does nothing if the node crashed in between).
   */
  public Runnable runWithFsyncsDeferred(Runnable fsyncTask) {
    DeferringDisk lying = logDisk;
    RecordingDisk real = disk;
    lying.deferring = true;
    try {
      fsyncTask.run();
    } finally {
      lying.deferring = false;
    }
    List<String> names = new ArrayList<>(lying.deferred);
    lying.deferred.clear();
    return () -> {
      if (disk != real) {
        return; // crashed meanwhile: the disk it was to flush is gone
      }
      for (String name : names) {
        try {
          real.flush(name);
        } catch (IOException e) {
          // deleted meanwhile (a prefix truncation): nothing left to make durable
        }
      }
    };
  }

  /** A disk that, while {@code deferring}, acknowledges fsyncs without doing them. */
  private static final class DeferringDisk extends ForwardingDisk {
    boolean deferring;
    final Set<String> deferred = new LinkedHashSet<>();

    DeferringDisk(RecordingDisk inner) {
      super(inner);
    }

    @Override
    public void flush(String name) throws IOException {
      if (deferring) {
        deferred.add(name);
        return;
      }
      inner.flush(name);
    }
  }

  /** Term of the entry at index in the log as it is now (0 when absent). */
  public long termAt(long index) {
    return inner.termAt(index);
  }

  public long lastIndex() {
    return inner.lastIndex();
  }

  /** First index the log holds (1 unless compacted or reset behind a snapshot). */
  public long firstIndex() {
    return inner.firstIndex();
  }

  public long lastFlushedIndex() {
    return inner.lastFlushedIndex();
  }

  /**
   * Power loss: unflushed changes survive only as a prefix (the disk becomes a crash state), and
   * the log recovers from it at once. Returns true if the crash lost at least one change.
   */
  public boolean machineCrash(SplittableRandom random) {
    String latest = summary();
    if (segmented) {
      disk = RecordingDisk.of(disk.crashImage(new Random(random.nextLong())));
      inner = openSegmented();
    } else {
      memory.machineCrash(random);
    }
    checkRecovered();
    return !summary().equals(latest);
  }

  /**
   * Power loss in the worst crash state: nothing written since the last flush survives (one of
   * the states {@link #machineCrash} may draw, chosen on purpose by a scenario). Returns true if
   * the crash lost at least one change.
   */
  public boolean machineCrashKeepingNothingUnflushed() {
    String latest = summary();
    if (segmented) {
      disk = RecordingDisk.of(disk.flushedImage());
      inner = openSegmented();
    } else {
      memory.machineCrashKeepingNothingUnflushed();
    }
    checkRecovered();
    return !summary().equals(latest);
  }

  /** kill -9: the page cache survives, so every change made survives. */
  public void processCrash() {
    String latest = summary();
    if (segmented) {
      disk = RecordingDisk.of(disk.currentImage());
      inner = openSegmented();
    } else {
      memory.processCrash();
    }
    if (!summary().equals(latest)) {
      throw new RecoveryViolation("after kill -9 the log recovered " + summary()
          + " instead of everything written: " + latest);
    }
    checkRecovered();
  }

  /**
   * The log recovered to a state the {@link ReplicaLog} contract does not allow after that crash
   * (the simulation reports it as the invariant {@code replica-log-recovery}).
   */
  public static final class RecoveryViolation extends IllegalStateException {
    RecoveryViolation(String message) {
      super(message);
    }
  }

  private void checkRecovered() {
    if (!inner.hardState().equals(savedHardState)) {
      throw new RecoveryViolation("the log recovered hard state " + inner.hardState()
          + " but " + savedHardState + " was saved (durably) last");
    }
    String recovered = summary();
    if (!legalLogStates.contains(recovered)) {
      throw new RecoveryViolation("the log recovered " + recovered + ", which is no state"
          + " the log passed through since its last flush: " + legalLogStates);
    }
    if (inner.lastFlushedIndex() != inner.lastIndex()) {
      throw new RecoveryViolation("a recovered log must be flushed through its end");
    }
    legalLogStates.clear();
    legalLogStates.add(recovered);
  }

  private String summary() {
    long last = inner.lastIndex();
    return "last=" + inner.termAt(last) + "/" + last;
  }

  /** The incarnation's port: records every change for the recovery check. */
  private final class RecordingLog implements ReplicaLog {
    private final FlushScheduler flushes;
    private final ReplicaLog log = inner;

    RecordingLog(FlushScheduler flushes) {
      this.flushes = flushes;
    }

    private void checkCurrent() {
      if (log != inner) {
        throw new IllegalStateException("a crashed incarnation wrote to its disk");
      }
    }

    @Override
    public PersistentState load(io.respawn.core.SnapshotMeta base) {
      checkCurrent();
      PersistentState state = log.load(base);
      legalLogStates.add(summary()); // load may have reset the log after the base, durably
      return state;
    }

    @Override
    public void resetAfter(long index) {
      checkCurrent();
      log.resetAfter(index);
      legalLogStates.clear(); // durable on return
      legalLogStates.add(summary());
    }

    @Override
    public HardState hardState() {
      return log.hardState();
    }

    @Override
    public long firstIndex() {
      return log.firstIndex();
    }

    @Override
    public long lastIndex() {
      return log.lastIndex();
    }

    @Override
    public long termAt(long index) {
      return log.termAt(index);
    }

    @Override
    public List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax) {
      checkCurrent();
      return log.read(fromIndex, toIndexInclusive, bytesMax);
    }

    @Override
    public long lastFlushedIndex() {
      return log.lastFlushedIndex();
    }

    @Override
    public void saveHardState(HardState hardState) {
      checkCurrent();
      log.saveHardState(hardState);
      savedHardState = hardState;
    }

    @Override
    public void append(List<Entry> entries) {
      checkCurrent();
      log.append(entries);
      for (Entry e : entries) { // each prefix of an append is a legal crash state
        legalLogStates.add("last=" + e.term() + "/" + e.index());
      }
    }

    @Override
    public void truncateSuffix(long fromIndex) {
      checkCurrent();
      log.truncateSuffix(fromIndex);
      legalLogStates.add(summary());
    }

    @Override
    public void truncatePrefix(long throughIndex) {
      checkCurrent();
      log.truncatePrefix(throughIndex);
    }

    @Override
    public void flush() {
      checkCurrent();
      if (flushes == null) {
        log.flush(); // asynchronous: the log's own fsync task (see openAsync)
        return;
      }
      flushes.schedule(() -> {
        if (log == inner) {
          log.flush();
          legalLogStates.clear();
          legalLogStates.add(summary());
        }
      });
    }

    @Override
    public void close() {}
  }
}
