package io.respawn.storage.backup;

import io.respawn.storage.Disk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * The hot or the cold log: an ordered list of {@link Segment} files, the last of which may be
 * active (being appended to). Only {@link WritebackAgent} writes: it places records with the page
 * rule of {@link BackupFormat}, gathers them in a block buffer, writes whole blocks with one
 * positional write each, and fsyncs at the end of its pass. A segment that would exceed {@code
 * segmentBytesMax} is sealed — fsynced first — and a new one started. The segment list is
 * guarded by the store's state lock; GC removes collected segments from it.
 */
final class BackupLog {
  final LogKind kind;
  private final Disk disk;
  private final BackupConfig config;
  private final ReentrantLock stateLock;
  private final Map<Long, Segment> segmentsById;
  private final LongSupplier nextSegmentId;
  /** Oldest first. Guarded by stateLock. */
  private final List<Segment> segments = new ArrayList<>();

  // Writer state: the writeback thread only.
  private Segment active;
  private long activeBytes;
  private boolean lastWasLarge;
  private byte[] block;
  private int blockFill;
  private long blockStart;
  private boolean unsynced;
  /** Sealed by this pass; GC may take them once their records are in the index. */
  private final List<Segment> sealedInPass = new ArrayList<>();
  private long bytesWritten;
  private long writes;

  BackupLog(LogKind kind, Disk disk, BackupConfig config, ReentrantLock stateLock,
      Map<Long, Segment> segmentsById, LongSupplier nextSegmentId) {
    this.kind = kind;
    this.disk = disk;
    this.config = config;
    this.stateLock = stateLock;
    this.segmentsById = segmentsById;
    this.nextSegmentId = nextSegmentId;
    this.block = new byte[config.writebackBlockBytes()];
  }

  /** Adds a segment found by recovery (sealed, oldest first). Caller holds the state lock. */
  void addRecovered(Segment s) {
    assert stateLock.isHeldByCurrentThread();
    assert segments.isEmpty() || segments.get(segments.size() - 1).id < s.id;
    s.sealed = true;
    segments.add(s);
    segmentsById.put(s.id, s);
  }

  /** The segments, oldest first. Caller holds the state lock. */
  List<Segment> segments() {
    assert stateLock.isHeldByCurrentThread();
    return segments;
  }

  /** Removes a collected segment. Caller holds the state lock. */
  void remove(Segment s) {
    assert stateLock.isHeldByCurrentThread();
    assert s.sealed && s != active;
    segments.remove(s);
    segmentsById.remove(s.id);
  }

  /** Active segment id for the checkpoint (0 = none). Writer thread. */
  long activeSegmentId() {
    return active == null ? 0 : active.id;
  }

  /** Fsynced bytes of the active segment. Writer thread. */
  long activeDurableBytes() {
    return active == null ? 0 : active.durableBytes;
  }

  long bytesWritten() {
    return bytesWritten;
  }

  long writes() {
    return writes;
  }

  /**
   * Places a record (bytes[at, at+length), seq) at the end of the log and returns its location
   * (without the tombstone bit). Writer thread. May write a block, or seal the active segment
   * and start another.
   */
  long place(byte[] bytes, int at, int length, long seq, long popularityVersion)
      throws IOException {
    if (active == null) {
      open(seq);
    }
    long start = startFor(activeBytes, length);
    if (start + length > config.segmentBytesMax()) {
      seal(popularityVersion);
      open(seq);
      start = startFor(activeBytes, length);
    }
    appendZeros((int) (start - activeBytes));
    append(bytes, at, length);
    activeBytes = start + length;
    lastWasLarge = length > BackupFormat.PAGE_BYTES;
    if (blockFill >= config.writebackBlockBytes()) {
      writeBlock();
    }
    return Location.inLog(kind, active.id, start, false);
  }

  /** Where a record of length starts if the log now ends at end (the page rule). */
  private long startFor(long end, int length) {
    int pageLeft = BackupFormat.PAGE_BYTES - (int) (end % BackupFormat.PAGE_BYTES);
    if (lastWasLarge || length > pageLeft) {
      return BackupFormat.align(end, BackupFormat.PAGE_BYTES);
    }
    return end;
  }

  private void open(long firstSeq) throws IOException {
    Segment s = new Segment(kind, nextSegmentId.getAsLong(), firstSeq);
    disk.create(s.name);
    active = s;
    blockStart = 0;
    blockFill = 0;
    activeBytes = 0;
    lastWasLarge = false;
    byte[] header = BackupFormat.segmentHeader(kind, firstSeq);
    append(header, 0, header.length);
    activeBytes = header.length;
    stateLock.lock();
    try {
      segments.add(s);
      segmentsById.put(s.id, s);
    } finally {
      stateLock.unlock();
    }
  }

  /**
   * Writes what is pending and fsyncs the active segment, then retires it: it becomes sealed
   * (visible to GC) in {@link #publishReadable}, after the pass has repointed its records.
   */
  private void seal(long popularityVersion) throws IOException {
    sync();
    disk.dropCached(active.name); // read again only past the cache (DirectReads) or by GC
    active.popularityVersion = popularityVersion;
    sealedInPass.add(active);
    active = null;
  }

  /** Writes the pending block and fsyncs the active segment if it changed. Writer thread. */
  void sync() throws IOException {
    writeBlock();
    if (active != null && unsynced) {
      disk.flush(active.name);
      unsynced = false;
      active.durableBytes = activeBytes;
    }
  }

  /** After a pass's records are in the index: readers may scan up to the end. State lock held. */
  void publishReadable() {
    assert stateLock.isHeldByCurrentThread();
    for (Segment s : sealedInPass) {
      s.readableBytes = s.durableBytes;
      s.sealed = true;
    }
    sealedInPass.clear();
    if (active != null) {
      active.readableBytes = activeBytes;
    }
  }

  private void writeBlock() throws IOException {
    if (blockFill == 0) {
      return;
    }
    disk.write(active.name, blockStart, ByteBuffer.wrap(block, 0, blockFill));
    bytesWritten += blockFill;
    writes++;
    blockStart += blockFill;
    blockFill = 0;
    unsynced = true;
    if (block.length > config.writebackBlockBytes()) {
      block = new byte[config.writebackBlockBytes()]; // grown for one large record
    }
  }

  private void append(byte[] bytes, int at, int length) throws IOException {
    ensureBlockRoom(length);
    System.arraycopy(bytes, at, block, blockFill, length);
    blockFill += length;
  }

  private void appendZeros(int n) throws IOException {
    ensureBlockRoom(n);
    Arrays.fill(block, blockFill, blockFill + n, (byte) 0);
    blockFill += n;
  }

  /** A block holds at least one whole record: write what is there first, or grow for a large one. */
  private void ensureBlockRoom(int n) throws IOException {
    if (blockFill + n <= block.length) {
      return;
    }
    writeBlock();
    if (n > block.length) {
      block = new byte[n];
    }
  }
}
