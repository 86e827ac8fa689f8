package io.respawn.storage.backup;

import io.respawn.storage.StorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The reads online recovery makes of a backup (DESIGN.md §5.3, the seed's BatchPull and
 * PriorityPull), on the caller's thread.
 *
 * <p>BatchPull first sends the records of the popular set (the keys of the {@link PopularKeys} hot
 * set sampled at least twice: the sketch is fed by the primary's samples of its reads and
 * writes), most popular first, wherever they live: a key
 * is found by its hash through the index, and a chunk's records are read in the order of their
 * place on disk, one positional read each. After a bulk load the keys clients only read stay in
 * the cold log; without this phase a new primary would get them only when the scan of the cold
 * log reached them. Then it walks the hot log's segments in id order, then the cold log's, in
 * reads of about {@code bytesMax}, and returns the records the index still points to (the
 * current version of each key, tombstones included). The cursor names a segment and an offset
 * (in the popular set: a rank); if that segment has gone (GC ran while the scan was not paused),
 * the walk continues with the next newer one. A popular key's record comes again with its log
 * (the asker keeps the first value that is current for it).
 *
 * <p>PriorityPull finds the key's record with the index and reads the 4 KiB page(s) holding it
 * in one positional read; the page rule of {@link BackupFormat} makes the page start with a
 * record, so every record on it is returned: the target first, then the other current ones.
 */
final class BackupPulls {
  private static final int ATTEMPTS_MAX = 100;
  /**
   * Keys of the popular set a scan sends at most, most popular first, of those sampled at least
   * twice ({@link PopularKeys#REPEATED_SAMPLES_MIN}); the rest come with the logs. Each costs a
   * random read (~200 us for 4 KiB on the development machine's disk, against ~4 us per
   * 512-byte record of a sequential read), so the phase is kept to what pays: keys sampled once
   * are mostly chance, and under YCSB's scrambled zipfian 0.99 the ~1,000 keys sampled twice of
   * ~24,000 samples cover 28 % of accesses where all ~17,000 sampled cover 31 %
   * (docs/recovery.md).
   */
  static final int POPULAR_KEYS_MAX = 8_192;
  /**
   * Positional reads one popular-set chunk makes at most: a priority pull queued behind the
   * chunk on the answering thread waits for about this many random reads (~3 ms), as long as a
   * sequential chunk of the logs takes.
   */
  static final int POPULAR_READS_PER_CHUNK_MAX = 16;

  /** Each scanning thread's read window, reused chunk after chunk ({@link #window}). */
  private static final ThreadLocal<byte[]> WINDOWS = new ThreadLocal<>();

  private BackupPulls() {}

  /**
   * This thread's window for a read of {@code bytes} (a {@link SegmentReader} reads as much as its
   * window holds): the last one if it has that size, else a new one, kept for the next chunk when
   * it is a large one. Chunks of a scan have one size but for the last of each segment.
   */
  private static byte[] window(int bytes) {
    byte[] w = WINDOWS.get();
    if (w == null || w.length != bytes) {
      w = new byte[bytes];
      if (bytes >= (64 << 10)) {
        WINDOWS.set(w); // a full chunk's size, the common one: kept
      }
    }
    return w;
  }

  static BatchPullChunk batchPull(BackupStore store, BatchPullCursor cursor, int bytesMax) {
    if (cursor.phase() == BatchPullCursor.Phase.POPULAR) {
      // A chunk holds records of one phase only (possibly none: an empty popular set).
      return popularChunk(store, cursor, bytesMax);
    }
    Candidates read = new Candidates();
    long bytes = 0;
    LogKind kind = cursor.log();
    long segmentId = cursor.segmentId();
    long offset = cursor.offset();
    while (kind != null) {
      Segment segment = firstFrom(store, kind, segmentId);
      if (segment == null) {
        if (kind == LogKind.HOT) {
          kind = LogKind.COLD;
          segmentId = 0;
          offset = 0;
          continue;
        }
        return new BatchPullChunk(read.current(store), BatchPullCursor.DONE, bytes);
      }
      if (segment.id != segmentId || offset < BackupFormat.SEGMENT_HEADER_BYTES) {
        offset = BackupFormat.SEGMENT_HEADER_BYTES;
      }
      segmentId = segment.id;
      long end = segment.readableBytes;
      if (offset < end) {
        SegmentReader reader = new SegmentReader(store.pullReads, segment.name, offset, end,
            window((int) Math.min(bytesMax, end - offset)), true);
        long startedAt = offset;
        try {
          while (bytes + (reader.position() - startedAt) < bytesMax && reader.next()) {
            read.add(reader.bytes(), reader.at(),
                Location.inLog(kind, segment.id, reader.offset(), false));
          }
        } catch (IOException | UncheckedIOException e) {
          if (!stillThere(store, segment)) {
            continue; // collected under us: go on with the next segment
          }
          throw new StorageException("BatchPull could not read " + segment.name + ": " + e.getMessage(), e);
        }
        if (reader.problem() != null) {
          if (!stillThere(store, segment)) {
            continue;
          }
          throw new StorageException("corrupt backup log: segment " + segment.name + " offset "
              + reader.problemOffset() + ": " + reader.problem());
        }
        bytes += reader.position() - startedAt;
        offset = reader.position();
      }
      if (offset >= end) {
        segmentId = segment.id + 1;
        offset = 0;
      }
      if (bytes >= bytesMax) {
        return new BatchPullChunk(read.current(store), new BatchPullCursor(kind, segmentId,
            offset), bytes);
      }
    }
    return new BatchPullChunk(read.current(store), BatchPullCursor.DONE, bytes);
  }

  /**
   * Records read from the logs, decoded, whose currency is checked afterwards for all of them
   * under one hold of the store's lock ({@link #current}) rather than one hold per record: a
   * BatchPull stream runs under {@code SCHED_IDLE} and leaves it for each hold (a system call
   * each way, {@link io.respawn.storage.CeilingLock}), and a priority pull's page has several
   * records. A record that stops being current between the read and the check is left out, as
   * one that stops being current just after the check would be sent: the asker's log has the
   * newer write either way.
   */
  private static final class Candidates {
    /** Home slots loaded together before their probes ({@link BackupIndex#prefetch}). */
    private static final int PREFETCH_SLOTS = 64;
    private final List<BackupEntry> entries = new ArrayList<>();
    private long[] hashes = new long[64];
    private long[] locations = new long[64];

    /** The record at {@code at} in {@code bytes}, found at {@code location}. */
    void add(byte[] bytes, int at, long location) {
      int n = entries.size();
      if (n == hashes.length) {
        hashes = java.util.Arrays.copyOf(hashes, n * 2);
        locations = java.util.Arrays.copyOf(locations, n * 2);
      }
      hashes[n] = KeyHash.of(bytes, BackupFormat.keyOffset(at), BackupFormat.keyLength(bytes, at));
      locations[n] = location;
      entries.add(BackupEntry.decode(bytes, at));
    }

    /** The records the index still points to, in the order read. */
    List<BackupEntry> current(BackupStore store) {
      List<BackupEntry> current = new ArrayList<>(entries.size());
      if (entries.isEmpty()) {
        return current;
      }
      store.lock.lock();
      try {
        int n = entries.size();
        for (int from = 0; from < n; from += PREFETCH_SLOTS) {
          int count = Math.min(PREFETCH_SLOTS, n - from);
          store.index.prefetch(hashes, from, count);
          for (int i = from; i < from + count; i++) {
            if (store.index.slotPointingAt(hashes[i], Location.place(locations[i])) >= 0) {
              current.add(entries.get(i));
            }
          }
        }
      } finally {
        store.lock.unlock();
      }
      return current;
    }
  }

  /** Where a popular key's record is, read under the lock. */
  private record Found(byte[] key, long location, int length, long readable) {}

  /**
   * The next records of the popular set from the cursor's rank: up to {@link
   * #POPULAR_READS_PER_CHUNK_MAX} records and about {@code bytesMax} bytes of them, read in the
   * order of their place on disk. Keys without a record (deleted since they were sampled, or a
   * hash no key here has) are skipped; a tombstone is sent like the logs' scan sends it.
   */
  private static BatchPullChunk popularChunk(BackupStore store, BatchPullCursor cursor,
      int bytesMax) {
    PopularKeys.Ranked set = store.popular.ranked();
    long[] ranked = set.hashes();
    int limit = Math.min(set.repeated(), POPULAR_KEYS_MAX);
    int rank = (int) Math.min(cursor.offset(), limit);
    List<Found> found = new ArrayList<>();
    long bytes = 0;
    store.lock.lock();
    try {
      while (rank < limit && found.size() < POPULAR_READS_PER_CHUNK_MAX && bytes < bytesMax) {
        int slot = store.index.findByHash(ranked[rank++]);
        if (slot < 0) {
          continue;
        }
        long location = store.index.location(slot);
        long readable = 0;
        if (!Location.isBuffer(location)) {
          Segment s = store.segmentsById.get(Location.segmentId(location));
          readable = s == null ? 0 : s.readableBytes;
        }
        int length = store.index.length(slot);
        found.add(new Found(store.index.key(slot), location, length, readable));
        bytes += length;
      }
    } finally {
      store.lock.unlock();
    }
    found.sort(java.util.Comparator.comparingLong(f -> Location.place(f.location())));
    List<BackupEntry> entries = new ArrayList<>(found.size());
    long read = 0;
    for (Found f : found) {
      BackupEntry e;
      if (Location.isBuffer(f.location())) {
        e = store.newest(f.key());
      } else {
        List<BackupEntry> page = readPage(store, f.location(), f.length(), f.readable(), f.key());
        read += BackupFormat.PAGE_BYTES;
        // Moved since the lookup (a scan pauses GC, so rarely): the logs' scan brings it.
        e = page == null ? null : page.getFirst();
      }
      if (e != null) {
        entries.add(e);
      }
    }
    BatchPullCursor next = rank < limit ? new BatchPullCursor(BatchPullCursor.Phase.POPULAR, 0,
        rank) : BatchPullCursor.LOGS;
    return new BatchPullChunk(entries, next, read);
  }

  private static Segment firstFrom(BackupStore store, LogKind kind, long segmentId) {
    store.lock.lock();
    try {
      for (Segment s : store.logs.get(kind).segments()) {
        if (s.id >= segmentId) {
          return s;
        }
      }
      return null;
    } finally {
      store.lock.unlock();
    }
  }

  private static boolean stillThere(BackupStore store, Segment segment) {
    store.lock.lock();
    try {
      return store.segmentsById.get(segment.id) == segment;
    } finally {
      store.lock.unlock();
    }
  }

  static List<BackupEntry> priorityPull(BackupStore store, byte[] key) {
    long hash = KeyHash.of(key);
    for (int attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
      long location;
      int length;
      long readable = 0;
      store.lock.lock();
      try {
        int slot = store.index.find(key, hash);
        if (slot < 0) {
          return List.of();
        }
        location = store.index.location(slot);
        length = store.index.length(slot);
        if (!Location.isBuffer(location)) {
          Segment s = store.segmentsById.get(Location.segmentId(location));
          readable = s == null ? 0 : s.readableBytes;
        }
      } finally {
        store.lock.unlock();
      }
      if (Location.isBuffer(location)) {
        BackupEntry newest = store.newest(key);
        return newest == null ? List.of() : List.of(newest);
      }
      List<BackupEntry> page = readPage(store, location, length, readable, key);
      if (page != null) {
        return page;
      }
    }
    throw new StorageException("PriorityPull: the record of a key kept moving during " + ATTEMPTS_MAX + " reads");
  }

  /** The records of the page(s) holding the record at location, target first; null if it moved. */
  private static List<BackupEntry> readPage(BackupStore store, long location, int length,
      long readable, byte[] key) {
    LogKind kind = Location.log(location);
    long segmentId = Location.segmentId(location);
    long offset = Location.offset(location);
    long pageStart = Math.max(BackupFormat.SEGMENT_HEADER_BYTES,
        offset - offset % BackupFormat.PAGE_BYTES);
    long pageEnd = Math.min(readable, BackupFormat.align(offset + length, BackupFormat.PAGE_BYTES));
    if (pageEnd < offset + length) {
      return null;
    }
    String name = BackupFormat.segmentName(kind, segmentId);
    SegmentReader reader = new SegmentReader(store.pullReads, name, pageStart, pageEnd,
        (int) (pageEnd - pageStart), true);
    Candidates page = new Candidates();
    boolean targetRead = false;
    try {
      while (reader.next()) {
        if (reader.offset() == offset) {
          if (!BackupFormat.keyEquals(reader.bytes(), reader.at(), key)) {
            return null;
          }
          targetRead = true;
        }
        page.add(reader.bytes(), reader.at(), Location.inLog(kind, segmentId, reader.offset(),
            false));
      }
    } catch (IOException | UncheckedIOException e) {
      return null; // the segment was collected: look the key up again
    }
    if (!targetRead) {
      return null;
    }
    // The key's current record, if on this page, is the target or a newer version written after
    // the lookup; if the index points elsewhere now, look the key up again.
    List<BackupEntry> current = page.current(store);
    List<BackupEntry> result = new ArrayList<>(current.size());
    for (BackupEntry e : current) {
      if (java.util.Arrays.equals(e.key(), key)) {
        result.addFirst(e);
      } else {
        result.add(e);
      }
    }
    return result.isEmpty() || !java.util.Arrays.equals(result.getFirst().key(), key) ? null
        : result;
  }
}
