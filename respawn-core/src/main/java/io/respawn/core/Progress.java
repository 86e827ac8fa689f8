package io.respawn.core;

/**
 * The leader's view of one follower: how much of the log is known to match ({@code matchIndex}),
 * what to send next ({@code nextIndex}), and the send time of the newest heartbeat it has
 * acknowledged ({@code leaseAckSentNanos}, on the leader's clock). Owned by {@link Replica}.
 *
 * <p>Invariant: {@code flushedIndex <= matchIndex < nextIndex}.
 */
final class Progress {
  long matchIndex;
  /** How far the follower reported its copy flushed; never above {@code matchIndex}. */
  long flushedIndex;
  /**
   * Acks for AppendEntries with a heartbeat sequence below this do not move {@code matchIndex}
   * or {@code flushedIndex}: set when a witness starts standing in for a backup, since what it
   * acknowledged before were keys-only copies.
   */
  long countAcksFromSeq;
  /**
   * The leader's last index when this witness started standing in for a backup: up to here it
   * may hold keys-only copies, which log matching cannot tell from full ones (same term and
   * index). Until its match reaches this, no AppendEntries to it starts past its match, the
   * leader's base or the commit index (whichever is highest), so that whatever it acknowledges
   * that is not decided yet it received in full in that very message (0: none).
   */
  long keysOnlyThrough;
  long nextIndex;
  long leaseAckSentNanos = Long.MIN_VALUE;
  /**
   * A leader that holds entries only in elided form probes whether a value-keeping follower
   * already has them by sending prevLogIndex past them: the first elided index of the probe in
   * flight, and the one whose probe was rejected (the leader must fetch those values first).
   */
  long elidedProbeFrom = -1;
  long elidedProbeFailedAt = -1;
  /**
   * The follower's last index as its latest rejection told it (-1: no rejection yet in this
   * term). A snapshot is asked for only once this says the follower ends below the base, not
   * merely because a fresh leader knows no match yet.
   */
  long rejectedAtLastIndex = -1;
  /**
   * Heartbeat sequence of the newest AppendEntries this follower acknowledged: a rejection of a
   * newer one below {@code matchIndex} means it lost what it acknowledged (a machine crash took
   * its unflushed suffix), not a late answer to an older message.
   */
  long successSeq = Long.MIN_VALUE;
  /**
   * The follower rejected an AppendEntries sent after the newest one it acknowledged: the next
   * one may start below the stand-in floor ({@code keysOnlyThrough}'s rule), where it said it
   * lacks entries. A heartbeat round's {@link #probe} alone does not lower it.
   */
  boolean rejectedSinceAck;
  /**
   * The index of the newest snapshot image the follower reported kept (0: none), and when this
   * leader last heard from it (its clock; {@code Long.MIN_VALUE}: never in this term). A member
   * that keeps no values compacts no further than the lowest image of the value keepers heard
   * from within an election timeout (docs/protocol.md §15).
   */
  long imageIndex;
  long heardNanos = Long.MIN_VALUE;
  /** Leader time this progress was created: the follower joined the configuration or we lead. */
  long sinceNanos = Long.MIN_VALUE;
  /** Rounds of asking helpers to send this follower a snapshot (rotates among them). */
  long snapshotHelperRound;
  /** Leader time of the last {@link #probe} (restart of the pipeline from the match). */
  private long probedNanos = Long.MIN_VALUE;
  /** Leader time of the last AppendEntries sent, to pace retransmission. */
  long lastSendNanos = Long.MIN_VALUE;
  /**
   * AppendEntries with entries sent since the pipeline last restarted ({@link #probe}, {@link
   * #backOff}) that no acknowledgement has covered yet, oldest first: each one's last index and
   * entry count, in a ring of {@link #IN_FLIGHT_MESSAGES_MAX} slots.
   */
  private final long[] inFlightLastIndex = new long[IN_FLIGHT_MESSAGES_MAX];
  private final int[] inFlightEntryCount = new int[IN_FLIGHT_MESSAGES_MAX];
  private int inFlightHead;
  private int inFlightMessages;
  /** The sum of the ring's entry counts. */
  private long inFlightEntries;

  /**
   * The most AppendEntries with entries one follower may have in flight (the leader's flow
   * control, besides the entry budget {@link Replica} passes to {@link #pipelineRoom}).
   */
  static final int IN_FLIGHT_MESSAGES_MAX = 64;

  Progress(long nextIndex) {
    this.nextIndex = nextIndex;
  }

  /** A success ack: returns true if the match moved forward. */
  boolean maybeUpdate(long match) {
    boolean moved = match > matchIndex;
    if (moved) {
      matchIndex = match;
    }
    nextIndex = Math.max(nextIndex, matchIndex + 1);
    return moved;
  }

  /** A success ack's flushed index (already capped by its match): returns true if it moved. */
  boolean maybeUpdateFlushed(long flushed) {
    long next = Math.max(flushedIndex, Math.min(flushed, matchIndex));
    boolean moved = next > flushedIndex;
    flushedIndex = next;
    return moved;
  }

  /**
   * The follower rejected, at or below what it acknowledged, an AppendEntries sent after its
   * newest acknowledgement: it lost entries it acknowledged ORDERED (written, not flushed) in a
   * machine crash. Only what it reported flushed survives every crash (its log recovers at least
   * to its last completed flush, and that prefix matched ours): the match goes back there, and
   * the next AppendEntries starts after it. Returns whether the match moved back.
   */
  boolean lostAcknowledged(long rejectHint, long heartbeatSeq) {
    if (rejectHint >= matchIndex || heartbeatSeq < successSeq) {
      return false;
    }
    matchIndex = flushedIndex;
    nextIndex = matchIndex + 1;
    return true;
  }

  /**
   * A rejection: back off to just after the follower's hint, never below match + 1, and restart
   * the pipeline from there (the resend that follows counts as a {@link #probe}: until the
   * follower answers again, heartbeat rounds are quiet).
   */
  void backOff(long rejectHint, long nowNanos) {
    nextIndex = Math.max(matchIndex + 1, Math.min(nextIndex - 1, rejectHint + 1));
    forgetInFlight();
    probedNanos = nowNanos;
  }

  /**
   * Resend from just after the known match (after loss, or a timeout). What was in flight no
   * longer counts against the flow control: the heartbeat round that probes is also what
   * recovers from a lost message, which no acknowledgement will ever cover.
   */
  void probe(long nowNanos) {
    nextIndex = matchIndex + 1;
    forgetInFlight();
    probedNanos = nowNanos;
  }

  /**
   * Whether the follower answered an AppendEntries (success or rejection, {@code heardNanos})
   * after the last {@link #probe} or {@link #backOff}: if not, the next heartbeat round sends it
   * an empty heartbeat rather than the same entries again. True before the first probe (and
   * after {@link #reconnected}).
   */
  boolean answeredSinceProbe() {
    return probedNanos == Long.MIN_VALUE || heardNanos > probedNanos;
  }

  /**
   * The runtime says the follower is reachable again (a new connection): what was in flight went
   * with the old one, and the next heartbeat round restarts the pipeline whether or not the
   * follower answered since the last.
   */
  void reconnected() {
    forgetInFlight();
    probedNanos = Long.MIN_VALUE;
  }

  /**
   * How many entries a pipelined (not heartbeat) AppendEntries may carry now: what {@code
   * entriesMax} leaves beside the entries in flight, or 0 when it leaves none or {@link
   * #IN_FLIGHT_MESSAGES_MAX} messages are in flight. A follower that stopped answering (a stalled
   * process or disk) thus receives at most {@code entriesMax} entries between two heartbeat
   * rounds, instead of every write; and when it answers again, each acknowledgement lets out
   * about as much as it covered.
   */
  long pipelineRoom(long entriesMax) {
    return inFlightMessages < IN_FLIGHT_MESSAGES_MAX ? Math.max(0, entriesMax - inFlightEntries)
        : 0;
  }

  /** An AppendEntries carrying {@code entryCount} entries up to {@code lastIndex} went out. */
  void sent(long lastIndex, int entryCount) {
    if (entryCount == 0) {
      return;
    }
    if (inFlightMessages == IN_FLIGHT_MESSAGES_MAX) {
      // a guard: a pipelined send needs room, and a heartbeat round or a rejection empties the
      // ring before it sends
      dropOldestInFlight();
    }
    int slot = (inFlightHead + inFlightMessages) % IN_FLIGHT_MESSAGES_MAX;
    inFlightLastIndex[slot] = lastIndex;
    inFlightEntryCount[slot] = entryCount;
    inFlightMessages++;
    inFlightEntries += entryCount;
  }

  /** The follower acknowledged its log matches through {@code match}: what ends there landed. */
  void acknowledgedThrough(long match) {
    while (inFlightMessages > 0 && inFlightLastIndex[inFlightHead] <= match) {
      dropOldestInFlight();
    }
  }

  private void dropOldestInFlight() {
    inFlightEntries -= inFlightEntryCount[inFlightHead];
    inFlightHead = (inFlightHead + 1) % IN_FLIGHT_MESSAGES_MAX;
    inFlightMessages--;
    assert inFlightEntries >= 0 && inFlightMessages >= 0 : "in-flight count below zero";
  }

  private void forgetInFlight() {
    inFlightHead = 0;
    inFlightMessages = 0;
    inFlightEntries = 0;
  }

  @Override
  public String toString() {
    return "Progress[match=" + matchIndex + " next=" + nextIndex + "]";
  }
}
