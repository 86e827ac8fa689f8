package io.respawn.node.log;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import io.respawn.core.SnapshotMeta;
import io.respawn.core.codec.CodecException;
import io.respawn.core.codec.EntryCodec;
import io.respawn.node.ReplicaLog;
import io.respawn.storage.Disk;
import io.respawn.storage.DiskFullException;
import io.respawn.storage.LogFormat;
import io.respawn.storage.StorageException;
import io.respawn.storage.ZeroFill;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production {@link ReplicaLog}: segment files of checksummed batches on a {@link Disk}
 * (formats in {@link ReplicaLogFormat}) and a two-slot hard-state file.
 *
 * <p>Append-only on disk: an append is one batch of PUT records; a suffix truncation is a batch
 * with one DELETE record, so the file is never rewritten and a crash can only lose a suffix of
 * batches. A segment is flushed when it is sealed (it reached {@code segmentBytesMax}) and then
 * never written again; prefix truncation deletes whole sealed segments after the new first index
 * is saved durably in the hard-state file.
 *
 * <p>Recovery ({@link #open}) replays every segment in order. It stops a segment at the first
 * invalid batch: in the last segment that is a torn tail (writes a machine crash cut short) unless
 * a valid commit record after it says a flush had covered it; a torn tail is truncated and
 * logged. Bad bytes anywhere else are corruption of flushed data, and opening fails with a
 * {@link StorageException} naming segment and offset: skipping them would silently lose
 * acknowledged entries. After recovery the last segment is flushed, so what survived in the page
 * cache cannot be lost later behind newer durable writes.
 *
 * <p>Keeps the terms of its entries in memory ({@code 8} bytes per entry) for {@link #termAt}, and
 * where each batch of entries starts ({@link BatchIndex}: segment and offset per append, not per
 * entry) so that {@link #read} finds an entry with one read of its batch, whose checksums it
 * verifies; the entries themselves are only on disk (and in the page cache), the core keeping
 * just its newest ones. Single-threaded (the driver's thread). {@link #flush}
 * is synchronous unless {@link #flushAsynchronously} moved it to a thread of its own: then it
 * starts an fsync of the active segment there and returns; when the fsync ends, {@link
 * #lastFlushedIndex} moves to the last index the segment held when it started and the driver is
 * told, so the driver's thread never waits for the disk on the write path. Every other change
 * that moves the flushed index or the segments (a suffix truncation, a reset, a prefix
 * truncation, sealing a segment, close) first waits for a running fsync to end, so the fsync
 * thread only ever moves the flushed position forward over bytes it made durable, and the
 * durable hint written into each batch ({@code seg.flushedBytes}) is never ahead of the disk.
 *
 * <p>The active segment's file holds zeros ahead of its last batch ({@link
 * #PREALLOCATE_BYTES_MAX} at a time, see {@link #preallocateFor}): an fdatasync of a file that grew
 * must also commit the file's new size, one that overwrites bytes the file already has does not,
 * which makes the fsync a DURABLE write waits for markedly cheaper (about 100 against 150 µs per
 * 600-byte write and fdatasync on the development machine's ext4). Recovery reads zeros after the
 * last batch of the last segment as space no batch reached and trims them. The zeros never go
 * past {@code segmentBytesMax}, which a segment's batches have reached when it is sealed, so a
 * sealed segment ends at its last batch and stays checked strictly.
 *
 * <p>Invariants: {@code firstIndex - 1 <= flushedIndex <= lastIndex}; every segment but the
 * active one is flushed and ends at its last batch; batch sequence numbers grow across segments;
 * {@code preallocatedEnd >= active().bytes}.
 */
public final class SegmentedReplicaLog implements ReplicaLog {
  private static final Logger log = LoggerFactory.getLogger(SegmentedReplicaLog.class);
  /**
   * The most bytes {@link #read} takes from a segment in one read when it reads several batches
   * that lie back to back (one batch is read whole, however large).
   */
  static final int READ_RUN_BYTES_MAX = 1 << 20;

  /**
   * Zeros written ahead of the active segment's last batch at most (never past {@code
   * segmentBytesMax}). The zeros are written on the driver's thread (the node's event loop) and
   * the next fsync writes them out, so a stretch is kept small: 128 KiB (~30 us of copying, 32
   * pages more for one fsync) still spares all but one fsync in hundreds of small DURABLE
   * batches the new file size, while 1 MiB stretches stalled the loop and that fsync long
   * enough to show in ORDERED writes' p99 (E1 write-only, quiet A/B, eighth session).
   */
  static final long PREALLOCATE_BYTES_MAX = 128 << 10;

  /** One segment file and what the log needs to know about it. */
  private static final class Segment {
    final long number;
    final String name;
    long bytes;
    /** Written by the fsync thread too (see flushAsynchronously); never ahead of the disk. */
    volatile long flushedBytes;
    /** Highest index of a PUT record in it (0 for none): prefix truncation may delete it below. */
    long maxIndex;

    Segment(long number) {
      this.number = number;
      this.name = ReplicaLogFormat.segmentName(number);
    }
  }

  private final Disk disk;
  private final ReplicaLogConfig config;
  private final HardStateFile hardStateFile;
  private final List<Segment> segments = new ArrayList<>(); // in order; the last is active
  private long[] terms = new long[1024]; // terms[i] = term of entry firstIndex + i
  /** Where the batches holding the log's entries are. */
  private final BatchIndex batches = new BatchIndex();
  private int termCount;
  private long firstIndex;
  /** Written by the fsync thread too (see flushAsynchronously). */
  private volatile long flushedIndex;
  private long nextSequence;
  private List<Entry> recovered; // handed out once by load()
  private volatile boolean failed;
  /** Runs fsyncs off the driver's thread once set; null: {@link #flush} is synchronous. */
  private Executor fsyncThread;
  /** Told on the fsync thread when an asynchronous fsync ended: null, or why it failed. */
  private Consumer<StorageException> onFlushed;
  /** The asynchronous fsync queued, running or last run; driver's thread only. */
  private FutureTask<Void> fsyncing;
  /** An asynchronous fsync is running and has not yet told the driver it ended. */
  private volatile boolean fsyncRunning;
  /** The active segment's file holds zeros (or batches) up to here; driver's thread only. */
  private long preallocatedEnd;

  private SegmentedReplicaLog(Disk disk, ReplicaLogConfig config, HardStateFile hardStateFile) {
    this.disk = disk;
    this.config = config;
    this.hardStateFile = hardStateFile;
  }

  /** Opens (and recovers) the log kept on {@code disk}; creates an empty one on an empty disk. */
  public static SegmentedReplicaLog open(Disk disk, ReplicaLogConfig config) {
    Objects.requireNonNull(disk, "disk");
    Objects.requireNonNull(config, "config");
    try {
      SegmentedReplicaLog l = new SegmentedReplicaLog(disk, config, HardStateFile.open(disk));
      l.recover();
      return l;
    } catch (IOException e) {
      throw new StorageException("replica log: cannot open: " + e, e);
    }
  }

  // ------------------------------------------------------------------------------ recovery

  private void recover() throws IOException {
    firstIndex = hardStateFile.firstIndex();
    List<Long> numbers = new ArrayList<>();
    for (String name : disk.list()) {
      long n = ReplicaLogFormat.parseSegmentName(name);
      if (n >= 0) {
        numbers.add(n);
      } else if (!name.equals(ReplicaLogFormat.HARD_STATE_FILE)) {
        log.warn("replica log: ignoring file that is not part of the log: {}", name);
      }
    }
    Collections.sort(numbers);
    List<Entry> entries = new ArrayList<>(); // replayed log, from its first PUT on
    long maxSequence = 0;
    // One buffer for every segment, grown to the largest: a fresh array per segment (up to 64
    // MiB each) cost a restarting member about half of its log's recovery in page faults.
    byte[] data = new byte[0];
    for (int i = 0; i < numbers.size(); i++) {
      Segment seg = new Segment(numbers.get(i));
      boolean last = i == numbers.size() - 1;
      long fileBytes = disk.size(seg.name);
      long readLimit = config.segmentBytesMax() + config.batchBytesMax();
      if (fileBytes > readLimit) {
        throw corrupt(seg, 0, "segment of " + fileBytes + " bytes exceeds segmentBytesMax plus one"
            + " batch (" + readLimit + ")");
      }
      if (data.length < fileBytes) {
        data = new byte[(int) fileBytes];
      }
      int n = readFully(seg.name, 0, data, (int) fileBytes);
      ReplicaLogScanner scanner = new ReplicaLogScanner(data, n, config.verifyChecksums(),
          config.batchBytesMax());
      String badHeader = scanner.readHeader();
      if (badHeader != null) {
        if (last) {
          log.warn("replica log: deleting segment {} whose header a crash tore ({}; {} bytes)",
              seg.name, badHeader, fileBytes);
          disk.delete(seg.name);
          break;
        }
        throw corrupt(seg, 0, badHeader + "; a segment header is flushed before any batch");
      }
      ReplicaLogScanner.Batch batch;
      while ((batch = scanner.next()) != null) {
        if (batch.sequence() <= maxSequence) {
          throw corrupt(seg, batch.offset(), "batch sequence " + batch.sequence()
              + " does not follow " + maxSequence);
        }
        maxSequence = batch.sequence();
        for (ReplicaLogScanner.Record r : batch.records()) {
          replay(seg, batch.offset(), r, entries);
        }
        ReplicaLogScanner.Record firstRecord = batch.records().get(0);
        long at = ReplicaLogFormat.indexOfKey(firstRecord.key());
        if (firstRecord.type() == LogFormat.TYPE_PUT) {
          batches.added(at, seg.number, batch.offset(), batch.bytes());
        } else {
          batches.truncatedFrom(at);
        }
      }
      if (scanner.problem() != null) {
        long bad = scanner.problemOffset();
        if (!last || scanner.flushedCommitAfter(bad)) {
          throw corrupt(seg, bad, scanner.problem() + (last
              ? "; a later batch says a flush had covered these bytes"
              : "; the segment was sealed (flushed) before the next one began"));
        }
        if (allZeros(data, bad, n)) {
          log.debug("replica log: trimming {} bytes of preallocated zeros from {} at offset {}",
              fileBytes - bad, seg.name, bad);
        } else {
          log.warn("replica log: truncating torn tail of {} at offset {} ({} bytes dropped: {})",
              seg.name, bad, fileBytes - bad, scanner.problem());
        }
        disk.truncate(seg.name, bad);
      }
      seg.bytes = scanner.validEnd();
      seg.flushedBytes = seg.bytes;
      segments.add(seg);
    }
    // entries below firstIndex were dropped by prefix truncation (their segments may remain)
    int drop = 0;
    while (drop < entries.size() && entries.get(drop).index() < firstIndex) {
      drop++;
    }
    entries = new ArrayList<>(entries.subList(drop, entries.size()));
    if (!entries.isEmpty() && entries.get(0).index() != firstIndex) {
      throw new StorageException("replica log: entries " + firstIndex + ".."
          + (entries.get(0).index() - 1) + " are missing: the log starts at "
          + entries.get(0).index() + " but the hard state says it starts at " + firstIndex);
    }
    for (Entry e : entries) {
      pushTerm(e.term());
    }
    batches.droppedBelow(firstIndex);
    recovered = entries;
    nextSequence = maxSequence + 1;
    if (segments.isEmpty()) {
      startSegment(1);
    } else {
      disk.flush(active().name); // what survived in the page cache is durable from now on
      preallocatedEnd = active().bytes;
    }
    flushedIndex = lastIndex();
  }

  /** Applies one replayed record to the log being rebuilt. */
  private void replay(Segment seg, long batchOffset, ReplicaLogScanner.Record r, List<Entry> entries) {
    long index = ReplicaLogFormat.indexOfKey(r.key());
    long last = entries.isEmpty() ? 0 : entries.get(entries.size() - 1).index();
    if (r.type() == LogFormat.TYPE_DELETE) {
      if (index < 1 || (!entries.isEmpty() && index > last + 1)) {
        throw corrupt(seg, batchOffset, "DELETE from " + index + " on a log ending at " + last);
      }
      while (!entries.isEmpty() && entries.get(entries.size() - 1).index() >= index) {
        entries.remove(entries.size() - 1);
      }
      return;
    }
    Entry e;
    try {
      e = EntryCodec.decodeBody(r.value());
    } catch (CodecException ex) {
      throw corrupt(seg, batchOffset, "entry at index " + index + " does not decode: "
          + ex.getMessage());
    }
    if (e.index() != index) {
      throw corrupt(seg, batchOffset, "PUT key " + index + " holds entry " + e.index());
    }
    if (!entries.isEmpty()) {
      Entry prev = entries.get(entries.size() - 1);
      if (index != last + 1 || e.term() < prev.term()) {
        throw corrupt(seg, batchOffset, "entry " + e.term() + "/" + index + " does not follow "
            + prev.term() + "/" + last);
      }
    }
    entries.add(e);
    seg.maxIndex = Math.max(seg.maxIndex, index);
  }

  /** True if {@code data[from, to)} holds only zeros: space written ahead that no batch reached. */
  private static boolean allZeros(byte[] data, long from, int to) {
    for (int i = (int) from; i < to; i++) {
      if (data[i] != 0) {
        return false;
      }
    }
    return true;
  }

  private StorageException corrupt(Segment seg, long offset, String why) {
    return new StorageException("replica log: corrupt segment " + seg.name + " at offset "
        + offset + ": " + why);
  }

  private int readFully(String name, long offset, byte[] into) throws IOException {
    return readFully(name, offset, into, into.length);
  }

  /** Reads up to {@code length} bytes from {@code offset} into {@code into}; fewer at the end. */
  private int readFully(String name, long offset, byte[] into, int length) throws IOException {
    ByteBuffer dst = ByteBuffer.wrap(into, 0, length);
    while (dst.hasRemaining()) {
      int n = disk.read(name, offset + dst.position(), dst);
      if (n <= 0) {
        break;
      }
    }
    return dst.position();
  }

  // ------------------------------------------------------------------------------ ReplicaLog

  @Override
  public PersistentState load(SnapshotMeta base) {
    Objects.requireNonNull(base, "base");
    if (recovered == null) {
      throw new IllegalStateException("load() is called once, before writing");
    }
    if (firstIndex - 1 > base.index()) {
      throw new IllegalStateException("the log starts at " + firstIndex + " after prefix"
          + " truncation but the snapshot to restart from ends at " + base.index()
          + ": the entries between are gone");
    }
    List<Entry> tail;
    boolean continues = lastIndex() >= base.index()
        && (base.index() < firstIndex || termAt(base.index()) == base.term());
    if (continues) {
      tail = recovered.subList((int) (base.index() - firstIndex + 1), recovered.size());
    } else {
      log.warn("replica log: entries {}..{} do not continue the snapshot {}; resetting after it",
          firstIndex, lastIndex(), base);
      tail = List.of();
      resetAfter(base.index());
    }
    PersistentState state = new PersistentState(hardStateFile.hardState(), base, tail);
    recovered = null;
    return state;
  }

  @Override
  public void resetAfter(long index) {
    awaitFsync();
    ensureUsable();
    recovered = null;
    if (index < 0) {
      throw new IllegalArgumentException("reset after " + index);
    }
    try {
      // One DELETE from index 1 ends every entry any segment still replays, then the new first
      // index is saved; a crash between leaves an empty log, which the next load resets again.
      writeBatch(ReplicaLogFormat.deleteBatch(1, nextSequence, active().flushedBytes));
      Segment seg = active();
      disk.flush(seg.name);
      seg.flushedBytes = seg.bytes;
      hardStateFile.save(hardStateFile.hardState(), index + 1);
      termCount = 0;
      batches.clear();
      firstIndex = index + 1;
      flushedIndex = index;
      while (segments.size() > 1) {
        disk.delete(segments.remove(0).name);
      }
      seg.maxIndex = 0;
    } catch (IOException e) {
      throw fail("resetting the log after " + index, e);
    }
    maybeRotate();
  }

  @Override
  public HardState hardState() {
    return hardStateFile.hardState();
  }

  @Override
  public long firstIndex() {
    return firstIndex;
  }

  @Override
  public long lastIndex() {
    return firstIndex - 1 + termCount;
  }

  @Override
  public long termAt(long index) {
    if (index < firstIndex || index > lastIndex()) {
      return 0;
    }
    return terms[(int) (index - firstIndex)];
  }

  @Override
  public long lastFlushedIndex() {
    return flushedIndex;
  }

  /**
   * {@inheritDoc} Reads whole batches from their segments (the page cache, mostly), verifies
   * their checksums and decodes the entries asked for; an entry a later batch replaced (after a
   * suffix truncation) is taken from that batch.
   */
  @Override
  public List<Entry> read(long fromIndex, long toIndexInclusive, long bytesMax) {
    ensureUsable();
    if (fromIndex < firstIndex || fromIndex > lastIndex()) {
      throw new StorageException("replica log: read from " + fromIndex + " outside ["
          + firstIndex + ", " + lastIndex() + "]");
    }
    long to = Math.min(toIndexInclusive, lastIndex());
    List<Entry> out = new ArrayList<>();
    long bytes = 0;
    long next = fromIndex;
    int k = batches.holding(next);
    while (next <= to && (out.isEmpty() || bytes <= bytesMax)) {
      if (k < 0 || k >= batches.size()) {
        throw new StorageException("replica log: no batch holds entry " + next);
      }
      // Batches that lie back to back in one segment are read with one read: each pass of a
      // loaded primary writes a batch of a few entries, so an AppendEntries of a thousand entries
      // for a follower that is behind spans hundreds of them, a read and a scanner each (the
      // primary's loop passes of 83-101 ms while a backup caught up after a stall sat here).
      int last = k;
      long runBytes = batches.bytes(k);
      while (last + 1 < batches.size() && batches.segment(last + 1) == batches.segment(k)
          && batches.offset(last + 1) == batches.offset(last) + batches.bytes(last)
          && batches.first(last + 1) <= to
          && runBytes + batches.bytes(last + 1) <= READ_RUN_BYTES_MAX) {
        last++;
        runBytes += batches.bytes(last);
      }
      String name = ReplicaLogFormat.segmentName(batches.segment(k));
      byte[] data = new byte[(int) runBytes];
      ReplicaLogScanner scanner;
      try {
        if (readFully(name, batches.offset(k), data) != data.length) {
          throw new StorageException("replica log: short read of the batches at " + name
              + " offset " + batches.offset(k));
        }
        scanner = new ReplicaLogScanner(data, data.length, config.verifyChecksums(),
            config.batchBytesMax());
      } catch (IOException e) {
        throw new StorageException("replica log: reading " + name + " at offset "
            + batches.offset(k) + " failed: " + e, e);
      }
      for (; k <= last && next <= to && (out.isEmpty() || bytes <= bytesMax); k++) {
        long batchEnd = k + 1 < batches.size() ? batches.first(k + 1) - 1 : lastIndex();
        ReplicaLogScanner.Batch batch = scanner.next();
        if (batch == null || batch.bytes() != batches.bytes(k)) {
          throw new StorageException("replica log: the batch at " + name + " offset "
              + batches.offset(k) + " does not read back whole (the bytes on disk changed)");
        }
        for (ReplicaLogScanner.Record r : batch.records()) {
          long index = ReplicaLogFormat.indexOfKey(r.key());
          if (r.type() != LogFormat.TYPE_PUT || index < next) {
            continue;
          }
          if (index != next || index > batchEnd || index > to
              || (!out.isEmpty() && bytes > bytesMax)) {
            break;
          }
          Entry e;
          try {
            e = EntryCodec.decodeBody(r.value());
          } catch (CodecException ex) {
            throw new StorageException("replica log: entry " + index + " in " + name
                + " does not decode: " + ex.getMessage());
          }
          if (e.index() != index || e.term() != termAt(index)) {
            throw new StorageException("replica log: " + name + " holds " + e.term() + "/"
                + e.index() + " at index " + index + " where the log has term " + termAt(index));
          }
          out.add(e);
          bytes += r.value().length;
          next++;
        }
        if (next <= batchEnd && next <= to && (out.isEmpty() || bytes <= bytesMax)) {
          throw new StorageException("replica log: the batch at " + name + " offset "
              + batches.offset(k) + " lacks entry " + next);
        }
      }
    }
    return out;
  }

  @Override
  public void saveHardState(HardState hardState) {
    Objects.requireNonNull(hardState, "hardState");
    ensureUsable();
    try {
      hardStateFile.save(hardState, firstIndex);
    } catch (IOException e) {
      throw fail("saving the hard state", e);
    }
  }

  @Override
  public void append(List<Entry> entries) {
    ensureUsable();
    recovered = null;
    if (entries.isEmpty()) {
      return;
    }
    long expect = lastIndex() + 1;
    long prevTerm = termAt(lastIndex());
    List<byte[]> bodies = new ArrayList<>(entries.size());
    for (Entry e : entries) {
      if (e.index() != expect || e.term() < prevTerm) {
        throw new IllegalArgumentException("append " + e.term() + "/" + e.index() + " after "
            + prevTerm + "/" + (expect - 1));
      }
      byte[] body = ReplicaLogFormat.encodeBody(e);
      if (body.length > config.entryBytesMax()) {
        throw new IllegalArgumentException("entry " + e.index() + " of " + body.length
            + " bytes exceeds entryBytesMax " + config.entryBytesMax() + " (batchBytesMax "
            + config.batchBytesMax() + ")");
      }
      bodies.add(body);
      expect++;
      prevTerm = e.term();
    }
    int from = 0;
    while (from < entries.size()) {
      int to = from;
      long bytes = LogFormat.COMMIT_BYTES;
      while (to < entries.size()
          && bytes + ReplicaLogFormat.PUT_OVERHEAD_BYTES + bodies.get(to).length
              <= config.batchBytesMax()) {
        bytes += ReplicaLogFormat.PUT_OVERHEAD_BYTES + bodies.get(to).length;
        to++;
      }
      assert to > from : "an entry that fits entryBytesMax fits a batch";
      List<Entry> part = entries.subList(from, to);
      Segment seg = active();
      byte[] batch = ReplicaLogFormat.putBatch(part, bodies.subList(from, to), nextSequence,
          seg.flushedBytes);
      long offset = seg.bytes;
      writeBatch(batch);
      batches.added(part.get(0).index(), seg.number, offset, batch.length);
      for (Entry e : part) {
        pushTerm(e.term());
        seg.maxIndex = Math.max(seg.maxIndex, e.index());
      }
      maybeRotate();
      from = to;
    }
  }

  @Override
  public void truncateSuffix(long fromIndex) {
    awaitFsync();
    ensureUsable();
    recovered = null;
    if (fromIndex < firstIndex || fromIndex > lastIndex() + 1) {
      throw new IllegalArgumentException("truncate from " + fromIndex + " outside ["
          + firstIndex + ", " + (lastIndex() + 1) + "]");
    }
    if (fromIndex == lastIndex() + 1) {
      return;
    }
    writeBatch(ReplicaLogFormat.deleteBatch(fromIndex, nextSequence, active().flushedBytes));
    batches.truncatedFrom(fromIndex);
    termCount = (int) (fromIndex - firstIndex);
    flushedIndex = Math.min(flushedIndex, fromIndex - 1);
    maybeRotate();
  }

  @Override
  public void truncatePrefix(long throughIndex) {
    awaitFsync();
    ensureUsable();
    if (throughIndex < firstIndex) {
      return;
    }
    if (throughIndex > flushedIndex) {
      throw new IllegalArgumentException("truncate prefix through " + throughIndex
          + " beyond the flushed index " + flushedIndex);
    }
    long newFirst = throughIndex + 1;
    try {
      hardStateFile.save(hardStateFile.hardState(), newFirst);
      int drop = (int) (newFirst - firstIndex);
      System.arraycopy(terms, drop, terms, 0, termCount - drop);
      termCount -= drop;
      firstIndex = newFirst;
      batches.droppedBelow(newFirst);
      while (segments.size() > 1 && segments.get(0).maxIndex <= throughIndex) {
        Segment gone = segments.remove(0);
        disk.delete(gone.name);
      }
    } catch (IOException e) {
      throw fail("truncating the prefix through " + throughIndex, e);
    }
  }

  /**
   * From now on {@link #flush} runs the fsync on {@code fsyncThread} (the driver's: this module
   * creates no threads; one thread is enough, fsyncs never overlap) and returns at once;
   * {@code onFlushed} is called there when it ended (with null, or with the failure, after which
   * the log refuses every call: the node must stop and reopen it). For a driver whose replicas
   * acknowledge once written (ORDERED): a DURABLE acknowledgement needs a flush that ends before
   * it returns. {@code fsyncThread} may also run its tasks later on the driver's own thread (a
   * simulator's virtual-time executor): a call that must wait for the fsync runs it itself.
   */
  public void flushAsynchronously(Executor fsyncThread, Consumer<StorageException> onFlushed) {
    Objects.requireNonNull(fsyncThread, "fsyncThread");
    Objects.requireNonNull(onFlushed, "onFlushed");
    if (this.fsyncThread != null) {
      throw new IllegalStateException("already flushing asynchronously");
    }
    this.onFlushed = onFlushed;
    this.fsyncThread = fsyncThread;
  }

  /**
   * {@inheritDoc} Asynchronous once {@link #flushAsynchronously} was called: starts an fsync of
   * the active segment unless one is running (whose end the driver hears of anyway).
   */
  @Override
  public void flush() {
    ensureUsable();
    Segment seg = active();
    if (seg.flushedBytes == seg.bytes && flushedIndex == lastIndex()) {
      return;
    }
    if (fsyncThread == null) {
      flushActive();
      return;
    }
    if (fsyncRunning) {
      return;
    }
    long targetBytes = seg.bytes;
    long targetIndex = lastIndex();
    fsyncRunning = true;
    FutureTask<Void> task = new FutureTask<>(() -> {
      StorageException failure = null;
      try {
        disk.flush(seg.name);
        // Only appends ran meanwhile (everything else waits for this fsync): they only added
        // bytes and entries after the targets, so both targets are durable now.
        seg.flushedBytes = Math.max(seg.flushedBytes, targetBytes);
        flushedIndex = Math.max(flushedIndex, targetIndex);
      } catch (IOException | RuntimeException e) {
        failed = true;
        failure = new StorageException("replica log: flushing " + seg.name + " failed: " + e, e);
      }
      // Cleared before the driver hears: the flush it then asks for must start a new fsync
      // (this task's future completes only after the callback returns). The callback runs on
      // the driver's thread instead when the driver waited for this fsync before the executor
      // started it (see awaitFsync).
      fsyncRunning = false;
      onFlushed.accept(failure);
    }, null);
    fsyncing = task;
    fsyncThread.execute(task);
  }

  /** Flushes the active segment on this thread, after any asynchronous fsync ended. */
  public void flushNow() {
    awaitFsync();
    ensureUsable();
    Segment seg = active();
    if (seg.flushedBytes != seg.bytes || flushedIndex != lastIndex()) {
      flushActive();
    }
  }

  private void flushActive() {
    Segment seg = active();
    try {
      disk.flush(seg.name);
    } catch (IOException e) {
      throw fail("flushing " + seg.name, e);
    }
    seg.flushedBytes = seg.bytes;
    flushedIndex = lastIndex();
  }

  /**
   * Waits until no asynchronous fsync runs (before anything that moves what it covers). An fsync
   * the executor has not started yet runs here, on the driver's thread ({@link FutureTask#run} is
   * a no-op once started, and the executor's later run of it is one too): the driver would wait
   * for it anyway, and an executor that runs tasks later on the driver's own thread (the
   * simulator's, in virtual time) cannot deadlock.
   */
  private void awaitFsync() {
    FutureTask<Void> f = fsyncing;
    if (f == null) {
      return;
    }
    f.run();
    boolean interrupted = false;
    while (true) {
      try {
        f.get();
        break;
      } catch (InterruptedException e) {
        interrupted = true;
      } catch (ExecutionException e) {
        break; // the task catches everything itself; a failure shows as `failed`
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    awaitFsync();
    try {
      if (!failed && !segments.isEmpty() && preallocatedEnd > active().bytes) {
        disk.truncate(active().name, active().bytes); // tidy; recovery would trim them anyway
      }
    } catch (IOException e) {
      log.warn("replica log: trimming the zeros ahead of the log at close failed: {}", e.toString());
    }
    try {
      disk.close();
    } catch (IOException e) {
      log.warn("replica log: closing the disk failed: {}", e.toString());
    }
  }

  /** The entries found at open, from {@link #firstIndex()} (for tests; null once written). */
  List<Entry> recoveredEntries() {
    return recovered;
  }

  /** Bytes of batches (and header) in the active segment: where its preallocated zeros begin (for tests). */
  long activeSegmentBytes() {
    return active().bytes;
  }

  /** Files in use, for diagnostics. */
  public List<String> segmentNames() {
    List<String> names = new ArrayList<>();
    for (Segment s : segments) {
      names.add(s.name);
    }
    return names;
  }

  // ------------------------------------------------------------------------------ internals

  private Segment active() {
    return segments.get(segments.size() - 1);
  }

  private void writeBatch(byte[] batch) {
    Segment seg = active();
    try {
      preallocateFor(seg, seg.bytes + batch.length);
      disk.write(seg.name, seg.bytes, ByteBuffer.wrap(batch));
    } catch (IOException e) {
      throw fail("writing " + batch.length + " bytes to " + seg.name, e);
    }
    seg.bytes += batch.length;
    nextSequence++;
  }

  /** Seals the active segment once it is full: flush it, then start the next one. */
  private void maybeRotate() {
    Segment seg = active();
    if (seg.bytes < config.segmentBytesMax()) {
      return;
    }
    awaitFsync();
    try {
      // zeros never go past segmentBytesMax, which the segment's batches reached: it is sealed
      // ending at its last batch
      assert preallocatedEnd <= seg.bytes : "zeros past a sealed segment's last batch";
      disk.flush(seg.name);
      disk.dropCached(seg.name); // read again only by a member far behind, or on restart
      seg.flushedBytes = seg.bytes;
      flushedIndex = lastIndex();
      startSegment(seg.number + 1);
    } catch (IOException e) {
      throw fail("sealing " + seg.name, e);
    }
  }

  /** Creates a segment and makes its header durable before any batch goes in. */
  private void startSegment(long number) throws IOException {
    Segment seg = new Segment(number);
    disk.create(seg.name);
    byte[] header = LogFormat.segmentHeader();
    disk.write(seg.name, 0, ByteBuffer.wrap(header));
    disk.flush(seg.name);
    seg.bytes = header.length;
    seg.flushedBytes = header.length;
    segments.add(seg);
    preallocatedEnd = header.length;
  }

  /**
   * Before a batch is written up to {@code end} of the active segment: if that passes the zeros
   * already written ahead, writes zeros from {@code end} to {@link #PREALLOCATE_BYTES_MAX} beyond
   * it, not past {@code segmentBytesMax} (the batch that crosses it grows the file as before).
   * The zeros become durable with the next fsync. A full disk writes the batch without them.
   */
  private void preallocateFor(Segment seg, long end) throws IOException {
    if (end <= preallocatedEnd) {
      return;
    }
    long to = Math.min(config.segmentBytesMax(), end + PREALLOCATE_BYTES_MAX);
    try {
      ZeroFill.write(disk, seg.name, end, to);
    } catch (IOException e) {
      if (!DiskFullException.isDiskFull(e)) {
        throw e;
      }
      // No room to write ahead: the batch may still fit. Zeros written before the failure are
      // overwritten by batches or trimmed by sealing, close or recovery.
    }
    preallocatedEnd = Math.max(end, to);
  }

  private void pushTerm(long term) {
    if (termCount == terms.length) {
      terms = java.util.Arrays.copyOf(terms, terms.length * 2);
    }
    terms[termCount++] = term;
  }

  private void ensureUsable() {
    if (failed) {
      throw new StorageException("replica log failed earlier; reopen it to recover");
    }
  }

  private StorageException fail(String what, IOException e) {
    failed = true;
    return new StorageException("replica log: " + what + " failed: " + e, e);
  }
}
