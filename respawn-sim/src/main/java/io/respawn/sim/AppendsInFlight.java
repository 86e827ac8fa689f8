package io.respawn.sim;

import io.respawn.core.Membership;
import io.respawn.core.NodeId;
import java.util.HashMap;
import java.util.Map;

/**
 * The appends-in-flight invariant: the leader's flow control. Between two answers of a follower
 * (any message from it reaching the leader), a leader sends that follower at most its in-flight
 * budget of entries for the pipeline the last answer let go on, plus what one heartbeat round
 * that restarts the pipeline from the match may send (one AppendEntries of up to
 * maxEntriesPerAppend entries, or the budget if that is larger); rounds after that send a
 * follower that has not answered an empty heartbeat. A leader without flow control sends a
 * follower that stopped answering (paused, partitioned one way, its answers lost) every write it
 * takes; one that restarts the pipeline at every round sends it a round's worth per round,
 * however long the silence.
 *
 * <p>A window of one (sender, follower) pair starts over when the sender hears from the follower,
 * when its transport reports the follower reachable again (a new connection after the
 * follower's process came back: what was in flight went with the old one, and the leader
 * forgets it), when the follower leaves the sender's configuration (it drops what it knew of
 * it), when the follower starts standing in for a backup (what it was sent before were keys-only
 * copies, and the leader restarts its pipeline with full ones), when the sender restarts, and
 * when its term changes (a new leadership starts with nothing in flight). It counts the entries of every AppendEntries sent in between, whatever
 * made the leader send it (a proposal, a heartbeat round, another follower's answer, a flush).
 */
final class AppendsInFlight {

  interface Reporter {
    void report(String invariant, String description);
  }

  private static final class Window {
    long term;
    boolean standingIn;
    long entries;
    int messages;
  }

  private final long entriesMax;
  private final Reporter reporter;
  private final Map<Long, Window> windows = new HashMap<>();

  /** Per node, the configuration seen after its last event as leader (reference). */
  private final Membership[] membershipSeen;

  /**
   * @param inFlightEntriesBudget the seed's budget ({@code ReplicaConfig.inFlightEntriesBudget})
   * @param entriesPerAppendMax the seed's maxEntriesPerAppend
   * @param replicas how many nodes there are
   */
  AppendsInFlight(long inFlightEntriesBudget, int entriesPerAppendMax, int replicas,
      Reporter reporter) {
    this.entriesMax = inFlightEntriesBudget + Math.max(inFlightEntriesBudget, entriesPerAppendMax);
    this.membershipSeen = new Membership[replicas];
    this.reporter = reporter;
  }

  /**
   * {@code from} sent {@code to} an AppendEntries of {@code term} with {@code entries} entries;
   * {@code standingIn}: {@code to} stands in for a backup in {@code from}'s core as it sends.
   */
  void sent(int from, int to, long term, int entries, boolean standingIn) {
    if (entries == 0) {
      return;
    }
    Window w = windows.computeIfAbsent(key(from, to), k -> new Window());
    if (w.term != term || standingIn && !w.standingIn) {
      // a new leadership, or a stand-in that starts: what was sent the witness before were
      // keys-only copies whose answers no longer count, and the leader starts a pipeline of
      // full copies from the decided prefix
      w.term = term;
      w.entries = 0;
      w.messages = 0;
    }
    w.standingIn = standingIn;
    w.entries += entries;
    w.messages++;
    if (w.entries > entriesMax) {
      reporter.report("appends-in-flight", "n" + from + " (term " + term + ") sent n" + to + " "
          + w.entries + " entries in " + w.messages + " AppendEntries since it last heard from it,"
          + " over the bound of " + entriesMax);
      w.entries = 0; // one report per window
      w.messages = 0;
    }
  }

  void heardFrom(int node, int peer) {
    windows.remove(key(node, peer));
  }

  /**
   * After an event in which {@code node} leads: its configuration is {@code membership}. When it
   * changed, a follower no longer in it loses its window: the leader dropped what it knew of it,
   * in flight included, and a follower added back starts with nothing in flight.
   */
  void membershipSeen(int node, Membership membership) {
    if (membershipSeen[node] == membership) {
      return;
    }
    membershipSeen[node] = membership;
    windows.keySet().removeIf(k -> (k >>> 32) == node
        && !membership.contains(NodeId.of((int) (long) k)));
  }

  /** The node restarted: every window it sends in starts over. */
  void restarted(int node) {
    windows.keySet().removeIf(k -> (k >>> 32) == node);
  }

  private static long key(int from, int to) {
    return ((long) from << 32) | to;
  }
}
