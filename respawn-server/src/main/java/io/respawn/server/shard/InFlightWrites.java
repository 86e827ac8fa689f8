package io.respawn.server.shard;

import io.respawn.storage.Mutation;
import io.respawn.storage.StoredValue;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The writes a primary proposed that are not yet applied to its state machine, so that the
 * commands executed after them see them: a read-modify-write (INCR, APPEND, SET ... GET) must be
 * computed on the newest proposed value, in log order, or two increments in consecutive passes
 * would both read the same old value. A lookup answers "in flight: this value (or deleted)",
 * or "not in flight: ask the state machine", together with the sequence of the batch that made
 * it, so the caller can make a read that observed it wait for that batch's commit.
 *
 * <p>A batch leaves when it is applied (the state machine then holds the same value) or when its
 * outcome is settled otherwise; the order is: apply to the state machine, then {@link #settle},
 * so a reader that checks here first and then the state machine never misses a write.
 *
 * <p>Thread-safe: the command thread adds and looks up, the node loop settles.
 */
final class InFlightWrites {
  /** The newest in-flight change of one key. */
  record Change(StoredValue value, long sequence) {
    boolean deleted() {
      return value == null;
    }
  }

  private record Batch(long sequence, List<Mutation> mutations) {}

  private final ArrayDeque<Batch> batches = new ArrayDeque<>();
  private final Map<ByteBuffer, Change> latest = new HashMap<>();
  /** Sequence of the newest in-flight CLEAR, or -1. */
  private long clearSequence = -1;

  synchronized void add(long sequence, List<Mutation> mutations) {
    assert batches.isEmpty() || batches.peekLast().sequence() < sequence : "sequences increase";
    batches.addLast(new Batch(sequence, mutations));
    for (Mutation m : mutations) {
      switch (m.kind()) {
        case PUT -> latest.put(ByteBuffer.wrap(m.key()),
            new Change(new StoredValue(m.value(), m.expiresAtMillis()), sequence));
        case DELETE -> latest.put(ByteBuffer.wrap(m.key()), new Change(null, sequence));
        case CLEAR -> {
          latest.clear();
          clearSequence = sequence;
        }
      }
    }
  }

  /**
   * The newest in-flight change of {@code key}, or null when the state machine has the newest
   * value. A key untouched since an in-flight CLEAR reads as deleted by it.
   */
  synchronized Change lookup(byte[] key) {
    if (batches.isEmpty()) {
      return null;
    }
    Change c = latest.get(ByteBuffer.wrap(key));
    if (c != null) {
      return c;
    }
    return clearSequence >= 0 ? new Change(null, clearSequence) : null;
  }

  /** Sequence of the newest in-flight batch, or -1. */
  synchronized long newestSequence() {
    return batches.isEmpty() ? -1 : batches.peekLast().sequence();
  }

  synchronized int size() {
    return batches.size();
  }

  /** Every batch up to {@code sequence} is applied or abandoned: forget it. */
  synchronized void settle(long sequence) {
    while (!batches.isEmpty() && batches.peekFirst().sequence() <= sequence) {
      Batch b = batches.pollFirst();
      for (Mutation m : b.mutations()) {
        if (m.kind() != Mutation.Kind.CLEAR) {
          ByteBuffer k = ByteBuffer.wrap(m.key());
          Change c = latest.get(k);
          if (c != null && c.sequence() == b.sequence()) {
            latest.remove(k);
          }
        }
      }
      if (clearSequence == b.sequence()) {
        clearSequence = -1;
      }
    }
  }
}
