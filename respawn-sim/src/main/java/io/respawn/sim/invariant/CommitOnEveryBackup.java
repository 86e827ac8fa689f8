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
   * @param standInFor the leader's current stand-ins: failed backup id → witness id
   */
  public void leaderApplied(SimNode leader, Entry e, List<SimNode> nodes,
      java.util.Map<Integer, Integer> standInFor, DurabilityStatements durability,
      Invariant.Reporter report) {
    for (NodeId backup : leader.replica().membership().votingBackups()) {
      SimNode b = nodes.get(standInFor.getOrDefault(backup.value(), backup.value()));
      // below the first index of its log: compacted into (or replaced by) a snapshot image,
      // which only ever reaches an index durable on the shard (checked against the committed
      // entries when kept or installed)
      boolean compacted = e.index() < b.storage().firstIndex();
      if (!compacted && b.storage().termAt(e.index()) != e.term()
          && !durability.lostInMachineCrash(b.id(), e.term(), e.index())) {
        report.violation("leader n" + leader.id() + " committed " + e.term() + "/" + e.index()
            + " but voting backup n" + backup.value()
            + (b.id() != backup.value() ? " (stand-in n" + b.id() + ")" : "")
            + " stores term " + b.storage().termAt(e.index())
            + " there");
      }
    }
  }
}
