package io.respawn.core;

import java.util.ArrayList;
import java.util.List;

/**
 * A follower's watch on its leader: turns the failure detector's verdict (and the runtime's
 * reachability hint) into {@link SuspicionChange}s for the runtime, numbers suspicion episodes,
 * remembers whether the runtime finished warming up in the current episode, and answers whether
 * the takeover mode allows a campaign now. Owned by {@link Replica}; pure (time is passed in).
 *
 * <p>Invariants: {@code warmedUpEpisode} is 0 or the current episode while suspicion is not
 * NONE, and 0 once it is; episodes only grow; every non-NONE report is followed, before another
 * episode begins, by a NONE report of the same episode.
 */
final class LeaderWatch {
  private final FailureDetector detector;
  private final TakeoverMode mode;
  /** {@link ReplicaConfig#speculativeSilenceMillis()} in nanoseconds. */
  private final long speculativeSilenceNanos;
  /** At the last evaluation: the runtime's hint said the leader's process is gone. */
  private boolean leaderGone;
  /** At the last evaluation: the leader had been silent for the speculative bound. */
  private boolean silentLongEnough;
  private FailureDetector.Suspicion reported = FailureDetector.Suspicion.NONE;
  private NodeId reportedLeader;
  private long reportedTerm;
  private long episode;
  private long warmedUpEpisode;
  private final List<SuspicionChange> changes = new ArrayList<>();

  LeaderWatch(FailureDetector detector, TakeoverMode mode, long speculativeSilenceNanos) {
    this.detector = detector;
    this.mode = mode;
    this.speculativeSilenceNanos = speculativeSilenceNanos;
  }

  /**
   * Re-evaluates the suspicion of {@code leader} (null when this node follows no one, which ends
   * any episode). {@code leaderUnreachable}: the runtime's hint that its process is gone, which
   * counts as HARD under {@link TakeoverMode#SPECULATIVE} and not at all under {@link
   * TakeoverMode#HARD_TIMEOUT} (CANDStore goes by silence alone). {@code silentNanos}: how long
   * the leader has been silent. {@code mayLead}: this node may campaign (the change then asks for
   * a warm-up under {@link TakeoverMode#SPECULATIVE}).
   */
  void evaluate(NodeId leader, long term, boolean leaderUnreachable, long silentNanos,
      boolean mayLead, long nowNanos) {
    FailureDetector.Suspicion s = FailureDetector.Suspicion.NONE;
    leaderGone = leader != null && leaderUnreachable && mode == TakeoverMode.SPECULATIVE;
    silentLongEnough = leader != null && silentNanos >= speculativeSilenceNanos;
    if (leader != null) {
      if (leaderGone) {
        s = FailureDetector.Suspicion.HARD;
      } else if (detector != null) {
        s = detector.suspicion(leader, nowNanos);
      }
    }
    boolean sameLeader = leader != null && leader.equals(reportedLeader) && term == reportedTerm;
    if (reported != FailureDetector.Suspicion.NONE
        && (s == FailureDetector.Suspicion.NONE || !sameLeader)) {
      changes.add(new SuspicionChange(reportedLeader, reportedTerm,
          FailureDetector.Suspicion.NONE, episode, false));
      reported = FailureDetector.Suspicion.NONE;
      warmedUpEpisode = 0;
    }
    if (s == reported) {
      return;
    }
    if (reported == FailureDetector.Suspicion.NONE) {
      episode++;
      reportedLeader = leader;
      reportedTerm = term;
    }
    reported = s;
    changes.add(new SuspicionChange(leader, term, s, episode,
        mayLead && mode == TakeoverMode.SPECULATIVE));
  }

  /** The runtime finished warming up for {@code episodeDone}; ignored unless it is current. */
  void warmUpDone(long episodeDone) {
    if (episodeDone == episode && reported != FailureDetector.Suspicion.NONE) {
      warmedUpEpisode = episodeDone;
    }
  }

  /**
   * With a detector (or the hint) in charge: whether the mode allows campaigning now. The caller
   * also requires this node's own lease promise to be over.
   */
  boolean allowsCampaign() {
    return switch (mode) {
      case HARD_TIMEOUT -> reported == FailureDetector.Suspicion.HARD;
      case SPECULATIVE -> reported != FailureDetector.Suspicion.NONE && warmedUpEpisode == episode
          && (leaderGone || silentLongEnough);
    };
  }

  FailureDetector.Suspicion suspicion() {
    return reported;
  }

  long episode() {
    return episode;
  }

  boolean warmedUp() {
    return reported != FailureDetector.Suspicion.NONE && warmedUpEpisode == episode;
  }

  /** The changes since the last call, oldest first. */
  List<SuspicionChange> takeChanges() {
    if (changes.isEmpty()) {
      return List.of();
    }
    List<SuspicionChange> out = List.copyOf(changes);
    changes.clear();
    return out;
  }
}
