package io.respawn.sim.invariant;

import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.sim.node.SimNode;
import java.util.List;

/**
 * The write quorum rule of DESIGN §5.1: an entry is committed only once it is stored on every
 * voting backup. Witnesses keep values elided, so a commit that skips a backup can leave an
 * acknowledged value on no durable copy but the primary's; recovery (§5.3) relies on this rule
 * ("a backup that lacks index i proves i never committed").
 *
 * <p>Checked when a leader applies an entry (the moment it learned the entry is committed):
 * every voting backup of the leader's configuration must hold the same (term, index) in its
 * storage — or, for a backup the leader declared failed (DESIGN §5.4), the witness standing in
 * for it must. With ORDERED replica acks a member may have acknowledged the entry and then lost
 * it in a machine crash before the leader learned of the commit; that is allowed (the loss is
 * what {@link DurabilityStatements} accounts for).
 */
public final class CommitOnEveryBackup {

  public String name() {
    return "commit-on-every-backup";
  }

  /**
   * @param standInFor the leader's current stand-ins: failed backup id → witness id. The entry
   *     may rest on either: a leader can start a stand-in between committing an entry on the
   *     backup's acknowledgement and applying it (both in one pass of its runtime), so at the
   *     apply the backup holds it and its new stand-in need not
   */
  public void leaderApplied(SimNode leader, Entry e, List<SimNode> nodes,
      java.util.Map<Integer, Integer> standInFor, DurabilityStatements durability,
      Invariant.Reporter report) {
    for (NodeId backup : leader.replica().membership().votingBackups()) {
      SimNode b = nodes.get(backup.value());
      Integer standIn = standInFor.get(backup.value());
      if (holds(b, e, durability)
          || standIn != null && holds(nodes.get(standIn), e, durability)) {
        continue;
      }
      SimNode shown = standIn == null ? b : nodes.get(standIn);
      report.violation("leader n" + leader.id() + " committed " + e.term() + "/" + e.index()
          + " but voting backup n" + backup.value()
          + (standIn != null ? " (stand-in n" + standIn + ")" : "")
          + " stores term " + shown.storage().termAt(e.index())
          + " there");
    }
  }

  /**
   * Whether {@code n} stores {@code e}: below the first index of its log it is compacted into
   * (or replaced by) a snapshot image, which only ever reaches an index durable on the shard
   * (checked against the committed entries when kept or installed); a copy lost in a machine
   * crash after its acknowledgement counts as stored (what {@link DurabilityStatements}
   * accounts for).
   */
  private static boolean holds(SimNode n, Entry e, DurabilityStatements durability) {
    return e.index() < n.storage().firstIndex() || n.storage().termAt(e.index()) == e.term()
        || durability.lostInMachineCrash(n.id(), e.term(), e.index());
  }
}
