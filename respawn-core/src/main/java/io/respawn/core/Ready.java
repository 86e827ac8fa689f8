package io.respawn.core;

import java.util.List;

/**
 * Everything a {@link Replica} asks the runtime to do, produced by one or more inputs since the
 * previous {@code Ready}. Execute it <strong>in this order</strong>, then call
 * {@link Replica#advance(Ready)}:
 *
 * <ol>
 *   <li>Install: if {@link #snapshotToInstall()} is non-null, replace the state machine with the
 *       staged image of that snapshot and reset the replica log so it holds no entry and its next
 *       one is {@code snapshotToInstall.index() + 1}; both durable before anything below.
 *   <li>Persist: if {@link #hardState()} is non-null, store it. If {@link #entriesToPersist()} is
 *       non-empty, let {@code f} be the index of its first entry: delete every persisted entry
 *       with index {@code >= f}, then append the entries. Both must be stable (or at least
 *       ordered, see DESIGN §4) <em>before</em> step 2.
 *   <li>Send {@link #messages()}, each to {@link Message#to()}. Any of them may be lost.
 *   <li>Apply {@link #committedEntries()} to the state machine, in order. Elided NORMAL entries
 *       (on a witness) update key timestamps only.
 *   <li>Answer {@link #reads()}: an {@code ok} read is served from the state machine after step 3.
 *   <li>Note {@link #statusChanges()} and {@link #membership()} (e.g. start serving writes), and
 *       {@link #suspicion()}: start or cancel proactive recovery and the warm-up.
 *   <li>Start or continue a snapshot transfer for each of {@link #snapshotsToSend()}.
 * </ol>
 *
 * <p>Entries must not be applied before they are persisted locally. Ready values are independent:
 * the runtime must execute them in the order the core returned them.
 *
 * <p>{@link #mustSync()} says whether step 1 needs an fsync at all: a Ready whose hard state
 * differs from the previous one only in its commit index needs none (the core recomputes the
 * commit index after a restart), so a runtime may write such a hard state lazily or not at all.
 *
 * @param hardState the hard state to store, or {@code null} if unchanged
 * @param termOrVoteChanged true when {@code hardState} carries a new term or vote (a promise that
 *     must be stable before any message of this Ready leaves); false when only the commit index
 *     moved, or when {@code hardState} is null
 * @param membership the configuration now in effect if it changed, else {@code null}
 * @param suspicion changes of this follower's suspicion of its leader, oldest first (see
 *     {@link SuspicionChange}): SOFT is where proactive recovery starts
 * @param snapshotToInstall follower: the snapshot whose staged image to install now, or null
 * @param snapshotsToSend leader: peers that need a snapshot (see {@link SnapshotSend})
 */
public record Ready(
    HardState hardState,
    boolean termOrVoteChanged,
    List<Entry> entriesToPersist,
    List<Message> messages,
    List<Entry> committedEntries,
    List<ReadResult> reads,
    List<RoleChange> statusChanges,
    Membership membership,
    List<SuspicionChange> suspicion,
    SnapshotMeta snapshotToInstall,
    List<SnapshotSend> snapshotsToSend) {

  public static final Ready EMPTY =
      new Ready(null, false, List.of(), List.of(), List.of(), List.of(), List.of(), null);

  /** A Ready without suspicion changes. */
  public Ready(HardState hardState, boolean termOrVoteChanged, List<Entry> entriesToPersist,
      List<Message> messages, List<Entry> committedEntries, List<ReadResult> reads,
      List<RoleChange> statusChanges, Membership membership) {
    this(hardState, termOrVoteChanged, entriesToPersist, messages, committedEntries, reads,
        statusChanges, membership, List.of(), null, List.of());
  }

  /** A Ready without snapshot work. */
  public Ready(HardState hardState, boolean termOrVoteChanged, List<Entry> entriesToPersist,
      List<Message> messages, List<Entry> committedEntries, List<ReadResult> reads,
      List<RoleChange> statusChanges, Membership membership, List<SuspicionChange> suspicion) {
    this(hardState, termOrVoteChanged, entriesToPersist, messages, committedEntries, reads,
        statusChanges, membership, suspicion, null, List.of());
  }

  public Ready {
    if (termOrVoteChanged && hardState == null) {
      throw new IllegalArgumentException("termOrVoteChanged without a hard state");
    }
    entriesToPersist = List.copyOf(entriesToPersist);
    messages = List.copyOf(messages);
    committedEntries = List.copyOf(committedEntries);
    reads = List.copyOf(reads);
    statusChanges = List.copyOf(statusChanges);
    suspicion = List.copyOf(suspicion);
    snapshotsToSend = List.copyOf(snapshotsToSend);
  }

  /**
   * True when this Ready changes what a crash must not lose: a new term or vote, or log entries
   * (etcd raft's {@code MustSync}). False when at most the commit index changed, so persisting it
   * needs no fsync.
   */
  public boolean mustSync() {
    return termOrVoteChanged || !entriesToPersist.isEmpty() || snapshotToInstall != null;
  }

  /** True when there is nothing to do (advance may still be called). */
  public boolean isEmpty() {
    return hardState == null
        && entriesToPersist.isEmpty()
        && messages.isEmpty()
        && committedEntries.isEmpty()
        && reads.isEmpty()
        && statusChanges.isEmpty()
        && membership == null
        && suspicion.isEmpty()
        && snapshotToInstall == null
        && snapshotsToSend.isEmpty();
  }
}
