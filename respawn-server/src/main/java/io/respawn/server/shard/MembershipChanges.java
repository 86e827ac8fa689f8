package io.respawn.server.shard;

import io.respawn.core.MemberReplacement;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.node.NodeRuntime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

/**
 * Online membership changes on the primary ({@code RESPAWN MEMBER ...}, {@code respawn member
 * ...}): the operator's replacement flow for a dead backup or witness (docs/operations.md).
 *
 * <ul>
 *   <li><b>ADD</b> a new member as a <em>learner</em>: it receives the log (and catches up from
 *       its start) but counts in no quorum and never campaigns. One configuration step.
 *   <li><b>PROMOTE</b> a learner to voter once it is caught up (at most {@link
 *       #CAUGHT_UP_LAG_ENTRIES_MAX} entries behind the commit index): through a joint
 *       configuration, which the core leaves by itself once it commits.
 *   <li><b>REMOVE</b> a member. A voting backup that is gone would keep every write (and the
 *       configuration change itself) from committing, since writes commit on every backup: a
 *       voting witness first stands in for it in the write quorum (it receives full entries from
 *       then on), then the change commits without it. The primary cannot remove itself (hand
 *       leadership over first).
 *   <li><b>LIST</b> the members with their catch-up progress.
 * </ul>
 *
 * <p>One change at a time: a request while a change (ours or the core's) is uncommitted is
 * refused with a clear error. A change completes once the shard's configuration is simple again,
 * holds the target and is committed; or with an error after {@link #CHANGE_TIMEOUT_NANOS}, or
 * when this member stops leading (the change may still commit under the next primary: LIST
 * tells).
 *
 * <p>Owned by the node loop thread; requests complete their futures on it.
 */
final class MembershipChanges {
  /** A learner this close to the commit index may be promoted. */
  static final long CAUGHT_UP_LAG_ENTRIES_MAX = MemberReplacement.CAUGHT_UP_LAG_ENTRIES_MAX;
  /** How long a change may take to commit before its requester hears an error. */
  static final long CHANGE_TIMEOUT_NANOS = 10_000_000_000L;

  /**
   * REPLACE (the primary's spare policy only, {@link SpareReplacements}) promotes a learner and
   * removes {@link Request#replaced} in one change.
   */
  enum Op { ADD, PROMOTE, REPLACE, REMOVE, LIST }

  /**
   * One operator request.
   *
   * @param role the new member's role (ADD only)
   * @param address the new member's "RESP PEER" addresses (ADD only)
   * @param replaced the member a REPLACE removes; null otherwise
   * @param done completes with the reply lines (LIST), an empty list (done), or the error text
   *     starting with its Redis error code
   */
  record Request(Op op, NodeId id, Role role, String address, NodeId replaced,
      CompletableFuture<Result> done) {
    Request(Op op, NodeId id, Role role, String address, CompletableFuture<Result> done) {
      this(op, id, role, address, null, done);
    }
  }

  /** What a request's client gets: an error, or lines (empty when a change is done). */
  record Result(String error, List<String> lines) {
    static Result error(String text) {
      return new Result(text, List.of());
    }

    static final Result DONE = new Result(null, List.of());
  }

  private Request pending;
  private Membership target;
  private long deadlineNanos;

  /** Whether a change of ours waits to commit. */
  boolean busy() {
    return pending != null;
  }

  /** Starts (or, for LIST, answers) {@code q}. */
  void start(Request q, NodeRuntime<?> runtime, long nowNanos) {
    // The replica's clock to now (an idle member ticks only when something falls due): the
    // checks below ask it how long members have been silent.
    runtime.onClock();
    Replica r = runtime.replica();
    if (q.op() == Op.LIST) {
      q.done().complete(new Result(null, list(r)));
      return;
    }
    if (r.status() != Status.LEADER) {
      q.done().complete(Result.error("ERR this member is not the primary; send RESPAWN MEMBER "
          + "to the primary" + (r.leader() == null ? " (none known now)" : " (member "
          + r.leader().value() + ")")));
      return;
    }
    if (pending != null || r.membership().isJoint() || r.configChangePending()) {
      q.done().complete(Result.error("ERR a membership change is still under way; retry once "
          + "RESPAWN MEMBER LIST shows it done"));
      return;
    }
    Membership current = r.membership();
    String refusal = null;
    List<Member> next = new ArrayList<>();
    Member subject = current.member(q.id()).orElse(null);
    switch (q.op()) {
      case ADD -> {
        if (subject != null) {
          refusal = "ERR member " + q.id().value() + " is already a member ("
              + describe(subject) + ")";
        } else if (q.role() == Role.PRIMARY) {
          refusal = addPrimaryRefusal(r, current);
        }
        if (subject == null && refusal == null) {
          next.addAll(current.incoming());
          next.add(new Member(q.id(), q.role(), false, q.address()));
        }
      }
      case PROMOTE -> {
        refusal = promoteRefusal(r, subject, q.id());
        Member other = MemberReplacement.primaryVoter(current);
        if (refusal == null && subject.role() == Role.PRIMARY && other != null) {
          refusal = "ERR member " + other.id().value() + " is the shard's primary; a second "
              + "would not be promoted beside it: remove member " + other.id().value()
              + " first (respawn member remove --id " + other.id().value() + ")";
        }
        if (refusal == null) {
          for (Member m : current.incoming()) {
            next.add(m.id().equals(q.id()) ? m.withVoting(true) : m);
          }
        }
      }
      case REPLACE -> {
        Member gone = current.member(q.replaced()).orElse(null);
        refusal = promoteRefusal(r, subject, q.id());
        if (refusal == null) {
          refusal = removeRefusal(r, current, gone, q.replaced());
        }
        if (refusal == null) {
          for (Member m : current.incoming()) {
            if (!m.id().equals(q.replaced())) {
              next.add(m.id().equals(q.id()) ? m.withVoting(true) : m);
            }
          }
          if (gone.voting() && gone.role() == Role.BACKUP) {
            standInFor(q.replaced(), runtime, r);
          }
        }
      }
      case REMOVE -> {
        refusal = removeRefusal(r, current, subject, q.id());
        if (refusal == null) {
          for (Member m : current.incoming()) {
            if (!m.id().equals(q.id())) {
              next.add(m);
            }
          }
          if (subject.voting() && subject.role() == Role.BACKUP) {
            standInFor(q.id(), runtime, r);
          }
        }
      }
      default -> throw new AssertionError(q.op());
    }
    if (refusal != null) {
      q.done().complete(Result.error(refusal));
      return;
    }
    Membership goal = Membership.of(next);
    if (!runtime.proposeMembership(goal)) {
      q.done().complete(Result.error("ERR the primary could not start the change now; retry"));
      return;
    }
    pending = q;
    target = goal;
    deadlineNanos = nowNanos + CHANGE_TIMEOUT_NANOS;
  }

  /**
   * Why a member of role primary may not be added now, or null: a shard has one primary, so a
   * new one is added only in place of one that is lost, while no voter of role primary answers
   * (this leader, or one heard within {@link MemberReplacement#ANSWERING_HEARTBEATS} heartbeat
   * intervals) and no other is being added. It is promoted once the lost one has left ({@code
   * respawn member remove}), or in its place by the primary's spare policy.
   */
  private static String addPrimaryRefusal(Replica r, Membership current) {
    for (Member m : current.incoming()) {
      if (m.role() != Role.PRIMARY) {
        continue;
      }
      if (!m.voting()) {
        return "ERR member " + m.id().value() + " is already being added as the primary";
      }
      if (m.id().equals(r.id()) || r.peerHeardWithin(m.id(),
          MemberReplacement.ANSWERING_HEARTBEATS * r.heartbeatIntervalNanos())) {
        return "ERR a shard has one primary, and member " + m.id().value() + " answers; "
            + "add a backup or a witness (a new primary only in place of a lost one)";
      }
    }
    return null;
  }

  /** Why learner {@code id} ({@code subject}, null if no member) may not be promoted, or null. */
  private static String promoteRefusal(Replica r, Member subject, NodeId id) {
    long lag = r.commitIndex() - r.matchIndex(id);
    if (subject == null) {
      return "ERR member " + id.value() + " is not a member";
    } else if (subject.voting()) {
      return "ERR member " + id.value() + " already votes";
    } else if (lag > CAUGHT_UP_LAG_ENTRIES_MAX) {
      return "ERR member " + id.value() + " is still catching up: it holds "
          + r.matchIndex(id) + " of " + r.commitIndex() + " committed entries; retry "
          + "when it is within " + CAUGHT_UP_LAG_ENTRIES_MAX;
    }
    return null;
  }

  /** Why member {@code id} ({@code subject}, null if no member) may not be removed, or null. */
  private static String removeRefusal(Replica r, Membership current, Member subject, NodeId id) {
    NodeId away = backupStoodInFor(r, id);
    if (subject == null) {
      return "ERR member " + id.value() + " is not a member";
    } else if (id.equals(r.id())) {
      return "ERR this member is the primary; hand leadership over first "
          + "(RESPAWN HANDOVER), then remove it through the new primary";
    } else if (current.incoming().stream().filter(Member::voting)
        .noneMatch(m -> !m.id().equals(id))) {
      return "ERR removing member " + id.value() + " would leave no voter";
    } else if (away != null) {
      return "ERR member " + id.value() + " stands in for backup " + away.value()
          + ", which is away, and may hold writes that backup lacks; remove backup "
          + away.value() + " first, or retry once it is back and caught up (INFO "
          + "respawn_stand_ins)";
    }
    return null;
  }

  /** The backup {@code witness} stands in for, or null when it stands in for none. */
  private static NodeId backupStoodInFor(Replica r, NodeId witness) {
    for (var e : r.standIns().entrySet()) {
      if (e.getValue().equals(witness)) {
        return e.getKey();
      }
    }
    return null;
  }

  /** Lets a voting witness stand in for a departing voting backup in the write quorum. */
  private static void standInFor(NodeId backup, NodeRuntime<?> runtime, Replica r) {
    List<NodeId> candidates = new ArrayList<>();
    if (r.membership().role(r.id()) == Role.WITNESS) {
      candidates.add(r.id()); // a witness that leads holds every entry it appends in full
    }
    for (Member m : r.membership().incoming()) {
      if (m.voting() && m.role() == Role.WITNESS && !m.id().equals(r.id())) {
        candidates.add(m.id());
      }
    }
    for (NodeId c : candidates) {
      if (r.standIns().containsKey(backup) || runtime.standIn(backup, c)) {
        return;
      }
    }
  }

  /** Completes the pending change once it is committed, or with why it did not. */
  void check(Replica r, long nowNanos) {
    if (pending == null) {
      return;
    }
    String error = null;
    if (r.status() != Status.LEADER) {
      error = "ERR this member stopped leading before the change committed; it may still "
          + "commit under the next primary: see RESPAWN MEMBER LIST there";
    } else if (!r.membership().isJoint() && !r.configChangePending()
        && sameMembers(r.membership(), target)) {
      pending.done().complete(Result.DONE);
      pending = null;
      return;
    } else if (nowNanos - deadlineNanos > 0) {
      error = "ERR the change did not commit within " + CHANGE_TIMEOUT_NANOS / 1_000_000_000L
          + " s (is a voting member down?); it stays proposed: see RESPAWN MEMBER LIST";
    } else {
      return;
    }
    pending.done().complete(Result.error(error));
    pending = null;
  }

  private static boolean sameMembers(Membership a, Membership b) {
    if (a.incoming().size() != b.incoming().size()) {
      return false;
    }
    for (Member m : b.incoming()) {
      Member x = a.member(m.id()).orElse(null);
      if (x == null || x.role() != m.role() || x.voting() != m.voting()) {
        return false;
      }
    }
    return true;
  }

  /**
   * One line per member: {@code id role voter|learner [joining|leaving] match=N lag=N address}
   * (match and lag as the primary sees them; on another member they are unknown: -1).
   */
  static List<String> list(Replica r) {
    List<String> out = new ArrayList<>();
    Membership m = r.membership();
    boolean leader = r.status() == Status.LEADER;
    for (NodeId id : m.nodes()) {
      Member in = m.incoming().stream().filter(x -> x.id().equals(id)).findFirst().orElse(null);
      Member any = m.member(id).orElseThrow();
      long match = !leader ? -1 : id.equals(r.id()) ? r.lastIndex() : r.matchIndex(id);
      StringBuilder sb = new StringBuilder();
      sb.append(id.value()).append(' ').append(any.role().name().toLowerCase(Locale.ROOT))
          .append(' ').append(m.isVoter(id) ? "voter" : "learner");
      if (m.isJoint()) {
        boolean inOld = m.outgoing().stream().anyMatch(x -> x.id().equals(id));
        sb.append(in == null ? " leaving" : !inOld ? " joining" : "");
      }
      if (id.equals(r.leader())) {
        sb.append(" primary");
      }
      sb.append(" match=").append(match).append(" lag=")
          .append(match < 0 ? -1 : Math.max(0, r.commitIndex() - match));
      if (!any.address().isEmpty()) {
        sb.append(' ').append(any.address());
      }
      out.add(sb.toString());
    }
    return out;
  }

  private static String describe(Member m) {
    return m.role().name().toLowerCase(Locale.ROOT) + (m.voting() ? ", voting" : ", learner");
  }
}
