package io.respawn.core;

import java.util.List;

/**
 * What the runtime hands a {@link Replica} on start: the last persisted {@link HardState} and the
 * persisted log (contiguous, starting at index 1). A fresh node passes {@link #EMPTY}.
 */
public record PersistentState(HardState hardState, List<Entry> log) {
  public static final PersistentState EMPTY = new PersistentState(HardState.INITIAL, List.of());

  public PersistentState {
    log = List.copyOf(log);
    for (int i = 0; i < log.size(); i++) {
      if (log.get(i).index() != i + 1) {
        throw new IllegalArgumentException("log must be contiguous from 1, position " + i
            + " holds " + log.get(i));
      }
    }
  }
}
