package io.respawn.storage;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reclaims the space of stale records by rewriting a prefix of the log.
 *
 * <p>A run takes every sealed segment {@code [first..k]}, writes the live records whose newest
 * version lies in them (taken from the in-memory index) into one new file {@code k-(g+1)}, and
 * then deletes the old files. Because the whole prefix is rewritten, tombstones and CLEAR records
 * in it can be dropped: nothing older remains for them to hide.
 *
 * <p>Delayed writes: the old files are the only durable copy of their data, so they are deleted
 * only after (1) the new file is flushed and renamed into place and (2) the log is durable up to
 * the moment the live set was read — a record skipped because a newer write replaced it must not
 * vanish with the old file while that newer write is still volatile.
 *
 * <p>Runs on its own thread {@code respawn-storage-compactor} (every compactionIntervalMillis,
 * when the garbage ratio is reached) or in the caller of {@link LogEngine#compact()}; one run at
 * a time.
 */
public final class Compactor {
  private static final Logger log = LoggerFactory.getLogger(Compactor.class);
  private static final int OUTPUT_BATCH_BYTES = 1 << 20;

  /** What one compaction did. */
  public record Report(int segmentsCompacted, long bytesBefore, long bytesAfter, long liveRecords) {
    public static final Report NOTHING = new Report(0, 0, 0, 0);
  }

  private final LogEngine engine;
  private final Disk disk;
  private final StorageConfig config;
  private final Object runLock = new Object();
  private final Object sleeper = new Object();
  private volatile Thread thread;
  private volatile boolean stopping;

  Compactor(LogEngine engine, Disk disk, StorageConfig config) {
    this.engine = engine;
    this.disk = disk;
    this.config = config;
  }

  void start() {
    if (config.compactionIntervalMillis() <= 0) {
      return;
    }
    Thread t = new Thread(this::run, "respawn-storage-compactor");
    t.setDaemon(true);
    thread = t;
    t.start();
  }

  /**
   * Stops the thread without interrupting it: an interrupt during FileChannel I/O would close the
   * channel under every other user of the file. A running compaction notices at its next record.
   */
  void stop() {
    stopping = true;
    synchronized (sleeper) {
      sleeper.notifyAll();
    }
    Thread t = thread;
    if (t != null) {
      try {
        t.join(30_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  private void run() {
    while (!stopping) {
      try {
        synchronized (sleeper) {
          long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.compactionIntervalMillis());
          long left;
          while (!stopping && (left = deadline - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.timedWait(sleeper, left);
          }
        }
        if (stopping) {
          return;
        }
        compactNow(false);
      } catch (InterruptedException e) {
        return;
      } catch (IOException | RuntimeException e) {
        if (DiskFullException.isDiskFull(e)) {
          log.warn("background compaction needs more room than the disk has; old segments are "
              + "kept: {}", e.toString());
        } else {
          log.error("background compaction failed; old segments are kept", e);
        }
      }
    }
  }

  /**
   * Runs one compaction. With {@code force} it seals the active segment and compacts regardless
   * of the garbage ratio; otherwise only when the sealed segments hold at least
   * compactionBytesMin bytes of which at least compactionGarbageRatioMin is stale.
   */
  Report compactNow(boolean force) throws IOException {
    synchronized (runLock) {
      if (engine.failure() != null) {
        return Report.NOTHING;
      }
      long last = force ? engine.sealActiveSegment() : engine.activeSegmentId() - 1;
      List<LogEngine.Segment> victims = new ArrayList<>();
      long totalBytes = 0;
      long liveBytes = 0;
      int generation = 0;
      long maxSequence = -1;
      engine.appendLock.lock();
      try {
        for (LogEngine.Segment s : engine.segments.headMap(last, true).values()) {
          victims.add(s);
          totalBytes += s.totalBytes;
          liveBytes += s.liveBytes;
          generation = Math.max(generation, s.generation);
          maxSequence = Math.max(maxSequence, s.maxSequence);
        }
      } finally {
        engine.appendLock.unlock();
      }
      if (victims.isEmpty() || !engine.mayStillWrite()) {
        return Report.NOTHING;
      }
      double garbage = totalBytes == 0 ? 0 : 1.0 - (double) liveBytes / totalBytes;
      if (!force && (totalBytes < config.compactionBytesMin()
          || garbage < config.compactionGarbageRatioMin() || victims.size() < 2 && garbage == 0)) {
        return Report.NOTHING;
      }
      return rewrite(victims, last, generation + 1, totalBytes, maxSequence);
    }
  }

  private Report rewrite(List<LogEngine.Segment> victims, long last, int generation,
      long bytesBefore, long maxSequence) throws IOException {
    String finalName = LogFormat.segmentName(last, generation);
    String tempName = finalName + LogFormat.TEMP_SUFFIX;
    {
      long[] written = new long[1];
      long fileBytes;
      try {
        disk.create(tempName);
        disk.write(tempName, 0, ByteBuffer.wrap(LogFormat.segmentHeader()));
        fileBytes = writeLive(tempName, last, maxSequence, written);
        disk.flush(tempName);
        disk.dropCached(tempName);
      } catch (IOException | RuntimeException e) {
        deleteQuietly(tempName);
        throw e;
      }
      // Delayed write: whatever superseded a skipped record must be durable before old files go.
      try {
        engine.flushAll().join();
      } catch (RuntimeException e) {
        deleteQuietly(tempName);
        throw new IOException("compaction abandoned: the log could not be made durable", e);
      }
      long finalBytes = fileBytes;
      boolean[] abandoned = {false};
      engine.withLogQuiet(() -> {
        engine.appendLock.lock();
        try {
          for (LogEngine.Segment s : victims) {
            // A durable CLEAR deleted it, or a failed write rebuilt the log's accounting (and
            // the copy may hold a write that then failed): this run's output is not to be used.
            abandoned[0] |= engine.segments.get(s.id) != s;
          }
        } finally {
          engine.appendLock.unlock();
        }
        // A fenced store must not rename or delete its files (another process owns the volume).
        abandoned[0] |= !engine.mayStillWrite();
        if (abandoned[0]) {
          return;
        }
        disk.rename(tempName, finalName);
        engine.appendLock.lock();
        try {
          for (LogEngine.Segment s : victims) {
            engine.segments.remove(s.id);
          }
          LogEngine.Segment merged = new LogEngine.Segment(last, generation, finalBytes);
          engine.segments.put(last, merged);
        } finally {
          engine.appendLock.unlock();
        }
        for (LogEngine.Segment s : victims) {
          disk.delete(s.fileName());
        }
      });
      if (abandoned[0]) {
        if (!(engine.failure() instanceof FencedException)) {
          deleteQuietly(tempName); // fenced: not even that; the old store is dropped whole later
        }
        log.info("compaction up to {} abandoned: its segments changed meanwhile", finalName);
        return Report.NOTHING;
      }
      remap(last);
      log.info("compacted {} segment(s) up to {}: {} -> {} bytes, {} live records",
          victims.size(), finalName, bytesBefore, finalBytes, written[0]);
      return new Report(victims.size(), bytesBefore, finalBytes, written[0]);
    }
  }

  /** Index records visited per step of a walk; a step holds the memory (or the lock) this long. */
  private static final int WALK_RECORDS = 1_000;

  /**
   * Writes every live record whose log copy lies in segments <= last; returns the file size and
   * counts the records in {@code written[0]}.
   *
   * <p>The file starts with a one-record batch deleting the empty key at the prefix's highest
   * sequence number, so that the sequence survives a compaction that drops the newest records
   * (a reopened store must not reuse sequence numbers). It is harmless: nothing older than the
   * file exists, and a live empty key is rewritten after it.
   *
   * <p>The index is read in SCAN steps, each copying its records into a staging buffer while the
   * records are protected from reuse, and the disk is written between steps. A record in a
   * segment <= last that is live when the walk ends was live throughout (new records go to later
   * segments), so a SCAN walk, which meets every key present throughout, writes it.
   */
  private long writeLive(String name, long last, long prefixSequence, long[] written)
      throws IOException {
    // Output batches obey batchBytesMax like any other; a record larger than the buffer is a batch
    // of its own (it fits batchBytesMax: apply checked it, or the format limit recovery read it in).
    ByteBuffer batch = ByteBuffer.allocate(Math.min(OUTPUT_BATCH_BYTES, config.batchBytesMax()));
    long offset = LogFormat.SEGMENT_HEADER_BYTES;
    if (prefixSequence >= 0) {
      LogFormat.putRecord(batch, LogFormat.TYPE_DELETE, prefixSequence, 0, new byte[0], null);
      offset += writeBatch(name, offset, batch, 1, prefixSequence);
    }
    int records = 0;
    long maxSequence = 0;
    ByteBuffer[] staging = {ByteBuffer.allocate(OUTPUT_BATCH_BYTES)};
    List<Single> singles = new ArrayList<>();
    long cursor = 0;
    do {
      if (stopping) {
        throw new IOException("compaction stopped: store closing");
      }
      KeyIndex index = engine.index;
      staging[0].clear();
      singles.clear();
      cursor = index.scanRecords(cursor, WALK_RECORDS, (chunk, record, ref) -> {
        if (index.segmentId(chunk, record) > last) {
          return true;
        }
        int keyBytes = index.keyLength(chunk, record);
        int valueBytes = index.valueLength(chunk, record);
        long needed = LogFormat.recordBytes(keyBytes, valueBytes);
        if (needed + LogFormat.COMMIT_BYTES > batch.capacity()) {
          // Larger than an output batch (a value of about 1 MiB or more): copied out, written
          // as a batch of its own after the step, which it ends.
          singles.add(new Single(index.sequence(chunk, record), index.expiresAtMillis(chunk, record),
              copy(chunk, index.keyOffset(chunk, record), keyBytes),
              copy(chunk, index.valueOffset(chunk, record), valueBytes)));
          return false;
        }
        if (staging[0].remaining() < needed) {
          ByteBuffer bigger = ByteBuffer.allocate(Math.max(staging[0].capacity() * 2,
              staging[0].position() + (int) needed));
          staging[0].flip();
          bigger.put(staging[0]);
          staging[0] = bigger;
        }
        LogFormat.putRecord(staging[0], LogFormat.TYPE_PUT, index.sequence(chunk, record),
            index.expiresAtMillis(chunk, record), chunk, index.keyOffset(chunk, record), keyBytes,
            index.valueOffset(chunk, record), valueBytes);
        return staging[0].position() < OUTPUT_BATCH_BYTES; // a full buffer ends the step
      });
      // Outside the protected step: pack the staged records into batches and write them.
      ByteBuffer staged = staging[0].flip();
      while (staged.hasRemaining()) {
        int length = staged.getInt(staged.position());
        long sequence = staged.getLong(staged.position() + 9);
        int needed = length + LogFormat.COMMIT_BYTES;
        if (records > 0 && needed > batch.remaining()) {
          offset += writeBatch(name, offset, batch, records, maxSequence);
          records = 0;
          maxSequence = 0;
        }
        assert needed <= batch.capacity() : "record of " + needed + " bytes exceeds the batch";
        batch.put(staged.slice(staged.position(), length));
        staged.position(staged.position() + length);
        records++;
        written[0]++;
        maxSequence = Math.max(maxSequence, sequence);
      }
      for (Single single : singles) {
        offset += writeSingle(name, offset, single);
        written[0]++;
      }
    } while (cursor != 0);
    if (records > 0) {
      offset += writeBatch(name, offset, batch, records, maxSequence);
    }
    return offset;
  }

  /** A record too large for an output batch, copied out of the index. */
  private record Single(long sequence, long expiresAtMillis, byte[] key, byte[] value) {}

  private static byte[] copy(MemorySegment chunk, long offset, int length) {
    byte[] bytes = new byte[length];
    MemorySegment.copy(chunk, ValueLayout.JAVA_BYTE, offset, bytes, 0, length);
    return bytes;
  }

  /** Writes one live record as a batch of its own; returns its size. */
  private long writeSingle(String name, long offset, Single e) throws IOException {
    ByteBuffer[] parts = LogFormat.encodeSingleRecordBatch(LogFormat.TYPE_PUT, e.sequence(),
        e.expiresAtMillis(), e.key(), e.value(), offset);
    long at = offset;
    for (ByteBuffer part : parts) {
      int n = part.remaining();
      disk.write(name, at, part);
      at += n;
    }
    return at - offset;
  }

  private int writeBatch(String name, long offset, ByteBuffer batch, int records, long maxSequence)
      throws IOException {
    // The whole file is flushed before use, so the durable-offset hint can be the batch itself.
    LogFormat.putCommit(batch, records, maxSequence, 0, batch.position(), offset);
    batch.flip();
    int bytes = batch.remaining();
    disk.write(name, offset, batch);
    batch.clear();
    return bytes;
  }

  /**
   * Points every live record whose log copy was in the compacted prefix at the merged segment
   * and counts it live there, a walk step at a time under the append lock (writes go on between
   * steps). A walk meets each key present throughout exactly once.
   */
  private void remap(long merged) {
    long cursor = 0;
    do {
      engine.appendLock.lock();
      try {
        LogEngine.Segment target = engine.segments.get(merged);
        long[] moved = new long[1];
        cursor = engine.index.remapSegments(cursor, WALK_RECORDS, merged, moved);
        if (target != null) {
          target.liveBytes += moved[0];
        }
      } finally {
        engine.appendLock.unlock();
      }
    } while (cursor != 0);
  }

  private void deleteQuietly(String name) {
    try {
      disk.delete(name);
    } catch (IOException | RuntimeException e) {
      log.warn("could not delete {}: {}", name, e.toString());
    }
  }
}
