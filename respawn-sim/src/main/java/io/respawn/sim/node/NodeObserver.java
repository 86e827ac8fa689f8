package io.respawn.sim.node;

import io.respawn.core.Entry;
import io.respawn.core.RoleChange;
import java.util.List;

/** What a {@link SimNode} reports to the simulation's checkers as it executes Ready values. */
public interface NodeObserver {

  /** entries were written to the node's storage (the replica's log already holds them). */
  void persisted(SimNode node, List<Entry> entries);

  /** entry was applied to the node's state machine (so it is committed). */
  void applied(SimNode node, Entry entry);

  /** The core allowed a local read in the node's current term. */
  void readServed(SimNode node, long term);

  /** A client write was acknowledged after committing at (term, index). */
  void writeAcknowledged(int opId, long term, long index);

  void statusChanged(SimNode node, RoleChange change);

  /** A key's timestamp moved backwards in node's state machine. */
  void timestampRegressed(SimNode node, int key, String detail);
}
