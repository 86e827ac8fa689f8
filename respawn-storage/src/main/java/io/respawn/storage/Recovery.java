package io.respawn.storage;

import java.io.IOException;
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
 *       says a flush had already covered them. A torn tail is truncated and logged (segment,
 *       offset, bytes). A last segment whose header is torn is deleted.
 *   <li>Anything else — bad bytes in a sealed segment (flushed before the next was created), in
 *       a compacted segment (flushed before it was renamed into place), or in flushed bytes of the
 *       last one — is <b>corruption</b>: skipping it would silently lose acknowledged writes, so
 *       open fails with a {@link StorageException} naming segment and offset, unless {@link
 *       StorageConfig#truncateCorruptLog()} is set, in which case the log is cut there and every
 *       later segment deleted, each drop logged.
 * </ol>
 *
 * After recovery the last segment is flushed, so nothing recovered from the page cache can be
 * lost later behind newer, durable segments.
 */
final class Recovery {
  private static final Logger log = LoggerFactory.getLogger(Recovery.class);

  /** What recovery found. Segments are in log order. */
  record Result(KeyIndex index, List<LogEngine.Segment> segments, long maxSequence) {}

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
    for (String name : disk.list()) {
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
      if (scanner.problem() == null || !repair) {
        continue;
      }
      long badOffset = scanner.problemOffset();
      boolean tornTail = last && file.generation() == 0
          && (!config.batchChecksums() || !scanner.flushedCommitAfter(badOffset));
      if (tornTail) {
        log.warn("recovery: torn tail in segment {} at offset {}: {}; truncating {} bytes",
            name, badOffset, scanner.problem(), fileBytes - badOffset);
        disk.truncate(name, badOffset);
      } else {
        String why = !last ? "the segment was sealed and flushed before the next one began"
            : file.generation() > 0 ? "compacted segments are flushed before they are used"
            : "a batch written later records that a flush had covered this offset";
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
    return new Result(index, segments, maxSequence);
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
          + "Restore from a replica, or set truncateCorruptLog=true to cut the log here and lose them.");
    }
    log.error("{}. truncateCorruptLog=true: dropping {} bytes of {} from offset {}", where,
        fileBytes - badOffset, name, badOffset);
    if (badOffset < LogFormat.SEGMENT_HEADER_BYTES) {
      disk.delete(name);
    } else {
      disk.truncate(name, badOffset);
    }
    for (int j = index + 1; j < files.size(); j++) {
      String later = files.get(j).fileName();
      log.error("truncateCorruptLog=true: deleting later segment {} ({} bytes)", later,
          disk.size(later));
      disk.delete(later);
    }
  }
}
