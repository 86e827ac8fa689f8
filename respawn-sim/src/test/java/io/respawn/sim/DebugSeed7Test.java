package io.respawn.sim;

import io.respawn.sim.node.SimNode;
import org.junit.jupiter.api.Test;

class DebugSeed7Test {
  @Test
  void run() {
    Simulation sim = new Simulation(7, SpareScenarioTest.config());
    sim.script(400, f -> {
      SimNode leader = sim.nodes().stream().filter(n -> n.isUp() && n.isLeader()).findFirst().orElse(null);
      if (leader != null && leader.id() != 0) {
        leader.transferLeadership(0);
      }
    });
    sim.script(1_000, f -> f.crash(0, false));
    sim.script(3_500, f -> {
      SimNode leader = sim.nodes().stream().filter(n -> n.isUp() && n.isLeader()).findFirst().orElse(null);
      if (leader != null) {
        f.crash(leader.id(), false);
      }
    });
    for (long t = 4_280; t <= 4_530; t += 10) {
      long at = t;
      sim.script(t, f -> {
        StringBuilder b = new StringBuilder("DBG " + at);
        try {
          io.respawn.core.Replica r1 = sim.nodes().get(1).replica();
          for (String fld : new String[] {"lastLeaderContactNanos", "promiseUntilNanos", "nowNanos"}) {
            java.lang.reflect.Field F = io.respawn.core.Replica.class.getDeclaredField(fld);
            F.setAccessible(true);
            b.append(" ").append(fld).append("=").append(((long) F.get(r1)) / 1_000_000);
          }
          java.lang.reflect.Field L = io.respawn.core.Replica.class.getDeclaredField("leader");
          L.setAccessible(true);
          b.append(" leader=").append(L.get(r1));
          io.respawn.core.Replica r4 = sim.nodes().get(4).replica();
          java.lang.reflect.Field E = io.respawn.core.Replica.class.getDeclaredField("electionDeadlineNanos");
          E.setAccessible(true);
          b.append(" n4deadline=").append(((long) E.get(r4)) / 1_000_000);
          for (String fld : new String[] {"granted", "rejected", "unreachable"}) {
            java.lang.reflect.Field G = io.respawn.core.Replica.class.getDeclaredField(fld);
            G.setAccessible(true);
            b.append(" n4").append(fld).append("=").append(G.get(r4));
          }
          java.lang.reflect.Field P = io.respawn.core.Replica.class.getDeclaredField("preVoteRetryNanos");
          P.setAccessible(true);
          b.append(" retry=").append(((long) P.get(r4)) / 1_000_000);
          b.append(" n4members=").append(r4.membership());
          java.lang.reflect.Field N = io.respawn.core.Replica.class.getDeclaredField("nowNanos");
          N.setAccessible(true);
          b.append(" n4now=").append(((long) N.get(r4)) / 1_000_000);
        } catch (ReflectiveOperationException e) {
          throw new RuntimeException(e);
        }
        for (int i : new int[] {1, 2, 4}) {
          SimNode n = sim.nodes().get(i);
          b.append(" n").append(i).append(n.isUp() ? n.replica().status() + "/t" + n.replica().term()
              + " last=" + n.replica().log().term(n.replica().lastIndex()) + "/" + n.replica().lastIndex() + " c=" + n.replica().commitIndex() : " down");
        }
        System.out.println(b);
      });
    }
    System.out.println(sim.run().description());
  }
}
