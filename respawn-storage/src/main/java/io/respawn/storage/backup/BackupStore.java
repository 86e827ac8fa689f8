package io.respawn.storage.backup;

import io.respawn.storage.CeilingLock;
import io.respawn.storage.Disk;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.Mutation;
import io.respawn.storage.StorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The backup role's storage (DESIGN.md §3, §5): every key's newest value on disk, a DRAM index,
 * and the primitives online recovery reads. The API a replication runtime calls:
 *
 * <ul>
 *   <li>{@link #apply} stores one committed entry (its mutations — values, deletions as
 *       tombstones, CLEAR — with its (term, index)) in the persistent buffer and returns its
 *       seq: the write is acknowledged on return (it survives a crash of the process). {@link
 *       #whenDurable} completes once it also survives a crash of the machine — it is in fsynced
 *       logs, released by a durable checkpoint.
 *   <li>{@link #get} reads a key's newest value.
 *   <li>{@link #reportPopularity} takes the primary's sampled key hashes.
 *   <li>Recovery: {@link #startBatchPull} / {@link #batchPull} / {@link #endBatchPull} stream the
 *       hot log, then the cold log, in large chunks with a resumable cursor; {@link
 *       #priorityPull} returns the page holding a key's newest version; {@link #pauseGc} /
 *       {@link #resumeGc}.
 * </ul>
 *
 * <p>Inside: a {@link PersistentBuffer} (memory-mapped ring) takes each write; the {@link
 * WritebackAgent} thread drains it in blocks into the hot or the cold {@link BackupLog} by
 * popularity ({@link PopularKeys}) and repoints the {@link BackupIndex}; the {@link GcAgent}
 * thread rewrites live records of stale-heavy or misplaced segments back through the buffer and
 * deletes the segment once the rewrites are durable. Recovery ({@link BackupRecovery}) rebuilds
 * the index from the logs and the buffer.
 *
 * <p>Timestamps only move forward: an entry whose (term, index) is not newer than the newest
 * already applied is acknowledged and ignored, so a key's index entry never goes back. Entries
 * must be committed ones, in log order (an uncommitted entry could not be taken back).
 *
 * <p>Threads: any number of callers; one state lock ({@link #lock}) guards the index, the
 * buffer's positions and the segment lists, held for memory work only — disk I/O and forces run
 * outside it. It is a {@link CeilingLock}: a BatchPull stream under {@code SCHED_IDLE} holds it
 * at normal priority, so the event loop and the priority pulls never wait for a holder the
 * scheduler has set aside. The store owns the {@link Disk} and the {@link PersistentRegion} it is
 * opened on.
 */
public final class BackupStore implements AutoCloseable {
  /** Name of the persistent buffer file in the data directory. */
  public static final String BUFFER_FILE = "backup.buffer";
  /** Terms are stored in 32 bits in the index. */
  public static final long TERM_MAX = 0xFFFF_FFFFL;
  private static final int READ_ATTEMPTS_MAX = 100;

  final BackupConfig config;
  final Disk disk;
  /** How pulls read the logs: {@link DirectReads} or {@link #disk} ({@link BackupConfig#directPullReads}). */
  final DirectReads.Reads pullReads;
  /** The direct reads, or null when pulls read through {@link #disk}. */
  private final DirectReads directReads;
  final PersistentRegion region;
  final ReentrantLock lock = new CeilingLock();
  /** Signalled when ring space is released or GC goes idle. */
  final Condition roomFreed = lock.newCondition();
  /** Signalled when writeback has work: a block is waiting, or someone waits for durability. */
  final Condition workAvailable = lock.newCondition();
  final PersistentBuffer buffer;
  final BackupIndex index;
  final Map<Long, Segment> segmentsById = new HashMap<>();
  final EnumMap<LogKind, BackupLog> logs = new EnumMap<>(LogKind.class);
  final PopularKeys popular;
  final AtomicLong nextSegmentId = new AtomicLong(1);
  final WritebackAgent writeback;
  final GcAgent gc;

  // Guarded by lock.
  long appliedTerm;
  long appliedIndex;
  /** The newest CLEAR applied: records older than it are dead. */
  long clearTerm;
  long clearIndex;
  /** Every record with a smaller seq is durable. */
  long durableSeq;
  /** Writeback should run a pass now (someone waits for durability or space). */
  boolean urgent;
  private final PriorityQueue<DurableWaiter> waiters = new PriorityQueue<>();
  private volatile StorageException failure;
  private volatile boolean closed;
  private long applied;
  private long duplicates;
  private long bufferHighWater;
  private long bufferFullWaits;

  /** A caller waiting for the records below seq to be durable. */
  private record DurableWaiter(long seq, CompletableFuture<Void> future)
      implements Comparable<DurableWaiter> {
    @Override
    public int compareTo(DurableWaiter o) {
      return Long.compare(seq, o.seq);
    }
  }

  /** A logical timestamp. */
  public record Timestamp(long term, long index) {}

  private BackupStore(Disk disk, PersistentRegion region, BackupConfig config) {
    this.config = config;
    this.disk = disk;
    this.directReads = config.directPullReads() && disk instanceof FileChannelDisk files
        ? new DirectReads(files.directory(), disk::read) : null;
    this.pullReads = directReads != null ? directReads::read : disk::read;
    this.region = region;
    this.buffer = PersistentBuffer.open(region, config.checksums());
    this.index = new BackupIndex(config.expectedKeys());
    this.popular = new PopularKeys(config.hotKeysMax(), config.popularityReportsPerEpoch());
    for (LogKind kind : LogKind.values()) {
      logs.put(kind, new BackupLog(kind, disk, config, lock, segmentsById,
          nextSegmentId::getAndIncrement));
    }
    this.writeback = new WritebackAgent(this);
    this.gc = new GcAgent(this);
  }

  /** Opens (creating if needed) a backup in dir: log segments and the mapped buffer file. */
  public static BackupStore open(Path dir, BackupConfig config) throws IOException {
    Files.createDirectories(dir);
    Disk disk = new FileChannelDisk(dir);
    PersistentRegion region;
    try {
      region = MappedRegion.open(dir.resolve(BUFFER_FILE), config.bufferBytes(),
          PersistentBuffer::format);
    } catch (IOException | RuntimeException e) {
      disk.close();
      throw e;
    }
    return open(disk, region, config);
  }

  /** Opens a backup whose buffer is a file on the same disk (crash tests, simulation). */
  public static BackupStore open(Disk disk, BackupConfig config) throws IOException {
    PersistentRegion region;
    try {
      region = DiskRegion.open(disk, BUFFER_FILE, config.bufferBytes(), PersistentBuffer::format);
    } catch (IOException | RuntimeException e) {
      disk.close();
      throw e;
    }
    return open(disk, region, config);
  }

  /** Opens a backup on these ports (recovering what they hold); the store owns them from now on. */
  public static BackupStore open(Disk disk, PersistentRegion region, BackupConfig config)
      throws IOException {
    BackupStore store;
    try {
      store = new BackupStore(disk, region, config);
    } catch (RuntimeException e) {
      closeQuietly(region, disk);
      throw e;
    }
    try {
      BackupRecovery.run(store);
    } catch (IOException | RuntimeException e) {
      store.index.close();
      closeQuietly(region, disk);
      throw e;
    }
    store.writeback.start();
    store.gc.start();
    return store;
  }

  private static void closeQuietly(PersistentRegion region, Disk disk) {
    try {
      region.close();
    } catch (IOException | RuntimeException ignored) {
      // already failing
    }
    try {
      disk.close();
    } catch (IOException | RuntimeException ignored) {
      // already failing
    }
  }

  // ---------------------------------------------------------------- writes

  /** One key's write without an expiry: a value, or null for a deletion. */
  public long apply(byte[] key, byte[] value, long term, long index) {
    return apply(key, value, 0, term, index);
  }

  /** One key's write: a value (expiring at expiresAtMillis, 0 = never), or null for a deletion. */
  public long apply(byte[] key, byte[] value, long expiresAtMillis, long term, long index) {
    if (value == null && expiresAtMillis != 0) {
      throw new IllegalArgumentException(
          "expiresAtMillis " + expiresAtMillis + " must be 0 for a deletion");
    }
    return apply(term, index, List.of(value == null ? Mutation.delete(key)
        : Mutation.put(key, value, expiresAtMillis)));
  }

  /**
   * Stores one committed entry — its mutations, applied in order as one atomic step (a later
   * mutation of a key replaces an earlier one; CLEAR drops every key written before it) — in the
   * persistent buffer, and returns the seq of its last record. Acknowledged on return; a crash
   * keeps all of the entry or none of it. Blocks while the buffer is full, up to {@code
   * applyWaitMillis}, then fails.
   *
   * @return the seq to pass to {@link #whenDurable}; for an ignored (not newer) entry, the seq of
   *     the newest record, so waiting on it still means "everything so far is durable"
   * @throws IllegalArgumentException for an empty entry, or a key, value, timestamp or entry size
   *     outside the limits (nothing is stored)
   * @throws StorageException if the buffer stayed full, or the store failed or closed
   */
  public long apply(long term, long index, List<Mutation> mutations) {
    Entry entry = Entry.of(term, index, mutations, config);
    buffer.prefault(entry.ringBytes()); // page faults here, not under the lock
    lock.lock();
    try {
      checkWritable();
      if (BackupFormat.compareTimestamps(term, index, appliedTerm, appliedIndex) <= 0) {
        duplicates++;
        return buffer.tailSeq() - 1;
      }
      awaitRoom(entry);
      long unwrittenBefore = buffer.unwrittenBytes();
      if (entry.clear()) {
        buffer.append(BackupFormat.TYPE_CLEAR, entry.keys().isEmpty(), term, index, 0,
            new byte[0], null);
        dropOlderThan(term, index);
        clearTerm = term;
        clearIndex = index;
      }
      int n = entry.keys().size();
      for (int i = 0; i < n; i++) {
        Mutation m = entry.keys().get(i);
        boolean tombstone = m.kind() == Mutation.Kind.DELETE;
        long position = buffer.append(tombstone ? BackupFormat.TYPE_TOMBSTONE
            : BackupFormat.TYPE_PUT, i == n - 1, term, index, m.expiresAtMillis(), m.key(),
            m.value());
        int length = entry.recordLengths()[entry.clear() ? i + 1 : i];
        indexNewest(m.key(), entry.hashes()[i], Location.inBuffer(position, tombstone), term,
            index, length);
      }
      appliedTerm = term;
      appliedIndex = index;
      applied++;
      bufferHighWater = Math.max(bufferHighWater, buffer.usedBytes());
      if (unwrittenBefore < config.writebackBlockBytes()
          && buffer.unwrittenBytes() >= config.writebackBlockBytes()) {
        workAvailable.signal();
      }
      return buffer.tailSeq() - 1;
    } finally {
      lock.unlock();
    }
  }

  /** Points the key's index entry at a newer record. Lock held. */
  private void indexNewest(byte[] key, long hash, long location, long term, long index,
      int length) {
    int slot = this.index.find(key, hash);
    if (slot < 0) {
      this.index.insert(key, hash, location, term, index, length);
      return;
    }
    assert BackupFormat.compareTimestamps(term, index, this.index.term(slot),
        this.index.index(slot)) > 0 : "index moved backwards";
    superseded(this.index.location(slot), this.index.length(slot));
    this.index.update(slot, location, term, index, length);
  }

  /** CLEAR: every key whose newest record is older than (term, index) is gone. Lock held. */
  void dropOlderThan(long term, long index) {
    this.index.removeIf((t, i) -> BackupFormat.compareTimestamps(t, i, term, index) < 0,
        this::superseded);
  }

  /**
   * A validated entry: whether it clears, and the last mutation of each key after the last
   * CLEAR, with their hashes and the lengths of the records they take (the CLEAR record first).
   */
  private record Entry(boolean clear, List<Mutation> keys, long[] hashes, int[] recordLengths) {
    /** Ring bytes of the records (alignment included, wrap waste not). */
    long ringBytes() {
      long total = 0;
      for (int length : recordLengths) {
        total += BackupFormat.align(length, BackupFormat.BUFFER_ALIGN_BYTES);
      }
      return total;
    }

    static Entry of(long term, long index, List<Mutation> mutations, BackupConfig config) {
      if (term < 0 || term > TERM_MAX) {
        throw new IllegalArgumentException(
            "term " + term + " is out of range: must be >= 0 and <= " + TERM_MAX);
      }
      if (index < 0) {
        throw new IllegalArgumentException("index " + index + " must be >= 0");
      }
      if (mutations.isEmpty()) {
        throw new IllegalArgumentException("an entry needs at least one mutation");
      }
      if (mutations.size() == 1 && mutations.get(0).kind() != Mutation.Kind.CLEAR) {
        return one(mutations.get(0), config); // the common case, without the map
      }
      boolean clear = false;
      Map<ByteBuffer, Mutation> last = new LinkedHashMap<>();
      for (Mutation m : mutations) {
        if (m.kind() == Mutation.Kind.CLEAR) {
          clear = true;
          last.clear();
          continue;
        }
        checkSizes(m, config);
        ByteBuffer k = ByteBuffer.wrap(m.key());
        last.remove(k); // keep the order of the last writes
        last.put(k, m);
      }
      List<Mutation> keys = new ArrayList<>(last.values());
      long[] hashes = new long[keys.size()];
      int[] lengths = new int[keys.size() + (clear ? 1 : 0)];
      long total = 0;
      int at = 0;
      if (clear) {
        lengths[at++] = BackupFormat.RECORD_HEADER_BYTES;
        total += BackupFormat.align(BackupFormat.RECORD_HEADER_BYTES, BackupFormat.BUFFER_ALIGN_BYTES);
      }
      for (int i = 0; i < keys.size(); i++) {
        Mutation m = keys.get(i);
        hashes[i] = KeyHash.of(m.key());
        lengths[at] = (int) BackupFormat.recordBytes(m.key().length,
            m.value() == null ? 0 : m.value().length);
        total += BackupFormat.align(lengths[at++], BackupFormat.BUFFER_ALIGN_BYTES);
      }
      if (total > config.ringBytes() / 4) {
        throw new IllegalArgumentException("an entry of " + total + " record bytes exceeds a "
            + "quarter of the persistent buffer's ring (" + config.ringBytes() / 4
            + "): raise bufferBytes");
      }
      return new Entry(clear, keys, hashes, lengths);
    }

    private static Entry one(Mutation m, BackupConfig config) {
      checkSizes(m, config);
      int length = (int) BackupFormat.recordBytes(m.key().length,
          m.value() == null ? 0 : m.value().length);
      if (BackupFormat.align(length, BackupFormat.BUFFER_ALIGN_BYTES) > config.ringBytes() / 4) {
        throw new IllegalArgumentException("an entry of " + length + " record bytes exceeds a "
            + "quarter of the persistent buffer's ring (" + config.ringBytes() / 4
            + "): raise bufferBytes");
      }
      return new Entry(false, List.of(m), new long[] {KeyHash.of(m.key())}, new int[] {length});
    }

    private static void checkSizes(Mutation m, BackupConfig config) {
      if (m.key().length > config.keyBytesMax()) {
        throw new IllegalArgumentException(
            "key of " + m.key().length + " bytes exceeds keyBytesMax " + config.keyBytesMax());
      }
      if (m.value() != null && m.value().length > config.valueBytesMax()) {
        throw new IllegalArgumentException("value of " + m.value().length
            + " bytes exceeds valueBytesMax " + config.valueBytesMax());
      }
    }
  }

  /** The record at oldLocation is no longer the newest of its key. Lock held. */
  void superseded(long oldLocation, int oldLength) {
    if (!Location.isBuffer(oldLocation)) {
      Segment s = segmentsById.get(Location.segmentId(oldLocation));
      assert s != null : "index points to a missing segment: " + Location.describe(oldLocation);
      s.liveBytes -= oldLength;
    }
  }

  /** Waits until the ring has room for the entry's records (lock held). */
  private void awaitRoom(Entry entry) {
    int[] lengths = entry.recordLengths();
    if (buffer.hasRoomFor(lengths, lengths.length)) {
      return;
    }
    bufferFullWaits++;
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(config.applyWaitMillis());
    while (!buffer.hasRoomFor(lengths, lengths.length)) {
      checkWritable();
      if (!writeback.hasThread()) {
        runWritebackInline();
        if (!buffer.hasRoomFor(lengths, lengths.length) && buffer.unwrittenBytes() == 0) {
          throw new StorageException("persistent buffer full: an entry of "
              + buffer.bytesToAppend(lengths, lengths.length)
              + " bytes does not fit although everything is written back");
        }
        continue;
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new StorageException("persistent buffer full: " + buffer.usedBytes() + " of "
            + buffer.ringBytes() + " ring bytes still waiting for writeback after applyWaitMillis "
            + config.applyWaitMillis() + "; the disk is slower than the write load");
      }
      urgent = true;
      workAvailable.signal();
      try {
        roomFreed.awaitNanos(left);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StorageException("interrupted while waiting for buffer space");
      }
    }
  }

  /** Without a writeback thread (tests, simulation) the waiting caller runs a pass itself. */
  void runWritebackInline() {
    try {
      writeback.runPass();
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /**
   * Completes when every record with a seq up to seq is durable: copied to fsynced logs and
   * released by a durable checkpoint (a crash of the machine keeps it). Asks writeback for a
   * pass at once.
   */
  public CompletableFuture<Void> whenDurable(long seq) {
    lock.lock();
    try {
      if (seq < durableSeq) {
        return CompletableFuture.completedFuture(null);
      }
      if (failure != null) {
        return CompletableFuture.failedFuture(failure);
      }
      if (closed) {
        return CompletableFuture.failedFuture(new StorageException("backup store is closed"));
      }
      CompletableFuture<Void> f = new CompletableFuture<>();
      waiters.add(new DurableWaiter(seq, f));
      urgent = true;
      workAvailable.signal();
      if (!writeback.hasThread()) {
        try {
          while (!f.isDone() && buffer.unwrittenBytes() > 0) {
            runWritebackInline(); // a pass may stop short of the tail: run until seq is in
          }
        } catch (StorageException e) {
          // fail() has completed f exceptionally
        }
      }
      return f;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Blocks until the record with seq is durable; false if giveUp said so first (checked every
   * 50 ms) or the store failed or closed.
   */
  boolean awaitDurable(long seq, java.util.function.BooleanSupplier giveUp) {
    CompletableFuture<Void> f = whenDurable(seq);
    while (true) {
      try {
        f.get(50, TimeUnit.MILLISECONDS);
        return true;
      } catch (java.util.concurrent.TimeoutException e) {
        if (giveUp.getAsBoolean() || failed() || isClosed()) {
          return false;
        }
      } catch (java.util.concurrent.ExecutionException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
  }

  /** Whether the record with this seq is durable. */
  public boolean isDurable(long seq) {
    lock.lock();
    try {
      return seq < durableSeq;
    } finally {
      lock.unlock();
    }
  }

  /** Records below seq are durable: complete their waiters (outside the lock). */
  void markDurable(long seq) {
    List<CompletableFuture<Void>> done = new ArrayList<>();
    lock.lock();
    try {
      if (seq > durableSeq) {
        durableSeq = seq;
      }
      while (!waiters.isEmpty() && waiters.peek().seq() < durableSeq) {
        done.add(waiters.poll().future());
      }
    } finally {
      lock.unlock();
    }
    done.forEach(f -> f.complete(null));
  }

  /**
   * Blocks until everything applied before the call is in fsynced log segments and the buffer's
   * checkpoint says so (the buffer is drained). BatchPull starts with it.
   */
  public void flush() {
    lock.lock();
    try {
      long target = buffer.tailPosition();
      while (buffer.releasedPosition() < target) {
        checkWritable();
        if (!writeback.hasThread()) {
          runWritebackInline();
          continue;
        }
        urgent = true;
        workAvailable.signal();
        try {
          roomFreed.await(100, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new StorageException("interrupted while flushing the backup");
        }
      }
    } finally {
      lock.unlock();
    }
  }

  /** Takes one popularity report from the primary: hashes ({@link KeyHash}) of sampled keys. */
  public void reportPopularity(long[] keyHashes) {
    popular.report(keyHashes);
  }

  // ---------------------------------------------------------------- reads

  /**
   * The key's newest value, or null if the backup has none (never written, or deleted). Reads
   * the buffer or one positional read of a log segment.
   */
  public BackupEntry get(byte[] key) {
    BackupEntry e = newest(key);
    return e == null || e.isTombstone() ? null : e;
  }

  /** The key's newest record, tombstones included, or null if the index has none. */
  BackupEntry newest(byte[] key) {
    long hash = KeyHash.of(key);
    for (int attempt = 0; attempt < READ_ATTEMPTS_MAX; attempt++) {
      long location;
      int length;
      long term;
      long idx;
      lock.lock();
      try {
        int slot = index.find(key, hash);
        if (slot < 0) {
          return null;
        }
        location = index.location(slot);
        length = index.length(slot);
        term = index.term(slot);
        idx = index.index(slot);
      } finally {
        lock.unlock();
      }
      byte[] record = readRecord(location, length);
      if (record != null && BackupFormat.check(record, 0, length, true) == null
          && BackupFormat.keyEquals(record, 0, key) && BackupFormat.term(record, 0) == term
          && BackupFormat.index(record, 0) == idx) {
        return BackupEntry.decode(record, 0);
      }
      // Moved by writeback or GC between the lookup and the read: look again.
    }
    throw new StorageException("record of a key kept moving during " + READ_ATTEMPTS_MAX + " reads");
  }

  /** Slots of the index one scan page visits at most, so a sparse table cannot stall a caller. */
  static final int SCAN_SLOTS_PER_PAGE_MAX = 1 << 16;

  /**
   * One page of live keys (a deleted key's tombstone is skipped), home slot by home slot: SCAN on
   * a backup member that leads, and the walk of a snapshot capture, which runs while entries are
   * applied. Start with cursor 0; the iteration is over when the page's next cursor is 0. The
   * cursor is the next home slot in reverse-binary order (the order Redis's SCAN uses): a key's
   * home is its tag mod the capacity, so when a rebuild doubles (or halves) the table, the homes
   * already visited map onto homes the cursor has passed, and every key present for the whole
   * iteration is returned at least once and, while the table only grows, exactly once, however
   * often it is rebuilt meanwhile (a capture during a bulk load meets several rebuilds; a walk
   * that started over at each one wrote 2.7 times the state into its image).
   *
   * <pre>
   * cursor (u64): | 0 (32 bits) | next home slot, bits reversed within the capacity (32 bits) |
   * </pre>
   */
  public io.respawn.storage.ScanPage scanKeys(long cursor, int countHint) {
    if (cursor < 0 || cursor > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("cursor " + cursor + " is not a backup scan cursor");
    }
    int want = Math.max(1, Math.min(countHint, 1 << 16));
    List<byte[]> keys = new ArrayList<>(Math.min(want, 1024));
    lock.lock();
    try {
      int mask = index.capacity() - 1;
      int v = (int) cursor;
      long visited = 0;
      do {
        visited += index.keysAtHome(v & mask, keys);
        v = BackupIndex.nextHomeCursor(v, mask);
      } while (v != 0 && keys.size() < want && visited < SCAN_SLOTS_PER_PAGE_MAX);
      return new io.respawn.storage.ScanPage(keys, v & 0xFFFF_FFFFL);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Where the newest versions of the keys with a value are now: {@code [buffer, hot log, cold
   * log]}. Counted as the index changes, so O(1) (INFO and {@code respawn status} show it, so
   * popularity's effect can be seen).
   */
  public long[] liveKeysByPlace() {
    lock.lock();
    try {
      return index.valuesByPlace();
    } finally {
      lock.unlock();
    }
  }

  /**
   * The log holding the key's newest record, or null while it is still in the buffer or the key
   * is unknown (tests and tools: where popularity placed it).
   */
  public LogKind logOf(byte[] key) {
    lock.lock();
    try {
      int slot = index.find(key, KeyHash.of(key));
      if (slot < 0 || Location.isBuffer(index.location(slot))) {
        return null;
      }
      return Location.log(index.location(slot));
    } finally {
      lock.unlock();
    }
  }

  /** Keys with a value (tombstones not counted). Any thread. */
  public long liveKeyCount() {
    lock.lock();
    try {
      return index.size() - index.tombstones();
    } finally {
      lock.unlock();
    }
  }

  /** Bytes of DRAM the index holds off the heap (table and key arena). Any thread. */
  public long indexOffHeapBytes() {
    lock.lock();
    try {
      return index.offHeapBytes();
    } finally {
      lock.unlock();
    }
  }

  /** The record at location, or null if it cannot be read (its segment was just deleted). */
  byte[] readRecord(long location, int length) {
    byte[] record = new byte[length];
    if (Location.isBuffer(location)) {
      buffer.read(Location.bufferPosition(location), record, 0, length);
      return record;
    }
    String name = BackupFormat.segmentName(Location.log(location), Location.segmentId(location));
    try {
      ByteBuffer into = ByteBuffer.wrap(record);
      while (into.hasRemaining()) {
        if (disk.read(name, Location.offset(location) + into.position(), into) < 0) {
          return null;
        }
      }
      return record;
    } catch (IOException | UncheckedIOException e) {
      return null;
    }
  }

  // ---------------------------------------------------------------- recovery primitives

  /**
   * Starts a BatchPull scan: pauses GC (so no record moves behind the cursor), drains the buffer
   * into the logs, and returns the cursor at the start of the scan (the popular set, then the hot
   * and the cold log; {@link BackupPulls}). Every key's version that
   * was newest at this moment is returned by the scan, unless a newer one is applied meanwhile
   * (the caller gets that one from the replicated log). End with {@link #endBatchPull}.
   */
  public BatchPullCursor startBatchPull() {
    gc.pause();
    try {
      flush();
    } catch (RuntimeException e) {
      gc.resume();
      throw e;
    }
    return BatchPullCursor.START;
  }

  /**
   * The next chunk after cursor (current versions only): about bytesMax log bytes, or in the
   * popular set a few records read one by one ({@link BackupPulls}).
   */
  public BatchPullChunk batchPull(BatchPullCursor cursor, int bytesMax) {
    if (bytesMax < BackupFormat.PAGE_BYTES || bytesMax > (256 << 20)) {
      throw new IllegalArgumentException(
          "bytesMax " + bytesMax + " must be >= " + BackupFormat.PAGE_BYTES + " and <= " + (256 << 20));
    }
    return BackupPulls.batchPull(this, cursor, bytesMax);
  }

  /**
   * How pulls read the logs: {@code "direct"} (past the page cache, {@link
   * BackupConfig#directPullReads}), {@code "cached"} (configured so, or the store is not a
   * directory), or {@code "cached (direct refused)"} (the file system refused {@code O_DIRECT}).
   */
  public String pullReadMode() {
    return directReads == null ? "cached" : directReads.direct() ? "direct"
        : "cached (direct refused)";
  }

  /** Reads pulls made past the page cache, and their bytes (0 when they do not). */
  public long[] pullDirectReads() {
    return directReads == null ? new long[] {0, 0}
        : new long[] {directReads.directReads(), directReads.directBytes()};
  }

  /** Ends a BatchPull scan (done or cancelled): resumes GC. */
  public void endBatchPull() {
    gc.resume();
  }

  /**
   * PriorityPull: the key's newest record (first; tombstone if deleted) and every other current
   * record on the same log page(s), read with one positional read. Empty if the key is unknown.
   */
  public List<BackupEntry> priorityPull(byte[] key) {
    return BackupPulls.priorityPull(this, key);
  }

  /** Stops GC from starting or continuing a collection; waits for a running one to stop. Nests. */
  public void pauseGc() {
    gc.pause();
  }

  /** Undoes one {@link #pauseGc}. */
  public void resumeGc() {
    gc.resume();
  }

  /** Runs one GC collection now if a segment qualifies (tests, benchmarks); true if it did. */
  public boolean collectGarbage(boolean drift) {
    try {
      return gc.collectOnce(drift);
    } catch (IOException e) {
      throw fail(e);
    }
  }

  /** The newest timestamp applied (recovered after a restart): resume replication after it. */
  /**
   * The log index of the newest CLEAR (FLUSHALL) applied, 0 if none: a value read after {@link
   * #lastApplied} returned index A is still current at a later applied index B only if no CLEAR
   * came in (A, B].
   */
  public long clearIndex() {
    lock.lock();
    try {
      return clearIndex;
    } finally {
      lock.unlock();
    }
  }

  public Timestamp lastApplied() {
    lock.lock();
    try {
      return new Timestamp(appliedTerm, appliedIndex);
    } finally {
      lock.unlock();
    }
  }

  public BackupStats stats() {
    lock.lock();
    try {
      long[] hot = logTotals(LogKind.HOT);
      long[] cold = logTotals(LogKind.COLD);
      return new BackupStats(index.size(), index.tombstones(), index.offHeapBytes(),
          buffer.ringBytes(), buffer.usedBytes(), bufferHighWater, bufferFullWaits, applied,
          duplicates, durableSeq, buffer.tailSeq(), (int) hot[0], hot[1], hot[2], (int) cold[0],
          cold[1], cold[2], writeback.passes(), writeback.bytes(), writeback.nanos(),
          gc.segments(), gc.bytesRead(), gc.recordsRewritten(), gc.recordsDropped(),
          gc.tombstonesDropped(), gc.nanos(), popular.hotKeys(), popular.reports(), hot[3], cold[3],
          nextSegmentId.get() - 1);
    } finally {
      lock.unlock();
    }
  }

  /** {segments, record bytes, live bytes, oldest segment id or 0}. Lock held. */
  private long[] logTotals(LogKind kind) {
    long[] t = new long[4];
    for (Segment s : logs.get(kind).segments()) {
      t[0]++;
      t[1] += s.recordBytes;
      t[2] += s.liveBytes;
      t[3] = t[3] == 0 ? s.id : Math.min(t[3], s.id);
    }
    return t;
  }

  // ---------------------------------------------------------------- failure and close

  private void checkWritable() {
    if (failure != null) {
      throw new StorageException("backup is not accepting writes: " + failure.getMessage()
          + " (restart once the disk is fixed)", failure);
    }
    if (closed) {
      throw new StorageException("backup store is closed");
    }
  }

  /** Writeback or GC hit an I/O error: stop accepting writes, fail the durability waiters. */
  StorageException fail(Exception cause) {
    List<CompletableFuture<Void>> failed = new ArrayList<>();
    StorageException e;
    lock.lock();
    try {
      if (failure == null) {
        String what = cause.getMessage() != null && cause.getMessage().contains("No space")
            ? "disk full: " : "disk error: ";
        failure = cause instanceof StorageException se ? se
            : new StorageException(what + cause.getMessage(), cause);
      }
      e = failure;
      while (!waiters.isEmpty()) {
        failed.add(waiters.poll().future());
      }
      roomFreed.signalAll();
      workAvailable.signalAll();
    } finally {
      lock.unlock();
    }
    StorageException f = e;
    failed.forEach(w -> w.completeExceptionally(f));
    return e;
  }

  boolean failed() {
    return failure != null;
  }

  boolean isClosed() {
    return closed;
  }

  /**
   * Stops the agents, drains the buffer into the logs (unless the store failed), and releases
   * the index, the mapping and the disk.
   */
  @Override
  public void close() throws IOException {
    lock.lock();
    try {
      if (closed) {
        return;
      }
    } finally {
      lock.unlock();
    }
    gc.stop();
    writeback.stop();
    IOException first = null;
    try {
      if (!failed()) {
        while (true) {
          lock.lock();
          boolean drained;
          try {
            drained = buffer.releasedPosition() == buffer.tailPosition() && durableSeq >= buffer.tailSeq();
          } finally {
            lock.unlock();
          }
          if (drained) {
            break;
          }
          writeback.runPass();
        }
      }
    } catch (IOException e) {
      first = e;
    }
    List<CompletableFuture<Void>> failed = new ArrayList<>();
    lock.lock();
    try {
      closed = true;
      while (!waiters.isEmpty()) {
        failed.add(waiters.poll().future());
      }
      roomFreed.signalAll();
    } finally {
      lock.unlock();
    }
    failed.forEach(w -> w.completeExceptionally(new StorageException("backup store is closed")));
    index.close();
    try {
      region.close();
    } catch (IOException e) {
      first = first == null ? e : first;
    }
    try {
      disk.close();
    } catch (IOException e) {
      first = first == null ? e : first;
    }
    if (first != null) {
      throw first;
    }
  }
}
