package io.respawn.core;

import java.util.List;
import java.util.Objects;

/**
 * A replica-to-replica message. Every message names its sender and destination; the runtime
 * routes by {@link #to()}. The transport may drop, delay, duplicate or reorder messages: the
 * protocol tolerates all of these.
 *
 * <p>Term rules: a message with a higher term than the receiver's makes it adopt that term and
 * become a follower, except pre-votes (which never change anyone's term) and RequestLog traffic
 * (a read-only catch-up, term-neutral). Messages with a lower term are answered with the
 * receiver's term (so the sender steps down) or dropped.
 */
public sealed interface Message
    permits Message.AppendEntries,
        Message.AppendEntriesResponse,
        Message.RequestVote,
        Message.RequestVoteResponse,
        Message.RequestLog,
        Message.RequestLogResponse,
        Message.TimeoutNow,
        Message.SnapshotChunk,
        Message.SnapshotAck,
        Message.SendSnapshot {

  NodeId from();

  NodeId to();

  long term();

  MessageType type();

  /**
   * Leader to follower: entries to append after (prevLogIndex, prevLogTerm), the leader's commit
   * index, and a heartbeat sequence number the follower echoes so the leader can time its lease.
   * Empty {@code entries} is a heartbeat. {@code leaderDurable} is the index the leader knows
   * durable on the shard (a write quorum flushed everything up to it, so no crash loses it) and,
   * when the leader keeps no values, also held in full and flushed by a member that keeps values:
   * a follower may compact its log only up to there (0: nothing known; docs/protocol.md §15).
   * {@code flushWanted} is the highest index of this term a DURABLE write waits on (0: none): a
   * follower holding entries up to there flushes at once instead of within its flush interval.
   * {@code imageFloor} is the lowest snapshot image kept by the members that keep values which
   * the leader heard from within an election timeout (0: none): a member that keeps no values
   * compacts its log, and labels its images, no further (docs/protocol.md §15, "Compaction by a
   * member that keeps no values").
   */
  record AppendEntries(
      NodeId from,
      NodeId to,
      long term,
      long prevLogIndex,
      long prevLogTerm,
      List<Entry> entries,
      long leaderCommit,
      long heartbeatSeq,
      long leaderDurable,
      long flushWanted,
      long imageFloor)
      implements Message {
    public AppendEntries {
      Objects.requireNonNull(from);
      Objects.requireNonNull(to);
      entries = List.copyOf(entries);
      if (leaderDurable < 0 || leaderDurable > leaderCommit) {
        throw new IllegalArgumentException("leaderDurable " + leaderDurable + " outside [0,"
            + " leaderCommit " + leaderCommit + "]");
      }
      if (flushWanted < 0) {
        throw new IllegalArgumentException("flushWanted " + flushWanted + " must be >= 0");
      }
      if (imageFloor < 0) {
        throw new IllegalArgumentException("imageFloor " + imageFloor + " must be >= 0");
      }
    }

    /** An AppendEntries that tells no image floor (a member that keeps no values compacts nothing more). */
    public AppendEntries(NodeId from, NodeId to, long term, long prevLogIndex, long prevLogTerm,
        List<Entry> entries, long leaderCommit, long heartbeatSeq, long leaderDurable,
        long flushWanted) {
      this(from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit, heartbeatSeq,
          leaderDurable, flushWanted, 0);
    }

    /** An AppendEntries that tells no durable index and wants no flush. */
    public AppendEntries(NodeId from, NodeId to, long term, long prevLogIndex, long prevLogTerm,
        List<Entry> entries, long leaderCommit, long heartbeatSeq) {
      this(from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit, heartbeatSeq, 0, 0,
          0);
    }

    /** An AppendEntries that wants no flush. */
    public AppendEntries(NodeId from, NodeId to, long term, long prevLogIndex, long prevLogTerm,
        List<Entry> entries, long leaderCommit, long heartbeatSeq, long leaderDurable) {
      this(from, to, term, prevLogIndex, prevLogTerm, entries, leaderCommit, heartbeatSeq,
          leaderDurable, 0, 0);
    }

    @Override
    public MessageType type() {
      return MessageType.APPEND_ENTRIES;
    }
  }

  /**
   * Follower to leader. On success {@code matchIndex} is the last index known to match the
   * leader's log (written in order, perhaps not yet flushed); on rejection {@code rejectHint} is
   * the follower's last index (the leader backs {@code nextIndex} off to at most {@code
   * rejectHint + 1}). {@code heartbeatSeq} echoes the request's; the follower's lease promise
   * started when it received it (0: not an answer to a heartbeat, e.g. a report sent because a
   * flush completed). {@code flushedIndex} is how far the follower's copy of the leader's log is
   * flushed (at most {@code matchIndex}; 0 when nothing is known): the leader's DURABLE
   * acknowledgements count it. {@code imageIndex} is the index of the newest snapshot image the
   * responder keeps (0: none): a leader lets members that keep no values compact no further than
   * the lowest such image of the value keepers it hears from (docs/protocol.md §15, "Compaction
   * by a member that keeps no values").
   */
  record AppendEntriesResponse(
      NodeId from,
      NodeId to,
      long term,
      boolean success,
      long matchIndex,
      long rejectHint,
      long heartbeatSeq,
      long flushedIndex,
      long imageIndex)
      implements Message {
    public AppendEntriesResponse {
      Objects.requireNonNull(from);
      Objects.requireNonNull(to);
      if (flushedIndex < 0 || flushedIndex > matchIndex) {
        throw new IllegalArgumentException("flushedIndex " + flushedIndex + " outside [0, matchIndex "
            + matchIndex + "]");
      }
      if (imageIndex < 0) {
        throw new IllegalArgumentException("imageIndex " + imageIndex + " must be >= 0");
      }
    }

    /** A response that reports no kept image ({@code imageIndex} 0). */
    public AppendEntriesResponse(NodeId from, NodeId to, long term, boolean success,
        long matchIndex, long rejectHint, long heartbeatSeq, long flushedIndex) {
      this(from, to, term, success, matchIndex, rejectHint, heartbeatSeq, flushedIndex, 0);
    }

    /** A response that reports nothing flushed ({@code flushedIndex} 0) and no kept image. */
    public AppendEntriesResponse(NodeId from, NodeId to, long term, boolean success,
        long matchIndex, long rejectHint, long heartbeatSeq) {
      this(from, to, term, success, matchIndex, rejectHint, heartbeatSeq, 0, 0);
    }

    @Override
    public MessageType type() {
      return MessageType.APPEND_ENTRIES_RESPONSE;
    }
  }

  /**
   * Candidate to voter. With {@code preVote} the term is the one the candidate <em>would</em>
   * use; nobody changes state for a pre-vote. {@code transfer} marks the campaign of a member
   * the leader handed leadership to ({@link TimeoutNow}).
   */
  record RequestVote(
      NodeId from, NodeId to, long term, long lastLogIndex, long lastLogTerm, boolean preVote,
      boolean transfer)
      implements Message {
    public RequestVote {
      if (preVote && transfer) {
        throw new IllegalArgumentException("a leadership transfer campaign has no pre-vote");
      }
    }

    /** An ordinary (pre-)vote request, not part of a leadership transfer. */
    public RequestVote(NodeId from, NodeId to, long term, long lastLogIndex, long lastLogTerm,
        boolean preVote) {
      this(from, to, term, lastLogIndex, lastLogTerm, preVote, false);
    }

    @Override
    public MessageType type() {
      return MessageType.REQUEST_VOTE;
    }
  }

  /**
   * Leader to the member it hands leadership to (Raft's leadership transfer): campaign now, in
   * the next term, without waiting for a timeout. Sent only once the target's log matches the
   * leader's; from then on the leader serves no reads and accepts no writes in its term. Voters
   * grant a transfer candidate's vote despite their lease promise to that leader, which has
   * given up its lease.
   */
  record TimeoutNow(NodeId from, NodeId to, long term) implements Message {
    @Override
    public MessageType type() {
      return MessageType.TIMEOUT_NOW;
    }
  }

  /**
   * Voter to candidate; carries the voter's last log position (CANDStore's addition), which the
   * candidate uses for diagnostics and to decide whom to catch up from.
   */
  record RequestVoteResponse(
      NodeId from,
      NodeId to,
      long term,
      boolean preVote,
      boolean granted,
      long lastLogIndex,
      long lastLogTerm)
      implements Message {
    @Override
    public MessageType type() {
      return MessageType.REQUEST_VOTE_RESPONSE;
    }
  }

  /**
   * Catch-up / reconciliation read: "send me your entries from {@code fromIndex}, at most
   * {@code maxEntries}, and tell me whether your entry at {@code fromIndex - 1} has term
   * {@code prevLogTerm}". Term-neutral. Used by a witness before campaigning and by a primary to
   * fill values it only holds in elided form.
   */
  record RequestLog(
      NodeId from,
      NodeId to,
      long term,
      long requestId,
      long fromIndex,
      long prevLogTerm,
      int maxEntries)
      implements Message {
    @Override
    public MessageType type() {
      return MessageType.REQUEST_LOG;
    }
  }

  /**
   * Answer to {@link RequestLog}. {@code prevMatches} false means the responder has no entry at
   * {@code fromIndex - 1} with the requested term (then {@code entries} is empty). The responder's
   * last log position lets the requester compare logs by (term, index). {@code snapshotIndex} is
   * the responder's snapshot base: at or above {@code fromIndex} it has compacted the range away
   * for good (and keeps an image at or above it), so asking it again will not help.
   */
  record RequestLogResponse(
      NodeId from,
      NodeId to,
      long term,
      long requestId,
      long fromIndex,
      boolean prevMatches,
      List<Entry> entries,
      long lastLogIndex,
      long lastLogTerm,
      long snapshotIndex)
      implements Message {
    public RequestLogResponse {
      entries = List.copyOf(entries);
      if (snapshotIndex < 0 || snapshotIndex > lastLogIndex) {
        throw new IllegalArgumentException("snapshotIndex " + snapshotIndex
            + " outside [0, lastLogIndex " + lastLogIndex + "]");
      }
    }

    /** The responder compacted {@code fromIndex} away: it can never serve this range. */
    public boolean compactedRange() {
      return !prevMatches && snapshotIndex >= fromIndex;
    }

    @Override
    public MessageType type() {
      return MessageType.REQUEST_LOG_RESPONSE;
    }
  }

  /**
   * Leader to follower: one piece of a snapshot image (the state machine at {@code
   * snapshotIndex}, see {@code docs/protocol.md} §15), {@code data} being its bytes from {@code
   * offset}. {@code totalBytes} is the image's length; the piece that ends there completes it.
   * Handled by the runtime, not the core: the runtime stages the image and hands the core only
   * the finished, verified snapshot ({@link Replica#installSnapshot}). The frame's CRC32C covers
   * each piece; the image ends in a CRC32C of its own.
   */
  record SnapshotChunk(
      NodeId from,
      NodeId to,
      long term,
      long snapshotIndex,
      long snapshotTerm,
      long totalBytes,
      long offset,
      byte[] data)
      implements Message {
    public SnapshotChunk {
      Objects.requireNonNull(from);
      Objects.requireNonNull(to);
      Objects.requireNonNull(data);
      if (snapshotIndex < 1 || snapshotTerm < 1 || offset < 0 || totalBytes < 0
          || offset + data.length > totalBytes) {
        throw new IllegalArgumentException("snapshot chunk " + snapshotTerm + "/" + snapshotIndex
            + " [" + offset + ", +" + data.length + ") of " + totalBytes + " bytes");
      }
    }

    @Override
    public MessageType type() {
      return MessageType.SNAPSHOT_CHUNK;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof SnapshotChunk c && from.equals(c.from) && to.equals(c.to)
          && term == c.term && snapshotIndex == c.snapshotIndex && snapshotTerm == c.snapshotTerm
          && totalBytes == c.totalBytes && offset == c.offset
          && java.util.Arrays.equals(data, c.data);
    }

    @Override
    public int hashCode() {
      return Objects.hash(from, to, term, snapshotIndex, offset, java.util.Arrays.hashCode(data));
    }

    @Override
    public String toString() {
      return "SnapshotChunk[" + from + "->" + to + " t" + term + " " + snapshotTerm + "/"
          + snapshotIndex + " [" + offset + ", +" + data.length + ") of " + totalBytes + "]";
    }
  }

  /**
   * Follower to leader: how much of snapshot (snapshotTerm, snapshotIndex) it holds staged and
   * verified ({@code nextOffset}: the leader resumes from there, after a lost chunk or a dropped
   * connection, instead of starting over), or that it is done with it ({@code installed}: the
   * image is in its store, or it already had that state). Handled by the runtime.
   */
  record SnapshotAck(
      NodeId from,
      NodeId to,
      long term,
      long snapshotIndex,
      long snapshotTerm,
      long nextOffset,
      boolean installed)
      implements Message {
    public SnapshotAck {
      Objects.requireNonNull(from);
      Objects.requireNonNull(to);
      if (nextOffset < 0) {
        throw new IllegalArgumentException("negative snapshot offset " + nextOffset);
      }
    }

    @Override
    public MessageType type() {
      return MessageType.SNAPSHOT_ACK;
    }
  }

  /**
   * Leader to a member that keeps values: send {@code target} an image at or above {@code
   * baseIndex} (the leader's compaction base: the target needs the state there before the
   * leader's log can continue it). A leader that is a witness asks this when a member that keeps
   * values needs entries it compacted: its own image has keys only. It asks it too, with {@code
   * baseIndex} the first entry it lacks values for, when a member that keeps values needs values
   * of entries the leader holds keys-only and the members that kept them compacted them (they
   * answered its {@link RequestLog} with the range compacted). Handled by the runtime; only
   * a member of the same term obeys. A member whose kept image is older than the base captures
   * a new one first (its applied state reaches the base, which is durable on the shard), keeps
   * it, and sends it when asked again (docs/protocol.md §15).
   */
  record SendSnapshot(NodeId from, NodeId to, long term, NodeId target, long baseIndex)
      implements Message {
    public SendSnapshot {
      Objects.requireNonNull(from);
      Objects.requireNonNull(to);
      Objects.requireNonNull(target);
      if (baseIndex < 0) {
        throw new IllegalArgumentException("baseIndex " + baseIndex + " < 0");
      }
    }

    @Override
    public MessageType type() {
      return MessageType.SEND_SNAPSHOT;
    }
  }
}
