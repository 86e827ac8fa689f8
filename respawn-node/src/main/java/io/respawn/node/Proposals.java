package io.respawn.node;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.NodeId;
import io.respawn.core.Proposal;
import io.respawn.core.Variant;
import io.respawn.storage.Durability;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * The runtime's proposals, from queued to acknowledged: queued until the next batch, appended
 * (by index) until applied, then waiting for the DURABLE notice. Owned by {@link NodeRuntime}.
 *
 * <p>Bounds: {@code queued <= proposalsQueuedMax}, {@code queued + appended <=
 * proposalsInFlightMax} (the work the node still has to do for them), and {@code unapplied +
 * awaitingDurable <= durableNoticesMax} ({@link RuntimeConfig#durableNoticesMax()}, so that {@code
 * awaitingDurable} stays within it once they are applied). An applied proposal waits only for
 * its durable notice, holds no command any more (about 200 bytes: the handle, its futures and
 * their callbacks), and its writer, if ORDERED, was answered already. Counting those against the
 * in-flight bound refused ORDERED writes ({@code TRYAGAIN}) whenever the durable index lagged a
 * third of a second behind 27,000 writes a second (a slow fsync on a member), although none of
 * them waited for it. Indexes in {@code awaitingDurable} increase from head to tail (they are
 * applied in log order).
 */
final class Proposals<R> {
  private final RuntimeConfig config;
  /** Variant.COUNT_DURABLE_NOTICES_IN_FLIGHT: the broken accounting, for the simulator's teeth. */
  private final boolean countsDurableNoticesInFlight;
  /** Variant.IGNORE_PROPOSAL_BOUNDS: no refusal for room, for the simulator's teeth. */
  private final boolean ignoresBounds;
  private final ArrayDeque<ProposalHandle<R>> queued = new ArrayDeque<>();
  private final Map<Long, ProposalHandle<R>> appended = new HashMap<>();
  private final ArrayDeque<ProposalHandle<R>> awaitingDurable = new ArrayDeque<>();
  /** Highest index of an appended or applied DURABLE-level proposal not yet known durable. */
  private long durableWanted;

  /** {@code variant}: CORRECT but in the simulator's teeth tests. */
  Proposals(RuntimeConfig config, Variant variant) {
    this.config = config;
    this.countsDurableNoticesInFlight = variant == Variant.COUNT_DURABLE_NOTICES_IN_FLIGHT;
    this.ignoresBounds = variant == Variant.IGNORE_PROPOSAL_BOUNDS;
  }

  /** Proposals queued, appended or waiting for their durable notice. */
  int inFlight() {
    return queued.size() + appended.size() + awaitingDurable.size();
  }

  /** Proposals queued or appended, not yet applied: what {@code proposalsInFlightMax} bounds. */
  int unapplied() {
    return queued.size() + appended.size();
  }

  boolean hasQueued() {
    return !queued.isEmpty();
  }

  /** Queues a proposal, or refuses it at once when a limit is reached. */
  ProposalHandle<R> offer(Command command, Durability level, NodeId leaderHint) {
    ProposalHandle<R> h = new ProposalHandle<>(command, level);
    if (!ignoresBounds && (queued.size() >= config.proposalsQueuedMax()
        || (countsDurableNoticesInFlight ? inFlight() : unapplied()) >= config.proposalsInFlightMax()
        || unapplied() + awaitingDurable.size() >= config.durableNoticesMax())) {
      h.refuse(new Refusal(Refusal.Reason.QUEUE_FULL, leaderHint, "proposal queue full: "
          + queued.size() + " queued (proposalsQueuedMax " + config.proposalsQueuedMax() + "), "
          + unapplied() + " not applied (proposalsInFlightMax " + config.proposalsInFlightMax()
          + "), " + awaitingDurable.size() + " applied awaiting the durable notice (at most "
          + config.durableNoticesMax() + ")"));
      return h;
    }
    queued.add(h);
    return h;
  }

  /** Takes the next batch (at most proposalsPerBatchMax) off the queue. */
  List<ProposalHandle<R>> takeBatch() {
    List<ProposalHandle<R>> batch = new ArrayList<>(Math.min(queued.size(), config.proposalsPerBatchMax()));
    while (!queued.isEmpty() && batch.size() < config.proposalsPerBatchMax()) {
      batch.add(queued.poll());
    }
    return batch;
  }

  /** The core appended the batch (or refused it). */
  void proposed(List<ProposalHandle<R>> batch, Proposal p, NodeId leaderHint) {
    if (!p.accepted()) {
      Refusal no = new Refusal(Refusal.Reason.NOT_LEADER, leaderHint, "not the leader"
          + (leaderHint == null ? "" : "; the leader is " + leaderHint));
      for (ProposalHandle<R> h : batch) {
        h.refuse(no);
      }
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      ProposalHandle<R> h = batch.get(i);
      h.assign(p.term(), p.index(i));
      h.releaseCommand(); // the log entry holds it now
      appended.put(h.index(), h);
      if (h.level() == Durability.DURABLE) {
        durableWanted = Math.max(durableWanted, h.index());
      }
    }
  }

  /**
   * A committed entry was applied with {@code result}: the proposal at its index, if any, is
   * acknowledged ORDERED if it is this very entry (same term), else superseded.
   */
  void applied(Entry e, R result) {
    ProposalHandle<R> h = appended.remove(e.index());
    if (h == null) {
      return;
    }
    if (h.term() != e.term()) {
      h.refuse(new Refusal(Refusal.Reason.SUPERSEDED, null, "entry " + e.term() + "/"
          + e.index() + " was committed where " + h + " was appended"));
      return;
    }
    h.ordered().complete(result);
    awaitingDurable.add(h);
  }

  /** Everything up to {@code index} is durable: complete those notices. */
  void durableThrough(long index) {
    while (!awaitingDurable.isEmpty() && awaitingDurable.peek().index() <= index) {
      ProposalHandle<R> h = awaitingDurable.poll();
      h.durable().complete(h.index());
    }
    if (durableWanted <= index) {
      durableWanted = 0;
    }
  }

  /** Highest index a DURABLE-level proposal waits on (0 for none): the leader flushes for it. */
  long durableWanted() {
    return durableWanted;
  }

  /**
   * This node stopped leading: appended proposals past {@code commitIndex} may or may not commit
   * under the next leader, and nothing is known durable any more.
   */
  void leadershipLost(long commitIndex, NodeId leaderHint) {
    Refusal unknown = new Refusal(Refusal.Reason.OUTCOME_UNKNOWN, leaderHint,
        "this node stopped leading before the outcome was known");
    Iterator<Map.Entry<Long, ProposalHandle<R>>> it = appended.entrySet().iterator();
    while (it.hasNext()) {
      Map.Entry<Long, ProposalHandle<R>> e = it.next();
      if (e.getKey() > commitIndex) {
        e.getValue().refuse(unknown);
        it.remove();
      }
    }
    Refusal notDurable = new Refusal(Refusal.Reason.OUTCOME_UNKNOWN, leaderHint,
        "this node stopped leading before the write was known durable");
    for (ProposalHandle<R> h : awaitingDurable) {
      h.durable().completeExceptionally(notDurable);
    }
    awaitingDurable.clear();
    durableWanted = 0;
  }

  /** Fails everything (the runtime stops). */
  void failAll(Refusal why) {
    for (ProposalHandle<R> h : queued) {
      h.refuse(why);
    }
    for (ProposalHandle<R> h : appended.values()) {
      h.refuse(why);
    }
    for (ProposalHandle<R> h : awaitingDurable) {
      h.durable().completeExceptionally(why);
    }
    queued.clear();
    appended.clear();
    awaitingDurable.clear();
  }

  /** Applied-but-not-yet-durable entries with a DURABLE waiter still need the durable notice. */
  boolean hasDurableWaiters() {
    for (ProposalHandle<R> h : awaitingDurable) {
      if (h.level() == Durability.DURABLE) {
        return true;
      }
    }
    return false;
  }
}
