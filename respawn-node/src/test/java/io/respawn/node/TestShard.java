package io.respawn.node;

import io.respawn.core.Command;
import io.respawn.core.Entry;
import io.respawn.core.EntryKind;
import io.respawn.core.Membership;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.ReplicaConfig;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.node.log.MemoryReplicaLog;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * A small deterministic shard for runtime tests: runtimes over in-memory logs, one message queue
 * delivered by hand, one manual clock. Commands are "key=value" strings; the store maps keys to
 * values and returns the applied index as a write's result.
 */
final class TestShard {
  static final long MS = 1_000_000L;

  /** key -> value; results are the index an entry was applied at. */
  static final class MapStore implements StateMachineStore<Long, String> {
    final Map<String, String> values = new HashMap<>();
    long applied;

    @Override
    public long appliedIndex() {
      return applied;
    }

    @Override
    public Long apply(Entry e) {
      applied = e.index();
      if (e.kind() != EntryKind.NORMAL) {
        return null;
      }
      if (e.isElided()) {
        for (byte[] k : e.command().keys()) {
          values.put(new String(k, StandardCharsets.UTF_8), "?");
        }
        return null;
      }
      String[] kv = new String(e.command().data(), StandardCharsets.UTF_8).split("=", 2);
      values.put(kv[0], kv[1]);
      return e.index();
    }

    @Override
    public String read(byte[] key) {
      return values.get(new String(key, StandardCharsets.UTF_8));
    }
  }

  /** A log whose flush completes only when the test says so. */
  static final class SlowFlushLog extends ForwardingLog {
    boolean pending;

    SlowFlushLog(ReplicaLog inner) {
      super(inner);
    }

    @Override
    public void flush() {
      pending = true;
    }

    void complete() {
      if (pending) {
        pending = false;
        inner.flush();
      }
    }
  }

  final long[] nowNanos = {1_000 * MS};
  final Deque<Message> queue = new ArrayDeque<>();
  final Map<Integer, NodeRuntime<Long, String>> nodes = new HashMap<>();
  final Map<Integer, MemoryReplicaLog> logs = new HashMap<>();
  final Map<Integer, ReplicaLog> ports = new HashMap<>();
  final Map<Integer, MapStore> stores = new HashMap<>();
  final List<Integer> down = new ArrayList<>();
  final Membership membership;
  final RuntimeConfig config;

  TestShard(RuntimeConfig config, Function<ReplicaLog, ReplicaLog> wrap, Role... roles) {
    this.config = config;
    List<Membership.Member> members = new ArrayList<>();
    for (int i = 0; i < roles.length; i++) {
      members.add(Membership.Member.voter(i, roles[i]));
    }
    membership = Membership.of(members);
    for (int i = 0; i < roles.length; i++) {
      logs.put(i, new MemoryReplicaLog());
      ports.put(i, wrap.apply(logs.get(i)));
      start(i);
    }
  }

  /** 1 primary, 1 backup, 1 witness; logs flush synchronously. */
  static TestShard ofThree(RuntimeConfig config) {
    return new TestShard(config, l -> l, Role.PRIMARY, Role.BACKUP, Role.WITNESS);
  }

  void start(int i) {
    ReplicaConfig core = ReplicaConfig.builder(NodeId.of(i), membership)
        .electionTimeoutMillis(100).heartbeatIntervalMillis(20).leaseMillis(50)
        .clockDriftMax(0.01).catchUpTimeoutMillis(30).maxEntriesPerAppend(64)
        .randomSeed(7 + i).build();
    stores.put(i, new MapStore());
    nodes.put(i, NodeRuntime.start(core, config, ports.get(i), stores.get(i),
        (to, m) -> queue.add(m), () -> nowNanos[0], RuntimeListener.none()));
  }

  NodeRuntime<Long, String> n(int i) {
    return nodes.get(i);
  }

  void deliverAll() {
    for (int guard = 0; guard < 100_000 && !queue.isEmpty(); guard++) {
      Message m = queue.poll();
      if (!down.contains(m.to().value()) && !down.contains(m.from().value())) {
        n(m.to().value()).onMessage(m);
      }
    }
  }

  /** Advances time in 5 ms steps for {@code ms}, ticking every running node. */
  void run(long ms) {
    for (long t = 0; t < ms; t += 5) {
      nowNanos[0] += 5 * MS;
      for (int i = 0; i < nodes.size(); i++) {
        if (!down.contains(i)) {
          n(i).onTick();
          n(i).processQueued();
        }
      }
      deliverAll();
    }
  }

  /** Runs until node {@code i} leads and can serve (only it is ticked until then). */
  NodeRuntime<Long, String> electNode(int i) {
    for (int step = 0; step < 2000 && !(n(i).replica().status() == Status.LEADER
        && n(i).replica().commitIndex() >= 1); step++) {
      nowNanos[0] += 5 * MS;
      n(i).onTick();
      deliverAll();
    }
    if (n(i).replica().status() != Status.LEADER) {
      throw new AssertionError("n" + i + " not elected: " + n(i).replica());
    }
    run(100);
    return n(i);
  }

  static Command cmd(String key, String value) {
    return Command.of((key + "=" + value).getBytes(StandardCharsets.UTF_8),
        key.getBytes(StandardCharsets.UTF_8));
  }

  static byte[] key(String k) {
    return k.getBytes(StandardCharsets.UTF_8);
  }
}
