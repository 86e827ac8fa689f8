package io.respawn.sim.invariant;

import io.respawn.sim.node.SimNode;
import java.util.List;

/** The view of a simulated shard that per-event invariants read. */
public interface Cluster {
  /** Every replica process, up or down, indexed by node id. */
  List<SimNode> nodes();
}
