package io.respawn.storage;

import java.io.IOException;
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
        log.error("background compaction failed; old segments are kept", e);
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
      if (victims.isEmpty()) {
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
    List<KeyIndex.Entry> written = new ArrayList<>();
    long fileBytes;
    try {
      disk.create(tempName);
      disk.write(tempName, 0, ByteBuffer.wrap(LogFormat.segmentHeader()));
      fileBytes = writeLive(tempName, last, maxSequence, written);
      disk.flush(tempName);
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
    engine.withLogQuiet(() -> {
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
    remap(written, last);
    log.info("compacted {} segment(s) up to {}: {} -> {} bytes, {} live records",
        victims.size(), finalName, bytesBefore, finalBytes, written.size());
    return new Report(victims.size(), bytesBefore, finalBytes, written.size());
  }

  /**
   * Writes every live entry whose record lies in segments <= last; returns the file size.
   *
   * <p>The file starts with a one-record batch deleting the empty key at the prefix's highest
   * sequence number, so that the sequence survives a compaction that drops the newest records
   * (a reopened store must not reuse sequence numbers). It is harmless: nothing older than the
   * file exists, and a live empty key is rewritten after it.
   */
  private long writeLive(String name, long last, long prefixSequence, List<KeyIndex.Entry> written)
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
    for (KeyIndex.Entry e : engine.index.entries()) {
      if (stopping) {
        throw new IOException("compaction stopped: store closing");
      }
      if (e.segmentId() > last) {
        continue;
      }
      int needed = e.recordBytes() + LogFormat.COMMIT_BYTES;
      if (records > 0 && needed > batch.remaining()) {
        offset += writeBatch(name, offset, batch, records, maxSequence);
        records = 0;
        maxSequence = 0;
      }
      if (needed > batch.capacity()) {
        // Larger than the output buffer (a value of more than 1 MiB): a batch of its own, written
        // without copying the value.
        offset += writeSingle(name, offset, e);
        written.add(e);
        continue;
      }
      LogFormat.putRecord(batch, LogFormat.TYPE_PUT, e.sequence(), e.expiresAtMillis(), e.key(), e.value());
      records++;
      maxSequence = Math.max(maxSequence, e.sequence());
      written.add(e);
    }
    if (records > 0) {
      offset += writeBatch(name, offset, batch, records, maxSequence);
    }
    return offset;
  }

  /** Writes one live entry as a batch of its own; returns its size. */
  private long writeSingle(String name, long offset, KeyIndex.Entry e) throws IOException {
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

  /** Points the rewritten entries at the merged segment and counts them live there. */
  private void remap(List<KeyIndex.Entry> written, long merged) {
    int chunk = 10_000;
    for (int from = 0; from < written.size(); from += chunk) {
      engine.appendLock.lock();
      try {
        LogEngine.Segment target = engine.segments.get(merged);
        KeyIndex index = engine.index;
        for (int i = from; i < Math.min(written.size(), from + chunk); i++) {
          KeyIndex.Entry e = written.get(i);
          if (index.replace(e, e.inSegment(merged)) && target != null) {
            target.liveBytes += e.recordBytes();
          }
        }
      } finally {
        engine.appendLock.unlock();
      }
    }
  }

  private void deleteQuietly(String name) {
    try {
      disk.delete(name);
    } catch (IOException | RuntimeException e) {
      log.warn("could not delete {}: {}", name, e.toString());
    }
  }
}
