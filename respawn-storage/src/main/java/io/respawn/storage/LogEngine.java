package io.respawn.storage;

import io.respawn.storage.memory.RecordTable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The storage engine: a segmented, checksummed append-only log ({@link LogFormat}) behind a
 * {@link Disk}, with an in-memory {@link KeyIndex} that holds every live key and value off the
 * Java heap.
 *
 * <p>Three stages, each with one owner:
 *
 * <ol>
 *   <li><b>apply</b> (any caller thread, under {@code appendLock}): validates, assigns the batch
 *       its sequence number and its place in the log (segment and offset, rotating segments
 *       here), encodes it, updates the index (so the caller reads its own write at once) and
 *       queues it. Index order therefore equals log order.
 *   <li><b>write</b> (whoever holds {@code writeLock}: flat combining): after queueing, a caller
 *       tries the lock; the holder writes every queued batch, its own and others', with as few
 *       positional writes as possible, then completes their ORDERED futures. A caller that finds
 *       the lock taken leaves its batch to the holder, which re-checks the queue after releasing.
 *   <li><b>sync</b>: one fsync covers every batch written before it started. A thread that
 *       blocks on a durability future runs it itself (unless a running fsync already covers its
 *       batch); otherwise the flusher thread {@code respawn-storage-flusher} runs it on request
 *       and at least every flushIntervalMillis (with flushIntervalMillis 0 there is no flusher
 *       and the requesting thread runs it). Writes continue while it runs; fsyncs may overlap.
 * </ol>
 *
 * <p>Segments are flushed before the next one is created, so every segment but the last is
 * entirely durable; recovery relies on that to tell corruption from a torn tail.
 *
 * <p>On a write or fsync error the engine fails every unacknowledged ticket with a {@link
 * StorageException} and rebuilds its index from the batches that were written, so reads no longer
 * show writes that were never acknowledged. A write that failed for want of space (ENOSPC) puts it
 * in <b>deletes-only</b> mode ({@link DiskFullException}): it cuts the failed write off the log,
 * releases its {@link SpaceReserve}, takes batches of deletes and clears (which free space) and
 * refuses batches that store values until a probe finds room again (every {@value
 * #DISK_FULL_PROBE_MILLIS} ms on the flusher thread, or on each refused attempt without one);
 * then writes resume by themselves. Any other error (and any failed fsync: the kernel may have
 * dropped the unflushed pages) stops writes until a restart.
 *
 * <p>A batch with a CLEAR (FLUSHALL) starts a new segment; once it is durable every older segment
 * holds nothing live and is deleted, so FLUSHALL gives its space back at once.
 */
public final class LogEngine implements KvStore {
  private static final Logger log = LoggerFactory.getLogger(LogEngine.class);
  private static final int WRITE_CHUNK_BYTES = 4 << 20;
  private static final long HEADER = LogFormat.SEGMENT_HEADER_BYTES;
  /** Written batches' arrays kept for later encodings (see {@link #spareArrays}), at most. */
  private static final int SPARE_ARRAYS_MAX = 16;
  /** A batch array larger than this is not kept: a pass that big is rare. */
  private static final int SPARE_ARRAY_BYTES_MAX = 256 << 10;
  /** The smallest array made for a batch, so that small passes of different sizes share them. */
  private static final int BATCH_ARRAY_BYTES_MIN = 1 << 10;
  /**
   * Zeros kept written ahead of the log's end (less for small segments); see {@link
   * #preallocateFor}. A DURABLE write lands in zeros, so its fsync commits no new file size.
   */
  static final int PREALLOCATE_BYTES_MAX = 256 << 10;
  /**
   * Zeros the flusher writes at a time while it holds the writer's lock ({@link #topUpZeros}). A
   * writer that finds the lock taken hands its batch to the holder rather than wait, so a chunk
   * delays a write by its own time at most: 32 KiB is 8 pages (about 0.1 ms). Written on the
   * writer's thread instead, each stretch of zeros stalled the pass that crossed into it, which
   * every client of the event loop waited for: stretches of 4 MiB put the pipelined SET p99 at
   * 16–19 ms, of 256 KiB at 5–11 ms, and the unpipelined SET p99 at 1.5–1.9 ms against 0.8–0.9 ms
   * with the zeros off the loop or none at all (docs/benchmarks.md, "The preallocation stretch"
   * and "Zeros off the event loop").
   */
  static final int ZERO_CHUNK_BYTES = 32 << 10;
  /** How often the flusher thread checks whether a full disk has room again. */
  static final long DISK_FULL_PROBE_MILLIS = 1_000;

  /** Bookkeeping of one segment; guarded by appendLock. */
  static final class Segment {
    final long id;
    final int generation;
    /** Computed once: the write path asks for it on every batch. */
    private final String fileName;
    long totalBytes;
    long liveBytes;
    long maxSequence = -1;

    Segment(long id, int generation, long totalBytes) {
      this.id = id;
      this.generation = generation;
      this.fileName = LogFormat.segmentName(id, generation);
      this.totalBytes = totalBytes;
    }

    String fileName() {
      return fileName;
    }
  }

  /** A batch applied but not yet written: its encoding is {@code bytes[0, length)}. */
  private record Pending(BatchTicket ticket, long segmentId, long offset, byte[] bytes,
      int length) {}

  /**
   * Arrays whose batches are written, kept for the next batches' encodings so that a pass does
   * not allocate (and the collector copy) a fresh array for its log record: at most {@value
   * #SPARE_ARRAYS_MAX} of at most {@value #SPARE_ARRAY_BYTES_MAX} bytes each, in no order.
   * Filled by the writer as it takes the next pending batches, emptied by {@link #apply}; both
   * under appendLock.
   */
  private final ArrayList<byte[]> spareArrays = new ArrayList<>(SPARE_ARRAYS_MAX);
  /**
   * Arrays of batches written since the writer last took the pending list; given to {@link
   * #spareArrays} the next time it does. Writer-owned (writeLock).
   */
  private final ArrayList<byte[]> writtenArrays = new ArrayList<>();

  /** The last completed fsync: which segment and how far. */
  private record SyncPoint(long segmentId, long offset) {}

  private final Disk disk;
  private final StorageConfig config;
  /** Checked before every write batch, compaction step and clean-shutdown mark. */
  private final WriteFence fence;

  // ---- apply stage, guarded by appendLock
  final ReentrantLock appendLock = new ReentrantLock();
  volatile KeyIndex index;
  private long nextSequence;
  private long appendSegmentId;
  private long appendOffset;
  final TreeMap<Long, Segment> segments = new TreeMap<>();
  private ArrayList<Pending> pending = new ArrayList<>();
  private volatile int pendingCount;

  // ---- write stage, guarded by writeLock
  private final ReentrantLock writeLock = new ReentrantLock();
  private long writeSegmentId = -1;
  private long writeOffset;
  private long writtenSequence = -1;
  private long writtenEndSegmentId = -1;
  private long writtenEndOffset;
  /**
   * Off the heap: the channel writes a direct buffer without copying it into a temporary one, and
   * the young collector never copies these long-lived bytes.
   */
  private final ByteBuffer writeBuffer = ByteBuffer.allocateDirect(WRITE_CHUNK_BYTES);
  private List<BatchTicket> durableAtRotation = new ArrayList<>();
  /** The write segment's file holds zeros (or data) up to here; see {@link #preallocateFor}. */
  private long preallocatedEnd;
  /** The writer asked the flusher for more zeros ahead ({@link #topUpZeros}). */
  private volatile boolean zerosWanted;
  /**
   * The clean-shutdown mark of the last close is on disk: it names the segment that is last until
   * this engine creates its first one, which deletes it. Guarded by writeLock (and close).
   */
  private boolean cleanShutdownMarked;

  // ---- sync stage
  /** Read: an fsync is running. Write: compaction renames or deletes segment files. */
  private final java.util.concurrent.locks.ReentrantReadWriteLock fileLock =
      new java.util.concurrent.locks.ReentrantReadWriteLock();
  /** Highest sequence an fsync (running or done) has been started for; guarded by writeLock. */
  private long syncStartedSequence = -1;
  /** How many fsyncs of the active segment may overlap. */
  static final int SYNCS_IN_FLIGHT_MAX = 1;
  private final Object syncSlots = new Object();
  private int syncsInFlight; // guarded by syncSlots
  private final Object durableLock = new Object();
  private final PriorityQueue<BatchTicket> durableWaiters =
      new PriorityQueue<>((a, b) -> Long.compare(a.sequence(), b.sequence()));
  private volatile long durableSequence = -1;
  private volatile SyncPoint syncPoint = new SyncPoint(-1, 0);
  private volatile boolean syncRequested;
  private final Thread flusher;

  private final Compactor compactor;
  /** A failure that stops every write until restart; null while writes are taken. */
  private volatile StorageException failure;
  /** Non-null in deletes-only mode (the disk is full); guarded by {@code reserve} for changes. */
  private volatile DiskFullException diskFull;
  /**
   * Non-null while the log is put back in order after a write the disk had no room for: the
   * refusal writes that store values get meanwhile (deletes get a retry error). Guarded by
   * appendLock. Set together with the failure, so no writer sees a reset without its cause.
   */
  private DiskFullException resetting;
  private final SpaceReserve reserve;
  /**
   * The newest CLEAR not yet made the start of the log: its batch opens segment {@code
   * clearSegmentId}; once it is durable the segments before it are deleted. -1: none. Guarded by
   * appendLock.
   */
  private long clearSequence = -1;
  private long clearSegmentId = -1;
  private volatile boolean closed;

  private LogEngine(Disk disk, StorageConfig config, WriteFence fence) {
    this.disk = disk;
    this.config = config;
    this.fence = java.util.Objects.requireNonNull(fence, "fence");
    this.reserve = new SpaceReserve(disk, config.diskReserveBytes());
    this.compactor = new Compactor(this, disk, config);
    this.flusher =
        config.flushIntervalMillis() > 0
            ? new Thread(this::runFlusher, "respawn-storage-flusher")
            : null;
  }

  /**
   * Opens the store in the disk's directory, recovering the log (see {@link Recovery}).
   *
   * @throws StorageException if the log is corrupt in a way recovery must not paper over
   */
  public static LogEngine open(Disk disk, StorageConfig config) throws IOException {
    return open(disk, config, WriteFence.NONE);
  }

  /**
   * As {@link #open(Disk, StorageConfig)}, with a {@link WriteFence} checked before every write
   * batch: once it reports the store fenced, the engine fails every unacknowledged write with a
   * {@link FencedException}, refuses all later ones and writes nothing more (no compaction, no
   * fsync of new data, no clean-shutdown mark at close). Recovery at open is not fenced.
   */
  public static LogEngine open(Disk disk, StorageConfig config, WriteFence fence)
      throws IOException {
    if (!config.batchChecksums()) {
      log.warn("batchChecksums=false: recovery will not verify checksums (crash experiments only)");
    }
    LogEngine engine = new LogEngine(disk, config, fence);
    Recovery.Result recovered;
    try {
      recovered = Recovery.run(disk, config);
    } catch (IOException | RuntimeException e) {
      disk.close(); // the engine owns the disk from here on
      throw e;
    }
    engine.index = recovered.index();
    for (Segment s : recovered.segments()) {
      engine.segments.put(s.id, s);
    }
    engine.cleanShutdownMarked = recovered.cleanShutdownMarked();
    engine.nextSequence = recovered.maxSequence() + 1;
    engine.durableSequence = recovered.maxSequence();
    engine.writtenSequence = recovered.maxSequence();
    long lastId = recovered.segments().isEmpty()
        ? -1 : recovered.segments().get(recovered.segments().size() - 1).id;
    engine.writtenEndSegmentId = lastId;
    engine.writtenEndOffset = Long.MAX_VALUE;
    engine.appendSegmentId = lastId + 1;
    engine.appendOffset = HEADER;
    engine.segments.put(engine.appendSegmentId, new Segment(engine.appendSegmentId, 0, HEADER));
    try {
      if (!engine.reserve.fill()) {
        engine.enterDiskFull(new IOException("No space left on device"), "at start-up");
      }
    } catch (IOException | RuntimeException e) {
      engine.index.close();
      disk.close();
      throw e;
    }
    if (engine.flusher != null) {
      engine.flusher.setDaemon(true);
      engine.flusher.start();
    }
    engine.compactor.start();
    log.info("opened store: {} keys, {} segments, next sequence {}",
        engine.index.size(), recovered.segments().size(), engine.nextSequence);
    return engine;
  }

  public StorageConfig config() {
    return config;
  }

  // ------------------------------------------------------------------ reads

  /** {@inheritDoc} The returned array is a copy, the caller's to keep. */
  @Override
  public StoredValue get(byte[] key) {
    return index.get(key);
  }

  /** {@inheritDoc} A slice of the record in its slab: nothing is copied. */
  @Override
  public boolean readValue(byte[] key, ValueSink sink) throws java.io.IOException {
    return index.readValue(key, sink);
  }

  /** {@inheritDoc} Reads the record's expiry field only. */
  @Override
  public long expiresAtMillis(byte[] key) {
    return index.expiresAtMillisOf(key);
  }

  /** {@inheritDoc} Off-heap records (rounded up to their size classes) and the index's table. */
  @Override
  public long memoryUsedBytes() {
    return index.memoryUsedBytes();
  }

  /**
   * What one key costs in the engine's memory (MEMORY USAGE): its off-heap record, rounded up to
   * its size class, plus its share of the index's slot table. The log on disk is not counted.
   */
  public static long memoryBytesPerKey(int keyBytes, int valueBytes, boolean expires) {
    return KeyIndex.memoryBytesPerKey(keyBytes, valueBytes, expires);
  }

  /** The index's memory figures, for INFO. */
  public MemoryStats memoryStats() {
    KeyIndex.MemoryStats m = index.memoryStats();
    return new MemoryStats(m.usedBytes(), m.recordBytes(), m.tableBytes(), m.reservedBytes(),
        m.freeListBytes());
  }

  /**
   * The memory of the index (see {@link KeyIndex}).
   *
   * @param usedBytes records (live, and retired ones readers may still see) and the slot tables:
   *     what INFO reports as used_memory
   * @param recordBytes live records, each rounded up to its size class
   * @param tableBytes the index's slot tables
   * @param reservedBytes taken from the operating system: slabs (used, free and not yet cut) and
   *     tables
   * @param freeListBytes freed blocks kept for reuse by records of the same size class
   */
  public record MemoryStats(long usedBytes, long recordBytes, long tableBytes, long reservedBytes,
      long freeListBytes) {}

  @Override
  public long keyCount() {
    return index.size();
  }

  @Override
  public long expiringKeyCount() {
    return index.expiringSize();
  }

  @Override
  public ScanPage scan(long cursor, int countHint) {
    return index.scan(cursor, countHint);
  }

  // ------------------------------------------------------------------ apply

  /** {@inheritDoc} The engine's durable notice is its own fsync. */
  @Override
  public boolean durableNoticeIsLocal() {
    return true;
  }

  /**
   * {@inheritDoc} In deletes-only mode (the disk is full) the {@link DiskFullException}. Without
   * a flusher thread this call also probes the disk for room, so writes resume on the first
   * attempt after space was freed.
   */
  @Override
  public StorageException putRefusal() {
    if (failure != null) {
      return notAcceptingWrites();
    }
    if (diskFull != null && flusher == null) {
      probeForRoom();
    }
    return diskFull;
  }

  private StorageException notAcceptingWrites() {
    if (failure instanceof FencedException fenced) {
      return new FencedException(fenced.getMessage());
    }
    return new StorageException("store is not accepting writes: " + failure.getMessage()
        + " (restart once the disk is fixed)", failure);
  }

  /**
   * {@inheritDoc}
   *
   * <p>The index copies keys and values off the heap; the log write keeps the encoded batch only.
   */
  @Override
  public WriteTicket apply(List<Mutation> batch) {
    long bytes = validate(batch);
    boolean storesValues = false;
    boolean clears = false;
    for (int i = 0; i < batch.size(); i++) { // indexed: no iterator per call
      Mutation m = batch.get(i);
      storesValues |= m.kind() == Mutation.Kind.PUT;
      clears |= m.kind() == Mutation.Kind.CLEAR;
    }
    if (storesValues && diskFull != null && flusher == null) {
      probeForRoom();
    }
    BatchTicket ticket;
    appendLock.lock();
    try {
      checkWritable(storesValues);
      long sequence = nextSequence++;
      if (appendOffset > HEADER
          && (appendOffset + bytes > config.segmentBytesMax() || clears)) {
        // Seal and start a new segment. A batch larger than a whole segment gets one of its own,
        // which the next batch then seals (its appendOffset is past segmentBytesMax). A CLEAR
        // starts one too: once it is durable, every segment before it can be deleted.
        appendSegmentId++;
        appendOffset = HEADER;
        segments.put(appendSegmentId, new Segment(appendSegmentId, 0, HEADER));
      }
      if (clears) {
        clearSequence = sequence;
        clearSegmentId = appendSegmentId;
      }
      SyncPoint synced = syncPoint;
      long durableHint = synced.segmentId() == appendSegmentId ? synced.offset() : HEADER;
      byte[] encoded = takeBatchArray((int) bytes);
      int length = LogFormat.encodeBatch(batch, sequence, durableHint, encoded);
      assert length == bytes : "encoded " + length + " != computed " + bytes;
      long offset = appendOffset;
      appendOffset += bytes;
      Segment segment = segments.get(appendSegmentId);
      segment.totalBytes += bytes;
      segment.maxSequence = sequence;
      int n = batch.size();
      for (int i = 0; i < n; i++) { // indexed: no iterator per call
        if (n > 1 && i % RecordTable.PREFETCH_MAX == 0) {
          index.prefetch(batch, i); // each group of keys' misses together, not one by one
        }
        Mutation m = batch.get(i);
        applyRecord(index, segments, LogFormat.typeOf(m.kind()), m.key(), m.value(),
            m.expiresAtMillis(), sequence, appendSegmentId);
      }
      index.reclaim(); // memory this batch replaced is reused once no reader can see it
      ticket = new BatchTicket(this, sequence);
      synchronized (durableLock) {
        durableWaiters.add(ticket);
      }
      pending.add(new Pending(ticket, appendSegmentId, offset, encoded, length));
      pendingCount = pending.size();
    } finally {
      appendLock.unlock();
    }
    writeIfFree();
    return ticket;
  }

  /**
   * Applies a batch and, for DURABLE, asks the flusher for an fsync at once — for callers that
   * will neither block on nor attach an action to {@link WriteTicket#durable()} (either of
   * which asks by itself).
   */
  public WriteTicket apply(List<Mutation> batch, Durability durability) {
    WriteTicket ticket = apply(batch);
    if (durability == Durability.DURABLE) {
      ticket.durable();
    }
    return ticket;
  }

  /**
   * An array of at least {@code bytes} for a batch's encoding: a spare one if any fits, else a
   * new one rounded up to a power of two. Caller holds appendLock.
   */
  private byte[] takeBatchArray(int bytes) {
    for (int i = 0; i < spareArrays.size(); i++) {
      byte[] spare = spareArrays.get(i);
      if (spare.length >= bytes) {
        int last = spareArrays.size() - 1; // unordered: the last one takes its place
        spareArrays.set(i, spareArrays.get(last));
        spareArrays.remove(last);
        return spare;
      }
    }
    return new byte[bytes > SPARE_ARRAY_BYTES_MAX ? bytes
        : Math.max(BATCH_ARRAY_BYTES_MIN, Integer.highestOneBit(bytes - 1) << 1)];
  }

  private long validate(List<Mutation> batch) {
    if (batch.isEmpty()) {
      throw new IllegalArgumentException("empty batch");
    }
    long bytes = LogFormat.COMMIT_BYTES;
    for (int i = 0; i < batch.size(); i++) { // indexed: no iterator per call
      Mutation m = batch.get(i);
      if (m.key().length > config.keyBytesMax()) {
        throw new IllegalArgumentException(
            "key of " + m.key().length + " bytes exceeds keyBytesMax " + config.keyBytesMax());
      }
      int valueBytes = m.value() == null ? 0 : m.value().length;
      if (m.kind() == Mutation.Kind.PUT && valueBytes > config.valueBytesMax()) {
        throw new IllegalArgumentException(
            "value of " + valueBytes + " bytes exceeds valueBytesMax " + config.valueBytesMax());
      }
      bytes += LogFormat.recordBytes(m.key().length, m.kind() == Mutation.Kind.PUT ? valueBytes : 0);
    }
    if (bytes > config.batchBytesMax()) {
      throw new IllegalArgumentException(
          "batch of " + bytes + " bytes exceeds batchBytesMax " + config.batchBytesMax());
    }
    return bytes;
  }

  /**
   * Applies one record to an index and the segments' live-byte counts; used by apply and by
   * recovery, so both build the same state.
   */
  static void applyRecord(KeyIndex index, Map<Long, Segment> segments, byte type, byte[] key,
      byte[] value, long expiresAtMillis, long sequence, long segmentId) {
    switch (type) {
      case LogFormat.TYPE_PUT -> {
        long previous = index.put(key, value, expiresAtMillis, sequence, segmentId);
        segments.get(segmentId).liveBytes += LogFormat.recordBytes(key.length, value.length);
        forget(segments, previous);
      }
      case LogFormat.TYPE_DELETE -> forget(segments, index.remove(key));
      case LogFormat.TYPE_CLEAR -> {
        index.clear();
        for (Segment s : segments.values()) {
          s.liveBytes = 0;
        }
      }
      default -> throw new IllegalStateException("not a data record type: " + type);
    }
  }

  /** The record {@code previous} (a {@link KeyIndex} summary) is no longer live. */
  private static void forget(Map<Long, Segment> segments, long previous) {
    if (previous != KeyIndex.NONE) {
      Segment s = segments.get(KeyIndex.segmentOf(previous));
      if (s != null) { // null: its segment was compacted away meanwhile
        s.liveBytes -= KeyIndex.recordBytesOf(previous);
      }
    }
  }

  /** Caller holds appendLock. */
  private void checkWritable(boolean storesValues) {
    if (failure != null) {
      throw notAcceptingWrites();
    }
    if (closed) {
      throw new StorageException("store is closed");
    }
    DiskFullException reset = resetting;
    if (reset != null) {
      throw storesValues ? reset : new StorageException(
          "store is putting its log back in order after a write the disk had no room for; retry");
    }
    DiskFullException full = diskFull;
    if (full != null && storesValues) {
      throw full;
    }
  }

  // ------------------------------------------------------------------ write (flat combining)

  private void writeIfFree() {
    if (writeLock.isHeldByCurrentThread()) {
      return; // called back from a future completed by the writer; the writer loops over the queue
    }
    while (pendingCount > 0) {
      if (!writeLock.tryLock()) {
        return; // the holder re-checks the queue after unlocking, so our batch is not stranded
      }
      writeTurn(null);
    }
  }

  /**
   * The rest of one turn of the writer's lock, which the caller took: writes every queued batch,
   * then runs {@code then} (if any) still inside, unlocks, and completes what was written.
   * Returns what {@code then} returned (false without one).
   */
  private boolean writeTurn(java.util.function.BooleanSupplier then) {
    assert writeLock.isHeldByCurrentThread();
    List<Pending> written;
    List<BatchTicket> durable;
    boolean result;
    try {
      written = writePending();
      durable = takeDurableCompletions();
      result = then != null && then.getAsBoolean();
    } finally {
      writeLock.unlock();
    }
    complete(written, durable);
    return result;
  }

  /**
   * Completes futures only after every engine lock is released: their callbacks may call back
   * into the store (apply, durable), and must never run inside the writer's critical section.
   */
  private static void complete(List<Pending> written, List<BatchTicket> durable) {
    for (int i = 0; i < written.size(); i++) { // indexed: no iterator per call
      Pending p = written.get(i);
      p.ticket().completeOrdered();
    }
    for (int i = 0; i < durable.size(); i++) { // indexed: no iterator per call
      BatchTicket t = durable.get(i);
      t.completeDurable();
    }
  }

  /** Tickets made durable by a rotation inside the write stage. Caller holds writeLock. */
  private List<BatchTicket> takeDurableCompletions() {
    if (durableAtRotation.isEmpty()) {
      return List.of();
    }
    List<BatchTicket> taken = durableAtRotation;
    durableAtRotation = new ArrayList<>();
    return taken;
  }

  /** Writes every queued batch in order. Caller holds writeLock. Returns what it wrote. */
  private List<Pending> writePending() {
    assert writeLock.isHeldByCurrentThread();
    if (failure != null) {
      return List.of();
    }
    ArrayList<Pending> batches;
    appendLock.lock();
    try {
      batches = pending;
      pending = new ArrayList<>();
      pendingCount = 0;
      for (int i = 0; i < writtenArrays.size() && spareArrays.size() < SPARE_ARRAYS_MAX; i++) {
        spareArrays.add(writtenArrays.get(i));
      }
    } finally {
      appendLock.unlock();
    }
    writtenArrays.clear();
    if (batches.isEmpty()) {
      return batches;
    }
    try {
      fence.check(); // a fenced store writes nothing more (see WriteFence for the window left)
      writeBuffer.clear();
      Pending buffered = null; // last batch in writeBuffer
      for (Pending p : batches) {
        if (p.segmentId() != writeSegmentId) {
          buffered = writeBuffered(buffered);
          rotateTo(p.segmentId());
        }
        if (p.offset() != writeOffset + writeBuffer.position()) {
          throw new IllegalStateException("batch " + p.ticket().sequence() + " assigned offset "
              + p.offset() + " but the log is at " + (writeOffset + writeBuffer.position()));
        }
        if (p.length() > writeBuffer.remaining()) {
          buffered = writeBuffered(buffered);
        }
        if (p.length() > writeBuffer.capacity()) {
          preallocateFor(writeOffset + p.length());
          disk.write(segmentFile(writeSegmentId), writeOffset,
              ByteBuffer.wrap(p.bytes(), 0, p.length()));
          writeOffset += p.length();
          markWritten(p);
        } else {
          writeBuffer.put(p.bytes(), 0, p.length());
          buffered = p;
        }
      }
      writeBuffered(buffered);
      // Written, not yet acknowledged: a fence raised meanwhile (after the check above) must not
      // see these acknowledged, or a promotion that missed them would lose them (WriteFence).
      fence.check();
      // Every batch's bytes are in the file now: its array may carry a later batch.
      for (int i = 0; i < batches.size(); i++) {
        byte[] array = batches.get(i).bytes();
        if (array.length <= SPARE_ARRAY_BYTES_MAX) {
          writtenArrays.add(array);
        }
      }
      return batches;
    } catch (FencedException e) {
      fail(e, batches); // none of them is acknowledged, written or not
      return List.of();
    } catch (IOException | RuntimeException e) {
      // Batches written whole before the error are in the log in order: acknowledge them as
      // ORDERED (the index rebuilt by fail() keeps them); fail the rest.
      List<Pending> written = new ArrayList<>();
      List<Pending> lost = new ArrayList<>();
      for (Pending p : batches) {
        (p.ticket().sequence() <= writtenSequence ? written : lost).add(p);
      }
      fail(e, lost);
      return written;
    }
  }

  private void markWritten(Pending p) {
    writtenSequence = p.ticket().sequence();
    writtenEndSegmentId = p.segmentId();
    writtenEndOffset = p.offset() + p.length();
  }

  /** Writes the buffered batches (ending with {@code last}) at writeOffset; returns null. */
  private Pending writeBuffered(Pending last) throws IOException {
    if (writeBuffer.position() == 0) {
      return null;
    }
    writeBuffer.flip();
    int n = writeBuffer.remaining();
    preallocateFor(writeOffset + n);
    disk.write(segmentFile(writeSegmentId), writeOffset, writeBuffer);
    writeOffset += n;
    writeBuffer.clear();
    markWritten(last);
    assert writtenEndOffset == writeOffset : "written end " + writtenEndOffset + " != " + writeOffset;
    return null;
  }

  /**
   * Seals the current segment (flush: every segment but the last is durable) and starts the next
   * one with a durable header.
   */
  private void rotateTo(long segmentId) throws IOException {
    if (writeSegmentId >= 0) {
      String sealed = segmentFile(writeSegmentId);
      flush(sealed);
      durableAtRotation.addAll(
          advanceDurable(writtenSequence, new SyncPoint(writeSegmentId, writeOffset)));
      if (preallocatedEnd > writeOffset && writeFileIsOurs(sealed)) {
        // A sealed segment ends exactly at its last batch: recovery reads anything after it as
        // corruption. (A crash before this leaves it the last segment, whose tail is torn.)
        disk.truncate(sealed, writeOffset);
      }
      disk.dropCached(sealed); // values are in memory: read again only by compaction or restart
    }
    assert segmentId > writeSegmentId : "segments go forward: " + writeSegmentId + " -> " + segmentId;
    String name = LogFormat.segmentName(segmentId, 0);
    disk.create(name);
    try {
      disk.write(name, 0, ByteBuffer.wrap(LogFormat.segmentHeader()));
      flush(name);
    } catch (IOException | RuntimeException e) {
      // No batch was written to it: remove it, so the log goes on in the segment before.
      try {
        disk.delete(name);
      } catch (IOException | RuntimeException again) {
        e.addSuppressed(again); // recovery deletes a last segment with a torn header
      }
      throw e;
    }
    if (cleanShutdownMarked) {
      // The segment it names is no longer the last: as a sealed one it is checked strictly anyway.
      disk.delete(LogFormat.CLEAN_SHUTDOWN_FILE);
      cleanShutdownMarked = false;
    }
    writeSegmentId = segmentId;
    writeOffset = HEADER;
    preallocatedEnd = HEADER;
  }

  /**
   * Before writing up to {@code end}. Appending to a file makes every fdatasync also commit the
   * file's new size and blocks to the filesystem journal; overwriting zeros the file already has
   * does not, which makes a DURABLE write's fsync about twice as fast on ext4. So the log keeps
   * up to {@link #preallocateAheadBytes} of zeros written past its end: the flusher writes them
   * ({@link #topUpZeros}), asked for more here once less than half that is left. If it has
   * fallen behind (or there is no flusher), the write appends past the zeros, and without a
   * flusher the writer writes the next stretch itself. The zeros become durable with the next
   * fsync. Recovery reads them as a torn tail of the last segment and cuts them off; sealed
   * segments are truncated to their data at rotation, and the active one at close. Caller holds
   * writeLock.
   */
  private void preallocateFor(long end) throws IOException {
    if (flusher != null) {
      if (preallocatedEnd - end < preallocateAheadBytes() / 2 && !zerosWanted && diskFull == null
          && preallocatedEnd < config.segmentBytesMax()) {
        zerosWanted = true;
        LockSupport.unpark(flusher);
      }
      preallocatedEnd = Math.max(preallocatedEnd, end);
      return;
    }
    if (end <= preallocatedEnd) {
      return;
    }
    preallocatedEnd = end;
    if (diskFull == null) { // deletes-only: every byte of the reserve goes to the log itself
      writeZeros(segmentFile(writeSegmentId), end,
          Math.min(config.segmentBytesMax(), end + preallocateAheadBytes()));
    }
  }

  /**
   * Writes zeros over {@code [from, to)} of the write segment's file {@code name}; false if the
   * disk had too little room (the data is then written without them: the disk is full only if
   * that fails too). Either way the file may hold zeros up to {@code to} from now on, which
   * sealing and close trim. Other write errors propagate. Caller holds writeLock.
   */
  private boolean writeZeros(String name, long from, long to) throws IOException {
    preallocatedEnd = Math.max(preallocatedEnd, to);
    try {
      ZeroFill.write(disk, name, from, to);
      return true;
    } catch (IOException e) {
      if (!DiskFullException.isDiskFull(e)) {
        throw e;
      }
      return false;
    }
  }

  /** A flush whose failure is told apart from a failed write (see {@link #fail}). */
  private void flush(String name) throws IOException {
    try {
      disk.flush(name);
    } catch (IOException e) {
      throw new FlushFailedException(e);
    }
  }

  /** An fsync failed: the kernel may have dropped the pages it could not write. */
  private static final class FlushFailedException extends IOException {
    FlushFailedException(IOException cause) {
      super(cause.getMessage(), cause);
    }
  }

  /**
   * False once compaction has replaced the write segment's file by a compacted one (same id,
   * higher generation): that file is not ours to trim.
   */
  private boolean writeFileIsOurs(String name) {
    return name.equals(LogFormat.segmentName(writeSegmentId, 0));
  }

  private long preallocateAheadBytes() {
    return Math.min(PREALLOCATE_BYTES_MAX, Math.max(4096, config.segmentBytesMax() / 8));
  }

  private String segmentFile(long segmentId) {
    appendLock.lock();
    try {
      Segment s = segments.get(segmentId);
      return s != null ? s.fileName() : LogFormat.segmentName(segmentId, 0);
    } finally {
      appendLock.unlock();
    }
  }

  // ------------------------------------------------------------------ sync

  /** Someone waits for sequence to be durable. */
  void requestSync(long sequence) {
    if (sequence <= durableSequence || failure != null) {
      return;
    }
    if (flusher != null && !closed) {
      syncRequested = true;
      LockSupport.unpark(flusher);
    } else {
      syncOnce();
    }
  }

  /**
   * A thread about to block until sequence is durable: do the fsync here rather than hand it to
   * the flusher (flat combining; fsyncs of several helpers may overlap, which the kernel
   * merges).
   */
  void helpSync(long sequence) {
    if (sequence > durableSequence && failure == null && !closed) {
      syncOnce(sequence);
    }
  }

  /** Runs {@link #syncFor} now for whatever has been written (flusher, close, manual mode). */
  void syncOnce() {
    syncOnce(Long.MAX_VALUE);
  }

  /**
   * Group commit by leader and followers: at most {@value #SYNCS_IN_FLIGHT_MAX} fsyncs run at
   * once; a thread that finds them all busy waits for one to end, and returns if that made its
   * batch durable — otherwise it becomes the next leader and its fsync covers everyone who
   * wrote meanwhile.
   */
  private void syncOnce(long sequence) {
    synchronized (syncSlots) {
      while (syncsInFlight >= SYNCS_IN_FLIGHT_MAX) {
        if (sequence <= durableSequence || failure != null) {
          return;
        }
        try {
          syncSlots.wait(100);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return;
        }
      }
      syncsInFlight++;
    }
    try {
      syncFor();
    } finally {
      synchronized (syncSlots) {
        syncsInFlight--;
        syncSlots.notifyAll();
      }
    }
  }

  /**
   * Writes what is queued, then one fsync covering everything written so far — unless an fsync
   * started after those writes is already running, which covers them. Several may run at once:
   * an fsync makes durable everything written before it began, whatever else is in flight, and
   * the durable mark only moves forward.
   */
  private void syncFor() {
    List<BatchTicket> durableNow = List.of();
    fileLock.readLock().lock();
    try {
      long target;
      long segmentId;
      long offset;
      boolean covered;
      List<Pending> written;
      List<BatchTicket> durable;
      writeLock.lock();
      try {
        written = writePending();
        durable = takeDurableCompletions();
        target = writtenSequence;
        segmentId = writeSegmentId;
        offset = writeOffset;
        covered = target <= syncStartedSequence;
        if (!covered) {
          syncStartedSequence = target;
        }
      } finally {
        writeLock.unlock();
      }
      complete(written, durable);
      writeIfFree(); // batches queued while this thread held the lock: their writer left them
      if (failure == null && !covered && target > durableSequence && segmentId >= 0) {
        try {
          flush(segmentFile(segmentId));
          durableNow = advanceDurable(target, new SyncPoint(segmentId, offset));
        } catch (IOException | RuntimeException e) {
          fail(e, List.of());
        }
      }
      dropSegmentsBeforeDurableClear();
    } finally {
      fileLock.readLock().unlock();
    }
    complete(List.of(), durableNow);
  }

  /**
   * Once a CLEAR is durable, the segments before the one it opens hold nothing live: deletes them,
   * oldest first (a crash midway leaves some of them before the CLEAR, which still wipes them).
   * The delayed-write rule holds: what replaces them (nothing, after the CLEAR) is durable. Caller
   * holds the fileLock's read lock, which keeps compaction's renames and deletes out.
   */
  private void dropSegmentsBeforeDurableClear() {
    List<Segment> dropped;
    appendLock.lock();
    try {
      if (clearSequence < 0 || clearSequence > durableSequence) {
        return;
      }
      dropped = new ArrayList<>(segments.headMap(clearSegmentId, false).values());
      for (Segment s : dropped) {
        segments.remove(s.id);
      }
      clearSequence = -1;
    } finally {
      appendLock.unlock();
    }
    long bytes = 0;
    for (Segment s : dropped) {
      try {
        disk.delete(s.fileName());
        bytes += s.totalBytes;
      } catch (IOException | RuntimeException e) {
        log.warn("could not delete segment {} emptied by a clear (recovery replays it before the "
            + "clear, harmlessly): {}", s.fileName(), e.toString());
      }
    }
    if (!dropped.isEmpty()) {
      log.info("a clear (FLUSHALL) is durable: deleted {} segment(s) before it, {} bytes",
          dropped.size(), bytes);
    }
  }

  /** Moves the durable mark forward; returns the tickets to complete (outside any lock). */
  private List<BatchTicket> advanceDurable(long sequence, SyncPoint synced) {
    List<BatchTicket> done = new ArrayList<>();
    synchronized (durableLock) {
      if (sequence > durableSequence) {
        durableSequence = sequence;
      }
      SyncPoint was = syncPoint;
      if (synced.segmentId() > was.segmentId()
          || synced.segmentId() == was.segmentId() && synced.offset() > was.offset()) {
        syncPoint = synced; // overlapping fsyncs may finish out of order: never move it back
      }
      while (!durableWaiters.isEmpty() && durableWaiters.peek().sequence() <= durableSequence) {
        done.add(durableWaiters.poll());
      }
    }
    return done;
  }

  private void runFlusher() {
    long intervalNanos = TimeUnit.MILLISECONDS.toNanos(config.flushIntervalMillis());
    long lastSync = System.nanoTime();
    long probeNanos = TimeUnit.MILLISECONDS.toNanos(DISK_FULL_PROBE_MILLIS);
    long lastProbe = System.nanoTime();
    while (!closed) {
      if (diskFull != null && System.nanoTime() - lastProbe >= probeNanos) {
        probeForRoom();
        lastProbe = System.nanoTime();
      }
      long wait = intervalNanos - (System.nanoTime() - lastSync);
      if (diskFull != null) {
        wait = Math.min(wait, probeNanos - (System.nanoTime() - lastProbe));
      }
      // Read before zerosWanted: zeros a writer asked for before someone requested this sync
      // are written before it (a writer sets zerosWanted before it requests a sync).
      boolean sync = syncRequested;
      if (zerosWanted) {
        topUpZeros();
      }
      if (!sync && wait > 0) {
        // Both flags again: an unpark that came during the top-up may have been used up by a
        // park inside it (waiting for a lock), so a sync requested meanwhile must not wait here.
        if (!zerosWanted && !syncRequested) {
          LockSupport.parkNanos(this, wait);
        }
        continue;
      }
      syncRequested = false;
      try {
        syncOnce();
      } catch (RuntimeException e) {
        log.error("flusher failed", e);
      }
      lastSync = System.nanoTime();
    }
  }

  /**
   * Flusher: writes zeros past the log's end until {@link #preallocateAheadBytes} are there (not
   * past the segment's limit), {@link #ZERO_CHUNK_BYTES} per turn of the writer's lock. Each turn
   * first writes the batches queued meanwhile (a writer that found the lock taken left its batch
   * to the holder), and after unlocking writes what came during the chunk. A full disk stops
   * it quietly (the log goes on without zeros ahead); another write error fails the store, as it
   * would have on the writer's thread.
   */
  private void topUpZeros() {
    zerosWanted = false;
    boolean more = true;
    while (more && !closed) {
      writeLock.lock();
      more = writeTurn(this::zeroChunk);
      writeIfFree();
    }
  }

  /** One chunk of {@link #topUpZeros}; returns whether more is wanted. Caller holds writeLock. */
  private boolean zeroChunk() {
    if (closed || failure != null || diskFull != null || writeSegmentId < 0) {
      return false;
    }
    String name = segmentFile(writeSegmentId);
    if (!writeFileIsOurs(name) || appendedPast(writeSegmentId)) {
      return false; // compaction replaced the file, or the segment is sealed: no more writes go in
    }
    long from = Math.max(preallocatedEnd, writeOffset);
    long target = Math.min(config.segmentBytesMax(), writeOffset + preallocateAheadBytes());
    if (from >= target) {
      return false;
    }
    long to = Math.min(target, from + ZERO_CHUNK_BYTES);
    try {
      fence.check(); // a fenced store writes nothing more, zeros included (see SoloVolume)
      return writeZeros(name, from, to) && to < target; // short of room: no zeros ahead for now
    } catch (IOException | RuntimeException e) {
      fail(e, List.of());
      return false;
    }
  }

  /** Batches have been assigned past {@code segmentId}: it is sealed, or about to be. */
  private boolean appendedPast(long segmentId) {
    appendLock.lock();
    try {
      return appendSegmentId != segmentId;
    } finally {
      appendLock.unlock();
    }
  }

  @Override
  public CompletableFuture<Void> flushAll() {
    StorageException failed = failure;
    if (failed != null) {
      return CompletableFuture.failedFuture(failed);
    }
    long last;
    appendLock.lock();
    try {
      last = nextSequence - 1;
    } finally {
      appendLock.unlock();
    }
    BatchTicket marker = new BatchTicket(this, last);
    synchronized (durableLock) {
      if (last <= durableSequence) {
        return CompletableFuture.completedFuture(null);
      }
      durableWaiters.add(marker);
    }
    if (failure != null) {
      marker.fail(failure);
    }
    requestSync(last);
    return marker.durable;
  }

  // ------------------------------------------------------------------ failure

  /**
   * A write or fsync failed: fail everything not yet acknowledged, and rebuild the index from what
   * was written so phantom writes disappear. A write (not an fsync) that failed for want of space
   * puts the log back in order and goes on in deletes-only mode ({@link #resumeAfterDiskFull});
   * anything else refuses every write until restart.
   */
  private void fail(Throwable cause, List<Pending> inHand) {
    boolean full = DiskFullException.isDiskFull(cause) && !(cause instanceof FlushFailedException)
        && failure == null && writeLock.isHeldByCurrentThread();
    String reason = describe(cause);
    StorageException error = full
        ? new DiskFullException(String.valueOf(cause.getMessage()), cause)
        : cause instanceof FencedException fenced ? fenced
        : new StorageException(reason, cause);
    List<Pending> queued;
    appendLock.lock();
    try {
      if (full) {
        resetting = (DiskFullException) error; // refuse every write until the log is in order
      } else if (failure == null) {
        failure = error;
      }
      queued = pending;
      pending = new ArrayList<>();
      pendingCount = 0;
    } finally {
      appendLock.unlock();
    }
    if (full) {
      enterDiskFull(cause, "writing the log");
    } else if (error instanceof FencedException) {
      log.warn("store fenced, it writes nothing more: {}", error.getMessage());
    } else {
      log.error("storage failure, store is now read-only: {}", reason, cause);
    }
    List<BatchTicket> waiting;
    synchronized (durableLock) {
      waiting = new ArrayList<>(durableWaiters);
      durableWaiters.clear();
    }
    // The index loses the failed batches before their writers hear of the failure: a client told
    // "refused" must not read its write back afterwards.
    if (full) {
      resumeAfterDiskFull();
    } else {
      rebuildIndexFromWrittenLog();
    }
    for (Pending p : inHand) {
      p.ticket().fail(error);
    }
    for (Pending p : queued) {
      p.ticket().fail(error);
    }
    for (BatchTicket t : waiting) {
      t.durable.completeExceptionally(error);
    }
  }

  /**
   * Deletes-only mode: refuses batches that store values and gives the reserve's space to the
   * log. Guarded by the reserve's lock, like {@link #probeForRoom}.
   */
  private void enterDiskFull(Throwable cause, String when) {
    synchronized (reserve) {
      boolean already = diskFull != null;
      diskFull = new DiskFullException(String.valueOf(cause.getMessage()), cause);
      try {
        reserve.release();
      } catch (IOException | RuntimeException e) {
        log.warn("could not release the disk reserve: {}", e.toString());
      }
      if (!already) {
        log.warn("disk full {} ({}): writes that store values are refused, reads and deletes "
            + "(DEL, FLUSHALL, expiry) go on in the {} bytes of the released reserve; writes "
            + "resume by themselves once the disk has room", when, cause.getMessage(),
            reserve.bytes());
      }
    }
  }

  /**
   * Deletes-only mode: if the disk has room for the reserve again, leaves it (writes resume).
   * Runs on the flusher thread every {@value #DISK_FULL_PROBE_MILLIS} ms, or without one on a
   * caller's refused attempt.
   */
  private void probeForRoom() {
    synchronized (reserve) {
      if (diskFull == null || failure != null || closed) {
        return;
      }
      try {
        if (reserve.fill()) {
          diskFull = null;
          log.info("the disk has room again: writes resume ({} bytes reserved)", reserve.bytes());
        }
      } catch (IOException | RuntimeException e) {
        log.warn("probing the full disk for room failed: {}", e.toString());
      }
    }
  }

  /**
   * After a write failed for want of space (caller holds writeLock, writes are refused): cuts
   * what the failed write may have left off the write segment, so the log ends at its last
   * written batch again; rebuilds the index and the segments' accounting from the log; and
   * continues the log there. Failed batches' sequence numbers are skipped. If this fails too,
   * the store stops taking writes.
   */
  private void resumeAfterDiskFull() {
    assert writeLock.isHeldByCurrentThread();
    try {
      long resumeSegment;
      long resumeOffset;
      if (writeSegmentId >= 0 && writeFileIsOurs(segmentFile(writeSegmentId))) {
        disk.truncate(segmentFile(writeSegmentId), writeOffset); // the failed write and the zeros
        preallocatedEnd = writeOffset;
        resumeSegment = writeSegmentId;
        resumeOffset = writeOffset;
      } else {
        resumeSegment = Math.max(writeSegmentId, writtenEndSegmentId) + 1;
        resumeOffset = HEADER;
      }
      Recovery.Result rebuilt =
          Recovery.rebuild(disk, config, writtenEndSegmentId, writtenEndOffset);
      appendLock.lock();
      try {
        index = rebuilt.index(); // the replaced one is freed once unreachable (see NativeArenas)
        segments.clear();
        for (Segment s : rebuilt.segments()) {
          segments.put(s.id, s);
        }
        if (resumeSegment == writeSegmentId && segments.containsKey(resumeSegment)) {
          assert segments.get(resumeSegment).totalBytes == resumeOffset
              : segments.get(resumeSegment).totalBytes + " != " + resumeOffset;
        } else {
          segments.put(resumeSegment, new Segment(resumeSegment, 0, resumeOffset));
        }
        appendSegmentId = resumeSegment;
        appendOffset = resumeOffset;
        if (clearSequence > writtenSequence) {
          clearSequence = -1; // that CLEAR failed
        }
        writtenSequence = nextSequence - 1; // failed batches: nothing left to write or wait for
        resetting = null;
      } finally {
        appendLock.unlock();
      }
      log.info("log resumed after the failed write at segment {} offset {}: {} keys",
          resumeSegment, resumeOffset, rebuilt.index().size());
    } catch (IOException | RuntimeException e) {
      StorageException error = new StorageException(
          "disk error while recovering from a full disk: " + e, e);
      appendLock.lock();
      try {
        failure = error;
        resetting = null;
      } finally {
        appendLock.unlock();
      }
      log.error("storage failure, store is now read-only: {}", error.getMessage(), e);
    }
  }

  static String describe(Throwable cause) {
    Throwable c = cause instanceof FlushFailedException && cause.getCause() != null
        ? cause.getCause() : cause;
    String message = String.valueOf(c.getMessage());
    if (DiskFullException.isDiskFull(c)) {
      return "disk full: " + message;
    }
    return "disk error: " + c.getClass().getSimpleName() + ": " + message;
  }

  private void rebuildIndexFromWrittenLog() {
    try {
      Recovery.Result rebuilt =
          Recovery.rebuild(disk, config, writtenEndSegmentId, writtenEndOffset);
      appendLock.lock();
      try {
        // The replaced index is not closed: readers may still be inside it. Its memory is freed
        // once it is unreachable (see NativeArenas).
        index = rebuilt.index();
      } finally {
        appendLock.unlock();
      }
      log.info("index rebuilt from the written log after the failure: {} keys", rebuilt.index().size());
    } catch (IOException | RuntimeException e) {
      log.error("could not rebuild the index after the failure; reads may show unacknowledged writes", e);
    }
  }

  /** A snapshot of the engine's counters, for INFO and metrics. */
  public record Stats(long keys, int segments, long logBytes, long liveBytes,
      long lastSequence, long durableSequence) {}

  public Stats stats() {
    appendLock.lock();
    try {
      long total = 0;
      long live = 0;
      for (Segment s : segments.values()) {
        total += s.totalBytes;
        live += s.liveBytes;
      }
      return new Stats(index.size(), segments.size(), total, live, nextSequence - 1,
          durableSequence);
    } finally {
      appendLock.unlock();
    }
  }

  /** The failure that stopped writes until restart, or null (see {@link #putRefusal()}). */
  public StorageException failure() {
    return failure;
  }

  /**
   * Asks the {@link WriteFence} whether this store may still write, for steps outside the write
   * path (compaction, close). If not, fails the store as the write path would (every waiting write
   * fails, later ones are refused) and returns false.
   */
  boolean mayStillWrite() {
    if (failure != null) {
      return false;
    }
    try {
      fence.check();
      return true;
    } catch (IOException | RuntimeException e) {
      writeLock.lock();
      try {
        fail(e, List.of());
      } finally {
        writeLock.unlock();
      }
      return false;
    }
  }

  // ------------------------------------------------------------------ compaction hooks

  /**
   * Compacts every sealed segment now (sealing the active one first), whatever the garbage ratio.
   * Returns what it did. Blocks until the new segment is durable and the old ones are deleted.
   */
  public Compactor.Report compact() throws IOException {
    return compactor.compactNow(true);
  }

  /** Seals the active segment if it holds data; returns the id of the last sealed segment. */
  long sealActiveSegment() {
    appendLock.lock();
    try {
      if (appendOffset > HEADER) {
        appendSegmentId++;
        appendOffset = HEADER;
        segments.put(appendSegmentId, new Segment(appendSegmentId, 0, HEADER));
      }
      return appendSegmentId - 1;
    } finally {
      appendLock.unlock();
    }
  }

  long activeSegmentId() {
    appendLock.lock();
    try {
      return appendSegmentId;
    } finally {
      appendLock.unlock();
    }
  }

  /**
   * Runs with the sync and write locks held, so no write or fsync touches a segment file while
   * compaction renames or deletes it.
   */
  void withLogQuiet(IoAction action) throws IOException {
    fileLock.writeLock().lock();
    try {
      writeLock.lock();
      try {
        action.run();
      } finally {
        writeLock.unlock();
      }
    } finally {
      fileLock.writeLock().unlock();
    }
  }

  /** An I/O step. */
  interface IoAction {
    void run() throws IOException;
  }

  // ------------------------------------------------------------------ close

  /**
   * Cuts the zeros written ahead off the active segment, so a clean shutdown leaves no tail.
   * Returns false if that failed.
   */
  private boolean trimPreallocated() {
    writeLock.lock();
    try {
      String name = writeSegmentId >= 0 ? segmentFile(writeSegmentId) : null;
      if (failure == null && name != null && preallocatedEnd > writeOffset
          && writeFileIsOurs(name)) {
        disk.truncate(name, writeOffset);
        preallocatedEnd = writeOffset;
      }
      return true;
    } catch (IOException | RuntimeException e) {
      log.warn("could not trim the preallocated tail of the log (recovery will): {}", e.toString());
      return false;
    } finally {
      writeLock.unlock();
    }
  }

  /**
   * After the final flush and trim: records that the log's last segment is flushed to its end
   * ({@link LogFormat#CLEAN_SHUTDOWN_FILE}), so recovery reports damage to its last records as
   * corruption instead of dropping them as a torn tail. Written to a temp file, flushed, renamed.
   * Without it (a crash, or this failing) recovery treats the end of the log as after a crash.
   */
  private void recordCleanShutdown() {
    try {
      LogFormat.SegmentId last = null;
      List<String> names = disk.list();
      for (String name : names) {
        LogFormat.SegmentId id = LogFormat.parseSegmentName(name);
        if (id != null && (last == null || id.compareTo(last) > 0)) {
          last = id;
        }
      }
      if (last == null) {
        return;
      }
      byte[] mark = LogFormat.encodeCleanShutdown(
          new LogFormat.CleanShutdown(last, disk.size(last.fileName())));
      String temp = LogFormat.CLEAN_SHUTDOWN_FILE + LogFormat.TEMP_SUFFIX;
      if (names.contains(temp)) {
        disk.delete(temp);
      }
      disk.create(temp);
      disk.write(temp, 0, ByteBuffer.wrap(mark));
      disk.flush(temp);
      if (cleanShutdownMarked) {
        disk.delete(LogFormat.CLEAN_SHUTDOWN_FILE); // the last close's, about the same segment
      }
      disk.rename(temp, LogFormat.CLEAN_SHUTDOWN_FILE);
      cleanShutdownMarked = true;
    } catch (IOException | RuntimeException e) {
      log.warn("could not record the clean shutdown ({}): on restart the end of the log is "
          + "checked as after a crash", e.toString());
    }
  }

  /** Stops the background threads, makes everything durable (unless failed), closes the disk. */
  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    compactor.stop();
    closed = true;
    if (flusher != null) {
      LockSupport.unpark(flusher);
      try {
        flusher.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (failure == null && mayStillWrite()) {
      syncOnce();
      if (trimPreallocated() && failure == null && mayStillWrite()) {
        recordCleanShutdown();
      }
    }
    List<BatchTicket> left;
    synchronized (durableLock) {
      left = new ArrayList<>(durableWaiters);
      durableWaiters.clear();
    }
    StorageException closedError = new StorageException("store closed before the write was durable");
    for (BatchTicket t : left) {
      t.fail(closedError);
    }
    disk.close();
    appendLock.lock();
    try {
      index.close(); // waits for readers inside; later reads throw "store is closed"
    } finally {
      appendLock.unlock();
    }
  }
}
