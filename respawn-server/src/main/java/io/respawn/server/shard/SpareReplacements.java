package io.respawn.server.shard;

import io.respawn.core.MemberReplacement;
import io.respawn.core.MemberReplacement.Step;
import io.respawn.core.Membership;
import io.respawn.core.Membership.Member;
import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.node.NodeRuntime;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The primary's replacement of members that stay silent by spare processes ({@code spare.N},
 * {@code replace-after-ms}): asks the core's {@link MemberReplacement} for the next step and takes
 * it as an operator's {@code RESPAWN MEMBER ADD|PROMOTE|REMOVE} ({@link MembershipChanges}), one
 * at a time; a step that fails (refused, or not committed in time) is retried no sooner than
 * {@link #ATTEMPT_INTERVAL_NANOS} later, one that commits is followed by the next at once. Every member follows the
 * membership so that a spare it has seen in it is not added again; it keeps them in its data
 * directory ({@code spares-spent}). A member that caught up past a change (a snapshot) may not
 * have seen it, and may try a spent spare once more: a dead one is removed again after the bound.
 *
 * <p>Owned by the node loop thread.
 */
final class SpareReplacements {
  private static final Logger log = LoggerFactory.getLogger(SpareReplacements.class);
  /** Between two attempts (a refused or failed step is retried this much later). */
  static final long ATTEMPT_INTERVAL_NANOS = 1_000_000_000L;
  /**
   * Between two looks at the membership when no step is due: the loop passes thousands of times
   * a second under load, and the bound (at least ten heartbeats) needs no finer look.
   */
  static final long CHECK_INTERVAL_NANOS = 50_000_000L;

  /** Replaced when the config file's spare lines change ({@link #usePolicy}). */
  private volatile MemberReplacement policy;
  private final Set<NodeId> spent = new HashSet<>();
  private final Set<NodeId> spareIds = new HashSet<>();
  private CompletableFuture<MembershipChanges.Result> inFlight;
  private long nextAttemptNanos = Long.MIN_VALUE;
  private volatile long sparesAdded;
  private volatile long membersReplaced;
  private volatile int sparesLeft;

  /** Where the spent spares are kept across restarts, or null (not kept). */
  private final java.nio.file.Path spentFile;

  /**
   * @param spentFile the file that keeps the ids of spent spares across restarts (one per line,
   *     rewritten whole when one is added), or null to keep them in memory only
   */
  SpareReplacements(MemberReplacement policy, java.nio.file.Path spentFile) {
    this.policy = policy;
    this.spentFile = spentFile;
    for (Member s : policy.spares()) {
      spareIds.add(s.id());
    }
    if (spentFile != null && java.nio.file.Files.exists(spentFile)) {
      try {
        for (String line : java.nio.file.Files.readAllLines(spentFile)) {
          if (!line.isBlank()) {
            spent.add(NodeId.of(Integer.parseInt(line.trim())));
          }
        }
      } catch (java.io.IOException | IllegalArgumentException e) {
        log.warn("spent spares: {} unreadable ({}); spares seen from now on are kept", spentFile,
            e.toString());
      }
    }
    sparesLeft = countLeft();
  }

  /**
   * Every member, on each new membership: spares in it are spent, and kept so on disk (rare: a
   * spare becomes a member once; the loop writes a few bytes then).
   */
  void follow(Membership m) {
    boolean added = false;
    for (NodeId id : m.nodes()) {
      if (spareIds.contains(id)) {
        added |= spent.add(id);
      }
    }
    sparesLeft = countLeft();
    if (added && spentFile != null) {
      StringBuilder b = new StringBuilder();
      new java.util.TreeSet<>(spent).forEach(id -> b.append(id.value()).append('\n'));
      java.nio.file.Path tmp = spentFile.resolveSibling(spentFile.getFileName() + ".tmp");
      try {
        java.nio.file.Files.writeString(tmp, b);
        java.nio.file.Files.move(tmp, spentFile, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
      } catch (java.io.IOException e) {
        log.warn("spent spares: could not write {} ({}); kept in memory", spentFile,
            e.toString());
      }
    }
  }

  /**
   * Takes {@code next} (the spares of the config file as it reads now, and its bound) in place
   * of the current policy, keeping what this member knows: the spares spent, the counts, a step
   * under way. A spare that is already a member of {@code current} counts as spent at once.
   * Loop thread.
   */
  void usePolicy(MemberReplacement next, Membership current) {
    Set<NodeId> nextIds = new HashSet<>();
    for (Member s : next.spares()) {
      nextIds.add(s.id());
    }
    for (Member m : current.incoming()) {
      if (!m.voting() && spareIds.contains(m.id()) && !nextIds.contains(m.id())) {
        log.warn("spare {} is still catching up as a learner, and its spare line is gone: the "
            + "spare policy neither promotes nor removes it now (put the line back, or remove "
            + "it with 'respawn member remove --id {}')", m.id().value(), m.id().value());
      }
    }
    policy = next;
    spareIds.clear();
    spareIds.addAll(nextIds);
    follow(current); // counts what is left
  }

  /** The bound of silence in force (the config file's {@code replace-after-ms} when last read). */
  long replaceAfterMillis() {
    return policy.replaceAfterNanos() / 1_000_000L;
  }

  /** The spares the policy adds from (as the config file listed them when last read). */
  java.util.List<Member> spares() {
    return policy.spares();
  }

  private int countLeft() {
    int left = 0;
    for (NodeId id : spareIds) {
      left += spent.contains(id) ? 0 : 1;
    }
    return left;
  }

  /** The leader's step, if one is due and no change (ours or an operator's) is under way. */
  void maybeStep(NodeRuntime<?> runtime, MembershipChanges changes, long nowNanos) {
    if ((inFlight != null && !inFlight.isDone()) || changes.busy()
        || (nextAttemptNanos != Long.MIN_VALUE && nowNanos - nextAttemptNanos < 0)) {
      return;
    }
    // The replica's clock to now (an idle member ticks only when something falls due): the
    // policy asks it how long members have been silent.
    runtime.onClock();
    Replica r = runtime.replica();
    Step step = policy.next(r, spent);
    if (step == null) {
      nextAttemptNanos = nowNanos + CHECK_INTERVAL_NANOS;
      return;
    }
    nextAttemptNanos = nowNanos + ATTEMPT_INTERVAL_NANOS;
    Member m = step.member();
    MembershipChanges.Op op = switch (step.op()) {
      case ADD -> MembershipChanges.Op.ADD;
      case PROMOTE -> MembershipChanges.Op.PROMOTE;
      case REPLACE -> MembershipChanges.Op.REPLACE;
      case REMOVE -> MembershipChanges.Op.REMOVE;
    };
    log.info("replacing silent members: {} member {} ({})", op.name().toLowerCase(
        java.util.Locale.ROOT), m.id().value(), step.why());
    CompletableFuture<MembershipChanges.Result> done = new CompletableFuture<>();
    inFlight = done;
    done.thenAccept(result -> {
      if (result.error() == null) {
        nextAttemptNanos = Long.MIN_VALUE; // the next step may follow at once
      }
      if (result.error() != null) {
        log.warn("replacing silent members: {} member {} failed: {}", op.name().toLowerCase(
            java.util.Locale.ROOT), m.id().value(), result.error());
      } else if (op == MembershipChanges.Op.ADD) {
        sparesAdded++;
      } else if (op == MembershipChanges.Op.REPLACE
          || (op == MembershipChanges.Op.REMOVE && !spareIds.contains(m.id()))) {
        membersReplaced++;
        NodeId out = step.replaced() != null ? step.replaced().id() : m.id();
        log.info("replacing silent members: member {} is out of the shard", out.value());
      }
    });
    changes.start(new MembershipChanges.Request(op, m.id(), m.role(), m.address(),
        step.replaced() == null ? null : step.replaced().id(), done), runtime, nowNanos);
  }

  /**
   * One line per configured spare that is not a member of {@code m}, for {@code RESPAWN MEMBER
   * LIST}: {@code id role spare unused|spent address} (a spent one was a member once and is not
   * added again). Loop thread.
   */
  java.util.List<String> describe(Membership m) {
    java.util.List<String> out = new java.util.ArrayList<>();
    for (Member s : policy.spares()) {
      if (!m.contains(s.id())) {
        out.add(s.id().value() + " " + s.role().name().toLowerCase(java.util.Locale.ROOT)
            + " spare " + (spent.contains(s.id()) ? "spent" : "unused") + " " + s.address());
      }
    }
    return out;
  }

  long sparesAdded() {
    return sparesAdded;
  }

  long membersReplaced() {
    return membersReplaced;
  }

  /** Spares not used yet, by this member's view (any thread). */
  int sparesLeft() {
    return sparesLeft;
  }
}
