package io.respawn.storage.backup;

import io.respawn.storage.StorageException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds a {@link BackupStore}'s index at open, from the persistent buffer and then the hot
 * and cold logs, and decides what to keep, cut or refuse.
 *
 * <ol>
 *   <li>The buffer's newest valid checkpoint names the ring position to replay from, each log's
 *       active segment and how many of its bytes an fsync covered, and the newest CLEAR released.
 *   <li>The ring is replayed from there ({@link PersistentBuffer#recover}): a prefix of the
 *       appended entries, ending before some seq {@code endSeq}; a CLEAR in it drops every key
 *       indexed so far that is older.
 *   <li>Each log's segments are read in id order. A segment header that fails its check is a
 *       torn creation if the segment is newer than the checkpoint's active one (it then holds
 *       only copies of ring records): deleted. Otherwise it is corruption.
 *   <li>In every segment, every valid record is indexed if its timestamp is newer than the key's
 *       indexed one and not older than the CLEAR. A record with a seq at or past {@code endSeq}
 *       is a copy of a ring record the crash lost: the segment is cut there (records in a
 *       segment are in seq order), so that seq never counts twice. At the first invalid record:
 *       below the segment's durable length (all of a sealed segment; the checkpoint's length for
 *       its active one; none of a newer one) it is <b>corruption</b> and open fails, naming
 *       segment and offset — skipping it would lose acknowledged writes. Past it, it is a
 *       <b>torn tail</b>: cut off, logged. Records past those lengths were released by no durable
 *       checkpoint, so the ring still holds whatever of them is part of the history.
 *   <li>Recovered segments are fsynced and sealed (one left without records is deleted);
 *       writeback starts new ones, and copies the replayed ring records again (duplicates of log
 *       records are garbage for GC).
 * </ol>
 *
 * So a crash leaves the state after a prefix of the applied entries that holds every entry whose
 * durable notice completed; {@link BackupStore#lastApplied} names the prefix's last entry.
 */
final class BackupRecovery {
  private static final Logger log = LoggerFactory.getLogger(BackupRecovery.class);
  private static final int READ_CHUNK_BYTES = 1 << 20;

  private final BackupStore store;
  private final BackupFormat.Checkpoint checkpoint;
  private long appliedTerm;
  private long appliedIndex;
  private long clearTerm;
  private long clearIndex;
  private long maxSegmentId;
  /** Seq after the last record the buffer replay recovered. */
  private long endSeq;

  private BackupRecovery(BackupStore store) {
    this.store = store;
    this.checkpoint = store.buffer.durableCheckpoint();
    this.appliedTerm = checkpoint.appliedTerm();
    this.appliedIndex = checkpoint.appliedIndex();
    this.clearTerm = checkpoint.clearTerm();
    this.clearIndex = checkpoint.clearIndex();
  }

  static void run(BackupStore store) throws IOException {
    store.lock.lock();
    try {
      new BackupRecovery(store).recover();
    } finally {
      store.lock.unlock();
    }
  }

  private void recover() throws IOException {
    // The ring first: it says how far the history goes (endSeq), and log records copied from
    // ring records past that (the crash lost them from the ring) must not count.
    PersistentBuffer.Replay replay = store.buffer.recover((position, record, length) -> {
      if (BackupFormat.type(record, 0) == BackupFormat.TYPE_CLEAR) {
        clearTerm = BackupFormat.term(record, 0);
        clearIndex = BackupFormat.index(record, 0);
        store.dropOlderThan(clearTerm, clearIndex);
        advanceApplied(clearTerm, clearIndex);
        return;
      }
      index(record, 0, length, Location.inBuffer(position,
          BackupFormat.type(record, 0) == BackupFormat.TYPE_TOMBSTONE), null);
    });
    endSeq = replay.endSeq();
    if (replay.stopReason() != null && replay.records() > 0) {
      log.info("backup recovery: replayed {} buffer records, stopped at seq {}: {}",
          replay.records(), replay.endSeq(), replay.stopReason());
    }

    Map<LogKind, List<BackupFormat.SegmentName>> byLog = new EnumMap<>(LogKind.class);
    for (LogKind kind : LogKind.values()) {
      byLog.put(kind, new ArrayList<>());
    }
    for (String name : store.disk.list()) {
      BackupFormat.SegmentName parsed = BackupFormat.parseSegmentName(name);
      if (parsed != null) {
        byLog.get(parsed.kind()).add(parsed);
      } else if (!name.startsWith(BackupStore.BUFFER_FILE)) {
        log.warn("ignoring file that is not a backup log segment: {}", name);
      }
    }
    for (LogKind kind : LogKind.values()) {
      List<BackupFormat.SegmentName> segments = byLog.get(kind);
      segments.sort(Comparator.comparingLong(BackupFormat.SegmentName::id));
      long active = checkpoint.activeSegment(kind);
      if (active != 0 && segments.stream().noneMatch(s -> s.id() == active)) {
        throw new StorageException("corrupt backup: the " + kind + " log's active segment "
            + BackupFormat.segmentName(kind, active) + " named by the buffer checkpoint is missing");
      }
      for (BackupFormat.SegmentName segment : segments) {
        recoverSegment(kind, segment.id());
      }
    }
    store.nextSegmentId.set(maxSegmentId + 1);
    store.appliedTerm = appliedTerm;
    store.appliedIndex = appliedIndex;
    store.clearTerm = clearTerm;
    store.clearIndex = clearIndex;
    store.durableSeq = store.buffer.tailSeq(); // recover() forced what the ring holds
  }

  private void recoverSegment(LogKind kind, long id) throws IOException {
    maxSegmentId = Math.max(maxSegmentId, id);
    String name = BackupFormat.segmentName(kind, id);
    long active = checkpoint.activeSegment(kind);
    boolean newerThanCheckpoint = id > active;
    long size = store.disk.size(name);
    byte[] header = new byte[BackupFormat.SEGMENT_HEADER_BYTES];
    ByteBuffer into = ByteBuffer.wrap(header);
    while (into.hasRemaining() && store.disk.read(name, into.position(), into) >= 0) {
      // read the header
    }
    String badHeader = BackupFormat.checkSegmentHeader(header, into.position(), kind);
    if (badHeader != null) {
      if (newerThanCheckpoint) {
        log.warn("backup recovery: deleting segment {} whose creation a crash cut short ({}; {} bytes)",
            name, badHeader, size);
        store.disk.delete(name);
        return;
      }
      throw corrupt(name, 0, badHeader, "its header was fsynced before the checkpoint naming a later segment");
    }
    // Bytes the checkpoint vouches for (their records are released from the ring): all of a
    // segment sealed before the checkpoint's active one, what it says of that one, none of a
    // newer one. Every other record has a seq at or past the checkpoint's release seq, so the
    // ring holds it if it is part of the history: it may be cut, never needed.
    long durable = id < active ? size : id == active ? checkpoint.durableBytes(kind) : 0;
    Segment segment = new Segment(kind, id, BackupFormat.segmentFirstSeq(header));
    SegmentReader reader = new SegmentReader(store.disk, name, BackupFormat.SEGMENT_HEADER_BYTES,
        size, READ_CHUNK_BYTES, store.config.checksums());
    store.logs.get(kind).addRecovered(segment); // before indexing: a later record may supersede an earlier one
    long end = size;
    long records = 0;
    String cut = null;
    while (reader.next()) {
      byte[] b = reader.bytes();
      int at = reader.at();
      if (BackupFormat.seq(b, at) >= endSeq) {
        if (reader.offset() < durable) {
          throw corrupt(name, reader.offset(), "record seq " + BackupFormat.seq(b, at)
              + " is past the buffer's recovered end " + endSeq,
              "it lies in bytes the checkpoint vouches for");
        }
        end = reader.offset();
        cut = "copies of buffer records the crash lost (seq " + BackupFormat.seq(b, at)
            + " and on; the buffer's history ends before seq " + endSeq + ")";
        break;
      }
      records++;
      index(b, at, reader.length(), Location.inLog(kind, id, reader.offset(),
          BackupFormat.type(b, at) == BackupFormat.TYPE_TOMBSTONE), segment);
    }
    if (cut == null && reader.problem() != null) {
      long bad = reader.problemOffset();
      if (bad < durable) {
        throw corrupt(name, bad, reader.problem(), id < active
            ? "the segment was sealed and fsynced before the checkpoint's active segment began"
            : "the buffer checkpoint records that an fsync covered " + durable + " bytes");
      }
      end = bad;
      cut = "torn tail: " + reader.problem();
    }
    if (cut != null) {
      log.warn("backup recovery: segment {} offset {}: {}; truncating {} bytes", name, end, cut,
          size - end);
    }
    if (records == 0 && id != active) {
      store.logs.get(kind).remove(segment);
      store.disk.delete(name); // nothing in it belongs to the history
      return;
    }
    if (end < size) {
      store.disk.truncate(name, end);
    }
    store.disk.flush(name);
    segment.durableBytes = end;
    segment.readableBytes = end;
  }

  /** Indexes one recovered record if it is newer than what the index holds for its key. */
  private void index(byte[] b, int at, int length, long location, Segment segment) {
    long term = BackupFormat.term(b, at);
    long idx = BackupFormat.index(b, at);
    if (segment != null) {
      segment.recordBytes += length;
    }
    advanceApplied(term, idx);
    if (BackupFormat.compareTimestamps(term, idx, clearTerm, clearIndex) < 0) {
      return; // written before a CLEAR the checkpoint records: dead
    }
    byte[] key = BackupFormat.key(b, at);
    long hash = KeyHash.of(key);
    BackupIndex index = store.index;
    int slot = index.find(key, hash);
    if (slot < 0) {
      index.insert(key, hash, location, term, idx, length);
    } else if (BackupFormat.compareTimestamps(term, idx, index.term(slot), index.index(slot)) > 0) {
      store.superseded(index.location(slot), index.length(slot));
      index.update(slot, location, term, idx, length);
    } else {
      return; // an older or equal copy: garbage
    }
    if (segment != null) {
      segment.liveBytes += length;
    }
  }

  private void advanceApplied(long term, long index) {
    if (BackupFormat.compareTimestamps(term, index, appliedTerm, appliedIndex) > 0) {
      appliedTerm = term;
      appliedIndex = index;
    }
  }

  private static StorageException corrupt(String name, long offset, String problem, String why) {
    return new StorageException("corrupt backup log: segment " + name + " offset " + offset
        + ": " + problem + "; this is not a torn write because " + why
        + ". Refusing to open: acknowledged writes may be lost. Restore this backup from a replica.");
  }
}
