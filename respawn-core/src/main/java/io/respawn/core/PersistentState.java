package io.respawn.core;

import java.util.List;
import java.util.Objects;

/**
 * What the runtime hands a {@link Replica} on start: the last persisted {@link HardState}, the
 * base of the compacted log ({@link SnapshotMeta#NONE} when nothing was compacted; the state
 * machine must then already hold the state up to its index) and the persisted log after it
 * (contiguous, from {@code snapshot.index() + 1}). A fresh node passes {@link #EMPTY}.
 */
public record PersistentState(HardState hardState, SnapshotMeta snapshot, List<Entry> log) {
  public static final PersistentState EMPTY =
      new PersistentState(HardState.INITIAL, SnapshotMeta.NONE, List.of());

  public PersistentState {
    Objects.requireNonNull(hardState, "hardState");
    Objects.requireNonNull(snapshot, "snapshot");
    log = List.copyOf(log);
    for (int i = 0; i < log.size(); i++) {
      if (log.get(i).index() != snapshot.index() + i + 1) {
        throw new IllegalArgumentException("log must be contiguous from " + (snapshot.index() + 1)
            + ", position " + i + " holds " + log.get(i));
      }
    }
    if (!log.isEmpty() && log.get(0).term() < snapshot.term()) {
      throw new IllegalArgumentException("first entry " + log.get(0) + " has a term below the"
          + " snapshot's " + snapshot);
    }
  }

  /** A log from index 1 (nothing compacted). */
  public PersistentState(HardState hardState, List<Entry> log) {
    this(hardState, SnapshotMeta.NONE, log);
  }
}
