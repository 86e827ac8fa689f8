package io.respawn.core;

/**
 * A leader (or a peer during catch-up) holds a different entry at an index this replica has
 * already committed, so an entry this replica committed, and may have applied, is gone.
 *
 * <p>With ORDERED replica acknowledgements this is possible without any bug: members of the write
 * quorum acknowledged the entry once written, lost it in a machine crash before flushing it, and
 * a leader was then elected without it. The replica cannot undo what it applied, so it stops:
 * the runtime must restart the node, whose state machine is then rebuilt from the log (a
 * restarted replica trusts no persisted commit index). Thrown by the input method that found
 * the conflict, before anything of that input is handed out; the replica is unusable afterwards.
 * In a deliberately broken {@link Variant} the replica obeys instead, so the damage reaches the
 * simulator's checkers.
 */
public final class CommittedEntryLost extends IllegalStateException {
  private final transient Entry committed;
  private final transient Entry replacement;

  CommittedEntryLost(NodeId self, Entry committed, Entry replacement, String by) {
    super(by + " holds " + replacement + " where " + self + " committed " + committed);
    this.committed = committed;
    this.replacement = replacement;
  }

  /** The entry this replica had committed. */
  public Entry committed() {
    return committed;
  }

  /** The entry that replaces it. */
  public Entry replacement() {
    return replacement;
  }
}
