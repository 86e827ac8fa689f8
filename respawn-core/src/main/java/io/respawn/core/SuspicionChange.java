package io.respawn.core;

/**
 * The follower's suspicion of its leader changed ({@link Ready#suspicion()}). An <em>episode</em>
 * runs from the first SOFT or HARD report to the next NONE; the runtime starts proactive
 * recovery and the warm-up when one begins ({@link #warmUpWanted()}), cancels them when it ends,
 * and reports a finished warm-up with {@link Replica#warmUpDone(long, long)} naming the episode
 * (a report for an episode that already ended is ignored).
 *
 * @param leader the suspected leader (the one the episode is about)
 * @param term the term it leads
 * @param suspicion the new level; NONE ends the episode (the leader was heard, or this node no
 *     longer follows it: it campaigns, or follows someone else)
 * @param episode numbers episodes of this replica, from 1, increasing
 * @param warmUpWanted true when this node may lead, runs {@link TakeoverMode#SPECULATIVE}, and
 *     the core waits for {@link Replica#warmUpDone} before it campaigns
 */
public record SuspicionChange(NodeId leader, long term, FailureDetector.Suspicion suspicion,
    long episode, boolean warmUpWanted) {

  /** True when this change ends the episode. */
  public boolean ended() {
    return suspicion == FailureDetector.Suspicion.NONE;
  }
}
