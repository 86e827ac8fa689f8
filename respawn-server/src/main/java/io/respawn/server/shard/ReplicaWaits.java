package io.respawn.server.shard;

import io.respawn.core.NodeId;
import io.respawn.core.Replica;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.server.command.ShardControl.ReplicaAcks;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * WAIT and WAITAOF on the primary. Each request waits for every entry the primary had appended
 * when the request reached the node loop (so every write its client sent before it, which entered
 * the same inbox first) to be held by enough members, or for its deadline; then it answers how
 * many members hold them. Only members that keep values count (the configured primary when
 * another member leads, and backups): a witness holds keys only, so a write it holds would not
 * survive on it. For WAITAOF "hold" means flushed (fsynced) and the primary's own flush is
 * counted as the local one.
 *
 * <p>A request answered by a member that does not lead, or that stops leading before the
 * request is satisfied, completes with {@link ReplicaAcks#NOT_PRIMARY}. Owned by the node loop
 * thread; the futures complete there.
 */
final class ReplicaWaits {

  /** One WAIT or WAITAOF as the command thread hands it over. */
  record Request(long localMin, long replicasMin, boolean flushed, long timeoutMillis,
      CompletableFuture<ReplicaAcks> done) {}

  private record Pending(Request request, long index, long deadlineNanos) {}

  private final NodeId self;
  private final List<Pending> pending = new ArrayList<>();

  ReplicaWaits(NodeId self) {
    this.self = self;
  }

  /** Registers a request against everything appended so far. */
  void add(Request q, Replica r, long nowNanos) {
    if (r.status() != Status.LEADER) {
      q.done().complete(ReplicaAcks.NOT_PRIMARY);
      return;
    }
    long deadline = q.timeoutMillis() == 0 ? Long.MAX_VALUE
        : nowNanos + Math.min(q.timeoutMillis(), Long.MAX_VALUE / 2_000_000) * 1_000_000;
    pending.add(new Pending(q, r.lastIndex(), deadline));
  }

  /** Answers the requests that are satisfied, past their deadline, or orphaned by a new leader. */
  void check(Replica r, long nowNanos) {
    if (pending.isEmpty()) {
      return;
    }
    boolean leading = r.status() == Status.LEADER;
    for (Iterator<Pending> it = pending.iterator(); it.hasNext(); ) {
      Pending p = it.next();
      if (!leading) {
        it.remove();
        p.request().done().complete(ReplicaAcks.NOT_PRIMARY);
        continue;
      }
      ReplicaAcks acks = count(r, p.index(), p.request().flushed());
      boolean enough = acks.replicas() >= p.request().replicasMin()
          && acks.local() >= Math.min(1, p.request().localMin());
      if (enough || nowNanos >= p.deadlineNanos()) {
        it.remove();
        p.request().done().complete(acks);
      }
    }
  }

  int size() {
    return pending.size();
  }

  private ReplicaAcks count(Replica r, long index, boolean flushed) {
    long local = (flushed ? r.flushedIndex() : r.persistedIndex()) >= index ? 1 : 0;
    long replicas = 0;
    for (NodeId id : r.membership().nodes()) {
      if (id.equals(self) || r.membership().role(id) == Role.WITNESS) {
        continue;
      }
      long held = flushed ? r.flushedIndex(id) : r.matchIndex(id);
      if (held >= index) {
        replicas++;
      }
    }
    return new ReplicaAcks(true, local, replicas);
  }
}
