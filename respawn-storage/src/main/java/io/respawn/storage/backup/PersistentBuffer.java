package io.respawn.storage.backup;

import io.respawn.storage.StorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The backup's persistent buffer: a ring of checksummed records in a {@link PersistentRegion},
 * where a replicated write is acknowledged as soon as its record is stored (memory speed), and
 * from which {@link WritebackAgent} drains records into the hot and cold logs.
 *
 * <pre>
 * Buffer file
 * +-------------------------------------+-------------------------------------------------+
 * | page 0: checkpoint slots A (@0) and | ring: records, 8-byte aligned, in seq order;    |
 * | B (@512), see {@link BackupFormat}  | position p (bytes ever appended) is at byte     |
 * |                                     | 4096 + p mod ringBytes                          |
 * +-------------------------------------+-------------------------------------------------+
 *
 * Ring positions, each only ever growing:
 *   released ≤ writtenBack ≤ tail
 *   [released, writtenBack)  copied to the logs; reusable once a durable checkpoint says so
 *   [writtenBack, tail)      waiting for writeback
 *   tail                     next append; a record that does not fit before the end of the
 *                            lap is preceded by a WRAP record (or, if fewer than 49 bytes are
 *                            left, by nothing) and starts the next lap
 * </pre>
 *
 * <p>The ring itself is never forced while the store runs (its pages reach the disk when the
 * kernel writes them back, in any order); only the checkpoint page is ({@link
 * #forceCheckpoint}). A record is durable once a durable checkpoint releases it, which happens
 * only after it is in fsynced log segments. Delayed-write rule: bytes before {@code released} are
 * overwritten only after that checkpoint is durable. Recovery replays from the durable
 * checkpoint's release position, accepting records while each is well formed, passes its
 * checksum and carries the next seq; so it recovers a prefix of the appended records (whatever
 * of the ring the kernel happened to write). It then zeroes the rest of the ring, so that a
 * record left over from before the crash can never pass as the successor of a new one, and
 * forces the ring once.
 *
 * <p>Not thread-safe: {@link BackupStore} calls the mutators under its state lock. Reads of
 * records between released and tail may run on any thread.
 */
final class PersistentBuffer {
  /** Released ring bytes are started writing in steps of at least this ({@link #startWritingReleased}). */
  static final long WRITE_OUT_BYTES_MIN = 1 << 20;

  private final PersistentRegion region;
  private final long ringBytes;
  private final boolean checksums;
  private byte[] scratch = new byte[1 << 12];

  /** Volatile: {@link #prefault} and {@link #prefaultAhead} read it without the lock, as a hint. */
  private volatile long tailPos;
  /**
   * Ring position up to which {@link #prefaultAhead} has touched pages; only its one caller
   * thread (the writeback thread) reads or writes it.
   */
  private long prefaultedTo;
  private long tailSeq;
  private long writtenBackPos;
  private long writtenBackSeq;
  /** The newest durable checkpoint: its releasePos bounds reuse of the ring. */
  private BackupFormat.Checkpoint durable;
  /** Ring position from which {@link #startWritingReleased} has not started writing yet. */
  private long writeOutFrom;

  private PersistentBuffer(PersistentRegion region, BackupFormat.Checkpoint checkpoint,
      boolean checksums) {
    this.region = region;
    this.ringBytes = region.sizeBytes() - BackupFormat.RING_START;
    this.checksums = checksums;
    this.durable = checkpoint;
    this.tailPos = checkpoint.releasePos();
    this.tailSeq = checkpoint.releaseSeq();
    this.writtenBackPos = tailPos;
    this.writtenBackSeq = tailSeq;
    this.writeOutFrom = tailPos;
  }

  /** {@link #WRITE_OUT_BYTES_MIN}, or a quarter of a smaller ring. */
  long writeOutStepBytes() {
    return Math.min(WRITE_OUT_BYTES_MIN, ringBytes / 4);
  }

  /** Writes the first checkpoint into a brand-new (zeroed) region. */
  static void format(PersistentRegion fresh) {
    long ring = fresh.sizeBytes() - BackupFormat.RING_START;
    byte[] slot = new BackupFormat.Checkpoint(0, ring, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0).encode();
    fresh.write(BackupFormat.CHECKPOINT_SLOT_A, slot, 0, slot.length);
  }

  /** Reads the newest valid checkpoint; refuses a region with none. Nothing is scanned yet. */
  static PersistentBuffer open(PersistentRegion region, boolean checksums) {
    try {
      region.keepApart(0, BackupFormat.RING_START); // forced after every writeback pass
    } catch (IOException e) {
      throw new UncheckedIOException("persistent buffer: " + e.getMessage(), e);
    }
    BackupFormat.Checkpoint a = readSlot(region, BackupFormat.CHECKPOINT_SLOT_A);
    BackupFormat.Checkpoint b = readSlot(region, BackupFormat.CHECKPOINT_SLOT_B);
    BackupFormat.Checkpoint newest = a == null ? b : b == null ? a : a.counter() > b.counter() ? a : b;
    if (newest == null) {
      throw new StorageException("corrupt persistent buffer: neither checkpoint slot is valid "
          + "(a formatted buffer always has one); refusing to open. Restore this backup from a replica.");
    }
    long ring = region.sizeBytes() - BackupFormat.RING_START;
    if (newest.ringBytes() != ring) {
      throw new StorageException("corrupt persistent buffer: its checkpoint describes a ring of "
          + newest.ringBytes() + " bytes but the file holds " + ring);
    }
    return new PersistentBuffer(region, newest, checksums);
  }

  private static BackupFormat.Checkpoint readSlot(PersistentRegion region, int offset) {
    byte[] slot = new byte[BackupFormat.CHECKPOINT_BYTES];
    region.read(offset, slot, 0, slot.length);
    return BackupFormat.decodeCheckpoint(slot);
  }

  BackupFormat.Checkpoint durableCheckpoint() {
    return durable;
  }

  long ringBytes() {
    return ringBytes;
  }

  long tailPosition() {
    return tailPos;
  }

  /** Seq the next appended record gets. */
  long tailSeq() {
    return tailSeq;
  }

  long writtenBackPosition() {
    return writtenBackPos;
  }

  long writtenBackSeq() {
    return writtenBackSeq;
  }

  long releasedPosition() {
    return durable.releasePos();
  }

  /** Bytes in use: from the durable release position to the tail. */
  long usedBytes() {
    return tailPos - durable.releasePos();
  }

  long unwrittenBytes() {
    return tailPos - writtenBackPos;
  }

  /** Ring bytes an append of a record of recordLength would consume now (wrap waste included). */
  long bytesToAppend(int recordLength) {
    long aligned = BackupFormat.align(recordLength, BackupFormat.BUFFER_ALIGN_BYTES);
    long left = ringBytes - tailPos % ringBytes;
    return aligned <= left ? aligned : left + aligned;
  }

  boolean hasRoomFor(int recordLength) {
    return usedBytes() + bytesToAppend(recordLength) <= ringBytes;
  }

  /** Ring bytes appending these records in a row would consume now (wrap waste included). */
  long bytesToAppend(int[] recordLengths, int count) {
    long at = tailPos;
    for (int i = 0; i < count; i++) {
      long aligned = BackupFormat.align(recordLengths[i], BackupFormat.BUFFER_ALIGN_BYTES);
      long left = ringBytes - at % ringBytes;
      at += aligned <= left ? aligned : left + aligned;
    }
    return at - tailPos;
  }

  boolean hasRoomFor(int[] recordLengths, int count) {
    return usedBytes() + bytesToAppend(recordLengths, count) <= ringBytes;
  }

  /**
   * Stores a record at the tail and returns its ring position; the caller checked {@link
   * #hasRoomFor}. The record gets seq {@link #tailSeq()}.
   *
   * @param type PUT, TOMBSTONE or CLEAR
   * @param last whether it ends its entry (replay applies an entry only with its last record)
   * @param value the value of a PUT, null otherwise
   */
  long append(byte type, boolean last, long term, long index, long expiresAtMillis, byte[] key,
      byte[] value) {
    int length = (int) BackupFormat.recordBytes(key.length, value == null ? 0 : value.length);
    assert hasRoomFor(length) : "no room for " + length + " bytes";
    long left = ringBytes - tailPos % ringBytes;
    long aligned = BackupFormat.align(length, BackupFormat.BUFFER_ALIGN_BYTES);
    if (aligned > left) {
      if (left >= BackupFormat.RECORD_HEADER_BYTES) {
        ensureScratch(BackupFormat.RECORD_HEADER_BYTES);
        int n = BackupFormat.encodeWrap(scratch, 0, tailSeq);
        region.write(offsetOf(tailPos), scratch, 0, n);
      }
      tailPos += left;
    }
    ensureScratch(length);
    BackupFormat.encode(scratch, 0, type, last, term, index, tailSeq, expiresAtMillis, key, value);
    long position = tailPos;
    region.write(offsetOf(position), scratch, 0, length);
    tailPos += aligned;
    tailSeq++;
    return position;
  }

  private void ensureScratch(int bytes) {
    if (scratch.length < bytes) {
      scratch = new byte[Math.max(bytes, scratch.length * 2)];
    }
  }

  /**
   * Write-faults the ring pages the next bytes appended will land in, without the state lock
   * (the tail read is a hint; touching a page changes nothing). See {@link
   * PersistentRegion#pretouch}.
   */
  void prefault(long bytes) {
    long at = tailPos;
    long left = ringBytes - at % ringBytes;
    region.pretouch(offsetOf(at), Math.min(bytes, left));
    if (bytes > left) {
      region.pretouch(BackupFormat.RING_START, bytes);
    }
  }

  /**
   * Write-faults the ring pages from the tail to {@code aheadBytes} past it that an earlier call
   * has not touched, so that the appends which come next find them writable and {@link
   * #prefault} on the applying thread costs an atomic add per page instead of a page fault
   * (which on ext4 may wait for a journal commit behind another process's fsync). Like {@link
   * #prefault} it changes no byte, so it may run without the state lock while appends go on;
   * the tail it reads is a hint. One thread only (the writeback thread): it owns the position
   * reached. Pages the kernel cleans again before an append reaches them fault once more, in
   * the append: harmless, only slower.
   */
  void prefaultAhead(long aheadBytes) {
    long tail = tailPos;
    long to = tail + Math.min(aheadBytes, ringBytes);
    long from = Math.max(prefaultedTo, tail);
    if (from >= to) {
      return;
    }
    long bytes = to - from;
    long left = ringBytes - from % ringBytes;
    region.pretouch(offsetOf(from), Math.min(bytes, left));
    if (bytes > left) {
      region.pretouch(BackupFormat.RING_START, bytes - left);
    }
    prefaultedTo = to;
  }

  /** Byte offset in the file of ring position. */
  long offsetOf(long position) {
    return BackupFormat.RING_START + position % ringBytes;
  }

  /** Copies length bytes of the record at ring position into dst[at..]. */
  void read(long position, byte[] dst, int at, int length) {
    region.read(offsetOf(position), dst, at, length);
  }

  /** Records the writeback's progress: everything before position is in the logs (not yet fsynced maybe). */
  void markWrittenBack(long position, long seq) {
    assert position >= writtenBackPos && position <= tailPos;
    writtenBackPos = position;
    writtenBackSeq = seq;
  }

  /** Writes a checkpoint into its slot; it counts after {@link #forceCheckpoint} and {@link #checkpointDurable}. */
  void writeCheckpoint(BackupFormat.Checkpoint checkpoint) {
    assert checkpoint.counter() == durable.counter() + 1;
    assert checkpoint.releasePos() >= durable.releasePos() && checkpoint.releasePos() <= writtenBackPos;
    byte[] slot = checkpoint.encode();
    region.write(checkpoint.slotOffset(), slot, 0, slot.length);
  }

  /** The checkpoint written last has been forced: the ring before its release position may be reused. */
  void checkpointDurable(BackupFormat.Checkpoint checkpoint) {
    durable = checkpoint;
  }

  /**
   * Starts writing the ring's pages up to {@code releasedPosition} that no earlier call started,
   * to the device, without waiting ({@link PersistentRegion#startWriteBack}), once at least
   * {@link #WRITE_OUT_BYTES_MIN} of them wait: space a durable checkpoint released, whose records
   * are in fsynced log segments. The ring is never forced, and left to the kernel its dirty pages
   * went out 30 s later all at once (a GC drift dirties the whole ring). In steps of a MiB, not a
   * pass's few pages: under DURABLE writes a pass runs about a thousand times a second, on the
   * thread whose passes durable notices wait for, and three system calls a pass (open,
   * sync_file_range, close) would be spent there. Changes nothing a reader or a recovery sees.
   * Writeback thread, without the lock.
   */
  void startWritingReleased(long releasedPosition) {
    long from = Math.max(writeOutFrom, releasedPosition - ringBytes); // a lap at most
    long bytes = releasedPosition - from;
    if (bytes < writeOutStepBytes()) {
      return;
    }
    long left = ringBytes - from % ringBytes;
    region.startWriteBack(offsetOf(from), Math.min(bytes, left));
    if (bytes > left) {
      region.startWriteBack(BackupFormat.RING_START, bytes - left);
    }
    writeOutFrom = releasedPosition;
  }

  /** Forces the checkpoint page (not the ring): one msync of one page. */
  void forceCheckpoint() throws IOException {
    region.force(0, BackupFormat.RING_START);
  }

  /** Receives each record recovery accepts. */
  interface RecordVisitor {
    void accept(long position, byte[] record, int length);
  }

  /** Where the replay stopped and why. */
  record Replay(long endPosition, long endSeq, int records, String stopReason) {}

  /**
   * Replays the records after the durable checkpoint's release position, entry by entry (an
   * entry is delivered once its LAST record is read), and stops at the first record that is not
   * well formed, fails its checksum or does not carry the next seq. The tail is set after the
   * last whole entry — the records of an entry cut short are dropped — and the rest of the ring
   * is zeroed (forced before return).
   */
  Replay recover(RecordVisitor visitor) throws IOException {
    long start = durable.releasePos();
    long position = start;
    long seq = durable.releaseSeq();
    long entryStart = position;
    long entrySeq = seq;
    List<long[]> pendingAt = new ArrayList<>();
    List<byte[]> pending = new ArrayList<>();
    int records = 0;
    String stop = null;
    byte[] header = new byte[BackupFormat.RECORD_HEADER_BYTES];
    byte[] record = new byte[1 << 12];
    while (stop == null) {
      long left = ringBytes - position % ringBytes;
      if (position - start >= ringBytes) {
        stop = "a whole ring replayed";
        break;
      }
      if (left < BackupFormat.RECORD_HEADER_BYTES) {
        position += left;
        continue;
      }
      read(position, header, 0, header.length);
      int length = BackupFormat.length(header, 0);
      if (length < BackupFormat.RECORD_HEADER_BYTES || length > left
          || position - start + length > ringBytes) {
        stop = "record length " + length + " at ring position " + position + " is impossible";
        break;
      }
      if (record.length < length) {
        record = new byte[Math.max(length, record.length * 2)];
      }
      read(position, record, 0, length);
      String problem = BackupFormat.check(record, 0, length, checksums);
      if (problem == null && BackupFormat.seq(record, 0) != seq) {
        problem = "seq " + BackupFormat.seq(record, 0) + " where " + seq + " was next";
      }
      if (problem != null) {
        stop = problem + " at ring position " + position;
        break;
      }
      if (BackupFormat.type(record, 0) == BackupFormat.TYPE_WRAP) {
        position += left;
        continue;
      }
      pendingAt.add(new long[] {position});
      pending.add(java.util.Arrays.copyOf(record, length));
      seq++;
      position += BackupFormat.align(length, BackupFormat.BUFFER_ALIGN_BYTES);
      if (BackupFormat.isLast(record, 0)) {
        for (int i = 0; i < pending.size(); i++) {
          visitor.accept(pendingAt.get(i)[0], pending.get(i), pending.get(i).length);
          records++;
        }
        pending.clear();
        pendingAt.clear();
        entryStart = position;
        entrySeq = seq;
      }
    }
    if (!pending.isEmpty()) {
      stop += " (dropped the " + pending.size() + " record(s) of an entry it cut short)";
    }
    position = entryStart;
    seq = entrySeq;
    tailPos = position;
    tailSeq = seq;
    writtenBackPos = start;
    writtenBackSeq = durable.releaseSeq();
    zeroFreeRing();
    region.force(0, region.sizeBytes()); // what was recovered is durable from now on
    region.pretouch(BackupFormat.RING_START, ringBytes); // write faults now, not in apply
    return new Replay(position, seq, records, stop);
  }

  /** Zeroes [tail, released + ring): no stale record can follow a new one. */
  private void zeroFreeRing() {
    byte[] zeros = new byte[1 << 16];
    long end = durable.releasePos() + ringBytes;
    for (long p = tailPos; p < end; ) {
      long left = ringBytes - p % ringBytes;
      int n = (int) Math.min(Math.min(zeros.length, left), end - p);
      region.write(offsetOf(p), zeros, 0, n);
      p += n;
    }
  }
}
