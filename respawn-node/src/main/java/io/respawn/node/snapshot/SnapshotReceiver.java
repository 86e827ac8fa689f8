package io.respawn.node.snapshot;

import io.respawn.core.Message.SnapshotAck;
import io.respawn.core.Message.SnapshotChunk;
import io.respawn.core.NodeId;
import io.respawn.core.SnapshotMeta;
import io.respawn.core.codec.CodecException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * Follower side of a snapshot transfer: stages one image at a time, in order, checking the
 * envelope ({@link SnapshotFormat}) as it arrives, and hands a complete, verified image to the
 * runtime, which asks the core whether to install it.
 *
 * <p>Every chunk is answered with the offset staged so far ({@link SnapshotAck}): a chunk that
 * does not start there (lost, duplicated or reordered) changes nothing, and a sender starting
 * over at offset 0 for the snapshot already being staged learns where to resume. A staging for
 * another snapshot is dropped when a newer snapshot starts. A checksum failure drops the staging
 * and asks for the image again from 0. A node that restarted mid-transfer takes up what its
 * store kept of the staging ({@link Stager#resume}) when the sender's next chunk names the same
 * snapshot, and answers with the offset it holds. Owned by the runtime's driver thread.
 */
public final class SnapshotReceiver {

  /** Where the store stages a body; see {@code StateMachineStore.stageSnapshot}. */
  public interface Stager {
    SnapshotSink stage(SnapshotMeta meta, boolean keysOnly, long bodyBytes);

    /**
     * What an earlier run of this node staged of the snapshot (index, term) whose envelope has
     * {@code totalBytes} bytes, when it was cut short (the node restarted mid-transfer) and the
     * store kept it: the envelope's header, a sink that appends after the staged body bytes
     * ({@link SnapshotSink#bytes()} of them), and the CRC32C of those bytes. Null when there is
     * none (the default): the transfer starts over.
     */
    default Resumed resume(long snapshotIndex, long snapshotTerm, long totalBytes) {
      return null;
    }
  }

  /** A staging an earlier run left; see {@link Stager#resume}. */
  public record Resumed(byte[] header, SnapshotSink sink, CRC32C bodyCrc) {}

  /** What the runtime does with a chunk: send {@code ack}; install {@code complete} if set. */
  public record Outcome(SnapshotAck ack, Staged complete) {}

  /** A complete, verified image waiting for the core's decision. */
  public record Staged(NodeId from, long term, SnapshotMeta meta, boolean keysOnly,
      SnapshotSink sink) {}

  private final NodeId self;
  private final SnapshotPolicy policy;
  private final Stager stager;

  // the staging in progress
  private NodeId from;
  private long term;
  private long index;
  private long snapTerm;
  private long totalBytes;
  private long nextOffset;
  private byte[] header;
  private int headerLen;
  private SnapshotFormat.Header parsed;
  private SnapshotSink sink;
  private CRC32C bodyCrc;
  private final byte[] trailer = new byte[SnapshotFormat.TRAILER_BYTES];
  private int trailerLen;

  private long chunksAccepted;
  private long chunksIgnored;
  private long checksumFailures;
  private long imagesCompleted;
  private long resumes;

  public SnapshotReceiver(NodeId self, SnapshotPolicy policy, Stager stager) {
    this.self = self;
    this.policy = policy;
    this.stager = stager;
  }

  /**
   * One chunk from {@code c.from()}. {@code wanted}: the core would install this snapshot (it is
   * newer than what this node has committed); one it would not is acknowledged as installed, not
   * staged. {@code currentTerm}: chunks of an older term are ignored.
   */
  public Outcome onChunk(SnapshotChunk c, long currentTerm, boolean wanted) {
    if (c.term() < currentTerm) {
      chunksIgnored++;
      return new Outcome(null, null);
    }
    if (!wanted) {
      chunksIgnored++;
      return new Outcome(ack(c, 0, true), null);
    }
    boolean same = sink != null && index == c.snapshotIndex() && snapTerm == c.snapshotTerm()
        && totalBytes == c.totalBytes();
    if (!same) {
      if (sink != null && c.snapshotIndex() < index && c.term() <= term) {
        chunksIgnored++; // older than the one we stage: its sender will learn better
        return new Outcome(null, null);
      }
      // (A chunk of a newer term replaces the staging whatever its index: the transfer staged
      // was begun for an older term's leader, and may never go on. Ignoring the new one, without
      // an answer, left a backup staging half an image for ever while the current leader
      // streamed its own in vain: the simulator's F8, seed 13644.)
      if (c.totalBytes() > policy.imageBytesMax()) {
        chunksIgnored++;
        return new Outcome(null, null);
      }
      abort();
      if (!resume(c)) {
        if (c.offset() != 0) {
          chunksIgnored++;
          return new Outcome(ack(c, 0, false), null); // start from the beginning
        }
        begin(c);
      }
    }
    from = c.from();
    term = Math.max(term, c.term());
    if (c.offset() != nextOffset) {
      chunksIgnored++;
      return new Outcome(ack(c, nextOffset, false), null);
    }
    try {
      accept(c.data());
    } catch (CodecException | IllegalArgumentException e) {
      checksumFailures++;
      abort();
      return new Outcome(ack(c, 0, false), null);
    }
    chunksAccepted++;
    if (nextOffset < totalBytes) {
      return new Outcome(ack(c, nextOffset, false), null);
    }
    int expected = ByteBuffer.wrap(trailer).getInt();
    if (parsed == null || (int) bodyCrc.getValue() != expected) {
      checksumFailures++;
      abort();
      return new Outcome(ack(c, 0, false), null);
    }
    imagesCompleted++;
    Staged done = new Staged(from, term, parsed.meta(), parsed.keysOnly(), sink);
    reset(); // the runtime owns the sink now
    return new Outcome(null, done);
  }

  /** An answer once the runtime knows what became of a completed image. */
  public SnapshotAck installedAck(Staged s, long currentTerm) {
    return new SnapshotAck(self, s.from(), s.term(), s.meta().index(), s.meta().term(), 0, true);
  }

  /** Drops the staging in progress, if any. */
  public void abort() {
    if (sink != null) {
      sink.abort();
    }
    reset();
  }

  public long chunksAccepted() {
    return chunksAccepted;
  }

  public long chunksIgnored() {
    return chunksIgnored;
  }

  public long checksumFailures() {
    return checksumFailures;
  }

  public long imagesCompleted() {
    return imagesCompleted;
  }

  /** Stagings taken up from what an earlier run of this node left. */
  public long resumes() {
    return resumes;
  }

  /** Bytes of the image staged so far (0 when none). */
  public long stagedOffset() {
    return nextOffset;
  }

  /**
   * Takes up what an earlier run of this node staged of {@code c}'s snapshot, if the store kept
   * it (see {@link Stager#resume}); the sender then learns the offset from the next ack.
   */
  private boolean resume(SnapshotChunk c) {
    Resumed r;
    try {
      r = stager.resume(c.snapshotIndex(), c.snapshotTerm(), c.totalBytes());
    } catch (CodecException | IllegalArgumentException e) {
      return false;
    }
    if (r == null) {
      return false;
    }
    SnapshotFormat.Header h;
    try {
      h = SnapshotFormat.parseHeader(r.header(), r.header().length);
    } catch (CodecException e) {
      r.sink().abort();
      return false;
    }
    if (h.meta().index() != c.snapshotIndex() || h.meta().term() != c.snapshotTerm()
        || h.headerBytes() + h.bodyBytes() + SnapshotFormat.TRAILER_BYTES != c.totalBytes()
        || r.sink().bytes() > h.bodyBytes()) {
      r.sink().abort();
      return false;
    }
    index = c.snapshotIndex();
    snapTerm = c.snapshotTerm();
    totalBytes = c.totalBytes();
    term = c.term();
    header = r.header();
    headerLen = header.length;
    parsed = h;
    trailerLen = 0;
    bodyCrc = r.bodyCrc();
    sink = r.sink();
    nextOffset = h.headerBytes() + r.sink().bytes();
    resumes++;
    return true;
  }

  private void begin(SnapshotChunk c) {
    index = c.snapshotIndex();
    snapTerm = c.snapshotTerm();
    totalBytes = c.totalBytes();
    term = c.term();
    nextOffset = 0;
    header = new byte[SnapshotFormat.FIXED_BYTES];
    headerLen = 0;
    parsed = null;
    trailerLen = 0;
    bodyCrc = new CRC32C();
    sink = NO_SINK_YET;
  }

  /** Routes bytes to header, body (through the sink, checksummed) and trailer. */
  private void accept(byte[] data) {
    int i = 0;
    while (i < data.length) {
      if (parsed == null) {
        int want = SnapshotFormat.headerBytes(header, headerLen);
        int target = want < 0 ? SnapshotFormat.FIXED_BYTES : want;
        if (header.length < target) {
          header = java.util.Arrays.copyOf(header, target);
        }
        int n = Math.min(target - headerLen, data.length - i);
        System.arraycopy(data, i, header, headerLen, n);
        headerLen += n;
        i += n;
        nextOffset += n;
        int full = SnapshotFormat.headerBytes(header, headerLen);
        if (full > 0 && headerLen == full) {
          parsed = SnapshotFormat.parseHeader(header, headerLen);
          if (parsed.meta().index() != index || parsed.meta().term() != snapTerm
              || full + parsed.bodyBytes() + SnapshotFormat.TRAILER_BYTES != totalBytes) {
            throw new CodecException("snapshot image: header names " + parsed.meta() + " of "
                + parsed.bodyBytes() + " body bytes, the transfer " + snapTerm + "/" + index
                + " of " + totalBytes + " bytes");
          }
          sink = stager.stage(parsed.meta(), parsed.keysOnly(), parsed.bodyBytes());
        }
        continue;
      }
      long bodyEnd = parsed.headerBytes() + parsed.bodyBytes();
      if (nextOffset < bodyEnd) {
        int n = (int) Math.min(bodyEnd - nextOffset, data.length - i);
        sink.write(data, i, n);
        bodyCrc.update(data, i, n);
        i += n;
        nextOffset += n;
        continue;
      }
      int n = Math.min(SnapshotFormat.TRAILER_BYTES - trailerLen, data.length - i);
      if (n <= 0) {
        throw new CodecException("snapshot image: bytes past the trailer");
      }
      System.arraycopy(data, i, trailer, trailerLen, n);
      trailerLen += n;
      i += n;
      nextOffset += n;
    }
  }

  private SnapshotAck ack(SnapshotChunk c, long offset, boolean installed) {
    return new SnapshotAck(self, c.from(), c.term(), c.snapshotIndex(),
        c.snapshotTerm(), offset, installed);
  }

  private void reset() {
    sink = null;
    parsed = null;
    header = null;
    headerLen = 0;
    trailerLen = 0;
    nextOffset = 0;
    index = 0;
    snapTerm = 0;
    totalBytes = 0;
    bodyCrc = null;
  }

  /** Placeholder until the header names the snapshot and the store opens a real sink. */
  private static final SnapshotSink NO_SINK_YET = new SnapshotSink() {
    @Override
    public void write(byte[] src, int off, int len) {
      throw new IllegalStateException("body bytes before the header");
    }

    @Override
    public long bytes() {
      return 0;
    }

    @Override
    public void abort() {}
  };
}
