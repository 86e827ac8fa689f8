package io.respawn.core.codec;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.Message;
import io.respawn.core.Message.AppendEntries;
import io.respawn.core.Message.AppendEntriesResponse;
import io.respawn.core.Message.RequestLog;
import io.respawn.core.Message.RequestLogResponse;
import io.respawn.core.Message.RequestVote;
import io.respawn.core.Message.RequestVoteResponse;
import io.respawn.core.Message.SendSnapshot;
import io.respawn.core.Message.SnapshotAck;
import io.respawn.core.Message.SnapshotChunk;
import io.respawn.core.Message.TimeoutNow;
import io.respawn.core.MessageType;
import io.respawn.core.NodeId;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Replica-to-replica messages as bytes: one {@link Frames frame} per message, frame type = the
 * {@link MessageType} code. Pure; integers big-endian. Every body starts with the same header:
 *
 * <pre>
 *  +----------+----------+-----------+
 *  | from u32 | to u32   | term i64  |
 *  +----------+----------+-----------+
 * </pre>
 *
 * followed by, per type:
 *
 * <pre>
 *  APPEND_ENTRIES (1)
 *  | prevLogIndex i64 | prevLogTerm i64 | leaderCommit i64 | heartbeatSeq i64 |
 *  | leaderDurable i64 | flushWanted i64 | imageFloor i64 |
 *  | count u32 | count x (entryLen u32 | entry body, see EntryCodec) |
 *
 *  APPEND_ENTRIES_RESPONSE (2)
 *  | success u8 | matchIndex i64 | rejectHint i64 | heartbeatSeq i64 | flushedIndex i64 |
 *  | imageIndex i64 |
 *
 *  REQUEST_VOTE (3)
 *  | lastLogIndex i64 | lastLogTerm i64 | flags u8 |     flags: bit 0 preVote, bit 1 transfer
 *
 *  REQUEST_VOTE_RESPONSE (4)
 *  | preVote u8 | granted u8 | lastLogIndex i64 | lastLogTerm i64 |
 *
 *  TIMEOUT_NOW (32)
 *  (header only)
 *
 *  REQUEST_LOG (5)
 *  | requestId i64 | fromIndex i64 | prevLogTerm i64 | maxEntries u32 |
 *
 *  REQUEST_LOG_RESPONSE (6)
 *  | requestId i64 | fromIndex i64 | prevMatches u8 | lastLogIndex i64 | lastLogTerm i64 |
 *  | snapshotIndex i64 | count u32 | count x (entryLen u32 | entry body) |
 *
 *  SNAPSHOT_CHUNK (7)
 *  | snapshotIndex i64 | snapshotTerm i64 | totalBytes i64 | offset i64 | dataLen u32 |
 *  | data (dataLen bytes of the snapshot image from offset) |
 *
 *  SNAPSHOT_ACK (8)
 *  | snapshotIndex i64 | snapshotTerm i64 | nextOffset i64 | installed u8 |
 *
 *  SEND_SNAPSHOT (9)
 *  | target u32 | baseIndex i64 |
 * </pre>
 *
 * Decoding checks the frame (version, length, CRC32C) first, then every field, and refuses
 * trailing bytes; all failures are {@link CodecException}s naming what was expected.
 */
public final class MessageCodec {
  /** Entries per message refused above this while decoding. */
  public static final int ENTRIES_PER_MESSAGE_MAX = 1 << 20;

  private MessageCodec() {}

  /** One framed message, ready to read. */
  public static ByteBuffer encode(Message m) {
    BodyWriter w = BodyWriter.forFrame(m instanceof AppendEntries a ? 64 + entriesBytesEstimate(a.entries())
        : m instanceof RequestLogResponse r ? 64 + entriesBytesEstimate(r.entries())
        : m instanceof SnapshotChunk c ? 64 + c.data().length : 128);
    w.i32(m.from().value()).i32(m.to().value()).i64(m.term());
    if (m instanceof AppendEntries a) {
      w.i64(a.prevLogIndex()).i64(a.prevLogTerm()).i64(a.leaderCommit()).i64(a.heartbeatSeq())
          .i64(a.leaderDurable()).i64(a.flushWanted()).i64(a.imageFloor());
      writeEntries(w, a.entries());
    } else if (m instanceof AppendEntriesResponse r) {
      w.bool(r.success()).i64(r.matchIndex()).i64(r.rejectHint()).i64(r.heartbeatSeq())
          .i64(r.flushedIndex()).i64(r.imageIndex());
    } else if (m instanceof RequestVote v) {
      w.i64(v.lastLogIndex()).i64(v.lastLogTerm())
          .u8((v.preVote() ? 1 : 0) | (v.transfer() ? 2 : 0));
    } else if (m instanceof RequestVoteResponse r) {
      w.bool(r.preVote()).bool(r.granted()).i64(r.lastLogIndex()).i64(r.lastLogTerm());
    } else if (m instanceof RequestLog r) {
      w.i64(r.requestId()).i64(r.fromIndex()).i64(r.prevLogTerm()).i32(r.maxEntries());
    } else if (m instanceof SnapshotChunk c) {
      w.i64(c.snapshotIndex()).i64(c.snapshotTerm()).i64(c.totalBytes()).i64(c.offset())
          .i32(c.data().length).bytes(c.data());
    } else if (m instanceof SnapshotAck a) {
      w.i64(a.snapshotIndex()).i64(a.snapshotTerm()).i64(a.nextOffset()).bool(a.installed());
    } else if (m instanceof SendSnapshot d) {
      w.i32(d.target().value()).i64(d.baseIndex());
    } else if (m instanceof TimeoutNow) {
      // header only
    } else if (m instanceof RequestLogResponse r) {
      w.i64(r.requestId()).i64(r.fromIndex()).bool(r.prevMatches()).i64(r.lastLogIndex())
          .i64(r.lastLogTerm()).i64(r.snapshotIndex());
      writeEntries(w, r.entries());
    } else {
      throw new AssertionError(m);
    }
    return Frames.frame(m.type().code, w);
  }

  /** Decodes one message, consuming its frame from {@code buf}. */
  public static Message decode(ByteBuffer buf) {
    return decode(buf, Frames.BODY_BYTES_MAX_DEFAULT);
  }

  public static Message decode(ByteBuffer buf, int bodyBytesMax) {
    int[] typeOut = new int[1];
    ByteBuffer body = Frames.unframe(buf, bodyBytesMax, typeOut);
    MessageType type;
    try {
      type = MessageType.fromCode(typeOut[0]);
    } catch (IllegalArgumentException ex) {
      throw new CodecException("unknown message type " + typeOut[0]);
    }
    BodyReader r = new BodyReader(body);
    NodeId from = NodeId.of(r.nonNegativeInt("from"));
    NodeId to = NodeId.of(r.nonNegativeInt("to"));
    long term = r.nonNegativeLong("term");
    Message m = switch (type) {
      case APPEND_ENTRIES -> {
        long prevIndex = r.nonNegativeLong("prevLogIndex");
        long prevTerm = r.nonNegativeLong("prevLogTerm");
        long commit = r.nonNegativeLong("leaderCommit");
        long seq = r.i64("heartbeatSeq");
        long durable = r.nonNegativeLong("leaderDurable");
        if (durable > commit) {
          throw new CodecException("leaderDurable " + durable + " exceeds leaderCommit " + commit);
        }
        long flushWanted = r.nonNegativeLong("flushWanted");
        long imageFloor = r.nonNegativeLong("imageFloor");
        yield new AppendEntries(from, to, term, prevIndex, prevTerm, readEntries(r), commit, seq,
            durable, flushWanted, imageFloor);
      }
      case APPEND_ENTRIES_RESPONSE -> {
        boolean success = r.bool("success");
        long match = r.nonNegativeLong("matchIndex");
        long hint = r.nonNegativeLong("rejectHint");
        long seq = r.i64("heartbeatSeq");
        long flushed = r.nonNegativeLong("flushedIndex");
        if (flushed > match) {
          throw new CodecException("flushedIndex " + flushed + " exceeds matchIndex " + match);
        }
        long image = r.nonNegativeLong("imageIndex");
        yield new AppendEntriesResponse(from, to, term, success, match, hint, seq, flushed,
            image);
      }
      case REQUEST_VOTE -> {
        long lastIndex = r.nonNegativeLong("lastLogIndex");
        long lastTerm = r.nonNegativeLong("lastLogTerm");
        int flags = r.u8("vote flags");
        if ((flags & ~3) != 0 || flags == 3) {
          throw new CodecException("vote flags " + flags + ": expected 0 to 2");
        }
        yield new RequestVote(from, to, term, lastIndex, lastTerm, (flags & 1) != 0,
            (flags & 2) != 0);
      }
      case TIMEOUT_NOW -> new TimeoutNow(from, to, term);
      case SNAPSHOT_CHUNK -> {
        long index = r.nonNegativeLong("snapshotIndex");
        long snapTerm = r.nonNegativeLong("snapshotTerm");
        long total = r.nonNegativeLong("totalBytes");
        long offset = r.nonNegativeLong("offset");
        int len = r.count("chunk length", r.remaining());
        byte[] data = r.bytes(len, "chunk data");
        if (index < 1 || snapTerm < 1 || offset > total || len > total - offset) {
          throw new CodecException("snapshot chunk " + snapTerm + "/" + index + " [" + offset
              + ", +" + len + ") of " + total + " bytes");
        }
        yield new SnapshotChunk(from, to, term, index, snapTerm, total, offset, data);
      }
      case SNAPSHOT_ACK -> new SnapshotAck(from, to, term, r.nonNegativeLong("snapshotIndex"),
          r.nonNegativeLong("snapshotTerm"), r.nonNegativeLong("nextOffset"),
          r.bool("installed"));
      case SEND_SNAPSHOT -> new SendSnapshot(from, to, term, NodeId.of(r.nonNegativeInt("target")),
          r.nonNegativeLong("baseIndex"));
      case REQUEST_VOTE_RESPONSE -> new RequestVoteResponse(from, to, term, r.bool("preVote"),
          r.bool("granted"), r.nonNegativeLong("lastLogIndex"), r.nonNegativeLong("lastLogTerm"));
      case REQUEST_LOG -> new RequestLog(from, to, term, r.i64("requestId"),
          r.nonNegativeLong("fromIndex"), r.nonNegativeLong("prevLogTerm"),
          r.nonNegativeInt("maxEntries"));
      case REQUEST_LOG_RESPONSE -> {
        long requestId = r.i64("requestId");
        long fromIndex = r.nonNegativeLong("fromIndex");
        boolean prevMatches = r.bool("prevMatches");
        long lastIndex = r.nonNegativeLong("lastLogIndex");
        long lastTerm = r.nonNegativeLong("lastLogTerm");
        long snapshotIndex = r.nonNegativeLong("snapshotIndex");
        if (snapshotIndex > lastIndex) {
          throw new CodecException("snapshotIndex " + snapshotIndex + " above lastLogIndex "
              + lastIndex);
        }
        yield new RequestLogResponse(from, to, term, requestId, fromIndex, prevMatches,
            readEntries(r), lastIndex, lastTerm, snapshotIndex);
      }
    };
    r.expectEnd(type.name());
    return m;
  }

  private static void writeEntries(BodyWriter w, List<Entry> entries) {
    w.i32(entries.size());
    for (Entry e : entries) {
      int lengthAt = w.position();
      w.i32(0); // the entry's length, patched once it is written (in place: no copy per entry)
      EntryCodec.write(w, e);
      w.patchI32(lengthAt, w.position() - lengthAt - 4);
    }
  }

  /** A body size estimate for {@code entries} (exact for NORMAL and NOOP entries' bytes). */
  private static int entriesBytesEstimate(List<Entry> entries) {
    long bytes = 4;
    for (Entry e : entries) {
      bytes += 4 + 18 + 4;
      Command c = e.command();
      if (c != null) {
        bytes += 4L + c.dataLength() + c.keyCount() * 24L;
      } else {
        bytes += 64;
      }
    }
    return (int) Math.min(bytes, 1 << 26);
  }

  private static List<Entry> readEntries(BodyReader r) {
    int count = r.count("entry count", Math.min(ENTRIES_PER_MESSAGE_MAX, r.remaining() / 4));
    List<Entry> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      int len = r.count("entry length", r.remaining());
      BodyReader one = new BodyReader(ByteBuffer.wrap(r.bytes(len, "entry")));
      out.add(EntryCodec.read(one));
      one.expectEnd("entry " + i);
    }
    return out;
  }
}
