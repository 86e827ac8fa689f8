package io.respawn.core;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

/**
 * In-memory test network in the etcd raft style: replicas, their "disks", a message queue that
 * tests deliver by hand or in bulk, and explicit time. Each node's clock is
 * {@code offset + rate * globalNanos} so tests can model drift.
 */
final class Cluster {
  static final long MS = 1_000_000L;

  final Map<NodeId, Replica> replicas = new LinkedHashMap<>();
  final Map<NodeId, ReplicaConfig> configs = new LinkedHashMap<>();
  final Map<NodeId, HardState> hardStates = new HashMap<>();
  final Map<NodeId, List<Entry>> disks = new HashMap<>();
  final Map<NodeId, List<Entry>> applied = new HashMap<>();
  final Map<Long, ReadResult> readResults = new HashMap<>();
  /** Snapshot transfers the leaders asked for, in order (a test carries them out by hand). */
  final List<SnapshotSend> snapshotSends = new ArrayList<>();
  /** Snapshots installed, per node. */
  final Map<NodeId, List<SnapshotMeta>> installed = new HashMap<>();
  final Map<NodeId, Double> clockRate = new HashMap<>();
  final Deque<Message> queue = new ArrayDeque<>();
  final Set<NodeId> down = new HashSet<>();
  /** Report every write as flushed at once (a test of flush reports turns it off). */
  boolean reportFlushes = true;
  /** Nodes that write but report no flush (a test of one member's unflushed suffix). */
  final Set<NodeId> noFlushReports = new HashSet<>();
  /** Every suspicion change each node reported, oldest first. */
  final Map<NodeId, List<SuspicionChange>> suspicions = new HashMap<>();
  /** Report a wanted warm-up done at once (else a test calls {@link Replica#warmUpDone}). */
  boolean warmUpAtOnce = true;
  /** Messages matching this are dropped on send. */
  Predicate<Message> dropIf = m -> false;
  long globalNanos = 1_000 * MS;
  /**
   * Nodes whose replica reads entries below its in-memory tail back from its disk here (see
   * {@link #withLogReaders}); absent: the replica keeps every entry in memory.
   */
  final Map<NodeId, LogReader> readers = new HashMap<>();
  /** Entries each node's reader handed back. */
  final Map<NodeId, Long> entriesRead = new HashMap<>();
  /** Readers fail (as a replica log whose read hit an I/O error) while this is set. */
  boolean readsFail;

  Cluster(Membership membership, java.util.function.UnaryOperator<ReplicaConfig.Builder> tweak) {
    for (NodeId id : membership.nodes()) {
      ReplicaConfig cfg = tweak.apply(ReplicaConfig.builder(id, membership)
          .electionTimeoutMillis(1000).heartbeatIntervalMillis(100).leaseMillis(500)
          .clockDriftMax(0.01).catchUpTimeoutMillis(200).maxEntriesPerAppend(8)
          .randomSeed(42)).build();
      add(id, cfg);
    }
  }

  /**
   * A cluster of {@code membership} in which node 1 leads: only node 1 is ticked until it wins,
   * then everyone runs for 300 ms. Fails if node 1 is not elected within 8 s of its time.
   */
  static Cluster ledByNodeOne(Membership membership) {
    return ledByNodeOne(new Cluster(membership));
  }

  /** {@link #ledByNodeOne(Membership)} for a cluster built otherwise. */
  static Cluster ledByNodeOne(Cluster c) {
    c.tickAll();
    for (int i = 0; i < 800 && c.r(1).status() != Status.LEADER; i++) {
      c.globalNanos += 10 * MS;
      c.tick(1);
      c.deliverAll();
    }
    if (c.r(1).status() != Status.LEADER) {
      throw new AssertionError("node 1 not elected: " + c.r(1).status());
    }
    c.run(300);
    return c;
  }

  Cluster(Membership membership) {
    this(membership, b -> b);
  }

  /**
   * Every replica keeps at most {@code cacheBytesMax} bytes of its log in memory and reads older
   * entries back from its disk (this cluster's list; tests with readers take no snapshots, so
   * entry i sits at position i - 1).
   */
  static Cluster withLogReaders(Membership membership, long cacheBytesMax) {
    Cluster c = new Cluster(membership, b -> b.logCacheBytesMax(cacheBytesMax));
    for (NodeId id : membership.nodes()) {
      List<Entry> disk = c.disks.get(id);
      c.readers.put(id, (from, to, bytesMax) -> {
        if (c.readsFail) {
          throw new EntriesUnavailable("read failed (test)");
        }
        if (from < 1 || from > disk.size()) {
          throw new EntriesUnavailable(from + " outside the disk's 1.." + disk.size());
        }
        List<Entry> out = new ArrayList<>();
        long bytes = 0;
        for (long i = from; i <= Math.min(to, disk.size()) && (out.isEmpty() || bytes <= bytesMax);
            i++) {
          Entry e = disk.get((int) (i - 1));
          out.add(e);
          bytes += RaftLog.cacheBytes(e);
        }
        c.entriesRead.merge(id, (long) out.size(), Long::sum);
        return out;
      });
      c.replicas.put(id, new Replica(c.configs.get(id), PersistentState.EMPTY, c.readers.get(id)));
    }
    return c;
  }

  void add(NodeId id, ReplicaConfig cfg) {
    configs.put(id, cfg);
    hardStates.put(id, HardState.INITIAL);
    disks.put(id, new ArrayList<>());
    applied.put(id, new ArrayList<>());
    replicas.put(id, new Replica(cfg, PersistentState.EMPTY));
  }

  /** 1 primary, b backups, w witnesses: ids 1, 2..b+1, b+2..b+w+1. */
  static Membership shape(int backups, int witnesses) {
    List<Membership.Member> ms = new ArrayList<>();
    ms.add(Membership.Member.voter(1, Role.PRIMARY));
    for (int i = 0; i < backups; i++) {
      ms.add(Membership.Member.voter(2 + i, Role.BACKUP));
    }
    for (int i = 0; i < witnesses; i++) {
      ms.add(Membership.Member.voter(2 + backups + i, Role.WITNESS));
    }
    return Membership.of(ms);
  }

  static NodeId n(int i) {
    return NodeId.of(i);
  }

  Replica r(int i) {
    return replicas.get(n(i));
  }

  long now(NodeId id) {
    double rate = clockRate.getOrDefault(id, 1.0);
    return (long) (globalNanos * rate);
  }

  /**
   * Executes a Ready the way the runtime must: persist, send, apply, answer, advance; the disk
   * flushes at once, so the flush is reported right after.
   */
  void handle(NodeId id, Ready rd) {
    Replica r = replicas.get(id);
    long warmUp = 0;
    while (true) {
      if (rd.snapshotToInstall() != null) {
        installed.computeIfAbsent(id, k -> new ArrayList<>()).add(rd.snapshotToInstall());
        disks.get(id).clear(); // this disk model keeps no base: tests with snapshots do not restart
      }
      snapshotSends.addAll(rd.snapshotsToSend());
      if (rd.hardState() != null) {
        hardStates.put(id, rd.hardState());
      }
      if (!rd.entriesToPersist().isEmpty()) {
        List<Entry> disk = disks.get(id);
        long first = rd.entriesToPersist().get(0).index();
        while (disk.size() >= first) {
          disk.remove(disk.size() - 1);
        }
        disk.addAll(rd.entriesToPersist());
      }
      for (Message m : rd.messages()) {
        if (!dropIf.test(m)) {
          queue.add(m);
        }
      }
      applied.get(id).addAll(rd.committedEntries());
      for (ReadResult rr : rd.reads()) {
        readResults.put(rr.id(), rr);
      }
      for (SuspicionChange sc : rd.suspicion()) {
        suspicions.computeIfAbsent(id, k -> new ArrayList<>()).add(sc);
        warmUp = sc.warmUpWanted() && warmUpAtOnce ? sc.episode() : warmUp;
      }
      r.advance(rd);
      // these disks are durable at once: report the flush, as a runtime does when its fsync ends
      rd = rd.entriesToPersist().isEmpty() || !reportFlushes || noFlushReports.contains(id)
          ? r.ready()
          : r.logFlushed(r.persistedIndex(), now(id));
      if (rd.isEmpty() && warmUp != 0) {
        rd = r.warmUpDone(warmUp, now(id));
        warmUp = 0;
      }
      if (rd.isEmpty()) {
        return;
      }
    }
  }

  void tick(int i) {
    NodeId id = n(i);
    handle(id, replicas.get(id).tick(now(id)));
  }

  void tickAll() {
    for (NodeId id : replicas.keySet()) {
      if (down.contains(id)) {
        continue;
      }
      if (ticksWhenDue && now(id) < replicas.get(id).tickDueNanos()) {
        ticksSkipped++;
        continue;
      }
      handle(id, replicas.get(id).tick(now(id)));
    }
  }

  /** {@link #tickAll} skips a node whose {@link Replica#tickDueNanos} is still ahead. */
  boolean ticksWhenDue;
  long ticksSkipped;

  /** Delivers one message (if its destination is up). */
  void deliver(Message m) {
    if (down.contains(m.to()) || down.contains(m.from())) {
      return;
    }
    Replica r = replicas.get(m.to());
    if (r == null) {
      return;
    }
    handle(m.to(), r.step(m, now(m.to())));
  }

  /** Delivers queued messages until none are left. */
  void deliverAll() {
    int guard = 0;
    while (!queue.isEmpty()) {
      deliver(queue.poll());
      if (++guard > 1_000_000) {
        throw new IllegalStateException("message storm");
      }
    }
  }

  /** Advances global time by {@code ms} in {@code stepMs} steps, ticking and delivering each step. */
  void run(long ms, long stepMs) {
    for (long t = 0; t < ms; t += stepMs) {
      globalNanos += stepMs * MS;
      tickAll();
      deliverAll();
    }
  }

  void run(long ms) {
    run(ms, 10);
  }

  Replica leader() {
    Replica best = null;
    for (Map.Entry<NodeId, Replica> e : replicas.entrySet()) {
      if (!down.contains(e.getKey()) && e.getValue().status() == Status.LEADER
          && (best == null || e.getValue().term() > best.term())) {
        best = e.getValue();
      }
    }
    return best;
  }

  /** Proposes on the current leader; returns the entry's index. */
  long propose(String value, String key) {
    Replica l = leader();
    if (l == null) {
      throw new IllegalStateException("no leader");
    }
    Proposal p = l.propose(Command.of(value.getBytes(java.nio.charset.StandardCharsets.UTF_8),
        key.getBytes(java.nio.charset.StandardCharsets.UTF_8)), now(l.id()));
    if (!p.accepted() || p.index(0) != l.lastIndex() || p.term() != l.term()) {
      throw new AssertionError("leader " + l.id() + " refused or misnumbered " + p);
    }
    handle(l.id(), p.ready());
    return p.index(0);
  }

  ReadResult read(int i, long id) {
    handle(n(i), r(i).read(new ReadRequest(id), now(n(i))));
    return readResults.get(id);
  }

  /** Crash and restart node i from its disk (volatile state lost). */
  void restart(int i) {
    NodeId id = n(i);
    replicas.put(id, new Replica(configs.get(id),
        new PersistentState(hardStates.get(id), List.copyOf(disks.get(id))),
        readers.getOrDefault(id, LogReader.NONE)));
    applied.put(id, new ArrayList<>());
    down.remove(id);
  }

  /** Cuts every link between the two groups. */
  void partition(Set<NodeId> side) {
    dropIf = m -> side.contains(m.from()) != side.contains(m.to());
  }

  void heal() {
    dropIf = m -> false;
  }

  /** Log matching + leader/term checks across the cluster; throws on violation. */
  void checkSafety() {
    Map<Long, NodeId> leaders = new HashMap<>();
    for (Replica r : replicas.values()) {
      if (r.status() == Status.LEADER) {
        NodeId prev = leaders.put(r.term(), r.id());
        if (prev != null) {
          throw new AssertionError("two leaders in term " + r.term() + ": " + prev + ", " + r.id());
        }
      }
    }
    List<Replica> rs = new ArrayList<>(replicas.values());
    for (Replica a : rs) {
      for (Replica b : rs) {
        long upTo = Math.min(a.lastIndex(), b.lastIndex());
        long base = Math.max(a.snapshotIndex(), b.snapshotIndex()); // below: compacted, durable
        for (long i = upTo; i > base; i--) {
          if (a.log().term(i) == b.log().term(i)) {
            for (long j = base + 1; j <= i; j++) {
              Entry x = a.log().entry(j);
              Entry y = b.log().entry(j);
              if (!x.sameId(y)) {
                throw new AssertionError("log matching broken at " + j + " between " + a.id()
                    + " and " + b.id());
              }
            }
            break;
          }
        }
      }
    }
  }
}
