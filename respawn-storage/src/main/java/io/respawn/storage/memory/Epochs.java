package io.respawn.storage.memory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Epoch-based reclamation: when off-heap memory that readers may still be reading can be freed
 * or reused.
 *
 * <p><b>The rule.</b> A reader brackets every access to off-heap memory with {@link #enter} and
 * {@link #exit}; it reads nothing it found before {@code enter} or keeps after {@code exit}. The
 * writer first unlinks memory (no slot points at it any more), then retires it in the current
 * epoch E. Memory retired in epoch E is freed or reused only once the epoch has advanced to E + 2,
 * and the epoch advances from E to E + 1 only when no reader that entered in epoch E - 1 is still
 * inside. A reader that entered in epoch E' ≤ E - 1 has left by then; a reader that entered in a
 * later epoch entered after the unlinking, so it cannot have found the memory.
 *
 * <p><b>How.</b> Two pin counters, one per epoch parity (on separate cache lines). {@code enter}
 * reads the epoch, increments its parity's counter and checks that the epoch has not moved
 * meanwhile (else it undoes the increment and tries again): so either the writer's later check of
 * that counter sees the reader, or the reader sees the new epoch. The writer's {@link
 * #tryAdvance} moves the epoch forward when the counter of the epoch before the current one (the
 * same parity as the next) is zero. Readers never wait; the writer never waits either: it tries
 * again at its next write, and retired memory stays allocated until then (a reader that stays
 * inside for long delays reclamation, never correctness).
 *
 * <p><b>Threads.</b> {@link #enter}/{@link #exit} from any thread, any number at once. {@link
 * #tryAdvance}, {@link #retire(AutoCloseable)} and {@link #closeAll} from the one writer of the
 * structure that owns this instance (its callers serialize writes).
 */
public final class Epochs {
  /** Longs between the two counters: 128 bytes, so they never share a cache line. */
  private static final int STRIDE = 16;

  private final AtomicLongArray pins = new AtomicLongArray(2 * STRIDE);
  /** Starts at 2 so that "retired at E, free at E + 2" never needs a negative epoch. */
  private volatile long epoch = 2;

  /** Resources (whole tables, chunks) retired per epoch parity, with the epoch they wait for. */
  private final List<AutoCloseable>[] retired = newLists();
  private final long[] retiredEpoch = new long[2];

  @SuppressWarnings("unchecked")
  private static List<AutoCloseable>[] newLists() {
    return new List[] {new ArrayList<>(), new ArrayList<>()};
  }

  /** Enters a read; returns the token to hand to {@link #exit}. Any thread; never blocks. */
  public int enter() {
    while (true) {
      long e = epoch;
      int slot = (int) (e & 1) * STRIDE;
      pins.getAndIncrement(slot);
      if (epoch == e) {
        return slot;
      }
      pins.getAndDecrement(slot); // the writer may have checked this counter already: retry
    }
  }

  /** Leaves the read entered with {@code token}. */
  public void exit(int token) {
    long left = pins.decrementAndGet(token);
    assert left >= 0 : "exit without enter";
  }

  /** The current epoch; memory retired now is retired in it. */
  public long epoch() {
    return epoch;
  }

  /**
   * Writer: advances the epoch by one if no reader from the epoch before the current one is still
   * inside, then closes the resources retired two epochs ago. Returns whether it advanced (the
   * caller then frees its own memory retired two epochs before the new one).
   */
  public boolean tryAdvance() {
    long e = epoch;
    if (pins.get((int) ((e + 1) & 1) * STRIDE) != 0) {
      return false;
    }
    long next = e + 1;
    epoch = next;
    int p = (int) (next & 1);
    if (!retired[p].isEmpty()) {
      assert retiredEpoch[p] <= next - 2 : "resource retired at " + retiredEpoch[p] + " freed at " + next;
      closeQuietly(retired[p]);
    }
    return true;
  }

  /** Writer: closes {@code resource} once no reader can reach it (see the class comment). */
  public void retire(AutoCloseable resource) {
    long e = epoch;
    int p = (int) (e & 1);
    assert retired[p].isEmpty() || retiredEpoch[p] == e : "stale retirements in parity " + p;
    retired[p].add(resource);
    retiredEpoch[p] = e;
  }

  /** Writer: some retired resource waits to be closed. */
  public boolean holdsRetired() {
    return !retired[0].isEmpty() || !retired[1].isEmpty();
  }

  /** Readers inside right now (for tests and assertions). */
  public long readersInside() {
    return pins.get(0) + pins.get(STRIDE);
  }

  /**
   * Writer, when the owner closes: closes every retired resource now. The caller guarantees that
   * no reader is inside or will enter again.
   */
  public void closeAll() {
    closeQuietly(retired[0]);
    closeQuietly(retired[1]);
  }

  private static void closeQuietly(List<AutoCloseable> resources) {
    RuntimeException failure = null;
    for (AutoCloseable r : resources) {
      try {
        r.close();
      } catch (Exception e) {
        if (failure == null) {
          failure = new IllegalStateException("closing a retired resource failed", e);
        }
      }
    }
    resources.clear();
    if (failure != null) {
      throw failure;
    }
  }
}
