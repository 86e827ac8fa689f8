package io.respawn.node;

import io.respawn.core.Variant;
import io.respawn.storage.Mutation;
import io.respawn.storage.StoredValue;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The writes a leader proposed that are not yet applied to its state machine, so that the
 * commands executed after them see them: a read-modify-write (INCR, APPEND, SET ... GET) must be
 * computed on the newest proposed value, in log order, or two increments in consecutive passes
 * would both read the same old value. A lookup answers "in flight: this value (or deleted)",
 * or "not in flight: ask the state machine", together with the sequence of the batch that made
 * it and that batch's commit future: a reply that returned the value waits for it, so that no
 * client sees a value a failover then loses. The future is taken with the value, not looked up
 * later: a batch that fails meanwhile (leadership lost) must fail the read too, where a later
 * lookup would find it settled and the value unguarded.
 *
 * <p>One rule for the server's primaries and the simulator's (its nodes keep their in-flight
 * writes here too, so the sweep runs this code): a read under the lease ({@link
 * NodeRuntime#localReadsServableUntilNanos}) looks here first, then in the applied state.
 *
 * <p>A batch leaves when it is applied (the state machine then holds the same value) or when its
 * outcome is settled otherwise; the order is: apply to the state machine, then {@link #settle},
 * so a reader that checks here first and then the state machine never misses a write.
 *
 * <p>Broken variants (tests only): {@link Variant#IN_FLIGHT_INVISIBLE} looks up nothing, so
 * commands see the applied state alone; {@link Variant#OVERLAY_READ_UNGATED} gives no gate, so a
 * read that returned a value in flight is answered before that value commits ({@link
 * Change#gate} is null).
 *
 * <p>Invariant: {@code latest} holds, for every key a batch in flight changes, the change of the
 * newest such batch after the newest CLEAR in flight ({@code cleared}); a batch settled out of order
 * rebuilds it from the batches left.
 *
 * <p>Thread-safe: the command thread adds and looks up, the node loop settles.
 */
public final class InFlightWrites {
  /**
   * The newest in-flight change of one key.
   *
   * @param value the value, or null for deleted
   * @param sequence the batch that made it
   * @param gate completes once that batch is applied, fails if it never will be; what a reply
   *     that returned {@code value} waits for (null only under a broken variant)
   */
  public record Change(StoredValue value, long sequence, CompletableFuture<?> gate) {
    public boolean deleted() {
      return value == null;
    }
  }

  /** A batch in flight; {@code gate} is its commit future, or null under the broken variant. */
  private record Batch(long sequence, List<Mutation> mutations, CompletableFuture<?> gate) {}

  private final Variant variant;
  private final ArrayDeque<Batch> batches = new ArrayDeque<>();
  private final Map<ByteBuffer, Change> latest = new HashMap<>();
  /** What the newest in-flight CLEAR did to every key not written after it, or null. */
  private Change cleared;

  public InFlightWrites() {
    this(Variant.CORRECT);
  }

  public InFlightWrites(Variant variant) {
    this.variant = variant;
  }

  /**
   * A batch was proposed; {@code sequence} is above every earlier one's, and {@code ordered}
   * completes once the batch is applied (fails if it never will be). The caller settles it after
   * that ({@link #settle}); a future already complete may be settled at once.
   */
  public synchronized void add(long sequence, List<Mutation> mutations,
      CompletableFuture<?> ordered) {
    assert batches.isEmpty() || batches.peekLast().sequence() < sequence : "sequences increase";
    Batch batch = new Batch(sequence, mutations,
        variant == Variant.OVERLAY_READ_UNGATED ? null : ordered);
    batches.addLast(batch);
    index(batch);
  }

  /**
   * The newest in-flight change of {@code key}, or null when the state machine has the newest
   * value. A key untouched since an in-flight CLEAR reads as deleted by it.
   */
  public synchronized Change lookup(byte[] key) {
    if (batches.isEmpty() || variant == Variant.IN_FLIGHT_INVISIBLE) {
      return null;
    }
    Change c = latest.get(ByteBuffer.wrap(key));
    return c != null ? c : cleared;
  }

  public synchronized int size() {
    return batches.size();
  }

  /**
   * Batch {@code sequence} is applied or abandoned: forget it, and only it (a batch refused at
   * once, while batches ahead of it are still in flight, must not take them along).
   */
  public synchronized void settle(long sequence) {
    Batch first = batches.peekFirst();
    if (first == null) {
      return;
    }
    if (first.sequence() != sequence) {
      // Out of order (refused at once behind batches in flight): the keys it changed may have
      // older changes still in flight, so the index is rebuilt from the batches left. Rare.
      if (batches.removeIf(b -> b.sequence() == sequence)) {
        rebuild();
      }
      return;
    }
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
    if (cleared != null && cleared.sequence() == b.sequence()) {
      cleared = null;
    }
  }

  private void rebuild() {
    latest.clear();
    cleared = null;
    for (Batch b : batches) {
      index(b);
    }
  }

  private void index(Batch batch) {
    for (Mutation m : batch.mutations()) {
      switch (m.kind()) {
        case PUT -> latest.put(ByteBuffer.wrap(m.key()), new Change(
            new StoredValue(m.value(), m.expiresAtMillis()), batch.sequence(), batch.gate()));
        case DELETE -> latest.put(ByteBuffer.wrap(m.key()),
            new Change(null, batch.sequence(), batch.gate()));
        case CLEAR -> {
          latest.clear();
          cleared = new Change(null, batch.sequence(), batch.gate());
        }
      }
    }
  }
}
