package io.respawn.server.shard;

import io.respawn.core.Message;
import io.respawn.core.Message.AppendEntriesResponse;
import io.respawn.core.NodeId;
import io.respawn.node.Transport;
import java.util.ArrayList;
import java.util.List;

/**
 * The messages the node runtime sends during one stretch of the node loop's pass, held and handed
 * to the peer transport together when the loop calls {@link #flush} (after its inbox, and at the
 * end of each pass). Before handing them over it drops every successful AppendEntriesResponse
 * that a later one in the same batch, to the same leader in the same term, makes redundant: the
 * later one acknowledges at least as much (match index), at least as much flushed (flushed index)
 * and at least as new a heartbeat (heartbeat sequence), so the leader learns nothing from the
 * earlier one that the later one does not tell it. Under a steady write load a follower answers
 * several AppendEntries and a log flush within one pass; this sends one answer instead of each.
 *
 * <p>What it may do is what {@link Transport}'s contract allows any transport: hold a message
 * for a while and drop one. Nothing is reordered: the messages kept leave in the order sent. Held
 * messages are bounded by {@link #HELD_MAX}: the batch flushes by itself when that many wait.
 *
 * <p>Threads: the node loop's only (like the runtime that calls {@link #send}).
 */
final class OutboundBatch implements Transport {
  /** Most messages held before the batch flushes by itself. */
  static final int HELD_MAX = 256;

  private final Transport out;
  private final ArrayList<Message> held = new ArrayList<>();
  /** When the oldest held message was sent ({@link System#nanoTime}); meaningless when none. */
  private long heldSinceNanos;
  /** Written by the loop only; volatile so INFO may read them from another thread. */
  private volatile long messagesSent;
  private volatile long responsesDropped;

  OutboundBatch(Transport out) {
    this.out = out;
  }

  @Override
  public void send(NodeId to, Message message) {
    if (!to.equals(message.to())) {
      throw new IllegalArgumentException("message to " + message.to() + " sent to " + to);
    }
    if (held.isEmpty()) {
      heldSinceNanos = System.nanoTime();
    }
    held.add(message);
    if (held.size() >= HELD_MAX) {
      flush();
    }
  }

  /** Hands every held message that is not redundant to the transport, in the order sent. */
  void flush() {
    int n = held.size();
    if (n == 0) {
      return;
    }
    for (int i = 0; i < n; i++) {
      Message m = held.get(i);
      if (m instanceof AppendEntriesResponse r && supersededLater(r, i + 1)) {
        responsesDropped++;
        continue;
      }
      messagesSent++;
      out.send(m.to(), m);
    }
    held.clear();
  }

  /**
   * Flushes when the oldest held message has waited {@code nanosMax} or longer: a pass that does
   * long work between inputs (applying a large batch) must not hold acknowledgements and
   * heartbeats back for all of it.
   */
  void flushIfHeldLongerThan(long nanosMax) {
    if (!held.isEmpty() && System.nanoTime() - heldSinceNanos >= nanosMax) {
      flush();
    }
  }

  /** Whether a held response after position {@code from} makes {@code r} redundant. */
  private boolean supersededLater(AppendEntriesResponse r, int from) {
    if (!r.success()) {
      return false;
    }
    for (int j = from; j < held.size(); j++) {
      if (held.get(j) instanceof AppendEntriesResponse later && covers(later, r)) {
        return true;
      }
    }
    return false;
  }

  /** Whether {@code later} tells its leader everything {@code earlier} does. */
  static boolean covers(AppendEntriesResponse later, AppendEntriesResponse earlier) {
    return later.success() && earlier.success()
        && later.to().equals(earlier.to()) && later.from().equals(earlier.from())
        && later.term() == earlier.term()
        && later.matchIndex() >= earlier.matchIndex()
        && later.flushedIndex() >= earlier.flushedIndex()
        && later.imageIndex() >= earlier.imageIndex()
        && later.heartbeatSeq() >= earlier.heartbeatSeq();
  }

  /** Messages held now (for tests and assertions). */
  int heldCount() {
    return held.size();
  }

  /** Messages handed to the transport so far. */
  long messagesSent() {
    return messagesSent;
  }

  /** Acknowledgements dropped as redundant so far. */
  long responsesDropped() {
    return responsesDropped;
  }

  /** The held messages, in order (a copy; for tests). */
  List<Message> heldMessages() {
    return List.copyOf(held);
  }
}
