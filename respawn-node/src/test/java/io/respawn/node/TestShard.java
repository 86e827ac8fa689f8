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

  /**
   * key -> value; results are the index an entry was applied at. Takes snapshots when given a
   * place to keep them ({@code kept}, which outlives the store like a file would).
   */
  static final class MapStore implements StateMachineStore<Long> {
    final Map<String, String> values = new HashMap<>();
    long applied;
    final Map<Integer, io.respawn.node.snapshot.SnapshotImage> kept;
    final int id;
    long appliedCalls;
    /**
     * Fuzzy captures (as a shard member's walk while entries apply): an image is ready only
     * once this many more entries were applied, and says it may hold their effects.
     */
    long fuzzyAheadEntries;
    /** How far the node's effects are durable, asked when an image is kept; null: not checked. */
    java.util.function.LongSupplier compactable;
    /** For each kept image: its effects-through index and {@link #compactable} at keep. */
    final List<long[]> keeps = new ArrayList<>();

    MapStore() {
      this(null, -1);
    }

    MapStore(Map<Integer, io.respawn.node.snapshot.SnapshotImage> kept, int id) {
      this.kept = kept;
      this.id = id;
      if (kept != null && kept.get(id) instanceof MapImage image) {
        restore(image);
      }
    }

    /**
     * Image body: "key=value" lines, sorted (keys only: "key=?"), as of {@code effectsThroughIndex}
     * (the meta's index, or later for an image labelled below the applied index).
     */
    record MapImage(io.respawn.core.SnapshotMeta meta, boolean keysOnly, byte[] body,
        long effectsThroughIndex) implements io.respawn.node.snapshot.SnapshotImage {
      MapImage(io.respawn.core.SnapshotMeta meta, boolean keysOnly, byte[] body) {
        this(meta, keysOnly, body, meta.index());
      }

      @Override
      public long bodyBytes() {
        return body.length;
      }

      @Override
      public int bodyCrc32c() {
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(body);
        return (int) c.getValue();
      }

      @Override
      public void read(long offset, byte[] dst, int dstOff, int len) {
        System.arraycopy(body, (int) offset, dst, dstOff, len);
      }

      @Override
      public io.respawn.node.snapshot.SnapshotImage keysOnlyView() {
        StringBuilder b = new StringBuilder();
        for (String line : new String(body, StandardCharsets.UTF_8).split("\n")) {
          if (!line.isEmpty()) {
            b.append(line, 0, line.indexOf('=')).append("=?\n");
          }
        }
        return new MapImage(meta, true, b.toString().getBytes(StandardCharsets.UTF_8),
            effectsThroughIndex);
      }
    }

    private void restore(MapImage image) {
      values.clear();
      for (String line : new String(image.body(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.isEmpty()) {
          String[] kv = line.split("=", 2);
          values.put(kv[0], kv[1]);
        }
      }
      applied = image.meta().index();
    }

    @Override
    public io.respawn.node.snapshot.SnapshotImage captureSnapshot(io.respawn.core.SnapshotMeta m) {
      if (kept == null) {
        return null;
      }
      StringBuilder b = new StringBuilder();
      new java.util.TreeMap<>(values).forEach((k, v) -> b.append(k).append('=').append(v)
          .append('\n'));
      if (m.index() > applied) {
        throw new IllegalArgumentException("capture " + m + " beyond applied " + applied);
      }
      // labelled at the applied index, or below it on a witness: then fuzzy, effects to applied
      MapImage image = new MapImage(m, false, b.toString().getBytes(StandardCharsets.UTF_8),
          applied);
      return fuzzyAheadEntries == 0 ? image : new FuzzyImage(image, this,
          applied + fuzzyAheadEntries);
    }

    /** An image whose walk ends once the store applied {@code readyAt}. */
    record FuzzyImage(MapImage image, MapStore store, long readyAt)
        implements io.respawn.node.snapshot.SnapshotImage {
      @Override
      public io.respawn.core.SnapshotMeta meta() {
        return image.meta();
      }

      @Override
      public boolean keysOnly() {
        return false;
      }

      @Override
      public long bodyBytes() {
        return image.bodyBytes();
      }

      @Override
      public int bodyCrc32c() {
        return image.bodyCrc32c();
      }

      @Override
      public void read(long offset, byte[] dst, int dstOff, int len) {
        image.read(offset, dst, dstOff, len);
      }

      @Override
      public io.respawn.node.snapshot.SnapshotImage keysOnlyView() {
        return image.keysOnlyView();
      }

      @Override
      public long effectsThroughIndex() {
        return readyAt;
      }
    }

    @Override
    public boolean snapshotReady(io.respawn.node.snapshot.SnapshotImage image) {
      return !(image instanceof FuzzyImage f) || applied >= f.readyAt();
    }

    @Override
    public void keepSnapshot(io.respawn.node.snapshot.SnapshotImage image) {
      if (compactable != null) {
        keeps.add(new long[] {image.effectsThroughIndex(), compactable.getAsLong()});
      }
      kept.put(id, image instanceof FuzzyImage f ? f.image() : image);
    }

    @Override
    public io.respawn.node.snapshot.SnapshotImage keptSnapshot() {
      return kept == null ? null : kept.get(id);
    }

    @Override
    public io.respawn.node.snapshot.SnapshotSink stageSnapshot(io.respawn.core.SnapshotMeta m,
        boolean keysOnly, long bodyBytes) {
      java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
      return new io.respawn.node.snapshot.SnapshotSink() {
        @Override
        public void write(byte[] src, int off, int len) {
          out.write(src, off, len);
        }

        @Override
        public long bytes() {
          return out.size();
        }

        @Override
        public void abort() {
          out.reset();
        }

        @Override
        public String toString() {
          return (keysOnly ? "K" : "F") + out.toString(StandardCharsets.UTF_8);
        }
      };
    }

    @Override
    public void installSnapshot(io.respawn.core.SnapshotMeta m,
        io.respawn.node.snapshot.SnapshotSink staged) {
      String s = staged.toString();
      MapImage image = new MapImage(m, s.charAt(0) == 'K',
          s.substring(1).getBytes(StandardCharsets.UTF_8));
      restore(image);
      kept.put(id, image);
    }

    @Override
    public long appliedIndex() {
      return applied;
    }

    @Override
    public Long apply(Entry e) {
      applied = e.index();
      appliedCalls++;
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
  final Map<Integer, NodeRuntime<Long>> nodes = new HashMap<>();
  final Map<Integer, MemoryReplicaLog> logs = new HashMap<>();
  final Map<Integer, ReplicaLog> ports = new HashMap<>();
  final Map<Integer, MapStore> stores = new HashMap<>();
  final List<Integer> down = new ArrayList<>();
  final Membership membership;
  final RuntimeConfig config;
  /** Snapshot policy for nodes started from now on; images are kept in {@link #kept}. */
  io.respawn.node.snapshot.SnapshotPolicy policy = io.respawn.node.snapshot.SnapshotPolicy.OFF;
  final Map<Integer, io.respawn.node.snapshot.SnapshotImage> kept = new HashMap<>();
  private final java.util.function.UnaryOperator<ReplicaConfig.Builder> coreTweak;

  TestShard(RuntimeConfig config, Function<ReplicaLog, ReplicaLog> wrap, Role... roles) {
    this(config, wrap, io.respawn.node.snapshot.SnapshotPolicy.OFF, roles);
  }

  TestShard(RuntimeConfig config, Function<ReplicaLog, ReplicaLog> wrap,
      io.respawn.node.snapshot.SnapshotPolicy policy, Role... roles) {
    this(config, wrap, policy, b -> b, roles);
  }

  /** As above, with every node's core settings changed by {@code coreTweak}. */
  TestShard(RuntimeConfig config, Function<ReplicaLog, ReplicaLog> wrap,
      io.respawn.node.snapshot.SnapshotPolicy policy,
      java.util.function.UnaryOperator<ReplicaConfig.Builder> coreTweak, Role... roles) {
    this.config = config;
    this.policy = policy;
    this.coreTweak = coreTweak;
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
    ReplicaConfig core = coreTweak.apply(ReplicaConfig.builder(NodeId.of(i), membership)
        .electionTimeoutMillis(100).heartbeatIntervalMillis(20).leaseMillis(50)
        .clockDriftMax(0.01).catchUpTimeoutMillis(30).maxEntriesPerAppend(64)
        .randomSeed(7 + i)).build();
    stores.put(i, policy.enabled() ? new MapStore(kept, i) : new MapStore());
    nodes.put(i, NodeRuntime.start(core, config, ports.get(i), stores.get(i),
        (to, m) -> queue.add(m), () -> nowNanos[0], RuntimeListener.none(), policy));
  }

  NodeRuntime<Long> n(int i) {
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
  NodeRuntime<Long> electNode(int i) {
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
}
