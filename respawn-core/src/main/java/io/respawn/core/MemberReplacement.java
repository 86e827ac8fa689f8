package io.respawn.core;

import io.respawn.core.Membership.Member;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The primary's own replacement of a member that stays silent, from a pool of spare processes
 * (DESIGN §5.4: after a failover the shard adds a replacement witness). Pure: it reads the
 * leader's {@link Replica} and names the next membership step, which its caller takes through
 * the same path an operator's {@code respawn member add|promote|remove} takes (the server's node
 * loop; the simulator's membership nemesis for the seeds that draw spares).
 *
 * <p>Members come in two classes: those that may lead (the primary and witnesses) and backups.
 * The shard keeps as many voting members of each class as it was configured with ({@link
 * Targets}). A spare of role primary stands only for the primary: it is added while no voter of
 * role primary is heard from, and it takes the place of a silent primary, so that the shard
 * holds every value in memory on its primary again (the leading witness gives leadership back
 * to it once it is caught up, as to the primary it replaces) and never has two voters of role
 * primary. A spare witness takes a silent witness's place before a silent primary's. Each step,
 * taken only while the configuration is simple and committed:
 *
 * <ol>
 *   <li>a spare that is a learner, once it answers (an acknowledgement within the last {@link
 *       #ANSWERING_HEARTBEATS} heartbeat intervals) and is within {@link
 *       #CAUGHT_UP_LAG_ENTRIES_MAX} entries of the commit index, <b>replaces</b> a silent voter
 *       of its class (promoted and the silent one removed in one change, through joint
 *       consensus: the old voters that answer carry both halves), or is <b>promoted</b> when
 *       none is silent any more; it is <b>removed</b> when it stays silent for {@code
 *       replaceAfterNanos}, or is not caught up {@link #CATCH_UP_BOUNDS_MAX} bounds after it was
 *       added (it is then spent);
 *   <li>a voter silent for {@code replaceAfterNanos} is <b>removed</b> when its class has its
 *       target of voters heard from without it; a witness standing in for a backup is never
 *       removed (a backup's place in the write quorum is held by its stand-in meanwhile);
 *   <li>a class short of voters heard from gets the first unspent spare of that class <b>added</b>
 *       as a learner.
 * </ol>
 *
 * <p>Silence is counted by the leader from its own election on ({@link Replica#peerSilentFor}),
 * so a new primary never removes a member in its first {@code replaceAfterNanos}, nor after a
 * pause of its own before that long has passed again; and only a leader that holds its lease
 * takes a step (one cut off from the shard would only waste spares on changes that cannot
 * commit). A member that
 * was only partitioned for that long is removed too, and stays out (it is not a spare): the
 * bound is the operator's trade between a shard that cannot fail over again and a member lost to
 * a long partition.
 */
public final class MemberReplacement {
  /** A learner this close to the commit index is caught up and may be promoted. */
  public static final long CAUGHT_UP_LAG_ENTRIES_MAX = 256;
  /** A learner is promoted only if it acknowledged entries and answered within this many beats. */
  public static final long ANSWERING_HEARTBEATS = 4;

  /** How many voters of each class the shard keeps. */
  public record Targets(int mayLead, int backups) {
    public Targets {
      if (mayLead < 1 || backups < 0) {
        throw new IllegalArgumentException("targets: " + mayLead + " members that may lead, "
            + backups + " backups");
      }
    }

    /** The voters of {@code m}, by class. */
    public static Targets of(Membership m) {
      int lead = 0;
      int backups = 0;
      for (Member x : m.incoming()) {
        if (x.voting()) {
          lead += x.role() == Role.BACKUP ? 0 : 1;
          backups += x.role() == Role.BACKUP ? 1 : 0;
        }
      }
      return new Targets(lead, backups);
    }
  }

  /**
   * What to change next. REPLACE promotes a spare and removes the silent member it replaces in
   * one change: two changes (promote, then remove) would leave a 1+1+1 shard with four voters in
   * between, a majority of three that needs the new member, so its failure then would stop the
   * shard where the old three (two of them answering) carried it.
   */
  public enum Op { ADD, PROMOTE, REPLACE, REMOVE }

  /**
   * One step: add {@code member} (a spare, as a learner), promote it, promote it in place of
   * {@code replaced}, or remove it.
   *
   * @param replaced the silent voter a REPLACE removes; null otherwise
   * @param why a line for the log
   */
  public record Step(Op op, Member member, Member replaced, String why) {}

  /**
   * A spare learner not caught up this many bounds after it was added (or this leader was
   * elected) is removed and spent: one that answers but never catches up (a slow disk, a
   * transfer that keeps failing) would otherwise hold every later step.
   */
  static final long CATCH_UP_BOUNDS_MAX = 10;

  private final Targets targets;
  private final List<Member> spares;
  private final long replaceAfterNanos;
  private final Variant variant;

  /**
   * @param targets the voters of each class the shard keeps
   * @param spares the spare processes, each with its role and address, in the order to use them
   * @param replaceAfterNanos how long a member stays silent before it is replaced
   * @param variant {@link Variant#REPLACE_AFTER_ONE_HEARTBEAT} breaks it for the simulator
   */
  public MemberReplacement(Targets targets, List<Member> spares, long replaceAfterNanos,
      Variant variant) {
    this.targets = Objects.requireNonNull(targets, "targets");
    this.spares = List.copyOf(spares);
    if (replaceAfterNanos <= 0) {
      throw new IllegalArgumentException("replaceAfterNanos " + replaceAfterNanos + " <= 0");
    }
    this.replaceAfterNanos = replaceAfterNanos;
    this.variant = Objects.requireNonNull(variant, "variant");
  }

  public List<Member> spares() {
    return spares;
  }

  /** How long a member stays silent before a spare replaces it. */
  public long replaceAfterNanos() {
    return replaceAfterNanos;
  }

  /**
   * The next step on leader {@code r}, or null when none is due (not leading with a lease, a
   * change under way, nothing silent, no spare left).
   *
   * @param spent spares that were members once (seen in any configuration): never added again
   */
  public Step next(Replica r, Set<NodeId> spent) {
    if (!r.holdsLease() || r.membership().isJoint() || r.configChangePending()) {
      return null;
    }
    long silence = variant == Variant.REPLACE_AFTER_ONE_HEARTBEAT
        ? Math.min(replaceAfterNanos, r.heartbeatIntervalNanos()) : replaceAfterNanos;
    Membership current = r.membership();
    for (Member m : current.incoming()) {
      if (!m.voting() && isSpare(m.id())) {
        if (r.peerSilentFor(m.id(), silence)) {
          return new Step(Op.REMOVE, m, null, "spare " + m.id().value()
              + " stays silent as a learner");
        }
        if (r.peerTrackedFor(m.id(), CATCH_UP_BOUNDS_MAX * replaceAfterNanos)) {
          return new Step(Op.REMOVE, m, null, "spare " + m.id().value() + " did not catch up in "
              + CATCH_UP_BOUNDS_MAX * replaceAfterNanos / 1_000_000 + " ms");
        }
        long match = r.matchIndex(m.id());
        boolean answering = match > 0
            && r.peerHeardWithin(m.id(), ANSWERING_HEARTBEATS * r.heartbeatIntervalNanos());
        if (answering && r.commitIndex() - match <= CAUGHT_UP_LAG_ENTRIES_MAX) {
          String caughtUp = "spare " + m.id().value() + " caught up (" + match + " of "
              + r.commitIndex() + ")";
          Member gone = silentRemovable(r, current, m.role(), silence);
          Member primary = primaryVoter(current);
          if (gone == null && m.role() == Role.PRIMARY && primary != null
              && variant != Variant.PRIMARY_SPARE_BESIDE_PRIMARY) {
            // Never a second voter of role primary. One that answers again is kept and the
            // spare removed; one this leader has not heard from for the bound only since its
            // own election or return from a pause (silence counts from then) may still be gone:
            // wait (the catch-up bound above ends the wait).
            return r.peerHeardWithin(primary.id(),
                ANSWERING_HEARTBEATS * r.heartbeatIntervalNanos())
                ? new Step(Op.REMOVE, m, null, "spare " + m.id().value() + " (primary) is not "
                    + "needed: the primary answers again")
                : null;
          }
          return gone == null ? new Step(Op.PROMOTE, m.withVoting(true), null, caughtUp)
              : new Step(Op.REPLACE, m.withVoting(true), gone, caughtUp + " replaces member "
                  + gone.id().value() + ", silent for " + silence / 1_000_000 + " ms or more");
        }
        return null; // still catching up: one spare at a time
      }
    }
    for (boolean backups : new boolean[] {false, true}) {
      int heard = 0;
      for (Member m : current.incoming()) {
        if (m.voting() && (m.role() == Role.BACKUP) == backups
            && (m.id().equals(r.id()) || !r.peerSilentFor(m.id(), silence))) {
          heard++;
        }
      }
      int target = backups ? targets.backups() : targets.mayLead();
      Member gone = silentRemovable(r, current, backups ? Role.BACKUP : Role.WITNESS, silence);
      if (gone != null && heard >= target) {
        return new Step(Op.REMOVE, gone, null, "member " + gone.id().value() + " ("
            + gone.role().name().toLowerCase(java.util.Locale.ROOT) + ") silent for "
            + silence / 1_000_000 + " ms or more, with " + heard + " of " + target
            + " heard from without it");
      }
      if (heard < target) {
        // A lost primary is replaced by a spare primary if one is left, else by a witness.
        boolean primaryWanted = !backups && !primaryHeard(r, current, silence);
        for (boolean primaries : primaryWanted ? new boolean[] {true, false}
            : new boolean[] {false}) {
          for (Member s : spares) {
            boolean fits = backups ? s.role() == Role.BACKUP
                : s.role() == Role.WITNESS && !primaries || s.role() == Role.PRIMARY
                && (primaries || variant == Variant.PRIMARY_SPARE_BESIDE_PRIMARY);
            if (fits && !current.contains(s.id()) && !spent.contains(s.id())) {
              return new Step(Op.ADD, s.withVoting(false), null, (backups ? "backups"
                  : "members that may lead") + " heard from: " + heard + " of " + target
                  + "; adding spare " + s.id().value()
                  + (s.role() == Role.PRIMARY ? " (primary)" : ""));
            }
          }
        }
      }
    }
    return null;
  }

  /**
   * The voter silent for {@code silence} that a spare of role {@code spare} takes the place of
   * (one that may leave: not this leader, and not a witness standing in for a backup): a
   * backup's for a backup; a primary's for a primary; a witness's, else a primary's, for a
   * witness. Null if none.
   */
  private Member silentRemovable(Replica r, Membership current, Role spare, long silence) {
    Role[] order = switch (spare) {
      case BACKUP -> new Role[] {Role.BACKUP};
      case PRIMARY -> variant == Variant.PRIMARY_SPARE_BESIDE_PRIMARY
          ? new Role[] {Role.WITNESS, Role.PRIMARY} : new Role[] {Role.PRIMARY};
      case WITNESS -> new Role[] {Role.WITNESS, Role.PRIMARY};
    };
    for (Role role : order) {
      for (Member m : current.incoming()) {
        if (m.voting() && m.role() == role && !m.id().equals(r.id())
            && r.peerSilentFor(m.id(), silence) && !r.standIns().containsValue(m.id())) {
          return m;
        }
      }
    }
    return null;
  }

  /** The voter of role primary in {@code current} (the policy keeps at most one), or null. */
  public static Member primaryVoter(Membership current) {
    for (Member m : current.incoming()) {
      if (m.voting() && m.role() == Role.PRIMARY) {
        return m;
      }
    }
    return null;
  }

  /** Whether the voter of role primary is heard from (this leader, or one not silent). */
  private static boolean primaryHeard(Replica r, Membership current, long silence) {
    Member p = primaryVoter(current);
    return p != null && (p.id().equals(r.id()) || !r.peerSilentFor(p.id(), silence));
  }

  private boolean isSpare(NodeId id) {
    for (Member s : spares) {
      if (s.id().equals(id)) {
        return true;
      }
    }
    return false;
  }
}
