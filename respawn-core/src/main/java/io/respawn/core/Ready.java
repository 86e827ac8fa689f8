package io.respawn.core;

import java.util.List;

/**
 * Everything a {@link Replica} asks the runtime to do, produced by one or more inputs since the
 * previous {@code Ready}. Execute it <strong>in this order</strong>, then call
 * {@link Replica#advance(Ready)}:
 *
 * <ol>
 *   <li>Persist: if {@link #hardState()} is non-null, store it. If {@link #entriesToPersist()} is
 *       non-empty, let {@code f} be the index of its first entry: delete every persisted entry
 *       with index {@code >= f}, then append the entries. Both must be stable (or at least
 *       ordered, see DESIGN §4) <em>before</em> step 2.
 *   <li>Send {@link #messages()}, each to {@link Message#to()}. Any of them may be lost.
 *   <li>Apply {@link #committedEntries()} to the state machine, in order. Elided NORMAL entries
 *       (on a witness) update key timestamps only.
 *   <li>Answer {@link #reads()}: an {@code ok} read is served from the state machine after step 3.
 *   <li>Note {@link #statusChanges()} and {@link #membership()} (e.g. start serving writes).
 * </ol>
 *
 * <p>Entries must not be applied before they are persisted locally. Ready values are independent:
 * the runtime must execute them in the order the core returned them.
 *
 * @param membership the configuration now in effect if it changed, else {@code null}
 */
public record Ready(
    HardState hardState,
    List<Entry> entriesToPersist,
    List<Message> messages,
    List<Entry> committedEntries,
    List<ReadResult> reads,
    List<RoleChange> statusChanges,
    Membership membership) {

  public static final Ready EMPTY =
      new Ready(null, List.of(), List.of(), List.of(), List.of(), List.of(), null);

  public Ready {
    entriesToPersist = List.copyOf(entriesToPersist);
    messages = List.copyOf(messages);
    committedEntries = List.copyOf(committedEntries);
    reads = List.copyOf(reads);
    statusChanges = List.copyOf(statusChanges);
  }

  /** True when there is nothing to do (advance may still be called). */
  public boolean isEmpty() {
    return hardState == null
        && entriesToPersist.isEmpty()
        && messages.isEmpty()
        && committedEntries.isEmpty()
        && reads.isEmpty()
        && statusChanges.isEmpty()
        && membership == null;
  }
}
