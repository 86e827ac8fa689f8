package io.respawn.storage.backup;

/**
 * One file of the hot or cold log, with the counts GC decides by. Fields other than the final
 * ones are guarded by the store's state lock, except where noted.
 */
final class Segment {
  final LogKind kind;
  final long id;
  /** Seq of the first record written to it; no record in it has a smaller seq. */
  final long firstSeq;
  final String name;
  /** Bytes readers may scan: every record below is in the file and in the index's view. */
  volatile long readableBytes;
  /** Bytes a completed fsync covered. */
  long durableBytes;
  /** Encoded bytes of every record placed here (padding excluded). */
  long recordBytes;
  /** Encoded bytes of the records the index points to. */
  long liveBytes;
  /** No more writes: fully written and fsynced. Only sealed segments are collected. */
  boolean sealed;
  /** Popularity version when the segment was sealed: drift GC revisits it once that changes. */
  long popularityVersion;

  Segment(LogKind kind, long id, long firstSeq) {
    this.kind = kind;
    this.id = id;
    this.firstSeq = firstSeq;
    this.name = BackupFormat.segmentName(kind, id);
  }

  double garbageRatio() {
    return recordBytes == 0 ? 1.0 : 1.0 - (double) liveBytes / recordBytes;
  }

  @Override
  public String toString() {
    return name + "(" + readableBytes + " bytes, " + liveBytes + " live)";
  }
}
