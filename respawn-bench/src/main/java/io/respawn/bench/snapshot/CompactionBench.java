package io.respawn.bench.snapshot;

import io.respawn.core.Membership;
import io.respawn.core.Message;
import io.respawn.core.NodeId;
import io.respawn.core.ReplicaConfig;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.node.NodeRuntime;
import io.respawn.node.RuntimeConfig;
import io.respawn.node.RuntimeListener;
import io.respawn.node.log.ReplicaLogConfig;
import io.respawn.node.log.SegmentedReplicaLog;
import io.respawn.node.snapshot.SnapshotPolicy;
import io.respawn.storage.Durability;
import io.respawn.storage.FileChannelDisk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code respawn bench compaction}: bounded disk and restart time under log compaction, for the
 * replication runtime. A 1+1+1 shard of {@code NodeRuntime}s in one process (the core, the
 * runtime, the segmented replica log on real files, snapshot images as files) takes {@code
 * --writes} overwrites of {@code --keys} keys; then each member's disk (replica log plus kept
 * image) is compared with its live data, and the backup is restarted: the time to open its log
 * and image and to replay the log tail until it has applied the leader's commit index.
 *
 * <p>What it does not cover: the shard server's stores (the storage engine, the backup store,
 * the witness table), which do not take snapshots yet; their own disk use is the engine's
 * compaction's business (docs/storage.md).
 */
@Command(name = "compaction", mixinStandardHelpOptions = true,
    description = "Disk use and restart time of replicas under log compaction (in-process shard).")
public final class CompactionBench implements Callable<Integer> {

  @Option(names = "--writes", defaultValue = "10000000", description = "Overwrites in all.")
  long writes;

  @Option(names = "--keys", defaultValue = "100000", description = "Distinct keys.")
  int keys;

  @Option(names = "--value-bytes", defaultValue = "100", description = "Bytes per value.")
  int valueBytes;

  @Option(names = "--snapshot-entries", defaultValue = "100000",
      description = "Snapshot every this many applied entries.")
  long snapshotEntries;

  @Option(names = "--tail-entries", defaultValue = "10000",
      description = "Entries kept behind a snapshot.")
  long tailEntries;

  @Option(names = "--segment-bytes", defaultValue = "16777216",
      description = "Replica log segment size.")
  long segmentBytes;

  @Option(names = "--batch", defaultValue = "1000", description = "Writes proposed per pass.")
  int batch;

  static final long TICK_NANOS = 5_000_000L;

  private final ArrayDeque<Message> queue = new ArrayDeque<>();
  private final List<NodeRuntime<Void>> nodes = new ArrayList<>();
  private final List<FileImageStore> stores = new ArrayList<>();
  private final List<SegmentedReplicaLog> logs = new ArrayList<>();
  private Membership membership;
  private Path root;
  private long lastTickNanos;

  @Override
  public Integer call() throws Exception {
    root = Files.createTempDirectory("respawn-compaction-bench");
    membership = Membership.of(Membership.Member.voter(0, Role.PRIMARY),
        Membership.Member.voter(1, Role.BACKUP), Membership.Member.voter(2, Role.WITNESS));
    for (int i = 0; i < 3; i++) {
      nodes.add(null);
      stores.add(null);
      logs.add(null);
      start(i);
    }
    elect();
    long t0 = System.nanoTime();
    SplittableRandom rnd = new SplittableRandom(1);
    byte[] value = new byte[valueBytes];
    long proposed = 0;
    while (proposed < writes) {
      int n = (int) Math.min(batch, writes - proposed);
      for (int j = 0; j < n; j++) {
        rnd.nextBytes(value);
        byte[] key = ("key:" + rnd.nextInt(keys)).getBytes(StandardCharsets.UTF_8);
        nodes.get(0).propose(io.respawn.core.Command.of(value.clone(), key), Durability.ORDERED);
      }
      proposed += n;
      pass();
      while (nodes.get(0).proposalsInFlight() > 4 * batch) {
        pass();
      }
    }
    while (nodes.get(0).proposalsInFlight() > 0) {
      pass();
    }
    for (int i = 0; i < 200; i++) {
      pass(); // let durability, snapshots and compaction settle
    }
    double secs = (System.nanoTime() - t0) / 1e9;
    System.out.printf("%,d writes of %,d keys (%d-byte values) in %.1f s: %,.0f writes/s%n",
        writes, keys, valueBytes, secs, writes / secs);
    System.out.println("member   role     log-bytes  image-bytes  live-bytes  bound(3x live + 2 seg)"
        + "  first-index  snapshots");
    boolean ok = true;
    for (int i = 0; i < 3; i++) {
      long logBytes = dirBytes(root.resolve("n" + i + "/log"));
      long imageBytes = dirBytes(root.resolve("n" + i + "/image"));
      long live = stores.get(i).liveBytes();
      long bound = 3 * live + 2 * segmentBytes;
      ok &= logBytes + imageBytes <= bound;
      System.out.printf("n%d       %-8s %,10d  %,11d  %,10d  %,22d  %,11d  %,9d%n", i,
          membership.role(NodeId.of(i)), logBytes, imageBytes, live, bound,
          nodes.get(i).log().firstIndex(), nodes.get(i).snapshotsKept());
    }
    // restart the backup: open log and image, replay the tail until it caught up
    long commit = nodes.get(0).replica().commitIndex();
    logs.get(1).close();
    long r0 = System.nanoTime();
    start(1);
    long opened = System.nanoTime();
    long replayFrom = stores.get(1).appliedIndex();
    while (stores.get(1).appliedIndex() < commit) {
      pass();
    }
    long r1 = System.nanoTime();
    System.out.printf("restart of n1: log and image opened in %.0f ms, %,d entries replayed to"
        + " index %,d in %.0f ms; total %.0f ms%n", (opened - r0) / 1e6, commit - replayFrom,
        commit, (r1 - opened) / 1e6, (r1 - r0) / 1e6);
    System.out.println(ok ? "disk bound holds on every member" : "DISK BOUND EXCEEDED");
    for (SegmentedReplicaLog l : logs) {
      l.close();
    }
    io.respawn.server.shard.ShardMember.deleteTree(root);
    return ok ? 0 : 1;
  }

  private void start(int i) throws IOException {
    Path dir = root.resolve("n" + i);
    Files.createDirectories(dir.resolve("log"));
    Files.createDirectories(dir.resolve("image"));
    ReplicaConfig core = ReplicaConfig.builder(NodeId.of(i), membership)
        .electionTimeoutMillis(1000).heartbeatIntervalMillis(50).leaseMillis(500)
        .clockDriftMax(0.01).catchUpTimeoutMillis(300).maxEntriesPerAppend(4096)
        .randomSeed(11 + i).build();
    SegmentedReplicaLog log = SegmentedReplicaLog.open(new FileChannelDisk(dir.resolve("log")),
        ReplicaLogConfig.defaults().withSizes(segmentBytes, 4 << 20));
    FileImageStore store = new FileImageStore(dir.resolve("image"));
    SnapshotPolicy policy = new SnapshotPolicy(snapshotEntries, tailEntries, 1 << 20, 4,
        256L << 20, 500, 1L << 40);
    logs.set(i, log);
    stores.set(i, store);
    nodes.set(i, NodeRuntime.start(core, RuntimeConfig.defaults().withFlushIntervalMillis(20)
            .withProposalLimits(batch * 8, batch * 16, batch), log, store,
        (to, m) -> queue.add(m), System::nanoTime, RuntimeListener.none(), policy));
  }

  private void elect() {
    for (int k = 0; k < 100_000 && !(nodes.get(0).replica().status() == Status.LEADER
        && nodes.get(0).replica().commitIndex() > 0); k++) {
      nodes.get(0).onTick();
      deliver();
      Thread.onSpinWait();
    }
    if (nodes.get(0).replica().status() != Status.LEADER) {
      throw new IllegalStateException("n0 was not elected");
    }
  }

  /** One loop pass: deliver, end the pass on every node, tick every 5 ms. */
  private void pass() {
    deliver();
    long now = System.nanoTime();
    boolean tick = now - lastTickNanos >= TICK_NANOS;
    if (tick) {
      lastTickNanos = now;
    }
    for (NodeRuntime<Void> n : nodes) {
      n.processQueued();
      if (tick) {
        n.onTick();
      }
    }
    deliver();
  }

  private void deliver() {
    while (!queue.isEmpty()) {
      Message m = queue.poll();
      nodes.get(m.to().value()).onMessage(m);
    }
  }

  private static long dirBytes(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

}
