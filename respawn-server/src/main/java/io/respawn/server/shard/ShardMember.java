package io.respawn.server.shard;

import io.respawn.node.recovery.RecoveryMode;
import io.respawn.core.MemberReplacement;
import io.respawn.core.NodeId;
import io.respawn.core.ReplicaConfig;
import io.respawn.core.Role;
import io.respawn.core.Status;
import io.respawn.node.NodeRuntime;
import io.respawn.node.RuntimeConfig;
import io.respawn.node.RuntimeListener;
import io.respawn.node.log.ReplicaLogConfig;
import io.respawn.node.log.SegmentedReplicaLog;
import io.respawn.server.DataDirLock;
import io.respawn.server.RespawnServer;
import io.respawn.server.ServerConfig;
import io.respawn.server.command.ReplicaLine;
import io.respawn.server.peer.PeerConfig;
import io.respawn.server.peer.PeerLinkStatus;
import io.respawn.server.peer.PeerTransport;
import io.respawn.node.recovery.ValuePull;
import io.respawn.server.resp.RespLimits;
import io.respawn.server.shard.ShardConfig.MemberAddress;
import io.respawn.server.shard.ShardView.MemberView;
import io.respawn.storage.Durability;
import io.respawn.storage.FileChannelDisk;
import io.respawn.storage.KvStore;
import io.respawn.storage.MemoryKvStore;
import io.respawn.storage.StorageConfig;
import io.respawn.storage.backup.BackupConfig;
import io.respawn.storage.backup.BackupKvStore;
import io.respawn.storage.backup.BackupStore;
import io.respawn.storage.backup.PopularitySampler;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One member of a replicated shard in one process: its replica log ({@code DATA/replica}), its
 * state machine (values in memory, a {@link MemoryKvStore}, keys known only by timestamp — a
 * witness's whole state while it follows — in an off-heap table; both rebuilt on every start from
 * the kept snapshot image and the replica log after it), the peer transport, the {@link NodeLoop} that drives the runtime, and the RESP server
 * whose commands go through a {@link ReplicatedStore} and answer as a Redis Cluster node.
 *
 * <p>A member whose configured role is BACKUP keeps its values in a {@link BackupStore} in
 * {@code DATA/backup} instead (DESIGN §3: values on disk, only an index in DRAM). That store is
 * not rebuilt on start but recovered, and kept when the replica log this member restarts with
 * holds the newest entry it recovered (same index, same term: the same entry); the runtime then
 * hands over only the entries after it. Otherwise (the store is ahead of the log, possible only
 * after a machine crash cut the log's unflushed tail while the store's writeback had made more
 * durable) it is deleted and rebuilt from the log like any other role's state. Why keep it: a
 * backup holds every value of the shard, and re-applying the whole log would rewrite all of them
 * through the buffer on every restart. Acknowledgements do not rest on this store: a member's
 * flushed index (what WAIT, WAITAOF and DURABLE writes count) is its replica log's, which holds
 * full entries on a backup; the store only has to be a prefix of that log, which the check on
 * start keeps true.
 *
 * <p>In a shard with a BACKUP member, every member refuses values larger than the backup store
 * takes ({@link BackupConfig#valueBytesMax}), so that a write the primary accepts never stops a
 * backup.
 *
 * <p>{@link #start} brings them up in that order; {@link #close} takes them down in reverse.
 */
public final class ShardMember implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ShardMember.class);

  /**
   * System property naming a deliberately broken protocol variant ({@link
   * io.respawn.core.Variant}, e.g. {@code read-after-lease}) for this member to run: how the
   * fault campaign ({@code respawn bench faults --broken-variant}) shows that its checker catches
   * on real processes what the variant breaks. Never for a store that holds data.
   */
  public static final String BROKEN_VARIANT_PROPERTY = "respawn.brokenVariant";

  private static io.respawn.core.Variant brokenVariant(ShardConfig config) {
    String spelled = System.getProperty(BROKEN_VARIANT_PROPERTY);
    if (spelled == null || spelled.isBlank()) {
      return io.respawn.core.Variant.CORRECT;
    }
    io.respawn.core.Variant v = io.respawn.core.Variant.parse(spelled);
    if (v != io.respawn.core.Variant.CORRECT) {
      log.warn("member {} runs the deliberately broken protocol variant {} (-D{}): it may lose "
          + "acknowledged writes or answer stale reads; for the fault campaign's teeth only",
          config.self().value(), v, BROKEN_VARIANT_PROPERTY);
    }
    return v;
  }
  static final String REPLICA_DIR = "replica";
  static final String STATE_DIR = "state";
  static final String BACKUP_DIR = "backup";
  /** Scratch stores of the takeover rehearsal ({@link TakeoverRehearsal}), deleted after it. */
  static final String REHEARSAL_DIR = "rehearsal";
  static final int MAX_ENTRIES_PER_APPEND = 1024;
  /**
   * Whether the member serves its clients, executes their commands and runs its node loop (peer
   * connections included) on one event loop: a write then crosses no thread between the command
   * that proposes it, the AppendEntries that carries it and the reply that acknowledges it.
   * {@code -Drespawn.sharedLoop=false} gives the node loop a thread of its own (for comparisons).
   */
  static final boolean SHARED_LOOP =
      Boolean.parseBoolean(System.getProperty("respawn.sharedLoop", "true"));

  private final ShardConfig config;
  private final DataDirLock lock;
  /** The watch of the config file's spare lines ({@link #watchSpareLines}), or null. */
  private volatile SparePoolWatch spareWatch;
  private final SegmentedReplicaLog replicaLog;
  private final KvStore stateStore;
  private final EngineStateMachine stateMachine;
  private final PeerTransport transport;
  /** Members' Redis-style node names (a SHA-1 each), by id: the view is built often. */
  private final java.util.concurrent.ConcurrentHashMap<Integer, String> nodeNames =
      new java.util.concurrent.ConcurrentHashMap<>();
  private final NodeLoop loop;
  /** Runs the replica log's fsyncs (see SegmentedReplicaLog.flushAsynchronously). */
  private final java.util.concurrent.ExecutorService fsyncThread;
  private final RespawnServer server;
  /** Every member's addresses, as the current membership names them. */
  private final MemberDirectory directory;
  /** How long the last start took, phase by phase (INFO respawn_restart_*). */
  private final RestartPhases restartPhases;
  /** The event loop shared by clients and the node loop ({@link #SHARED_LOOP}), or null. */
  private final io.netty.channel.EventLoopGroup sharedLoop;

  private ShardMember(ShardConfig config, DataDirLock lock, SegmentedReplicaLog replicaLog,
      KvStore stateStore, EngineStateMachine stateMachine, PeerTransport transport,
      NodeLoop loop, RespawnServer server, MemberDirectory directory,
      java.util.concurrent.ExecutorService fsyncThread, RestartPhases restartPhases,
      io.netty.channel.EventLoopGroup sharedLoop) {
    this.fsyncThread = fsyncThread;
    this.sharedLoop = sharedLoop;
    this.restartPhases = restartPhases;
    this.config = config;
    this.lock = lock;
    this.replicaLog = replicaLog;
    this.stateStore = stateStore;
    this.stateMachine = stateMachine;
    this.transport = transport;
    this.loop = loop;
    this.server = server;
    this.directory = directory;
  }

  public static ShardMember start(ShardConfig config, RespLimits limits)
      throws IOException, InterruptedException {
    RestartPhases phases = new RestartPhases();
    long openStart = System.nanoTime();
    Path data = config.dataDir();
    Files.createDirectories(data);
    DataDirLock lock = DataDirLock.acquire(data);
    List<AutoCloseable> opened = new ArrayList<>();
    try {
      SegmentedReplicaLog replicaLog = SegmentedReplicaLog.open(
          new FileChannelDisk(Files.createDirectories(data.resolve(REPLICA_DIR))),
          ReplicaLogConfig.defaults());
      opened.add(replicaLog);
      MemberImages images = MemberImages.open(data.resolve(MemberImages.DIR));
      opened.add(images);
      // The state of a member that is not a backup is rebuilt on every start from the kept image
      // and the replica log, so it lives in memory only (MemoryKvStore): no second log of every
      // write, no reserve file written and fsynced on every start, no disk. DATA/state is where
      // earlier versions kept an engine log nobody read back; removed if found.
      deleteTree(data.resolve(STATE_DIR));
      StorageConfig stateConfig = StorageConfig.defaults();
      BackupConfig backupConfig = config.backup().toConfig();
      if (config.members().values().stream().anyMatch(m -> m.role() == Role.BACKUP)) {
        stateConfig = stateConfig.withSizes(stateConfig.segmentBytesMax(),
            stateConfig.batchBytesMax(),
            Math.min(stateConfig.keyBytesMax(), backupConfig.keyBytesMax()),
            Math.min(stateConfig.valueBytesMax(), backupConfig.valueBytesMax()));
      }
      KvStore engine;
      EngineStateMachine stateMachine;
      ImageFile kept = images.kept();
      if (config.me().role() == Role.BACKUP) {
        BackupKvStore backup = openBackup(data.resolve(BACKUP_DIR), backupConfig, replicaLog,
            kept);
        opened.add(backup);
        engine = backup;
        long resumeAt = backup.lastApplied().index();
        stateMachine = (resumeAt > 0 ? EngineStateMachine.resumingAt(backup, resumeAt)
            : new EngineStateMachine(backup)).withImages(images, false);
        phases.opened((System.nanoTime() - openStart) / 1_000_000);
        if (resumeAt == 0 && kept != null) {
          restore(stateMachine, kept, phases);
        }
      } else {
        engine = new MemoryKvStore(stateConfig);
        opened.add(engine);
        stateMachine = new EngineStateMachine(engine)
            .withImages(images, config.me().role() == Role.WITNESS);
        phases.opened((System.nanoTime() - openStart) / 1_000_000);
        if (kept != null) {
          restore(stateMachine, kept, phases);
        }
      }
      opened.add(stateMachine);
      phases.tail(stateMachine.appliedIndex(), replicaLog.lastIndex());
      stateMachine.withRestartPhases(phases);
      if (kept != null) {
        log.info("snapshot image at index {} (term {}, {} body bytes) opened; state at index {}; "
            + "the replica log holds entries {}..{}", kept.meta().index(), kept.meta().term(),
            kept.bodyBytes(), stateMachine.appliedIndex(), replicaLog.firstIndex(),
            replicaLog.lastIndex());
      }
      MemberAddress me = config.me();
      AtomicReference<NodeLoop> loopRef = new AtomicReference<>();
      PeerConfig peerConfig = PeerConfig.of(config.clusterId(), config.self(),
          new InetSocketAddress(config.bindHost(), me.peer().getPort()),
          config.peerAddresses(), config.secret());
      PeerTransport transport = new PeerTransport(peerConfig, m -> {
        NodeLoop l = loopRef.get();
        if (l != null) {
          l.offer(m);
        }
      });
      ReplicaConfig core = ReplicaConfig.builder(config.self(), config.membership())
          .electionTimeoutMillis(config.electionTimeoutMillis())
          .heartbeatIntervalMillis(config.heartbeatIntervalMillis())
          .leaseMillis(config.leaseMillis())
          .phi(config.phi())
          .takeover(config.takeover())
          .speculativeSilenceMillis(config.speculativeSilenceMillis())
          .standInAfterMillis(config.standInAfterMillis())
          // Larger batches let a member that restarted behind catch up in a few round trips.
          .maxEntriesPerAppend(MAX_ENTRIES_PER_APPEND)
          .logCacheBytesMax(config.snapshot().logCacheBytes())
          .randomSeed(System.nanoTime() ^ config.self().value())
          .variant(brokenVariant(config))
          .build();
      NodeLoop loop = new NodeLoop(config.self(), t -> NodeRuntime.start(core,
          RuntimeConfig.defaults(), replicaLog, stateMachine, t, System::nanoTime,
          new SnapshotEvents(images.stats()), config.snapshot().toPolicy()), transport,
          stateMachine, config.recovery());
      loopRef.set(loop);
      // Replicas acknowledge once written (ORDERED): the loop never waits for an fsync of the
      // replica log, so acknowledgements and heartbeats keep flowing while the disk syncs.
      java.util.concurrent.ExecutorService fsyncThread =
          java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "respawn-replica-fsync");
            t.setDaemon(true);
            return t;
          });
      opened.add(fsyncThread);
      replicaLog.flushAsynchronously(fsyncThread, loop::flushed);
      MemberDirectory directory = new MemberDirectory(config);
      loop.membershipListener(m -> transport.updatePeers(directory.update(m)));
      PopularitySampler sampler = new PopularitySampler(config.backup().sampleProbability(),
          ValuePull.REPORT_HASHES_MAX, BackupSettings.SAMPLES_PER_REPORT_MIN,
          System.nanoTime() ^ config.self().value());
      if (!config.spares().members().isEmpty()) {
        loop.replaceSilentMembers(new SpareReplacements(sparePolicy(config, config.spares()),
            spentSparesFile(config)));
      }
      loop.reportPopularity(new PopularityReports(config.self(), sampler,
          config.backup().reportIntervalMillis() * 1_000_000L, stateMachine,
          transport::sendPull));
      io.netty.channel.EventLoopGroup shared = SHARED_LOOP ? RespawnServer.newIoGroup(1) : null;
      if (shared != null) {
        opened.add(() -> shutDown(shared));
        transport.start(RespawnServer.commandThread(shared));
      } else {
        transport.start();
      }
      opened.add(transport);
      loop.start();
      opened.add(loop);
      // A witness (the next primary) and a backup (which answers its pulls) compile the value
      // recovery's code now, on scratch stores, rather than while clients wait after a kill.
      deleteTree(data.resolve(REHEARSAL_DIR)); // one a crash left behind
      if (config.rehearseTakeover()
          && (config.me().role() == Role.WITNESS || config.me().role() == Role.BACKUP)) {
        TakeoverRehearsal.startInBackground(data.resolve(REHEARSAL_DIR), backupConfig,
            stateConfig, config.me().role() == Role.WITNESS);
      }
      ReplicatedStore store = new ReplicatedStore(engine, loop, sampler, core.variant());
      store.pendingValues(stateMachine::isUnknown);
      ShardMember[] self = new ShardMember[1];
      ServerConfig serverConfig = new ServerConfig(config.bindHost(), me.resp().getPort(), data,
          Durability.ORDERED, null, limits, 1, stateConfig);
      RespawnServer server = RespawnServer.start(serverConfig, dir -> store,
          d -> {
            d.enableCluster(() -> self[0].view(), () -> self[0].servingHere(),
                () -> self[0].info());
            d.enablePendingValues(new io.respawn.server.command.PendingValues() {
              @Override
              public boolean any() {
                return stateMachine.unknownKeyCount() > 0;
              }

              @Override
              public boolean pending(byte[] key) {
                return stateMachine.isUnknown(key);
              }

              @Override
              public java.util.concurrent.CompletableFuture<Void> pull(List<byte[]> keys) {
                return loop.pullNow(keys);
              }
            });
            d.enableShardControl(new io.respawn.server.command.ShardControl() {
              @Override
              public java.util.concurrent.CompletableFuture<String> handOver() {
                return self[0].handOverOnRequest();
              }

              @Override
              public java.util.concurrent.CompletableFuture<MemberReply> member(String op, int id,
                  String role, String resp, String peer) {
                return self[0].memberOnRequest(op, id, role, resp, peer);
              }

              @Override
              public java.util.concurrent.CompletableFuture<ReplicaAcks> awaitReplicas(
                  long localMin, long replicasMin, boolean flushed, long timeoutMillis) {
                return loop.awaitReplicas(localMin, replicasMin, flushed, timeoutMillis);
              }
            });
          }, null, shared);
      ShardMember member = new ShardMember(config, lock, replicaLog, engine, stateMachine,
          transport, loop, server, directory, fsyncThread, phases, shared);
      self[0] = member;
      phases.serving();
      log.info("member {} ({}) of shard '{}' serving RESP on {}:{}, peers on {}",
          config.self(), me.role(), config.clusterId(), config.bindHost(), server.port(),
          transport.localAddress());
      log.info("restart: {}", phases.startLine());
      return member;
    } catch (IOException | RuntimeException | InterruptedException e) {
      for (int i = opened.size() - 1; i >= 0; i--) {
        try {
          opened.get(i).close();
        } catch (Exception ignored) {
          // closing what half-started
        }
      }
      lock.close();
      throw e;
    }
  }

  /**
   * Whether this member is the primary and holds its read lease now: what {@link #view} says
   * with {@code selfIsPrimary() && selfServing()}, without building the view (every data command
   * asks).
   */
  boolean servingHere() {
    return config.self().equals(loop.snapshot().leader()) && loop.mayServeReads();
  }

  /** The shard as this member sees it now. */
  ShardView view() {
    NodeLoop.Snapshot s = loop.snapshot();
    Map<NodeId, PeerLinkStatus> links = links();
    long now = System.nanoTime();
    List<MemberView> members = new ArrayList<>();
    int selfIndex = 0;
    int primary = -1;
    List<MemberAddress> ordered = directory.ordered();
    for (int i = 0; i < ordered.size(); i++) {
      MemberAddress m = ordered.get(i);
      boolean isSelf = m.id().equals(config.self());
      if (isSelf) {
        selfIndex = i;
      }
      if (m.id().equals(s.leader())) {
        primary = i;
      }
      String name = nodeNames.computeIfAbsent(m.id().value(),
          id -> ShardView.nodeName(config.clusterId(), id));
      PeerLinkStatus link = links.get(m.id());
      boolean up = isSelf || (link != null && link.connected());
      members.add(new MemberView(name,
          m.resp().getHostString(), m.resp().getPort(), m.peer().getPort(), m.role(), up,
          !up && link != null && outOfReach(link, now)));
    }
    long toLoad = s.recovering() && config.recovery() == RecoveryMode.OFFLINE
        ? stateMachine.unknownKeyCount() : 0;
    return new ShardView(selfIndex, primary, s.term(), members, loop.mayServeReads(), toLoad);
  }

  /**
   * The other members this primary has a link to now, with the last log index it knows each
   * holds ({@link NodeLoop#peerProgress}, at most 100 ms old); empty when it does not lead.
   */
  private List<ReplicaLine> replicaLines() {
    Map<NodeId, Long> match = loop.peerProgress().matchIndex();
    Map<NodeId, PeerLinkStatus> links = links();
    List<ReplicaLine> lines = new ArrayList<>();
    for (Map.Entry<NodeId, Long> e : match.entrySet()) {
      MemberAddress m = directory.get(e.getKey());
      PeerLinkStatus link = links.get(e.getKey());
      if (m != null && link != null && link.connected()) {
        lines.add(new ReplicaLine(m.resp().getHostString(), m.resp().getPort(), e.getValue(), 0,
            roleNow(m.role(), false)));
      }
    }
    return lines;
  }

  /** The policy that replaces silent members by {@code spares} on this member when it leads. */
  static MemberReplacement sparePolicy(ShardConfig config, ShardConfig.Spares spares) {
    return new MemberReplacement(targets(config), spares.asMembers(),
        spares.replaceAfterMillis() * 1_000_000L, io.respawn.core.Variant.CORRECT);
  }

  private static java.nio.file.Path spentSparesFile(ShardConfig config) {
    return config.dataDir().resolve("spares-spent");
  }

  /**
   * Re-reads {@code configFile} (the file this member started from) every second for its spare
   * lines from now on ({@link SparePoolWatch}): an operator refills the spare pool by starting a
   * new spare and adding its {@code spare.N} line to the members' files, without restarts.
   */
  public synchronized void watchSpareLines(java.nio.file.Path configFile) {
    if (spareWatch != null) {
      throw new IllegalStateException("the spare lines of " + configFile + " are watched already");
    }
    SparePoolWatch w = new SparePoolWatch(configFile, config,
        policy -> loop.offer(new NodeLoop.SparePool(policy, spentSparesFile(config))));
    spareWatch = w.start();
  }

  /**
   * The voters of each class the shard keeps: the voters of its member lines, which leave out
   * this member's own when it joins (a spare or an added member takes the place of one that left).
   */
  static MemberReplacement.Targets targets(ShardConfig config) {
    return MemberReplacement.Targets.of(config.membership());
  }

  /**
   * What a member does now, as INFO names it: the leader is the primary; a full-copy member that
   * does not lead (the configured primary after a failover) is a standby; the others keep their
   * configured role.
   */
  private static String roleNow(Role configured, boolean leading) {
    return leading ? "primary" : configured == Role.PRIMARY ? "standby"
        : configured.name().toLowerCase(java.util.Locale.ROOT);
  }

  /**
   * Whether {@code link}'s peer is known to be out of this member's reach: its dials fail, or it
   * refuses this member as not a member ({@link RemovalWatch#refusedLately}).
   */
  private static boolean outOfReach(PeerLinkStatus link, long nowNanos) {
    return link.dialFailing()
        || RemovalWatch.refusedLately(link.refusedAsNonMemberLastNanos(), nowNanos);
  }

  /** This member's link to each peer, as it is now. */
  private Map<NodeId, PeerLinkStatus> links() {
    Map<NodeId, PeerLinkStatus> links = new TreeMap<>();
    for (PeerLinkStatus l : transport.links()) {
      links.put(l.peer(), l);
    }
    return links;
  }

  /** INFO fields of a shard member. */
  Map<String, Map<String, Object>> info() {
    NodeLoop.Snapshot s = loop.snapshot();
    boolean leading = s.status() == Status.LEADER;
    Map<String, Map<String, Object>> out = new LinkedHashMap<>();
    Map<String, Object> repl = new LinkedHashMap<>();
    repl.put("role", leading ? "master" : "slave");
    MemberAddress primary = s.leader() == null ? null : directory.get(s.leader());
    if (!leading && primary != null) {
      repl.put("master_host", primary.resp().getHostString());
      repl.put("master_port", primary.resp().getPort());
      repl.put("master_link_status", view().primaryMember() != null ? "up" : "down");
      repl.put("slave_repl_offset", s.lastIndex());
    }
    if (leading) {
      List<ReplicaLine> replicas = replicaLines();
      repl.put("connected_slaves", replicas.size());
      for (int i = 0; i < replicas.size(); i++) {
        repl.put("slave" + i, replicas.get(i));
      }
    }
    repl.put("master_repl_offset", s.lastIndex());
    repl.put("respawn_role", roleNow(config.me().role(), leading));
    repl.put("respawn_config_role", config.me().role().name().toLowerCase(java.util.Locale.ROOT));
    out.put("replication", repl);
    Map<String, Object> shard = new LinkedHashMap<>();
    shard.put("respawn_cluster_id", config.clusterId());
    shard.put("respawn_node_id", config.self().value());
    shard.put("respawn_status", s.status().name().toLowerCase(java.util.Locale.ROOT));
    shard.put("respawn_term", s.term());
    shard.put("respawn_voting", s.membership().isVoter(config.self()) ? 1 : 0);
    shard.put("respawn_members", s.membership().nodes().size());
    shard.put("respawn_commit_index", s.commitIndex());
    shard.put("respawn_applied_index", s.appliedIndex());
    shard.put("respawn_last_index", s.lastIndex());
    shard.put("respawn_durable_index", s.durableIndex());
    shard.put("respawn_log_flushed_index", s.logFlushedIndex());
    shard.put("respawn_log_flush_in_flight", s.flushInFlight() ? 1 : 0);
    shard.put("respawn_flushed_index", s.coreFlushedIndex());
    long leaseLeft = s.servingUntilNanos() == Long.MIN_VALUE ? 0
        : Math.max(0, (s.servingUntilNanos() - System.nanoTime()) / 1_000_000);
    shard.put("respawn_lease_remaining_ms", leaseLeft);
    shard.put("respawn_takeover", config.takeover().spelling());
    shard.put("respawn_speculative_silence_ms", Long.toString(config.speculativeSilenceMillis()));
    shard.put("respawn_stand_in_after_ms", config.standInAfterMillis());
    shard.put("respawn_stand_ins", loop.standIns().isEmpty() ? "none" : loop.standIns());
    shard.put("respawn_stand_ins_started", loop.standInsStarted());
    shard.put("respawn_stand_ins_ended", loop.standInsEnded());
    shard.put("respawn_stand_in_hand_backs", loop.handBacksStarted());
    shard.put("respawn_stand_in_hand_backs_cancelled", loop.handBacksCancelled());
    shard.put("respawn_stand_ins_moved", loop.standInsMoved());
    SpareReplacements spares = loop.spareReplacements();
    shard.put("respawn_spares_left", spares == null ? 0 : spares.sparesLeft());
    shard.put("respawn_spares_added", spares == null ? 0 : spares.sparesAdded());
    shard.put("respawn_members_replaced", spares == null ? 0 : spares.membersReplaced());
    shard.put("respawn_replace_after_ms", spares == null ? config.spares().replaceAfterMillis()
        : spares.replaceAfterMillis());
    shard.put("respawn_leader_suspicion",
        s.leaderSuspicion().name().toLowerCase(java.util.Locale.ROOT));
    shard.put("respawn_suspicion_episodes", s.suspicionEpisodes());
    shard.put("respawn_primary", primary == null ? "none"
        : primary.resp().getHostString() + ":" + primary.resp().getPort());
    shard.put("respawn_recovering", s.recovering() ? 1 : 0);
    shard.put("respawn_keys_pulled", s.keysPulled());
    shard.putAll(loop.recoveryInfo());
    shard.put("respawn_keys_unknown", stateMachine.unknownKeyCount());
    shard.put("respawn_keys_unknown_bytes", stateMachine.unknownKeyBytes());
    shard.put("respawn_pull_keys_answered", loop.pullKeysAnswered());
    PopularityReports popularity = loop.popularity();
    if (popularity != null) {
      shard.put("respawn_popularity_reports_sent", popularity.reportsSent());
      shard.put("respawn_popularity_reports_skipped_recovering",
          popularity.reportsSkippedRecovering());
      shard.put("respawn_popularity_reports_received", popularity.reportsReceived());
      shard.put("respawn_popularity_hashes_received", popularity.hashesReceived());
    }
    shard.putAll(stateMachine.snapshotInfo());
    shard.putAll(restartPhases.info());
    shard.put("respawn_proposals_refused", loop.proposalsRefused());
    shard.put("respawn_peer_handshakes_refused", transport.stats().handshakesRefused());
    shard.put("respawn_peer_frames_corrupt", transport.stats().framesCorrupt());
    shard.put("respawn_peer_messages_sent", loop.peerMessagesSent());
    shard.put("respawn_peer_acks_coalesced", loop.peerAcksCoalesced());
    for (PeerLinkStatus l : transport.links()) {
      // one line per outbound link, in the style of Redis's slaveN lines
      shard.put("respawn_peer_link_" + l.peer().value(), "up=" + (l.connected() ? 1 : 0)
          + ",queued_messages=" + l.queuedMessages() + ",queued_bytes=" + l.queuedBytes()
          + ",sent=" + l.sent() + ",dropped=" + l.dropped() + ",connects=" + l.connects());
    }
    if (stateStore instanceof BackupKvStore backup) {
      shard.putAll(backupInfo(backup.backup()));
    }
    out.put("shard", shard);
    out.put("cluster", new LinkedHashMap<>(Map.of("cluster_enabled", 1)));
    return out;
  }

  /** INFO shard fields of a backup member: where its values are and how its storage keeps up. */
  static Map<String, Object> backupInfo(BackupStore store) {
    io.respawn.storage.backup.BackupStats st = store.stats();
    long[] places = store.liveKeysByPlace();
    Map<String, Object> b = new LinkedHashMap<>();
    b.put("respawn_backup_keys", places[0] + places[1] + places[2]);
    b.put("respawn_backup_keys_buffer", places[0]);
    b.put("respawn_backup_keys_hot", places[1]);
    b.put("respawn_backup_keys_cold", places[2]);
    b.put("respawn_backup_tombstones", st.tombstones());
    b.put("respawn_backup_index_bytes", st.indexOffHeapBytes());
    b.put("respawn_backup_buffer_ring_bytes", st.ringBytes());
    b.put("respawn_backup_buffer_used_bytes", st.bufferUsedBytes());
    b.put("respawn_backup_buffer_high_water_bytes", st.bufferHighWaterBytes());
    b.put("respawn_backup_buffer_full_waits", st.bufferFullWaits());
    b.put("respawn_backup_hot_segments", st.hotSegments());
    b.put("respawn_backup_hot_bytes", st.hotBytes());
    b.put("respawn_backup_hot_live_bytes", st.hotLiveBytes());
    b.put("respawn_backup_cold_segments", st.coldSegments());
    b.put("respawn_backup_cold_bytes", st.coldBytes());
    b.put("respawn_backup_cold_live_bytes", st.coldLiveBytes());
    b.put("respawn_backup_writeback_bytes", st.writebackBytes());
    b.put("respawn_backup_hot_oldest_segment", st.hotOldestSegmentId());
    b.put("respawn_backup_cold_oldest_segment", st.coldOldestSegmentId());
    b.put("respawn_backup_newest_segment", st.newestSegmentId());
    b.put("respawn_backup_gc_segments", st.gcSegments());
    b.put("respawn_backup_gc_records_rewritten", st.gcRecordsRewritten());
    b.put("respawn_backup_popular_keys", st.hotKeys());
    b.put("respawn_backup_popularity_reports", st.popularityReports());
    return b;
  }

  public int respPort() {
    return server.port();
  }

  /**
   * RESPAWN MEMBER (see {@link MembershipChanges}): checks the arguments here, then hands the
   * change to the node loop, which carries it out if this member is the primary.
   */
  java.util.concurrent.CompletableFuture<io.respawn.server.command.ShardControl.MemberReply>
      memberOnRequest(String op, int id, String role, String resp, String peer) {
    MembershipChanges.Op kind = MembershipChanges.Op.valueOf(op);
    Role r = null;
    String address = "";
    if (kind == MembershipChanges.Op.ADD) {
      String key = "member " + id;
      try {
        r = ShardConfig.role(key, role);
        address = ShardConfig.addressText(key, resp, peer);
      } catch (IllegalArgumentException e) {
        return java.util.concurrent.CompletableFuture.completedFuture(
            new io.respawn.server.command.ShardControl.MemberReply("ERR " + e.getMessage(),
                List.of()));
      }
    }
    return loop.changeMembership(kind, NodeId.of(id), r, address).thenApply(x ->
        new io.respawn.server.command.ShardControl.MemberReply(x.error(), x.lines()));
  }

  /**
   * Completes with why once the shard has removed this member while it was away ({@code
   * RemovalWatch}): the process should stop with exit code {@link #EXIT_REMOVED}.
   */
  public java.util.concurrent.CompletableFuture<String> removedFromShard() {
    return loop.removed();
  }

  /** The exit code of a member the shard removed while it was away. */
  public static final int EXIT_REMOVED = RemovalWatch.EXIT_REMOVED;

  /** Completes when a client's SHUTDOWN asks this member to stop; the owner then closes it. */
  public java.util.concurrent.CompletableFuture<Void> shutdownRequested() {
    return server.shutdownRequested();
  }

  public Role role() {
    return config.me().role();
  }

  /** How long a planned stop waits for another member to take over leadership. */
  static final long HAND_OVER_WAIT_MILLIS = 3_000;

  /**
   * RESPAWN HANDOVER: on the primary, hands leadership over and answers once it moved (null), or
   * why not; on any other member, an error naming the primary.
   */
  java.util.concurrent.CompletableFuture<String> handOverOnRequest() {
    NodeLoop.Snapshot s = loop.snapshot();
    if (s.status() != Status.LEADER) {
      MemberAddress primary = s.leader() == null ? null : directory.get(s.leader());
      return java.util.concurrent.CompletableFuture.completedFuture(
          "ERR this member is not the primary; send RESPAWN HANDOVER to the primary ("
              + (primary == null ? "none known now" : primary.resp().getHostString() + ":"
              + primary.resp().getPort()) + ")");
    }
    return loop.handOver()
        .completeOnTimeout(false, HAND_OVER_WAIT_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS)
        .thenApply(moved -> moved ? null : "ERR no member took over leadership within "
            + HAND_OVER_WAIT_MILLIS + " ms (no other member may lead, or none is caught up); "
            + "this member may still be the primary");
  }

  private static void shutDown(io.netty.channel.EventLoopGroup loops) {
    loops.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS).awaitUninterruptibly();
  }

  /**
   * Planned stop (DESIGN §5.5): a leading member first hands leadership to a caught-up member,
   * so clients that follow MOVED see no failed request; then everything closes.
   */
  @Override
  public void close() {
    if (loop.snapshot().status() == Status.LEADER) {
      try {
        boolean moved = loop.handOver().get(HAND_OVER_WAIT_MILLIS,
            java.util.concurrent.TimeUnit.MILLISECONDS);
        log.info(moved ? "leadership handed over before stopping"
            : "no member could take over leadership; stopping anyway");
      } catch (Exception e) {
        log.warn("hand-over did not finish within {} ms; stopping anyway", HAND_OVER_WAIT_MILLIS);
      }
    }
    SparePoolWatch w = spareWatch;
    if (w != null) {
      w.close();
    }
    stateMachine.abandonCapture(); // a snapshot walk must not outlive the store it reads
    server.close(); // stops clients first; then the loop, the transport and the logs
    loop.close();
    stateMachine.close(); // the loop no longer applies or reads
    transport.close();
    if (sharedLoop != null) {
      shutDown(sharedLoop);
    }
    try {
      replicaLog.flushNow();
    } catch (RuntimeException e) {
      log.error("final replica log flush failed: {}", e.toString());
    }
    replicaLog.close();
    fsyncThread.shutdown();
    try {
      lock.close();
    } catch (IOException e) {
      log.warn("releasing the data directory lock failed: {}", e.toString());
    }
  }

  /** Loads the kept image into the state machine, timing it for the restart's figures. */
  private static void restore(EngineStateMachine stateMachine, ImageFile kept,
      RestartPhases phases) {
    long t0 = System.nanoTime();
    long cpu0 = RestartPhases.threadCpuNanos();
    stateMachine.restoreFrom(kept);
    phases.loaded((System.nanoTime() - t0) / 1_000_000,
        (RestartPhases.threadCpuNanos() - cpu0) / 1_000_000, stateMachine.restoredRecords());
  }

  /**
   * Opens the backup store in dir, keeping what it recovered when the replica log holds the newest
   * entry it applied (see the class comment), else starting it empty.
   */
  static BackupKvStore openBackup(Path dir, BackupConfig backupConfig,
      SegmentedReplicaLog replicaLog) throws IOException {
    return openBackup(dir, backupConfig, replicaLog, null);
  }

  /**
   * As {@link #openBackup(Path, BackupConfig, SegmentedReplicaLog)} with the member's kept
   * snapshot image: the store is kept when it reached at least the image's index and the log
   * holds its newest entry (or it is the image's own entry, the log reset behind an installed
   * image); otherwise it is started empty, and the caller loads the image into it.
   */
  static BackupKvStore openBackup(Path dir, BackupConfig backupConfig,
      SegmentedReplicaLog replicaLog, ImageFile kept) throws IOException {
    BackupStore store = BackupStore.open(dir, backupConfig);
    BackupStore.Timestamp last = store.lastApplied();
    long keptIndex = kept == null ? 0 : kept.meta().index();
    boolean keep = kept == null ? last.index() == 0 || logHolds(replicaLog, last)
        : last.index() >= keptIndex && (logHolds(replicaLog, last)
            || (last.index() == keptIndex && last.term() == kept.meta().term()));
    if (keep || (last.index() == 0 && kept != null)) {
      if (last.index() > 0) {
        log.info("backup store recovered through entry {} (term {}); applying the replica log "
            + "after it", last.index(), last.term());
      }
      return new BackupKvStore(store);
    }
    if (kept != null) {
      log.warn("backup store recovered through entry {} (term {}), behind the kept snapshot "
          + "image (index {}) or not in the replica log (entries {}..{}); loading it from the "
          + "image", last.index(), last.term(), keptIndex, replicaLog.firstIndex(),
          replicaLog.lastIndex());
    } else {
      log.warn("backup store recovered through entry {} (term {}), which the replica log "
          + "(entries {}..{}) does not hold: a machine crash cut the log's unflushed tail; "
          + "rebuilding the store from the log", last.index(), last.term(),
          replicaLog.firstIndex(), replicaLog.lastIndex());
    }
    store.close();
    deleteTree(dir);
    return new BackupKvStore(BackupStore.open(dir, backupConfig));
  }

  /** Whether the log holds the entry (term, index): same index, same term, same entry. */
  static boolean logHolds(SegmentedReplicaLog replicaLog, BackupStore.Timestamp entry) {
    return entry.index() >= replicaLog.firstIndex() && entry.index() <= replicaLog.lastIndex()
        && replicaLog.termAt(entry.index()) == entry.term();
  }

  /**
   * Deletes {@code dir} and everything under it; nothing when it does not exist (the project's
   * one recursive delete: scratch and rehearsal directories here, the benchmarks' work
   * directories).
   */
  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(dir)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
