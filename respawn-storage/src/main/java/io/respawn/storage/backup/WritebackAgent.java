package io.respawn.storage.backup;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the thread {@code respawn-backup-writeback}, which drains the persistent buffer into the
 * hot and cold logs. It wakes when a block's worth of records waits, when someone waits for
 * durability or space, or every {@code writebackIntervalMillis}; each time it first write-faults
 * the ring's pages up to two blocks past the tail ({@link PersistentBuffer#prefaultAhead}), so
 * that the thread which applies replicated writes does not take the page faults. One pass:
 *
 * <ol>
 *   <li>notes the buffer's tail;
 *   <li>copies each record up to there, unchanged, to the hot log if its key is in the popular set, else to
 *       the cold log (tombstones always cold), in {@code writebackBlockBytes} writes, and fsyncs
 *       both logs (a CLEAR is not copied: the checkpoint below carries its timestamp);
 *   <li>repoints the index from the buffer to the log copy, for each record that is still its
 *       key's newest (a newer write may have arrived meanwhile: then the copy is garbage);
 *   <li>writes a checkpoint naming the tail as the new release position and forces its page
 *       (one msync of one page, never the ring): the records are durable (their durable notices
 *       complete), and only now may applies overwrite that part of the ring (the delayed-write
 *       rule);
 *   <li>starts the kernel writing the released ring pages ({@link
 *       PersistentBuffer#startWritingReleased}), without waiting: left alone, a mapped file's
 *       dirty pages go out 30 s later, all that are due at once.
 * </ol>
 *
 * A log may hold copies of ring records that a crash then loses from the ring (the ring is not
 * forced); recovery drops log records whose seq is past the replayed ring, so logs and buffer
 * together are always a prefix. Passes are serialized by {@link #passLock}; without a thread
 * (interval 0) callers run them ({@link #runPass}).
 */
final class WritebackAgent implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(WritebackAgent.class);

  /**
   * How far past the tail the thread keeps the ring's pages write-faulted, in writeback blocks:
   * the thread wakes at least every block (or every interval), so appends between two wakes
   * stay within the pages it touched.
   */
  private static final int PREFAULT_AHEAD_BLOCKS = 2;

  /** Placements repointed per hold of the state lock. */
  private static final int REPOINT_BATCH = 256;

  private final BackupStore store;
  private final PersistentBuffer buffer;
  private final ReentrantLock passLock = new ReentrantLock();
  private Thread thread;
  private volatile boolean running;
  private byte[] record = new byte[1 << 12];
  private final byte[] header = new byte[BackupFormat.RECORD_HEADER_BYTES];
  private volatile long passes;
  private volatile long bytes;
  private volatile long nanos;

  /** One record copied in this pass, to repoint once the logs are fsynced. */
  private record Placement(byte[] key, long hash, long bufferPosition, long logLocation,
      int length, boolean tombstone) {}

  WritebackAgent(BackupStore store) {
    this.store = store;
    this.buffer = store.buffer;
  }

  void start() {
    if (store.config.writebackIntervalMillis() == 0) {
      return;
    }
    running = true;
    thread = new Thread(this, "respawn-backup-writeback");
    thread.setDaemon(true);
    thread.start();
  }

  boolean hasThread() {
    return thread != null;
  }

  void stop() {
    running = false;
    if (thread == null) {
      return;
    }
    store.lock.lock();
    try {
      store.workAvailable.signalAll();
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

  @Override
  public void run() {
    long intervalNanos = TimeUnit.MILLISECONDS.toNanos(store.config.writebackIntervalMillis());
    long prefaultAheadBytes = (long) PREFAULT_AHEAD_BLOCKS * store.config.writebackBlockBytes();
    while (running) {
      store.lock.lock();
      try {
        long wait = intervalNanos;
        while (running && !store.urgent && !store.failed()
            && buffer.unwrittenBytes() < store.config.writebackBlockBytes() && wait > 0) {
          wait = store.workAvailable.awaitNanos(wait);
        }
        store.urgent = false;
        if (store.failed()) {
          return;
        }
      } catch (InterruptedException e) {
        return;
      } finally {
        store.lock.unlock();
      }
      if (!running) {
        return;
      }
      buffer.prefaultAhead(prefaultAheadBytes);
      try {
        runPass();
      } catch (IOException | RuntimeException e) {
        log.error("backup writeback failed; the backup stops accepting writes", e);
        store.fail(e);
        return;
      }
    }
  }

  /** One pass (see the class comment); returns the ring bytes written back. */
  long runPass() throws IOException {
    passLock.lock();
    try {
      return pass();
    } finally {
      passLock.unlock();
    }
  }

  private long pass() throws IOException {
    long from;
    long fromSeq;
    long tail;
    BackupFormat.Checkpoint last;
    store.lock.lock();
    try {
      if (store.failed()) {
        return 0;
      }
      from = buffer.writtenBackPosition();
      fromSeq = buffer.writtenBackSeq();
      tail = buffer.tailPosition();
      last = buffer.durableCheckpoint();
      if (from == tail) {
        return 0;
      }
    } finally {
      store.lock.unlock();
    }
    long started = System.nanoTime();

    // Copy whole entries, up to about passBytesMax of ring, so that ring space comes free in
    // steps even when writeback is behind. The checkpoint's applied and CLEAR timestamps come
    // from the records copied (entries are appended in timestamp order; a GC rewrite carries an
    // older one), never from entries past the end of the pass.
    long passBytesMax = Math.max(4L * store.config.writebackBlockBytes(), buffer.ringBytes() / 8);
    long appliedTerm = last.appliedTerm();
    long appliedIndex = last.appliedIndex();
    long clearTerm = last.clearTerm();
    long clearIndex = last.clearIndex();
    List<Placement> placements = new ArrayList<>();
    java.util.EnumMap<LogKind, Long> bytesBefore = new java.util.EnumMap<>(LogKind.class);
    for (BackupLog l : store.logs.values()) {
      bytesBefore.put(l.kind, l.bytesWritten());
    }
    long popularityVersion = store.popular.version();
    long ring = buffer.ringBytes();
    long position = from;
    long seq = fromSeq;
    while (position < tail) {
      long left = ring - position % ring;
      if (left < BackupFormat.RECORD_HEADER_BYTES) {
        position += left;
        continue;
      }
      buffer.read(position, header, 0, header.length);
      if (BackupFormat.type(header, 0) == BackupFormat.TYPE_WRAP) {
        position += left;
        continue;
      }
      int length = BackupFormat.length(header, 0);
      assert BackupFormat.seq(header, 0) == seq : "buffer seq " + BackupFormat.seq(header, 0) + " != " + seq;
      long term = BackupFormat.term(header, 0);
      long index = BackupFormat.index(header, 0);
      if (BackupFormat.compareTimestamps(term, index, appliedTerm, appliedIndex) > 0) {
        appliedTerm = term;
        appliedIndex = index;
      }
      boolean entryEnds = BackupFormat.isLast(header, 0);
      if (BackupFormat.type(header, 0) == BackupFormat.TYPE_CLEAR) {
        // Not copied: the checkpoint that releases it carries its timestamp.
        clearTerm = term;
        clearIndex = index;
      } else {
        if (record.length < length) {
          record = new byte[Math.max(length, record.length * 2)];
        }
        buffer.read(position, record, 0, length);
        assert BackupFormat.check(record, 0, length, true) == null : "buffer record damaged in memory";
        byte[] key = BackupFormat.key(record, 0);
        long hash = KeyHash.of(key);
        boolean tombstone = BackupFormat.type(record, 0) == BackupFormat.TYPE_TOMBSTONE;
        LogKind kind = !tombstone && store.popular.isHot(hash) ? LogKind.HOT : LogKind.COLD;
        long location = store.logs.get(kind).place(record, 0, length, seq, popularityVersion);
        placements.add(new Placement(key, hash, position, location, length, tombstone));
      }
      position += BackupFormat.align(length, BackupFormat.BUFFER_ALIGN_BYTES);
      seq++;
      if (entryEnds && position - from >= passBytesMax) {
        break;
      }
    }
    long to = position;
    long toSeq = seq;
    for (BackupLog l : store.logs.values()) {
      l.sync();
    }
    long written = 0;
    for (BackupLog l : store.logs.values()) {
      written += l.bytesWritten() - bytesBefore.get(l.kind);
    }

    BackupFormat.Checkpoint checkpoint;
    // Repoint in short batches: an apply waits for the state lock at most one batch, even when
    // this thread loses the processor while it holds the lock. Until the last batch is done the
    // index may still point to ring copies, which stay valid: the ring is not yet released.
    for (int from0 = 0; from0 < placements.size(); from0 += REPOINT_BATCH) {
      store.lock.lock();
      try {
        for (Placement p : placements.subList(from0,
            Math.min(placements.size(), from0 + REPOINT_BATCH))) {
          Segment s = store.segmentsById.get(Location.segmentId(p.logLocation()));
          s.recordBytes += p.length();
          int slot = store.index.find(p.key(), p.hash());
          if (slot >= 0 && Location.place(store.index.location(slot))
              == Location.inBuffer(p.bufferPosition(), false)) {
            store.index.relocate(slot, Location.withTombstone(p.logLocation(), p.tombstone()),
                p.length());
            s.liveBytes += p.length();
          }
        }
      } finally {
        store.lock.unlock();
      }
    }
    store.lock.lock();
    try {
      for (BackupLog l : store.logs.values()) {
        l.publishReadable();
      }
      buffer.markWrittenBack(to, toSeq);
      BackupLog hot = store.logs.get(LogKind.HOT);
      BackupLog cold = store.logs.get(LogKind.COLD);
      checkpoint = new BackupFormat.Checkpoint(last.counter() + 1, ring, to, toSeq, appliedTerm,
          appliedIndex, hot.activeSegmentId(), hot.activeDurableBytes(), cold.activeSegmentId(),
          cold.activeDurableBytes(), clearTerm, clearIndex);
    } finally {
      store.lock.unlock();
    }
    buffer.writeCheckpoint(checkpoint);
    buffer.forceCheckpoint();
    store.lock.lock();
    try {
      buffer.checkpointDurable(checkpoint);
      store.roomFreed.signalAll();
    } finally {
      store.lock.unlock();
    }
    store.markDurable(toSeq);
    // The released ring pages go to the device now, a MiB at a time, not in the kernel's burst
    // 30 s later (PersistentBuffer#startWritingReleased).
    buffer.startWritingReleased(to);
    passes++;
    bytes += written;
    nanos += System.nanoTime() - started;
    if (to < tail) {
      store.lock.lock();
      try {
        store.urgent = true; // more is waiting: the next pass starts at once
      } finally {
        store.lock.unlock();
      }
    }
    return to - from;
  }

  long passes() {
    return passes;
  }

  long bytes() {
    return bytes;
  }

  long nanos() {
    return nanos;
  }
}
