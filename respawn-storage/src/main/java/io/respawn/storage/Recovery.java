package io.respawn.storage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds the index by scanning the log, and decides what to do with bad bytes.
 *
 * <p>Rules, in order:
 *
 * <ol>
 *   <li>{@code *.tmp} files are unfinished compaction output: deleted.
 *   <li>A segment {@code (id, gen)} is superseded by any segment {@code (id' >= id, gen' > gen)}:
 *       compaction wrote and flushed the replacement, then crashed before deleting the old
 *       files. Superseded files are deleted.
 *   <li>Segments are replayed in id order, batch by batch. Scanning a segment stops at the first
 *       invalid batch (bad record CRC, bad batch checksum, malformed record, short read).
 *   <li>In the last segment (generation 0) the invalid bytes are a <b>torn tail</b> — writes that
 *       had not been flushed when the machine crashed — unless a valid commit record after them
 *       says a flush had already covered them, or a clean-shutdown mark ({@link
 *       LogFormat#CLEAN_SHUTDOWN_FILE}) says the store was stopped cleanly with this segment
 *       flushed past them. A torn tail is truncated: at INFO when it is only zeros the engine
 *       wrote ahead of the log (preallocated space no batch reached: nothing lost), at WARN when
 *       it holds part of a write a crash cut short. A last segment whose header is torn is
 *       deleted.
 *   <li>Anything else — bad bytes in a sealed segment (flushed before the next was created), in
 *       a compacted segment (flushed before it was renamed into place), in flushed bytes of the
 *       last one, or a last segment shorter than its clean-shutdown mark says — is
 *       <b>corruption</b>: skipping it would silently lose acknowledged writes, so open fails with
 *       a {@link StorageException} naming segment and offset and the repair flag, unless {@link
 *       StorageConfig#truncateCorruptLog()} is set ({@code --on-corruption truncate}), in which
 *       case the log is cut there and every later segment deleted, each drop logged.
 * </ol>
 *
 * After recovery the last segment is flushed, so nothing recovered from the page cache can be
 * lost later behind newer, durable segments.
 */
final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);

  /**
   * What recovery found. Segments are in log order. {@code cleanShutdownMarked}: the
   * clean-shutdown mark is on disk (the engine deletes it when it starts a new segment).
   */
  record Result(KeyIndex index, List<LogEngine.Segment> segments, long maxSequence,
      boolean cleanShutdownMarked) {}

  /** The repair switch as an operator sets it. */
  static final String REPAIR_FLAG = "--on-corruption truncate";

  private Recovery() {}

  /** Recovery at open: may delete, truncate and flush files. */
  static Result run(Disk disk, StorageConfig config) throws IOException {
    return scan(disk, config, true, Long.MAX_VALUE, Long.MAX_VALUE);
  }

  /**
   * Read-only rescan of the log up to (and including) segment {@code lastSegmentId}, stopping at
   * {@code lastOffset} in it. Used after a write failure to drop unacknowledged writes from the
   * index; changes no file.
   */
  static Result rebuild(Disk disk, StorageConfig config, long lastSegmentId, long lastOffset)
      throws IOException {
    return scan(disk, config, false, lastSegmentId, lastOffset);
  }

  private static Result scan(
      Disk disk, StorageConfig config, boolean repair, long lastSegmentId, long lastOffset)
      throws IOException {
    List<LogFormat.SegmentId> files = new ArrayList<>();
    boolean marked = false;
    for (String name : disk.list()) {
      if (name.equals(SpaceReserve.FILE)) {
        continue; // zeros kept back for a full disk
      }
      if (name.equals(LogFormat.CLEAN_SHUTDOWN_FILE)) {
        marked = true;
        continue;
      }
      if (name.equals(LogFormat.CLEAN_SHUTDOWN_FILE + LogFormat.TEMP_SUFFIX)) {
        if (repair) {
          disk.delete(name); // a close that did not finish recording itself: not a clean stop
        }
        continue;
      }
      if (name.endsWith(LogFormat.SEGMENT_SUFFIX + LogFormat.TEMP_SUFFIX)) {
        if (repair) {
          log.warn("deleting unfinished compaction output {}", name);
          disk.delete(name);
        }
        continue;
      }
      LogFormat.SegmentId id = LogFormat.parseSegmentName(name);
      if (id == null) {
        log.warn("ignoring file that is not a log segment: {}", name);
      } else if (id.id() <= lastSegmentId) {
        files.add(id);
      }
    }
    Collections.sort(files);
    files = dropSuperseded(disk, files, repair);
    CleanStop cleanStop = marked && repair ? CleanStop.read(disk) : CleanStop.NONE;

    KeyIndex index = new KeyIndex();
    Map<Long, LogEngine.Segment> segmentsById = new HashMap<>();
    List<LogEngine.Segment> segments = new ArrayList<>();
    long maxSequence = -1;
    for (int i = 0; i < files.size(); i++) {
      LogFormat.SegmentId file = files.get(i);
      String name = file.fileName();
      boolean last = i == files.size() - 1;
      long fileBytes = disk.size(name);
      long limit = file.id() == lastSegmentId ? Math.min(fileBytes, lastOffset) : fileBytes;
      SegmentScanner scanner = new SegmentScanner(disk, name, config, limit);
      String badHeader = scanner.readHeader();
      if (badHeader != null) {
        if (!repair) {
          break;
        }
        if (last && file.generation() == 0) {
          log.warn("recovery: deleting segment {} whose header was torn by a crash ({}; {} bytes)",
              name, badHeader, fileBytes);
          disk.delete(name);
          break;
        }
        corrupt(disk, config, files, i, 0, fileBytes, badHeader,
            "a segment header is flushed before any batch is written");
        break;
      }
      LogEngine.Segment segment = new LogEngine.Segment(file.id(), file.generation(), 0);
      segmentsById.put(file.id(), segment);
      segments.add(segment);
      SegmentScanner.Batch batch;
      while ((batch = scanner.next()) != null) {
        for (SegmentScanner.Record r : batch.records()) {
          LogEngine.applyRecord(index, segmentsById, r.type(), r.key(), r.value(),
              r.expiresAtMillis(), r.sequence(), file.id());
        }
        maxSequence = Math.max(maxSequence, batch.maxSequence());
        segment.maxSequence = Math.max(segment.maxSequence, batch.maxSequence());
      }
      segment.totalBytes = scanner.validEnd();
      long flushedAtStop = last ? cleanStop.flushedBytes(file) : 0;
      if (!repair) {
        continue;
      }
      if (scanner.problem() == null) {
        if (fileBytes < flushedAtStop) {
          corrupt(disk, config, files, i, fileBytes, fileBytes,
              "segment ends at offset " + fileBytes + " but held " + flushedAtStop
                  + " flushed bytes when the store was stopped cleanly",
              "the clean-shutdown mark records every byte of it as flushed");
          break;
        }
        continue;
      }
      long badOffset = scanner.problemOffset();
      boolean flushedLater = config.batchChecksums() && scanner.flushedCommitAfter(badOffset);
      boolean flushedAtCleanStop = config.batchChecksums() && badOffset < flushedAtStop;
      if (last && file.generation() == 0 && !flushedLater && !flushedAtCleanStop) {
        trimTornTail(disk, scanner, name, badOffset, fileBytes);
      } else {
        String why = !last ? "the segment was sealed and flushed before the next one began"
            : file.generation() > 0 ? "compacted segments are flushed before they are used"
            : flushedLater ? "a batch written later records that a flush had covered this offset"
            : cleanStop.why(flushedAtStop);
        corrupt(disk, config, files, i, badOffset, fileBytes, scanner.problem(), why);
        break;
      }
    }
    if (repair && !files.isEmpty()) {
      String lastName = segments.isEmpty() ? null : segments.get(segments.size() - 1).fileName();
      if (lastName != null && disk.list().contains(lastName)) {
        disk.flush(lastName);
      }
    }
    return new Result(index, segments, maxSequence, marked);
  }

  /**
   * Cuts a torn tail off the last segment. Zeros alone are space the engine preallocated ahead
   * of the log that no batch reached (the normal end of a log after kill -9 or a crash): trimmed
   * at INFO. Anything else is a write a crash cut short before it was flushed: WARN.
   */
  private static void trimTornTail(Disk disk, SegmentScanner scanner, String name, long badOffset,
      long fileBytes) throws IOException {
    long dataEnd = scanner.nonZeroEnd(badOffset);
    if (dataEnd == badOffset) {
      log.info("recovery: segment {} ends in {} bytes of preallocated space from offset {} "
          + "(zeros written ahead of the log that no write reached; nothing is lost): trimming it",
          name, fileBytes - badOffset, badOffset);
    } else {
      log.warn("recovery: torn tail in segment {} at offset {}: {}; dropping {} bytes of a write "
          + "that a crash cut short before it was flushed (so never acknowledged as DURABLE){}",
          name, badOffset, scanner.problem(), dataEnd - badOffset,
          dataEnd < fileBytes ? " and " + (fileBytes - dataEnd) + " bytes of preallocated zeros"
              : "");
    }
    disk.truncate(name, badOffset);
  }

  /** What the clean-shutdown mark says, if there is one. */
  private record CleanStop(LogFormat.CleanShutdown mark, String damage) {
    static final CleanStop NONE = new CleanStop(null, null);

    static CleanStop read(Disk disk) throws IOException {
      byte[] bytes = new byte[LogFormat.CLEAN_SHUTDOWN_BYTES + 1];
      ByteBuffer dst = ByteBuffer.wrap(bytes);
      while (dst.hasRemaining() && disk.read(LogFormat.CLEAN_SHUTDOWN_FILE, dst.position(), dst) > 0) {
        // read it whole (one byte more than a mark, to see a longer file)
      }
      LogFormat.CleanShutdown mark = LogFormat.decodeCleanShutdown(bytes, dst.position());
      if (mark != null) {
        return new CleanStop(mark, null);
      }
      String damage = dst.position() + " bytes that are not a valid mark";
      log.warn("recovery: the clean-shutdown mark is damaged ({}): treating the whole last segment "
          + "as flushed", damage);
      return new CleanStop(null, damage);
    }

    /** Bytes of this (last) segment flushed at the clean stop; 0 when the mark says nothing. */
    long flushedBytes(LogFormat.SegmentId file) {
      if (damage != null) {
        return Long.MAX_VALUE;
      }
      return mark != null && mark.segment().equals(file) ? mark.flushedBytes() : 0;
    }

    String why(long flushedBytes) {
      return damage != null
          ? "a clean shutdown was recorded (its mark is damaged: " + damage + "), so all of the "
              + "last segment had been flushed"
          : "the store was stopped cleanly with this segment flushed up to offset " + flushedBytes;
    }
  }

  /** Deletes files made redundant by a finished compaction; returns the others, in order. */
  private static List<LogFormat.SegmentId> dropSuperseded(
      Disk disk, List<LogFormat.SegmentId> sorted, boolean repair) throws IOException {
    List<LogFormat.SegmentId> kept = new ArrayList<>();
    int newestGeneration = -1;
    for (int i = sorted.size() - 1; i >= 0; i--) { // newest first
      LogFormat.SegmentId f = sorted.get(i);
      if (f.generation() < newestGeneration) {
        if (repair) {
          log.info("recovery: deleting segment {} superseded by a compacted segment", f.fileName());
          disk.delete(f.fileName());
        }
        continue;
      }
      newestGeneration = Math.max(newestGeneration, f.generation());
      kept.add(0, f);
    }
    return kept;
  }

  private static void corrupt(Disk disk, StorageConfig config, List<LogFormat.SegmentId> files,
      int index, long badOffset, long fileBytes, String problem, String whyNotTorn)
      throws IOException {
    String name = files.get(index).fileName();
    long laterBytes = 0;
    for (int j = index + 1; j < files.size(); j++) {
      laterBytes += disk.size(files.get(j).fileName());
    }
    String where = "corrupt log: segment " + name + " offset " + badOffset + ": " + problem
        + "; this is not a torn write because " + whyNotTorn;
    if (!config.truncateCorruptLog()) {
      throw new StorageException(where + ". Refusing to open: " + (fileBytes - badOffset)
          + " bytes after it in this segment and " + laterBytes + " bytes in "
          + (files.size() - index - 1) + " later segment(s) may hold acknowledged writes. "
          + "Restore the data directory from a backup or a replica, or start with "
          + REPAIR_FLAG + " (StorageConfig.truncateCorruptLog) to cut the log at this offset "
          + "and lose them.");
    }
    log.error("{}. {}: dropping {} bytes of {} from offset {}", where, REPAIR_FLAG,
        fileBytes - badOffset, name, badOffset);
    if (badOffset < LogFormat.SEGMENT_HEADER_BYTES) {
      disk.delete(name);
    } else if (badOffset < fileBytes) {
      disk.truncate(name, badOffset);
    }
    for (int j = index + 1; j < files.size(); j++) {
      String later = files.get(j).fileName();
      log.error("{}: deleting later segment {} ({} bytes)", REPAIR_FLAG, later, disk.size(later));
      disk.delete(later);
    }
  }
}
