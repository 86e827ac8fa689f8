package io.respawn.sim.storage;

import io.respawn.core.Entry;
import io.respawn.core.HardState;
import io.respawn.core.PersistentState;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A plain in-memory {@link ReplicaStorage}: the durable image is a list, the unsynced writes a
 * queue of whole batches. It models exactly the engine's contract and nothing else, so a bug it
 * finds is the core's, not the engine's.
 */
public final class MemoryReplicaStorage implements ReplicaStorage {

  private record Batch(HardState hardState, List<Entry> entries) {}

  private HardState durableHardState = HardState.INITIAL;
  private final List<Entry> durableLog = new ArrayList<>();
  private final List<Batch> unsynced = new ArrayList<>();
  // what reads see: durable plus unsynced, kept up to date on every write
  private HardState hardState = HardState.INITIAL;
  private final List<Entry> log = new ArrayList<>();

  @Override
  public void write(HardState hs, List<Entry> entries) {
    unsynced.add(new Batch(hs, entries));
    applyTo(hs, entries, log);
    if (hs != null) {
      hardState = hs;
    }
  }

  private static void applyTo(HardState hs, List<Entry> entries, List<Entry> target) {
    if (entries.isEmpty()) {
      return;
    }
    long first = entries.get(0).index();
    if (first > target.size() + 1) {
      throw new IllegalStateException("gap: appending " + first + " after " + target.size());
    }
    while (target.size() >= first) {
      target.remove(target.size() - 1);
    }
    target.addAll(entries);
  }

  @Override
  public void sync() {
    for (Batch b : unsynced) {
      applyTo(b.hardState, b.entries, durableLog);
      if (b.hardState != null) {
        durableHardState = b.hardState;
      }
    }
    unsynced.clear();
  }

  @Override
  public boolean crash(SplittableRandom random) {
    int survivors = unsynced.isEmpty() ? 0 : random.nextInt(unsynced.size() + 1);
    boolean lost = survivors < unsynced.size();
    for (int i = 0; i < survivors; i++) {
      Batch b = unsynced.get(i);
      applyTo(b.hardState, b.entries, durableLog);
      if (b.hardState != null) {
        durableHardState = b.hardState;
      }
    }
    unsynced.clear();
    hardState = durableHardState;
    log.clear();
    log.addAll(durableLog);
    return lost;
  }

  @Override
  public PersistentState recover() {
    return new PersistentState(hardState, log);
  }

  @Override
  public long termAt(long index) {
    return index < 1 || index > log.size() ? 0 : log.get((int) index - 1).term();
  }
}
