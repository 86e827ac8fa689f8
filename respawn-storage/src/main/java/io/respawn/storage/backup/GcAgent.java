package io.respawn.storage.backup;

import io.respawn.storage.StorageException;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the thread {@code respawn-backup-gc}, which collects log segments. Every {@code
 * gcIntervalMillis} it picks a victim among the sealed segments of both logs:
 *
 * <ul>
 *   <li>the one with the largest stale share, if that is at least {@code gcGarbageRatioMin}; or
 *   <li>(drift) the oldest one sealed before the popular set last changed, within a budget of
 *       {@code gcDriftBytesPerSecond}, so keys move to the right log without being written.
 * </ul>
 *
 * Collecting reads the victim in large sequential reads. A record the index no longer points to
 * is dropped. A live tombstone is dropped for good when no older record of its key can exist any
 * more (below). Every other live record is appended to the persistent buffer again, unchanged
 * but for a new seq, and the index moves to it; writeback then places it in the hot or cold log
 * by the popularity of that moment. The victim is deleted only once the rewrites — and every
 * write applied before them, including those that made records stale — are durable (a
 * writeback checkpoint released them): the delayed-write rule.
 *
 * <p>Tombstones. Every older record of a key has a smaller seq than its tombstone t (records are
 * appended in timestamp order, and GC rewrites only a key's newest record). So once every other
 * segment starts after t (its header's firstSeq, the smallest seq in it) and the durable
 * checkpoint's release seq is after t (recovery will not replay the buffer from before t), the
 * victim holds the last older record and the tombstone can go with it.
 *
 * <p>GC appends only while the ring is less than {@code gcBufferShareMax} full, leaving the rest
 * to replicated writes. {@link #pause} (BatchPull, live recovery) stops a collection at the next
 * record, leaving the victim in place; what was rewritten so far is merely duplicated.
 */
final class GcAgent implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(GcAgent.class);
  private static final int READ_CHUNK_BYTES = 1 << 20;
  /**
   * A drift collection on the GC thread reads its victim at most this many times {@code
   * gcDriftBytesPerSecond} (16 MiB/s by default). Drift is optional work (keys change logs, no
   * space comes back), and unpaced it read a 64 MiB segment and rewrote it through the ring and
   * the logs in under a second, every 16 s at the default rate: 170-220 MB/s of writes that
   * saturated the disk for a second each time (E2 at 2 GiB, docs/storage.md), and after a
   * recovery two of them at once (the budget caps at two segments). Collections for garbage,
   * which give space back, are not paced.
   */
  static final int DRIFT_PACE_FACTOR = 4;
  /** A paced collection sleeps in slices this long, so a pause or a stop waits at most one. */
  private static final long PACE_SLICE_NANOS = 5_000_000L;

  private final BackupStore store;
  /** One collection at a time (the thread, or a caller of {@link BackupStore#collectGarbage}). */
  private final java.util.concurrent.locks.ReentrantLock collectLock =
      new java.util.concurrent.locks.ReentrantLock();
  private Thread thread;
  private volatile boolean running;
  // Written under store.lock; volatile so that waits can check them.
  private volatile int pauses;
  private boolean collecting;
  // GC thread only.
  private double driftBudgetBytes;
  private long lastTickNanos;
  private volatile long segments;
  private volatile long bytesRead;
  private volatile long recordsRewritten;
  private volatile long recordsDropped;
  private volatile long tombstonesDropped;
  private volatile long nanos;

  GcAgent(BackupStore store) {
    this.store = store;
  }

  void start() {
    if (store.config.gcIntervalMillis() == 0) {
      return;
    }
    running = true;
    lastTickNanos = System.nanoTime();
    thread = new Thread(this, "respawn-backup-gc");
    thread.setDaemon(true);
    thread.start();
  }

  void stop() {
    running = false;
    if (thread == null) {
      return;
    }
    store.lock.lock();
    try {
      store.roomFreed.signalAll();
    } finally {
      store.lock.unlock();
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    thread = null;
  }

  /** Stops GC until {@link #resume}; waits until no collection runs. Nests. */
  void pause() {
    store.lock.lock();
    try {
      pauses++;
      while (collecting) {
        store.roomFreed.awaitUninterruptibly();
      }
    } finally {
      store.lock.unlock();
    }
  }

  void resume() {
    store.lock.lock();
    try {
      if (pauses == 0) {
        throw new IllegalStateException("resumeGc without pauseGc");
      }
      pauses--;
    } finally {
      store.lock.unlock();
    }
  }

  @Override
  public void run() {
    // Nobody waits on a collection, and it must still keep up under a sustained write load: nice
    // 10, not SCHED_IDLE. At the end of an E2 recovery (GC resumed with the copy's backlog) this
    // thread took a whole core at the default priority, and the new primary's event loop waited
    // 59 of 100 ms for a CPU: every client stalled 72 ms together.
    io.respawn.storage.BackgroundPriority.lowerCurrentThread();
    long intervalMillis = store.config.gcIntervalMillis();
    while (running) {
      try {
        Thread.sleep(intervalMillis);
      } catch (InterruptedException e) {
        return;
      }
      if (!running || store.failed()) {
        return;
      }
      long now = System.nanoTime();
      double cap = 2.0 * store.config.segmentBytesMax();
      driftBudgetBytes = Math.min(cap, driftBudgetBytes
          + store.config.gcDriftBytesPerSecond() * ((now - lastTickNanos) / 1e9));
      lastTickNanos = now;
      try {
        while (running && collectOnce(true)) {
          // keep going while segments qualify
        }
      } catch (IOException | RuntimeException e) {
        log.error("backup GC failed; the backup stops accepting writes", e);
        store.fail(e);
        return;
      }
    }
  }

  /** Picks a victim and collects it; false if none qualified or GC is paused. */
  boolean collectOnce(boolean allowDrift) throws IOException {
    collectLock.lock();
    try {
      Segment victim = chooseVictim(allowDrift);
      if (victim == null) {
        return false;
      }
      long pace = thread != null && isDrift(victim)
          ? DRIFT_PACE_FACTOR * store.config.gcDriftBytesPerSecond() : 0;
      return collectLocked(victim, pace);
    } finally {
      collectLock.unlock();
    }
  }

  /** A victim chosen for drift: too little of it is stale to collect it for garbage. */
  private boolean isDrift(Segment victim) {
    store.lock.lock();
    try {
      return victim.garbageRatio() < store.config.gcGarbageRatioMin();
    } finally {
      store.lock.unlock();
    }
  }

  private Segment chooseVictim(boolean allowDrift) {
    store.lock.lock();
    try {
      if (pauses > 0 || store.isClosed() || store.failed()) {
        return null;
      }
      Segment best = null;
      Segment oldestMisplaced = null;
      long version = store.popular.version();
      for (BackupLog l : store.logs.values()) {
        for (Segment s : l.segments()) {
          if (!s.sealed) {
            continue;
          }
          if (best == null || s.garbageRatio() > best.garbageRatio()) {
            best = s;
          }
          if (s.popularityVersion != version
              && (oldestMisplaced == null || s.id < oldestMisplaced.id)) {
            oldestMisplaced = s;
          }
        }
      }
      if (best != null && best.garbageRatio() >= store.config.gcGarbageRatioMin()) {
        return best;
      }
      boolean threaded = thread != null;
      if (allowDrift && oldestMisplaced != null && store.config.gcDriftBytesPerSecond() > 0
          && (!threaded || driftBudgetBytes >= oldestMisplaced.readableBytes)) {
        if (threaded) {
          driftBudgetBytes -= oldestMisplaced.readableBytes;
        }
        return oldestMisplaced;
      }
      return null;
    } finally {
      store.lock.unlock();
    }
  }

  /** Collects victim; false if a pause stopped it (the victim stays). */
  boolean collect(Segment victim) throws IOException {
    collectLock.lock();
    try {
      return collectLocked(victim, 0);
    } finally {
      collectLock.unlock();
    }
  }

  /**
   * Collects victim, reading it at most {@code paceBytesPerSecond} (0: as fast as it goes);
   * false if a pause or a stop ended it (the victim stays).
   */
  private boolean collectLocked(Segment victim, long paceBytesPerSecond) throws IOException {
    store.lock.lock();
    try {
      if (pauses > 0 || !victim.sealed || !store.segmentsById.containsKey(victim.id)) {
        return false;
      }
      collecting = true;
    } finally {
      store.lock.unlock();
    }
    long started = System.nanoTime();
    try {
      SegmentReader reader = new SegmentReader(store.disk, victim.name,
          BackupFormat.SEGMENT_HEADER_BYTES, victim.readableBytes, READ_CHUNK_BYTES, true);
      long paceFrom = System.nanoTime();
      while (reader.next()) {
        if (!keep(victim, reader)
            || paceBytesPerSecond > 0 && !keepPace(paceFrom, reader.position(), paceBytesPerSecond)) {
          return false;
        }
      }
      bytesRead += reader.position();
      if (reader.problem() != null) {
        throw new StorageException("corrupt backup log: segment " + victim.name + " offset "
            + reader.problemOffset() + ": " + reader.problem()
            + "; the segment was sealed and fsynced, so this is not a torn write");
      }
      // The delayed-write rule: the rewrites, and every write before them (those that made the
      // victim's other records stale), are durable before the victim goes.
      long lastSeq;
      store.lock.lock();
      try {
        lastSeq = store.buffer.tailSeq() - 1;
      } finally {
        store.lock.unlock();
      }
      if (!store.awaitDurable(lastSeq, () -> thread != null && (pauses > 0 || !running))) {
        return false;
      }
      store.lock.lock();
      try {
        store.logs.get(victim.kind).remove(victim);
      } finally {
        store.lock.unlock();
      }
      store.disk.delete(victim.name);
      segments++;
      return true;
    } finally {
      nanos += System.nanoTime() - started;
      store.lock.lock();
      try {
        collecting = false;
        store.roomFreed.signalAll();
      } finally {
        store.lock.unlock();
      }
    }
  }

  /**
   * Waits until reading {@code bytes} since {@code fromNanos} keeps within {@code bytesPerSecond};
   * false if GC was paused or stopped meanwhile (checked every {@link #PACE_SLICE_NANOS}).
   */
  private boolean keepPace(long fromNanos, long bytes, long bytesPerSecond) {
    long due = fromNanos + (long) (bytes * 1e9 / bytesPerSecond);
    for (long now = System.nanoTime(); now < due; now = System.nanoTime()) {
      if (pauses > 0 || !running) {
        return false;
      }
      java.util.concurrent.locks.LockSupport.parkNanos(Math.min(PACE_SLICE_NANOS, due - now));
    }
    return true;
  }

  /**
   * Handles the reader's current record: drop it if stale, drop a tombstone for good if it may
   * go, else rewrite it through the buffer. False if GC got paused meanwhile.
   */
  private boolean keep(Segment victim, SegmentReader reader) {
    byte[] bytes = reader.bytes();
    int at = reader.at();
    int length = reader.length();
    long hash =
        KeyHash.of(bytes, BackupFormat.keyOffset(at), BackupFormat.keyLength(bytes, at));
    long here = Location.inLog(victim.kind, victim.id, reader.offset(), false);
    boolean tombstone = BackupFormat.type(bytes, at) == BackupFormat.TYPE_TOMBSTONE;
    store.buffer.prefault(BackupFormat.align(length, BackupFormat.BUFFER_ALIGN_BYTES));
    store.lock.lock();
    try {
      while (true) {
        if (pauses > 0 || !running && thread != null || store.failed() || store.isClosed()) {
          return false;
        }
        int slot = store.index.slotPointingAt(hash, here);
        if (slot < 0) {
          recordsDropped++;
          return true;
        }
        if (tombstone && tombstoneMayGo(BackupFormat.seq(bytes, at), victim)) {
          store.index.remove(slot);
          victim.liveBytes -= length;
          tombstonesDropped++;
          return true;
        }
        PersistentBuffer buffer = store.buffer;
        long shareBytes = (long) (store.config.gcBufferShareMax() * buffer.ringBytes());
        if (buffer.usedBytes() + buffer.bytesToAppend(length) > shareBytes) {
          if (thread == null && !store.writeback.hasThread()) {
            store.runWritebackInline();
          } else {
            store.urgent = true;
            store.workAvailable.signal();
            store.roomFreed.awaitNanos(TimeUnit.MILLISECONDS.toNanos(50));
          }
          continue; // the key may have changed while we waited
        }
        byte[] value = BackupFormat.value(bytes, at);
        long position = buffer.append(BackupFormat.type(bytes, at), true,
            BackupFormat.term(bytes, at), BackupFormat.index(bytes, at),
            BackupFormat.expiresAt(bytes, at), BackupFormat.key(bytes, at), value);
        store.index.relocate(slot, Location.inBuffer(position, tombstone), length);
        victim.liveBytes -= length;
        recordsRewritten++;
        return true;
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      store.lock.unlock();
    }
  }

  /** See the class comment. Lock held. */
  private boolean tombstoneMayGo(long seq, Segment victim) {
    if (store.buffer.durableCheckpoint().releaseSeq() <= seq) {
      return false;
    }
    for (BackupLog l : store.logs.values()) {
      for (Segment s : l.segments()) {
        if (s != victim && s.firstSeq <= seq) {
          return false;
        }
      }
    }
    return true;
  }

  long segments() {
    return segments;
  }

  long bytesRead() {
    return bytesRead;
  }

  long recordsRewritten() {
    return recordsRewritten;
  }

  long recordsDropped() {
    return recordsDropped;
  }

  long tombstonesDropped() {
    return tombstonesDropped;
  }

  long nanos() {
    return nanos;
  }
}
