package io.respawn.server.command;

import static io.respawn.server.command.Args.is;
import static io.respawn.server.command.Replies.bulk;
import static io.respawn.server.command.Replies.integer;

import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.respawn.server.command.CommandSpec.Flag;
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

/** Server commands: INFO, CONFIG, COMMAND, WAIT, WAITAOF, TIME and the RESPAWN namespace. */
final class ServerCommands {
  private final Dispatcher d;

  ServerCommands(Dispatcher dispatcher) {
    this.d = dispatcher;
  }

  void register(CommandTable t) {
    t.add("info", -1, (s, a) -> info(a), Flag.WHOLE_KEYSPACE);
    t.add("config", -2, (s, a) -> config(a), Flag.ADMIN);
    t.add("command", -1, (s, a) -> command(a));
    t.add("wait", 3, (s, a) -> waitReplicas(a), Flag.NO_MULTI);
    t.add("waitaof", 4, this::waitAof, Flag.NO_MULTI, Flag.WHOLE_KEYSPACE);
    t.add("time", 1, (s, a) -> time());
    t.add("respawn", -2, this::respawn, Flag.WHOLE_KEYSPACE);
  }

  // ---- INFO ----

  private RedisMessage info(byte[][] a) {
    Set<String> wanted = new java.util.HashSet<>();
    for (int i = 1; i < a.length; i++) {
      wanted.add(Args.lower(a[i]));
    }
    boolean all = wanted.isEmpty() || wanted.contains("all") || wanted.contains("default")
        || wanted.contains("everything");
    StringBuilder sb = new StringBuilder();
    for (Map.Entry<String, Map<String, Object>> section : sections().entrySet()) {
      if (!all && !wanted.contains(section.getKey())) {
        continue;
      }
      if (sb.length() > 0) {
        sb.append("\r\n");
      }
      String title = section.getKey();
      sb.append("# ").append(Character.toUpperCase(title.charAt(0))).append(title.substring(1))
          .append("\r\n");
      for (Map.Entry<String, Object> field : section.getValue().entrySet()) {
        sb.append(field.getKey()).append(':').append(field.getValue()).append("\r\n");
      }
    }
    return bulk(sb.toString());
  }

  private Map<String, Map<String, Object>> sections() {
    ServerStats st = d.stats;
    long now = System.currentTimeMillis();
    long uptimeSeconds = (now - st.startedAtMillis) / 1000;
    Map<String, Map<String, Object>> s = new LinkedHashMap<>();

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

    Map<String, Object> clients = new LinkedHashMap<>();
    clients.put("connected_clients", d.registry.size());
    clients.put("maxclients", d.registry.clientsMax());
    clients.put("blocked_clients", 0);
    s.put("clients", clients);

    s.put("memory", memorySection());

    Map<String, Object> persistence = new LinkedHashMap<>();
    persistence.put("loading", 0);
    persistence.put("respawn_engine", d.settings.storageDescription());
    persistence.put("respawn_default_durability", lower(d.settings.defaultDurability()));
    persistence.put("respawn_data_dir", d.settings.dataDir());
    persistence.put("respawn_write_batches", st.writeBatches);
    persistence.put("respawn_write_errors", st.writeErrors);
    persistence.put("respawn_last_write_error", st.lastWriteError.isEmpty() ? "none"
        : st.lastWriteError.replace('\r', ' ').replace('\n', ' '));
    persistence.putAll(engineStats());
    persistence.put("rdb_changes_since_last_save", 0);
    persistence.put("rdb_bgsave_in_progress", 0);
    persistence.put("aof_enabled", 0);
    persistence.put("aof_rewrite_in_progress", 0);
    s.put("persistence", persistence);

    Map<String, Object> stats = new LinkedHashMap<>();
    stats.put("total_connections_received", d.registry.acceptedTotal());
    stats.put("total_commands_processed", st.commandsProcessed);
    stats.put("rejected_connections", d.registry.rejectedTotal());
    stats.put("expired_keys", st.expiredKeys);
    stats.put("evicted_keys", 0);
    stats.put("respawn_oom_refusals", st.oomRefusals);
    stats.put("keyspace_hits", st.keyspaceHits);
    stats.put("keyspace_misses", st.keyspaceMisses);
    stats.put("total_error_replies_protocol", st.protocolErrors);
    s.put("stats", stats);

    Map<String, Object> replication = new LinkedHashMap<>();
    replication.put("role", "master");
    replication.put("connected_slaves", 0);
    s.put("replication", replication);

    Map<String, Object> cpu = new LinkedHashMap<>();
    var os = ManagementFactory.getOperatingSystemMXBean();
    cpu.put("available_processors", os.getAvailableProcessors());
    cpu.put("load_average_1m", String.format(Locale.ROOT, "%.2f", os.getSystemLoadAverage()));
    s.put("cpu", cpu);

    Map<String, Object> keyspace = new LinkedHashMap<>();
    long keys = d.keyspace.keyCount();
    if (keys > 0) {
      // avg_ttl stays 0: the engine keeps no expiry index to average over.
      keyspace.put("db0", "keys=" + keys + ",expires=" + d.keyspace.store().expiringKeyCount()
          + ",avg_ttl=0");
    }
    s.put("keyspace", keyspace);
    if (d.extraInfo != null) {
      // A shard member adds its sections and fields (replication role, term, indexes, lease).
      d.extraInfo.get().forEach((name, fields) ->
          s.computeIfAbsent(name, k -> new LinkedHashMap<>()).putAll(fields));
    }
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
    c.put("respawn-durability", lower(d.settings.defaultDurability()));
    return c;
  }

  private RedisMessage config(byte[][] a) {
    String sub = Args.lower(a[1]);
    switch (sub) {
      case "get" -> {
        if (a.length < 3) {
          throw new ReplyException(Dispatcher.wrongArity("config|get"));
        }
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
        return Replies.array(out);
      }
      case "set" -> throw ReplyException.err(
          "CONFIG SET is not supported: restart respawn with the matching flag");
      case "resetstat" -> {
        d.stats.reset();
        return Replies.OK;
      }
      case "rewrite" -> throw ReplyException.err("The server is running without a config file");
      default -> throw ReplyException.err(
          "unknown subcommand '" + Args.text(a[1]) + "'. Try CONFIG HELP.");
    }
  }

  // ---- COMMAND ----

  private RedisMessage command(byte[][] a) {
    if (a.length == 1) {
      List<RedisMessage> out = new ArrayList<>();
      for (CommandSpec spec : d.table.all()) {
        out.add(describe(spec));
      }
      return Replies.array(out);
    }
    String sub = Args.lower(a[1]);
    switch (sub) {
      case "count" -> {
        return integer(d.table.size());
      }
      case "docs" -> {
        return Replies.EMPTY_ARRAY;
      }
      case "info" -> {
        List<RedisMessage> out = new ArrayList<>();
        for (int i = 2; i < a.length; i++) {
          CommandSpec spec = d.table.lookup(a[i]);
          out.add(spec == null ? Replies.NIL_ARRAY : describe(spec));
        }
        return Replies.array(out);
      }
      case "list" -> {
        List<RedisMessage> out = new ArrayList<>();
        for (CommandSpec spec : d.table.all()) {
          out.add(bulk(spec.name()));
        }
        return Replies.array(out);
      }
      default -> throw ReplyException.err(
          "unknown subcommand '" + Args.text(a[1]) + "'. Try COMMAND HELP.");
    }
  }

  /** Redis 7's 10-field command info (ACL categories, tips, key specs and subcommands empty). */
  private static RedisMessage describe(CommandSpec spec) {
    List<RedisMessage> flags = new ArrayList<>();
    if (spec.has(Flag.WRITE)) {
      flags.add(new SimpleStringRedisMessage("write"));
    }
    if (spec.has(Flag.READONLY)) {
      flags.add(new SimpleStringRedisMessage("readonly"));
    }
    if (spec.has(Flag.ADMIN)) {
      flags.add(new SimpleStringRedisMessage("admin"));
    }
    if (spec.has(Flag.NO_AUTH)) {
      flags.add(new SimpleStringRedisMessage("no_auth"));
    }
    if (spec.has(Flag.DENY_OOM)) {
      flags.add(new SimpleStringRedisMessage("denyoom"));
    }
    if (spec.has(Flag.NO_MULTI)) {
      flags.add(new SimpleStringRedisMessage("no_multi"));
    }
    List<RedisMessage> info = new ArrayList<>(10);
    info.add(bulk(spec.name()));
    info.add(integer(spec.arity()));
    info.add(Replies.array(flags));
    info.add(integer(spec.firstKey()));
    info.add(integer(spec.lastKey()));
    info.add(integer(spec.step()));
    for (int i = 0; i < 4; i++) {
      info.add(Replies.EMPTY_ARRAY);
    }
    return Replies.array(info);
  }

  // ---- WAIT / WAITAOF / TIME ----

  /** No replicas yet: answers 0 at once. */
  private RedisMessage waitReplicas(byte[][] a) {
    Args.parseLong(a[1]);
    long timeout = Args.parseLong(a[2]);
    if (timeout < 0) {
      throw ReplyException.err("timeout is negative");
    }
    return Replies.ZERO;
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

  private RedisMessage time() {
    long micros = System.currentTimeMillis() * 1000;
    return Replies.pairs(Long.toString(micros / 1_000_000), Long.toString(micros % 1_000_000));
  }

  // ---- RESPAWN ----

  private RedisMessage respawn(Session s, byte[][] a) {
    String sub = Args.lower(a[1]);
    switch (sub) {
      case "durability" -> {
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
      case "mirror" -> {
        return MirrorCommands.run(d, s, a);
      }
      case "status" -> {
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
      case "help" -> {
        List<RedisMessage> lines = new ArrayList<>();
        for (String line : new String[] {
            "RESPAWN <subcommand> [<arg> ...]. Subcommands are:",
            "DURABILITY [ORDERED|DURABLE]",
            "    Get or set when this connection's writes are acknowledged.",
            "STATUS",
            "    Node status: role, engine, keys, write counters.",
            "MIRROR [LOCAL|NETWORK|REMOTE]",
            "    Get or set when this connection's writes are acknowledged w.r.t. the mirror.",
            "MIRROR STATUS | MIRROR PROMOTE",
            "    The mirror link's positions and counters; make a mirror serve writes."}) {
          lines.add(new SimpleStringRedisMessage(line));
        }
        return Replies.array(lines);
      }
      default -> throw ReplyException.err(
          "unknown subcommand '" + Args.text(a[1]) + "'. Try RESPAWN HELP.");
    }
  }
}
