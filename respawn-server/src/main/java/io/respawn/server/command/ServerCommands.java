package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Replies.bulk;

import io.netty.handler.codec.redis.RedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
import io.respawn.storage.DiskFullException;
import io.respawn.storage.Durability;
import io.respawn.storage.LogEngine;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Server commands: INFO, CONFIG, WAIT, WAITAOF, TIME and the RESPAWN namespace. */
final class ServerCommands {
  private final Dispatcher d;

  ServerCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
  }

  void register(CommandTable t) {
    t.add("info", -1, (s, a) -> info(a), Flag.WHOLE_KEYSPACE);
    t.addContainer("config", -2, null);
    t.addSubcommand("config", "get", -3, (s, a) -> configGet(a), Flag.ADMIN);
    t.addSubcommand("config", "set", -4, (s, a) -> configSet(a), Flag.ADMIN);
    t.addSubcommand("config", "resetstat", 2, (s, a) -> resetStats(), Flag.ADMIN);
    t.addSubcommand("config", "rewrite", 2, (s, a) -> {
      throw ReplyException.err("The server is running without a config file");
    }, Flag.ADMIN);
    t.addSubcommand("config", "help", 2, (s, a) -> configHelp());
    t.add("wait", 3, (s, a) -> waitReplicas(a), Flag.NO_MULTI);
    t.add("waitaof", 4, this::waitAof, Flag.NO_MULTI, Flag.WHOLE_KEYSPACE);
    t.add("time", 1, (s, a) -> time());
    t.add("role", 1, (s, a) -> role());
    t.addContainer("respawn", -2, null);
    t.addSubcommand("respawn", "durability", -2, this::durability);
    t.addSubcommand("respawn", "status", 2, this::status, Flag.WHOLE_KEYSPACE);
    t.addSubcommand("respawn", "handover", 2, this::handOver, Flag.ADMIN, Flag.NO_MULTI);
    t.addSubcommand("respawn", "member", -3, this::member, Flag.ADMIN, Flag.NO_MULTI);
    t.addSubcommand("respawn", "mirror", -2, (s, a) -> MirrorCommands.run(d, s, a),
        Flag.WHOLE_KEYSPACE);
    t.addSubcommand("respawn", "help", 2, (s, a) -> Replies.help("RESPAWN",
        "DURABILITY [ORDERED|DURABLE]",
        "    Get or set when this connection's writes are acknowledged.",
        "HANDOVER",
        "    On a shard's primary: hand leadership to a caught-up member, answer once moved.",
        "MEMBER LIST | ADD <id> BACKUP|WITNESS <resp-host:port> <peer-host:port>",
        "    | PROMOTE <id> | REMOVE <id>",
        "    On a shard's primary: change the membership online (a new member joins as a",
        "    learner; PROMOTE makes a caught-up learner vote); answers once committed.",
        "STATUS",
        "    Node status: role, engine, keys, write counters.",
        "MIRROR [LOCAL|NETWORK|REMOTE]",
        "    Get or set when this connection's writes are acknowledged w.r.t. the mirror.",
        "MIRROR STATUS | MIRROR PROMOTE",
        "    The mirror link's positions and counters; make a mirror serve writes."));
  }

  // ---- INFO ----

  /**
   * Sections of a plain INFO (and of INFO default), as in Redis 7, plus a shard member's
   * {@code shard} section.
   */
  private static final Set<String> DEFAULT_SECTIONS = Set.of("server", "clients", "memory",
      "persistence", "stats", "replication", "cpu", "errorstats", "cluster", "keyspace", "shard");

  /**
   * INFO [section ...]: Redis' text format. No argument or {@code default}: the default
   * sections; {@code all} and {@code everything} add commandstats. Section names are
   * case-insensitive; unknown ones are left out.
   */
  private RedisMessage info(byte[][] a) {
    Set<String> wanted = new java.util.HashSet<>();
    boolean all = false;
    for (int i = 1; i < a.length; i++) {
      String name = Args.lower(a[i]);
      switch (name) {
        case "default" -> wanted.addAll(DEFAULT_SECTIONS);
        case "all", "everything" -> all = true;
        default -> wanted.add(name);
      }
    }
    if (a.length == 1) {
      wanted.addAll(DEFAULT_SECTIONS);
    }
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, Map<String, Object>> section : sections(all, wanted).entrySet()) {
      if (sb.length() > 0) {
        sb.append("\r\n");
      }
      String title = section.getKey();
      sb.append("# ").append(title.equals("cpu") ? "CPU"
          : Character.toUpperCase(title.charAt(0)) + title.substring(1)).append("\r\n");
      for (Map.Entry<String, Object> field : section.getValue().entrySet()) {
        sb.append(field.getKey()).append(':').append(field.getValue()).append("\r\n");
      }
    }
    return Replies.verbatim(sb.toString());
  }

  /** The sections asked for, in Redis' order. */
  private Map<String, Map<String, Object>> sections(boolean all, Set<String> wanted) {
    ServerStats st = d.stats;
    long now = System.currentTimeMillis();
    long uptimeSeconds = (now - st.startedAtMillis) / 1000;
    Map<String, Map<String, Object>> s = new LinkedHashMap<>();
    java.util.function.Predicate<String> in = name -> all || wanted.contains(name);

    if (in.test("server")) {
      Map<String, Object> server = new LinkedHashMap<>();
      server.put("redis_version", CommandSettings.REDIS_COMPAT_VERSION);
      server.put("respawn_version", CommandSettings.RESPAWN_VERSION);
      server.put("redis_mode", "standalone");
      server.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
          + System.getProperty("os.arch"));
      server.put("arch_bits", System.getProperty("os.arch").contains("64") ? 64 : 32);
      server.put("java_version", System.getProperty("java.version"));
      server.put("process_id", ProcessHandle.current().pid());
      server.put("tcp_port", d.settings.port());
      server.put("bind", d.settings.bindHost());
      server.put("uptime_in_seconds", uptimeSeconds);
      server.put("uptime_in_days", uptimeSeconds / 86400);
      server.put("hz", CommandLoop.TICKS_PER_SECOND);
      server.put("executable", "respawn");
      server.put("config_file", "");
      s.put("server", server);
    }

    if (in.test("clients")) {
      Map<String, Object> clients = new LinkedHashMap<>();
      clients.put("connected_clients", d.registry.size());
      clients.put("maxclients", d.registry.clientsMax());
      clients.put("blocked_clients", d.pause.heldCount());
      s.put("clients", clients);
    }

    if (in.test("memory")) { // its RSS comes from /proc: monitoring polls INFO shard often
      s.put("memory", memorySection());
    }

    if (in.test("persistence")) {
      Map<String, Object> persistence = new LinkedHashMap<>();
      persistence.put("loading", 0);
      persistence.put("respawn_engine", d.settings.storageDescription());
      persistence.put("respawn_default_durability", lower(d.settings.defaultDurability()));
      persistence.put("respawn_data_dir", d.settings.dataDir());
      persistence.put("respawn_write_batches", st.writeBatches);
      persistence.put("respawn_group_commits_delayed", st.groupCommitsDelayed);
      persistence.put("respawn_group_commits_closed_early", st.groupCommitsClosedEarly);
      persistence.put("respawn_write_errors", st.writeErrors);
      persistence.put("respawn_last_write_error", st.lastWriteError.isEmpty() ? "none"
          : st.lastWriteError.replace('\r', ' ').replace('\n', ' '));
      persistence.putAll(engineStats());
      persistence.put("rdb_changes_since_last_save", 0);
      persistence.put("rdb_bgsave_in_progress", 0);
      persistence.put("aof_enabled", 0);
      persistence.put("aof_rewrite_in_progress", 0);
      s.put("persistence", persistence);
    }

    if (in.test("stats")) {
      Map<String, Object> stats = new LinkedHashMap<>();
      stats.put("total_connections_received", d.registry.acceptedTotal());
      stats.put("total_commands_processed", st.commandsProcessed);
      stats.put("rejected_connections", d.registry.rejectedTotal());
      stats.put("expired_keys", st.expiredKeys);
      stats.put("evicted_keys", 0);
      stats.put("respawn_oom_refusals", st.oomRefusals);
      stats.put("keyspace_hits", st.keyspaceHits);
      stats.put("keyspace_misses", st.keyspaceMisses);
      stats.put("total_error_replies", st.errorReplies);
      stats.put("total_error_replies_protocol", st.protocolErrors);
      s.put("stats", stats);
    }

    Map<String, Object> replication = new LinkedHashMap<>();
    replication.put("role", "master");
    replication.put("connected_slaves", 0);
    s.put("replication", replication);

    Map<String, Object> cpu = new LinkedHashMap<>();
    if (in.test("cpu")) {
      ProcessCpu.Times process = ProcessCpu.process();
      ProcessCpu.Times main = ProcessCpu.currentThread();
      cpu.put("used_cpu_sys", seconds(process.systemNanos()));
      cpu.put("used_cpu_user", seconds(process.userNanos()));
      cpu.put("used_cpu_sys_children", seconds(0));
      cpu.put("used_cpu_user_children", seconds(0));
      cpu.put("used_cpu_sys_main_thread", seconds(main.systemNanos()));
      cpu.put("used_cpu_user_main_thread", seconds(main.userNanos()));
      var os = ManagementFactory.getOperatingSystemMXBean();
      cpu.put("available_processors", os.getAvailableProcessors());
      cpu.put("load_average_1m", String.format(Locale.ROOT, "%.2f", os.getSystemLoadAverage()));
    }
    s.put("cpu", cpu);

    Map<String, Object> commandStats = new LinkedHashMap<>();
    if (all || wanted.contains("commandstats")) {
      for (CommandSpec spec : d.table.allWithSubcommands()) {
        CommandStats c = spec.stats();
        if (!c.isEmpty()) {
          long usec = c.nanos / 1000;
          commandStats.put("cmdstat_" + spec.name(), "calls=" + c.calls + ",usec=" + usec
              + ",usec_per_call=" + String.format(Locale.ROOT, "%.2f",
                  c.calls == 0 ? 0f : (float) usec / c.calls)
              + ",rejected_calls=" + c.rejectedCalls + ",failed_calls=" + c.failedCalls);
        }
      }
    }
    s.put("commandstats", commandStats);

    if (in.test("errorstats")) {
      Map<String, Object> errorStats = new LinkedHashMap<>();
      st.errorsByCode.forEach((code, count) -> errorStats.put("errorstat_" + code,
          "count=" + count[0]));
      s.put("errorstats", errorStats);
    }

    Map<String, Object> cluster = new LinkedHashMap<>();
    cluster.put("cluster_enabled", 0); // a shard member's INFO sets it (see extraInfo)
    s.put("cluster", cluster);

    if (in.test("keyspace")) {
      Map<String, Object> keyspace = new LinkedHashMap<>();
      long keys = d.keyspace.keyCount();
      if (keys > 0) {
        // avg_ttl stays 0: the engine keeps no expiry index to average over.
        keyspace.put("db0", "keys=" + keys + ",expires=" + d.keyspace.store().expiringKeyCount()
            + ",avg_ttl=0");
      }
      s.put("keyspace", keyspace);
    }
    if (d.extraInfo != null && (in.test("replication") || in.test("shard")
        || in.test("cluster"))) {
      // A shard member adds its sections and fields (replication role, term, indexes, lease).
      d.extraInfo.get().forEach((name, fields) ->
          s.computeIfAbsent(name, k -> new LinkedHashMap<>()).putAll(fields));
    }
    s.keySet().removeIf(name -> !in.test(name));
    return s;
  }

  /**
   * INFO memory. used_memory is what the store's keys, values and index occupy (off the Java
   * heap: records rounded up to their size class, plus the index table), the figure --maxmemory
   * is checked against; used_memory_rss is the whole process's resident set (JVM heap, code and
   * buffers included).
   */
  private Map<String, Object> memorySection() {
    long used = d.keyspace.store().memoryUsedBytes();
    long rss = MemoryFigures.residentSetBytes();
    long max = d.settings.memoryBytesMax();
    Runtime rt = Runtime.getRuntime();
    Map<String, Object> memory = new LinkedHashMap<>();
    memory.put("used_memory", used);
    memory.put("used_memory_human", human(used));
    memory.put("used_memory_rss", rss);
    memory.put("used_memory_rss_human", human(rss));
    memory.put("maxmemory", max);
    memory.put("maxmemory_human", human(max));
    memory.put("maxmemory_policy", "noeviction");
    memory.put("mem_fragmentation_ratio", used <= 0 ? "0.00"
        : String.format(Locale.ROOT, "%.2f", (double) rss / used));
    if (d.keyspace.store() instanceof LogEngine engine) {
      LogEngine.MemoryStats m = engine.memoryStats();
      memory.put("respawn_memory_records_bytes", m.recordBytes());
      memory.put("respawn_memory_index_table_bytes", m.tableBytes());
      memory.put("respawn_memory_reserved_bytes", m.reservedBytes());
      memory.put("respawn_memory_free_list_bytes", m.freeListBytes());
    }
    memory.put("jvm_heap_used", rt.totalMemory() - rt.freeMemory());
    memory.put("jvm_heap_committed", rt.totalMemory());
    memory.put("jvm_heap_max", rt.maxMemory());
    return memory;
  }

  /** Seconds with microseconds, as Redis prints CPU times ({@code 1.234567}). */
  private static String seconds(long nanos) {
    long micros = nanos / 1000;
    return String.format(Locale.ROOT, "%d.%06d", micros / 1_000_000, micros % 1_000_000);
  }

  /** The log engine's own counters, when the store is the log engine. */
  private Map<String, Object> engineStats() {
    Map<String, Object> m = new LinkedHashMap<>();
    if (d.keyspace.store() instanceof LogEngine engine) {
      LogEngine.Stats st = engine.stats();
      m.put("respawn_log_segments", st.segments());
      m.put("respawn_log_bytes", st.logBytes());
      m.put("respawn_log_live_bytes", st.liveBytes());
      m.put("respawn_last_sequence", st.lastSequence());
      m.put("respawn_durable_sequence", st.durableSequence());
      m.put("respawn_disk_full", engine.putRefusal() instanceof DiskFullException ? 1 : 0);
    }
    return m;
  }

  private static String human(long bytes) {
    if (bytes < 1024) {
      return bytes + "B";
    }
    String[] units = {"K", "M", "G", "T"};
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < units.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, "%.2f%s", v, units[u]);
  }

  private static String lower(Enum<?> e) {
    return e.name().toLowerCase(Locale.ROOT);
  }

  // ---- CONFIG ----

  private Map<String, String> configValues() {
    Map<String, String> c = new LinkedHashMap<>();
    c.put("bind", d.settings.bindHost());
    c.put("port", Integer.toString(d.settings.port()));
    c.put("dir", d.settings.dataDir());
    c.put("save", "");
    c.put("appendonly", "no");
    c.put("appendfsync", "everysec");
    c.put("dbfilename", "");
    c.put("databases", "1");
    c.put("maxmemory", Long.toString(d.settings.memoryBytesMax()));
    c.put("maxmemory-policy", "noeviction");
    c.put("maxclients", Integer.toString(d.registry.clientsMax()));
    c.put("timeout", "0");
    c.put("tcp-keepalive", "0");
    c.put("hz", Integer.toString(CommandLoop.TICKS_PER_SECOND));
    c.put("io-threads", "1");
    c.put("cluster-enabled", "no");
    c.put("proto-max-bulk-len", Integer.toString(d.settings.limits().bulkLengthMax()));
    c.put("client-query-buffer-limit", Long.toString(d.settings.limits().requestBytesMax()));
    c.put("client-output-buffer-limit", d.registry.bufferLimits().redisConfigValue());
    c.put("maxmemory-clients", Long.toString(d.registry.bufferLimits().clientsBufferBytesMax()));
    c.put("respawn-durability", lower(d.settings.defaultDurability()));
    c.put("slowlog-log-slower-than", Long.toString(d.slowLog.slowerThanMicros()));
    c.put("slowlog-max-len", Long.toString(d.slowLog.maxLength()));
    c.put("latency-monitor-threshold", Long.toString(d.latency.thresholdMillis()));
    return c;
  }

  /** CONFIG GET pattern [pattern ...]: a map of the matching settings (glob, case-insensitive). */
  private RedisMessage configGet(byte[][] a) {
    Map<String, String> matched = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : configValues().entrySet()) {
      for (int i = 2; i < a.length; i++) {
        if (Glob.matches(Args.bytes(Args.lower(a[i])), Args.bytes(e.getKey()))) {
          matched.put(e.getKey(), e.getValue());
        }
      }
    }
    List<RedisMessage> out = new ArrayList<>();
    matched.forEach((k, v) -> {
      out.add(bulk(k));
      out.add(bulk(v));
    });
    return Replies.map(out);
  }

  /**
   * CONFIG SET name value [name value ...]: all or nothing, as in Redis 7. The settings Respawn
   * can change while running are the slow log's and the latency monitor's; every other setting
   * CONFIG GET shows is fixed by a start-up flag and answers an error saying so (setting it to
   * the value it already has is accepted). Unknown names answer Redis' unknown-option error.
   */
  private RedisMessage configSet(byte[][] a) {
    if (a.length % 2 != 0) {
      throw ReplyException.err("syntax error");
    }
    Map<String, String> current = configValues();
    for (int i = 2; i < a.length; i += 2) {
      if (!current.containsKey(Args.lower(a[i]))) {
        throw ReplyException.err("Unknown option or number of arguments for CONFIG SET - '"
            + Args.text(a[i]) + "'");
      }
    }
    List<Runnable> changes = new ArrayList<>();
    Set<String> seen = new java.util.HashSet<>();
    for (int i = 2; i < a.length; i += 2) {
      String name = Args.lower(a[i]);
      String value = Args.text(a[i + 1]);
      if (!seen.add(name)) {
        throw configSetFailed(name, "duplicate parameter");
      }
      switch (name) {
        case "slowlog-log-slower-than" -> {
          long v = configLong(name, value, -1, Long.MAX_VALUE);
          changes.add(() -> d.slowLog.slowerThanMicros(v));
        }
        case "slowlog-max-len" -> {
          long v = configLong(name, value, 0, SlowLog.LENGTH_LIMIT);
          changes.add(() -> d.slowLog.maxLength(v));
        }
        case "latency-monitor-threshold" -> {
          long v = configLong(name, value, 0, Long.MAX_VALUE);
          changes.add(() -> d.latency.thresholdMillis(v));
        }
        default -> {
          if (!current.get(name).equals(value)) {
            throw configSetFailed(name, "can't change at run time in Respawn: "
                + RESTART_ADVICE.getOrDefault(name, "it is fixed"));
          }
        }
      }
    }
    changes.forEach(Runnable::run);
    return Replies.OK;
  }

  /** Why a setting cannot change while running, for CONFIG SET's error. */
  private static final Map<String, String> RESTART_ADVICE = Map.ofEntries(
      Map.entry("bind", "restart with --bind"),
      Map.entry("port", "restart with --port"),
      Map.entry("dir", "restart with --data"),
      Map.entry("maxclients", "restart with --maxclients"),
      Map.entry("io-threads", "restart with --io-threads"),
      Map.entry("proto-max-bulk-len", "restart with --bulk-length-max"),
      Map.entry("client-query-buffer-limit", "restart with --request-bytes-max"),
      Map.entry("client-output-buffer-limit", "restart with --output-hard-bytes-max, "
          + "--output-soft-bytes-max and --output-soft-seconds"),
      Map.entry("maxmemory-clients", "restart with --clients-buffer-bytes-max"),
      Map.entry("respawn-durability", "restart with --durability, or use RESPAWN DURABILITY "
          + "per connection"),
      Map.entry("hz", "fixed at 10"),
      Map.entry("databases", "there is one database"),
      Map.entry("save", "the log is always on; there are no snapshots"),
      Map.entry("appendonly", "the log is always on"),
      Map.entry("appendfsync", "use --durability and --flush-interval-ms"),
      Map.entry("dbfilename", "there are no snapshot files"),
      Map.entry("maxmemory", "restart with --maxmemory"),
      Map.entry("maxmemory-policy", "there is no eviction"),
      Map.entry("timeout", "idle clients are never closed"),
      Map.entry("tcp-keepalive", "not supported"),
      Map.entry("cluster-enabled", "there is no cluster mode"));

  private static ReplyException configSetFailed(String name, String why) {
    return ReplyException.err(
        "CONFIG SET failed (possibly related to argument '" + name + "') - " + why);
  }

  private static long configLong(String name, String value, long min, long max) {
    Long v = Args.parseLongOrNull(Args.bytes(value));
    if (v == null) {
      throw configSetFailed(name, "argument couldn't be parsed into an integer");
    }
    if (v < min || v > max) {
      throw configSetFailed(name, "argument must be between " + min + " and " + max
          + " inclusive");
    }
    return v;
  }

  /** CONFIG RESETSTAT: INFO's counters, commandstats and errorstats (not the slow log). */
  private RedisMessage resetStats() {
    d.stats.reset();
    for (CommandSpec spec : d.table.allWithSubcommands()) {
      spec.stats().reset();
    }
    return Replies.OK;
  }

  private static RedisMessage configHelp() {
    return Replies.help("CONFIG",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.");
  }

  // ---- WAIT / WAITAOF / TIME ----

  /**
   * WAIT numreplicas timeout: a standalone server has no replicas and answers 0 at once; on a
   * shard's primary, the number of value-holding members (backups, the configured primary) that
   * hold every write appended before it, once that reaches numreplicas or timeout ms pass.
   */
  private RedisMessage waitReplicas(byte[][] a) {
    long numReplicas = Args.parseLong(a[1]);
    long timeout = Args.parseLong(a[2]);
    if (timeout < 0) {
      throw ReplyException.err("timeout is negative");
    }
    if (d.shardControl == null) {
      return Replies.ZERO;
    }
    return new Deferred(d.shardControl.awaitReplicas(0, numReplicas, false, timeout)
        .thenApply(acks -> acks.primary() ? Replies.integer(acks.replicas())
            : Replies.error("ERR WAIT cannot be used with replica instances: this member is not "
                + "the shard's primary")));
  }

  /**
   * WAITAOF numlocal numreplicas timeout: with numlocal &gt; 0, answers [1, 0] once everything
   * this client wrote is durable, or [0, 0] if the timeout (ms, 0 = none) passes first.
   */
  private RedisMessage waitAof(Session s, byte[][] a) {
    long numLocal = Args.parseLong(a[1]);
    long numReplicas = Args.parseLong(a[2]);
    long timeout = Args.parseLong(a[3]);
    if (timeout < 0) {
      throw ReplyException.err("timeout is negative");
    }
    if (numLocal < 0 || numReplicas < 0) {
      throw new ReplyException(Args.NOT_INTEGER);
    }
    if (d.shardControl != null) {
      return new Deferred(d.shardControl.awaitReplicas(numLocal, numReplicas, true, timeout)
          .thenApply(acks -> acks.primary()
              ? Replies.array(List.of(Replies.integer(acks.local()),
                  Replies.integer(acks.replicas())))
              : Replies.error("ERR WAITAOF cannot be used with replica instances: this member "
                  + "is not the shard's primary")));
    }
    RedisMessage durableReply = Replies.array(List.of(Replies.ONE, Replies.ZERO));
    RedisMessage notYetReply = Replies.array(List.of(Replies.ZERO, Replies.ZERO));
    if (!s.wroteSinceDurable) {
      return durableReply;
    }
    CompletableFuture<RedisMessage> result = d.keyspace.store().flushAll()
        .thenApply(v -> durableReply);
    if (numLocal == 0) {
      return result.isDone() ? durableReply : notYetReply;
    }
    s.wroteSinceDurable = false;
    if (timeout > 0) {
      result = result.completeOnTimeout(notYetReply, timeout, TimeUnit.MILLISECONDS);
    }
    return new Deferred(result);
  }

  /**
   * ROLE, in Redis' shape, from the INFO replication section: a primary answers {@code
   * [master, offset, [[ip, port, offset], ...]]} (the replicas it has a link to; a single node
   * has none), any other shard member {@code [slave, host, port, state, offset]} with state
   * {@code connected} while its link to the primary is up, {@code connect} otherwise. Offsets
   * are log indexes ({@link ReplicaLine}). A member that knows no primary answers as a replica
   * of {@code ?} port -1, state {@code connect}.
   */
  private RedisMessage role() {
    Map<String, Object> repl = sections(false, Set.of("replication"))
        .getOrDefault("replication", Map.of());
    long offset = repl.get("master_repl_offset") instanceof Number n ? n.longValue() : 0;
    if ("master".equals(repl.get("role"))) {
      List<RedisMessage> replicas = new ArrayList<>();
      for (Object v : repl.values()) {
        if (v instanceof ReplicaLine r) {
          replicas.add(Replies.array(List.of(bulk(r.ip()), bulk(Integer.toString(r.port())),
              bulk(Long.toString(r.offset())))));
        }
      }
      return Replies.array(List.of(bulk("master"), Replies.integer(offset),
          Replies.array(replicas)));
    }
    Object host = repl.getOrDefault("master_host", "?");
    long port = repl.get("master_port") instanceof Number n ? n.longValue() : -1;
    String state = "up".equals(repl.get("master_link_status")) ? "connected" : "connect";
    long own = repl.get("slave_repl_offset") instanceof Number n ? n.longValue() : offset;
    return Replies.array(List.of(bulk("slave"), bulk(host.toString()), Replies.integer(port),
        bulk(state), Replies.integer(own)));
  }

  private RedisMessage time() {
    long micros = System.currentTimeMillis() * 1000;
    return Replies.pairs(Long.toString(micros / 1_000_000), Long.toString(micros % 1_000_000));
  }

  // ---- RESPAWN ----

  /** RESPAWN DURABILITY [ORDERED|DURABLE]. */
  private RedisMessage durability(Session s, byte[][] a) {
    if (a.length == 2) {
      return bulk(s.durability.name());
    }
    if (a.length != 3) {
      throw new ReplyException(Dispatcher.wrongArity("respawn|durability"));
    }
    if (is(a[2], "ORDERED")) {
      s.durability = Durability.ORDERED;
    } else if (is(a[2], "DURABLE")) {
      s.durability = Durability.DURABLE;
    } else {
      throw ReplyException.err("durability must be ORDERED or DURABLE, got '"
          + Args.text(a[2]) + "'");
    }
    return Replies.OK;
  }

  /** RESPAWN HANDOVER: on a shard's primary, answers once another member leads. */
  private RedisMessage handOver(Session s, byte[][] a) {
    if (d.shardControl == null) {
      throw ReplyException.err("RESPAWN HANDOVER needs a replicated shard; this is a "
          + "standalone server");
    }
    return new Deferred(d.shardControl.handOver()
        .thenApply(why -> why == null ? Replies.OK : Replies.error(why)));
  }

  /** RESPAWN MEMBER LIST | ADD id role resp peer | PROMOTE id | REMOVE id (on the primary). */
  private RedisMessage member(Session s, byte[][] a) {
    if (d.shardControl == null) {
      throw ReplyException.err("RESPAWN MEMBER needs a replicated shard; this is a "
          + "standalone server");
    }
    String op = Args.text(a[2]).toUpperCase(java.util.Locale.ROOT);
    int arity = switch (op) {
      case "LIST" -> 3;
      case "ADD" -> 7;
      case "PROMOTE", "REMOVE" -> 4;
      default -> throw ReplyException.err("unknown RESPAWN MEMBER subcommand '" + Args.text(a[2])
          + "'; try LIST, ADD, PROMOTE or REMOVE");
    };
    if (a.length != arity) {
      throw ReplyException.err("wrong number of arguments for 'respawn|member|"
          + op.toLowerCase(java.util.Locale.ROOT) + "' command");
    }
    int id = 0;
    if (arity > 3) {
      Long v = Args.parseLongOrNull(a[3]);
      if (v == null || v < 0 || v > Integer.MAX_VALUE) {
        throw ReplyException.err("member id must be an integer in [0, " + Integer.MAX_VALUE
            + "], got '" + Args.text(a[3]) + "'");
      }
      id = (int) (long) v;
    }
    String role = arity == 7 ? Args.text(a[4]) : null;
    String resp = arity == 7 ? Args.text(a[5]) : null;
    String peer = arity == 7 ? Args.text(a[6]) : null;
    return new Deferred(d.shardControl.member(op, id, role, resp, peer).thenApply(r -> {
      if (r.error() != null) {
        return Replies.error(r.error());
      }
      if (op.equals("LIST")) {
        List<RedisMessage> items = new ArrayList<>();
        r.lines().forEach(line -> items.add(bulk(line)));
        return Replies.array(items);
      }
      return Replies.OK;
    }));
  }

  private RedisMessage status(Session s, byte[][] a) {
    StringBuilder sb = new StringBuilder();
    sb.append("role:standalone\r\n");
    sb.append("respawn_version:").append(CommandSettings.RESPAWN_VERSION).append("\r\n");
    sb.append("engine:").append(d.settings.storageDescription()).append("\r\n");
    sb.append("data_dir:").append(d.settings.dataDir()).append("\r\n");
    sb.append("default_durability:").append(d.settings.defaultDurability()).append("\r\n");
    sb.append("connection_durability:").append(s.durability).append("\r\n");
    sb.append("keys:").append(d.keyspace.keyCount()).append("\r\n");
    sb.append("write_batches:").append(d.stats.writeBatches).append("\r\n");
    engineStats().forEach((k, v) -> sb.append(k).append(':').append(v).append("\r\n"));
    sb.append("write_errors:").append(d.stats.writeErrors).append("\r\n");
    sb.append("connected_clients:").append(d.registry.size()).append("\r\n");
    return bulk(sb.toString());
  }
}
