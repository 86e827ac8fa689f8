package io.respawn.server.solo.sentinel;

import static io.respawn.server.solo.sentinel.Subscriptions.bulk;

import io.netty.handler.codec.redis.ArrayRedisMessage;
import io.netty.handler.codec.redis.ErrorRedisMessage;
import io.netty.handler.codec.redis.IntegerRedisMessage;
import io.netty.handler.codec.redis.RedisMessage;
import io.netty.handler.codec.redis.SimpleStringRedisMessage;
import io.respawn.server.command.CommandSettings;
import io.respawn.server.resp.ClientConnection;
import io.respawn.server.resp.ClientRegistry;
import io.respawn.server.resp.CommandSink;
import io.respawn.server.resp.Errors;
import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import io.respawn.server.resp.Resp3;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Executes the requests of Sentinel clients, with Redis Sentinel's replies and errors: SENTINEL
 * (masters, master, replicas / slaves, sentinels, get-master-addr-by-name, myid, ckquorum,
 * help), PING, HELLO, AUTH, CLIENT (setname, getname, setinfo, id), INFO, ROLE, the four
 * (un)subscribe commands, QUIT and RESET. Anything else gets Redis' unknown-command error;
 * the SENTINEL subcommands that change a real Sentinel's configuration (monitor, remove, set,
 * failover, ...) are refused by name, since the monitor's flags are its configuration.
 *
 * <p>Runs on the endpoint's one event loop, which is also every client connection's: requests
 * are answered inline and in order ({@link CommandSink}). A reply never waits for anything.
 */
final class SentinelCommands implements CommandSink {
  /** The SENTINEL subcommands and their arity (Redis' command table: name counts as 1). */
  private static final Map<String, Integer> SENTINEL_ARITY = Map.ofEntries(
      Map.entry("masters", 2), Map.entry("master", 3), Map.entry("replicas", 3),
      Map.entry("slaves", 3), Map.entry("sentinels", 3), Map.entry("get-master-addr-by-name", 3),
      Map.entry("myid", 2), Map.entry("ckquorum", 3), Map.entry("help", 2));
  /** Real Sentinel subcommands that reconfigure it; the monitor takes these from its flags. */
  private static final Set<String> SENTINEL_CONFIGURATION = Set.of("monitor", "remove", "set",
      "failover", "reset", "config", "flushconfig", "is-master-down-by-addr", "info-cache",
      "pending-scripts", "debug", "simulate-failure");
  private static final Set<String> ALLOWED_WHILE_SUBSCRIBED = Set.of("subscribe", "psubscribe",
      "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset");
  static final int CLIENT_NAME_BYTES_MAX = 1024;

  private final MonitoredMasters masters;
  private final ClientRegistry registry;
  private final Subscriptions subscriptions;
  private final long startedAtMillis = System.currentTimeMillis();
  private volatile int port;
  private long commandsProcessed;

  /** A request refused with this exact error text (Redis' wording). */
  static final class Refusal extends RuntimeException {
    Refusal(String message) {
      super(message, null, false, false);
    }
  }

  SentinelCommands(MonitoredMasters masters, ClientRegistry registry,
      Subscriptions subscriptions) {
    this.masters = masters;
    this.registry = registry;
    this.subscriptions = subscriptions;
  }

  /** The port the endpoint listens on (INFO's tcp_port); set once bound. */
  void port(int port) {
    this.port = port;
  }

  @Override
  public void submit(ClientConnection connection, List<Request> requests) {
    SentinelSession s = sessionOf(connection);
    List<Reply> replies = new ArrayList<>(requests.size() + 4);
    for (Request r : requests) {
      boolean closes = execute(s, r, replies);
      connection.inputExecuted(ClientConnection.requestBytes(r));
      if (closes) {
        break; // nothing after QUIT or a protocol error is executed or answered
      }
    }
    connection.onReplies(replies);
  }

  @Override
  public void closed(ClientConnection connection) {
    if (connection.commandState() instanceof SentinelSession s) {
      subscriptions.dropAll(s);
    }
  }

  @Override
  public String clientName(ClientConnection connection) {
    return connection.commandState() instanceof SentinelSession s ? s.name : "";
  }

  private static SentinelSession sessionOf(ClientConnection connection) {
    if (connection.commandState() instanceof SentinelSession s) {
      return s;
    }
    SentinelSession s = new SentinelSession(connection);
    connection.commandState(s);
    return s;
  }

  /** Appends the request's replies (one answer, then any further frames); true if it closes. */
  private boolean execute(SentinelSession s, Request request, List<Reply> out) {
    if (request.isProtocolError()) {
      out.add(Reply.thenClose(new ErrorRedisMessage(
          Errors.oneLine("ERR Protocol error: " + request.protocolError()))));
      return true;
    }
    commandsProcessed++;
    byte[][] a = request.args();
    String name = lower(a[0]);
    try {
      if (s.inSubscribedMode() && !ALLOWED_WHILE_SUBSCRIBED.contains(name)) {
        throw new Refusal("ERR Can't execute '" + fullName(name, a) + "': only (P|S)SUBSCRIBE / "
            + "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context");
      }
      switch (name) {
        case "sentinel" -> out.add(answer(s, sentinel(a)));
        case "ping" -> out.add(answer(s, ping(s, a)));
        case "hello" -> out.add(answer(s, hello(s, a)));
        case "auth" -> out.add(answer(s, auth(a)));
        case "client" -> out.add(answer(s, client(s, a)));
        case "info" -> out.add(answer(s, info(a)));
        case "role" -> out.add(answer(s, role(a)));
        case "subscribe", "psubscribe" -> frames(out, subscribe(s, a, name.equals("psubscribe")));
        case "unsubscribe", "punsubscribe" -> frames(out,
            subscriptions.unsubscribe(s, names(a), name.equals("punsubscribe")));
        case "publish" -> {
          arity(a, 3, "publish");
          throw new Refusal("ERR Only HELLO messages are accepted by Sentinel instances.");
        }
        case "quit" -> {
          out.add(Reply.thenClose(new SimpleStringRedisMessage("OK")));
          return true;
        }
        case "reset" -> out.add(answer(s, reset(s, a)));
        default -> throw new Refusal(unknownCommand(a));
      }
    } catch (Refusal e) {
      out.add(Reply.now(new ErrorRedisMessage(Errors.oneLine(e.getMessage()))));
    }
    return false;
  }

  /** One confirmation answers the request; the others follow it without answering one. */
  private static void frames(List<Reply> out, List<RedisMessage> frames) {
    for (int i = 0; i < frames.size(); i++) {
      out.add(i == 0 ? Reply.now(frames.get(i)) : Reply.unsolicited(frames.get(i)));
    }
  }

  private static Reply answer(SentinelSession s, RedisMessage message) {
    if (message instanceof ErrorRedisMessage) {
      return Reply.now(message);
    }
    return Reply.now(s.resp == 3 ? new Resp3.Frame(message) : Resp3.toResp2(message));
  }

  // ---- SENTINEL ----

  private RedisMessage sentinel(byte[][] a) {
    if (a.length < 2) {
      throw new Refusal("ERR wrong number of arguments for 'sentinel' command");
    }
    String sub = lower(a[1]);
    Integer arity = SENTINEL_ARITY.get(sub);
    if (arity == null) {
      if (SENTINEL_CONFIGURATION.contains(sub)) {
        throw new Refusal("ERR SENTINEL " + sub.toUpperCase(Locale.ROOT) + " is not supported: "
            + "respawn monitor takes its configuration from its command line");
      }
      throw new Refusal("ERR unknown subcommand '" + truncate(text(a[1]))
          + "'. Try SENTINEL HELP.");
    }
    if (a.length != arity) {
      throw new Refusal("ERR wrong number of arguments for 'sentinel|" + sub + "' command");
    }
    return switch (sub) {
      case "masters" -> {
        List<RedisMessage> all = new ArrayList<>();
        for (MasterView m : masters.masters()) {
          all.add(InstanceReplies.master(m));
        }
        yield new ArrayRedisMessage(all);
      }
      case "master" -> InstanceReplies.master(requireMaster(a[2]));
      case "replicas", "slaves" -> {
        MasterView m = requireMaster(a[2]);
        List<RedisMessage> all = new ArrayList<>();
        for (MasterView.ReplicaView r : m.replicas()) {
          all.add(InstanceReplies.replica(m, r));
        }
        yield new ArrayRedisMessage(all);
      }
      case "sentinels" -> {
        MasterView m = requireMaster(a[2]);
        List<RedisMessage> all = new ArrayList<>();
        for (MasterView.SentinelPeer p : m.otherSentinels()) {
          all.add(InstanceReplies.sentinel(m, p));
        }
        yield new ArrayRedisMessage(all);
      }
      case "get-master-addr-by-name" -> {
        MasterView m = masters.master(text(a[2]));
        yield m == null ? ArrayRedisMessage.NULL_INSTANCE : new ArrayRedisMessage(List.of(
            bulk(m.address().host()), bulk(Integer.toString(m.address().port()))));
      }
      case "myid" -> bulk(masters.myId());
      case "ckquorum" -> ckquorum(requireMaster(a[2]));
      case "help" -> help();
      default -> throw new IllegalStateException("arity table and switch disagree on " + sub);
    };
  }

  private MasterView requireMaster(byte[] name) {
    MasterView m = masters.master(text(name));
    if (m == null) {
      throw new Refusal("ERR No such master with that name");
    }
    return m;
  }

  /** Redis' sentinelIsQuorumReachable: this monitor plus the other sentinels not down. */
  private static RedisMessage ckquorum(MasterView m) {
    int voters = m.otherSentinels().size() + 1;
    int usable = 1;
    for (MasterView.SentinelPeer p : m.otherSentinels()) {
      if (!p.flags().contains(InstanceFlag.S_DOWN) && !p.flags().contains(InstanceFlag.O_DOWN)) {
        usable++;
      }
    }
    boolean noQuorum = usable < m.quorum();
    boolean noAuth = usable < voters / 2 + 1;
    if (!noQuorum && !noAuth) {
      return new SimpleStringRedisMessage(
          "OK " + usable + " usable Sentinels. Quorum and failover authorization can be reached");
    }
    StringBuilder e = new StringBuilder("NOQUORUM " + usable + " usable Sentinels. ");
    if (noQuorum) {
      e.append("Not enough available Sentinels to reach the specified quorum for this master");
    }
    if (noAuth) {
      e.append(noQuorum ? ". " : "").append("Not enough available Sentinels to reach the "
          + "majority and authorize a failover");
    }
    return new ErrorRedisMessage(e.toString());
  }

  private static RedisMessage help() {
    List<RedisMessage> lines = new ArrayList<>();
    for (String line : List.of(
        "SENTINEL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CKQUORUM <master-name>",
        "    Check if the current Sentinel configuration is able to reach the quorum",
        "    needed to failover a master and the majority needed to authorize the",
        "    failover.",
        "GET-MASTER-ADDR-BY-NAME <master-name>",
        "    Return the ip and port number of the master with that name.",
        "MASTER <master-name>",
        "    Show the state and info of the specified master.",
        "MASTERS",
        "    Show a list of monitored masters and their state.",
        "MYID",
        "    Return the ID of the Sentinel instance.",
        "REPLICAS <master-name>",
        "    Show a list of replicas for this master and their state.",
        "SENTINELS <master-name>",
        "    Show a list of Sentinel instances for this master and their state.",
        "HELP",
        "    Prints this help.")) {
      lines.add(new SimpleStringRedisMessage(line));
    }
    return new ArrayRedisMessage(lines);
  }

  // ---- connection commands ----

  private static RedisMessage ping(SentinelSession s, byte[][] a) {
    if (a.length > 2) {
      throw new Refusal("ERR wrong number of arguments for 'ping' command");
    }
    if (s.inSubscribedMode()) {
      // A RESP2 subscriber's connection carries messages: PING answers in their shape.
      return new ArrayRedisMessage(List.of(bulk("pong"), bulk(a.length == 2 ? text(a[1]) : "")));
    }
    return a.length == 2 ? bulk(text(a[1])) : new SimpleStringRedisMessage("PONG");
  }

  /** HELLO [protover [AUTH username password] [SETNAME clientname]]. */
  private RedisMessage hello(SentinelSession s, byte[][] a) {
    int version = s.resp;
    if (a.length >= 2) {
      Long v = parseLong(a[1]);
      if (v == null) {
        throw new Refusal("ERR Protocol version is not an integer or out of range");
      }
      if (v < 2 || v > 3) {
        throw new Refusal("NOPROTO unsupported protocol version");
      }
      version = v.intValue();
    }
    String newName = null;
    for (int i = 2; i < a.length; i++) {
      int more = a.length - 1 - i;
      if (lower(a[i]).equals("auth") && more >= 2) {
        i += 2; // no password is configured: any credentials are the default user's
      } else if (lower(a[i]).equals("setname") && more >= 1) {
        newName = validName(a[++i]);
      } else {
        throw new Refusal("ERR Syntax error in HELLO option '" + truncate(text(a[i])) + "'");
      }
    }
    s.resp = version;
    if (newName != null) {
      s.name = newName;
    }
    return new Resp3.MapReply(List.of(
        bulk("server"), bulk("redis"),
        bulk("version"), bulk(CommandSettings.REDIS_COMPAT_VERSION),
        bulk("proto"), new IntegerRedisMessage(s.resp),
        bulk("id"), new IntegerRedisMessage(s.connection.id()),
        bulk("mode"), bulk("sentinel"),
        bulk("modules"), new ArrayRedisMessage(List.of())));
  }

  private static RedisMessage auth(byte[][] a) {
    if (a.length < 2 || a.length > 3) {
      throw new Refusal(a.length < 2 ? "ERR wrong number of arguments for 'auth' command"
          : "ERR syntax error");
    }
    if (a.length == 2) {
      throw new Refusal("ERR AUTH <password> called without any password configured for the "
          + "default user. Are you sure your configuration is correct?");
    }
    return new SimpleStringRedisMessage("OK");
  }

  private static RedisMessage client(SentinelSession s, byte[][] a) {
    if (a.length < 2) {
      throw new Refusal("ERR wrong number of arguments for 'client' command");
    }
    String sub = lower(a[1]);
    switch (sub) {
      case "setname" -> {
        arity(a, 3, "client|setname");
        s.name = validName(a[2]);
        return new SimpleStringRedisMessage("OK");
      }
      case "getname" -> {
        arity(a, 2, "client|getname");
        return s.name.isEmpty() ? io.netty.handler.codec.redis.FullBulkStringRedisMessage
            .NULL_INSTANCE : bulk(s.name);
      }
      case "setinfo" -> {
        arity(a, 4, "client|setinfo");
        String attribute = lower(a[2]);
        if (!attribute.equals("lib-name") && !attribute.equals("lib-ver")) {
          throw new Refusal("ERR Unrecognized option '" + truncate(text(a[2])) + "'");
        }
        String value = text(a[3]);
        if (value.length() > CLIENT_NAME_BYTES_MAX || !printableWithoutSpaces(value)) {
          throw new Refusal("ERR " + attribute
              + " cannot contain spaces, newlines or special characters.");
        }
        if (attribute.equals("lib-name")) {
          s.libName = value;
        } else {
          s.libVersion = value;
        }
        return new SimpleStringRedisMessage("OK");
      }
      case "id" -> {
        arity(a, 2, "client|id");
        return new IntegerRedisMessage(s.connection.id());
      }
      default -> throw new Refusal("ERR unknown subcommand '" + truncate(text(a[1]))
          + "'. Try CLIENT HELP.");
    }
  }

  private static String validName(byte[] raw) {
    String name = text(raw);
    if (raw.length > CLIENT_NAME_BYTES_MAX || !printableWithoutSpaces(name)) {
      throw new Refusal(
          "ERR Client names cannot contain spaces, newlines or special characters.");
    }
    return name;
  }

  private static boolean printableWithoutSpaces(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c < '!' || c > '~') {
        return false;
      }
    }
    return true;
  }

  private RedisMessage reset(SentinelSession s, byte[][] a) {
    arity(a, 1, "reset");
    subscriptions.dropAll(s);
    s.resp = 2;
    s.name = "";
    return new SimpleStringRedisMessage("RESET");
  }

  private List<RedisMessage> subscribe(SentinelSession s, byte[][] a, boolean pattern) {
    if (a.length < 2) {
      throw new Refusal("ERR wrong number of arguments for '"
          + (pattern ? "psubscribe" : "subscribe") + "' command");
    }
    return subscriptions.subscribe(s, names(a), pattern);
  }

  private static List<String> names(byte[][] a) {
    List<String> names = new ArrayList<>(a.length - 1);
    for (int i = 1; i < a.length; i++) {
      names.add(text(a[i]));
    }
    return names;
  }

  // ---- ROLE and INFO ----

  private RedisMessage role(byte[][] a) {
    arity(a, 1, "role");
    List<RedisMessage> names = new ArrayList<>();
    for (MasterView m : masters.masters()) {
      names.add(bulk(m.name()));
    }
    return new ArrayRedisMessage(List.of(bulk("sentinel"), new ArrayRedisMessage(names)));
  }

  /** INFO [section ...]: server, clients, stats and sentinel; "all", "everything", "default". */
  private RedisMessage info(byte[][] a) {
    List<String> wanted = new ArrayList<>();
    for (int i = 1; i < a.length; i++) {
      wanted.add(lower(a[i]));
    }
    boolean all = wanted.isEmpty() || wanted.contains("all") || wanted.contains("everything")
        || wanted.contains("default");
    StringBuilder sb = new StringBuilder();
    if (all || wanted.contains("server")) {
      long uptimeSeconds = (System.currentTimeMillis() - startedAtMillis) / 1000;
      section(sb, "Server",
          "redis_version:" + CommandSettings.REDIS_COMPAT_VERSION,
          "redis_mode:sentinel",
          "process_id:" + ProcessHandle.current().pid(),
          "run_id:" + masters.myId(),
          "tcp_port:" + port,
          "uptime_in_seconds:" + uptimeSeconds,
          "uptime_in_days:" + uptimeSeconds / 86_400);
    }
    if (all || wanted.contains("clients")) {
      section(sb, "Clients",
          "connected_clients:" + registry.size(),
          "maxclients:" + registry.clientsMax());
    }
    if (all || wanted.contains("stats")) {
      section(sb, "Stats",
          "total_connections_received:" + registry.acceptedTotal(),
          "total_commands_processed:" + commandsProcessed,
          "rejected_connections:" + registry.rejectedTotal(),
          "pubsub_channels:" + subscriptions.channelCount(),
          "pubsub_patterns:" + subscriptions.patternCount(),
          "pubsub_messages_delivered:" + subscriptions.messagesDelivered(),
          "client_output_buffer_evictions:" + registry.evictedTotal());
    }
    if (all || wanted.contains("sentinel")) {
      List<MasterView> list = masters.masters();
      List<String> lines = new ArrayList<>(List.of(
          "sentinel_masters:" + list.size(),
          "sentinel_tilt:0",
          "sentinel_tilt_since_seconds:-1",
          "sentinel_running_scripts:0",
          "sentinel_scripts_queue_length:0",
          "sentinel_simulate_failure_flags:0"));
      for (int i = 0; i < list.size(); i++) {
        MasterView m = list.get(i);
        String status = m.flags().contains(InstanceFlag.O_DOWN) ? "odown"
            : m.flags().contains(InstanceFlag.S_DOWN) ? "sdown" : "ok";
        lines.add("master" + i + ":name=" + m.name() + ",status=" + status + ",address="
            + m.address() + ",slaves=" + m.replicas().size() + ",sentinels="
            + (m.otherSentinels().size() + 1));
      }
      section(sb, "Sentinel", lines.toArray(String[]::new));
    }
    return new Resp3.VerbatimReply("txt", sb.toString().getBytes(StandardCharsets.UTF_8));
  }

  private static void section(StringBuilder sb, String title, String... lines) {
    if (!sb.isEmpty()) {
      sb.append("\r\n");
    }
    sb.append("# ").append(title).append("\r\n");
    for (String line : lines) {
      sb.append(line).append("\r\n");
    }
  }

  // ---- helpers ----

  private static void arity(byte[][] a, int expected, String fullName) {
    if (a.length != expected) {
      throw new Refusal("ERR wrong number of arguments for '" + fullName + "' command");
    }
  }

  private static String fullName(String name, byte[][] a) {
    return (name.equals("sentinel") || name.equals("client")) && a.length > 1
        ? name + "|" + lower(a[1]) : name;
  }

  /** Redis' unknown-command error: the name, then the first arguments, 128 characters each. */
  static String unknownCommand(byte[][] a) {
    StringBuilder sb = new StringBuilder("ERR unknown command '");
    sb.append(truncate(text(a[0]))).append("', with args beginning with: ");
    int argsLength = 0;
    for (int i = 1; i < a.length && argsLength < 128; i++) {
      String arg = truncate(text(a[i]));
      sb.append('\'').append(arg).append("' ");
      argsLength += arg.length() + 3;
    }
    return sb.toString();
  }

  private static String truncate(String s) {
    return s.length() > 128 ? s.substring(0, 128) : s;
  }

  private static String text(byte[] b) {
    return new String(b, StandardCharsets.UTF_8);
  }

  private static String lower(byte[] b) {
    return text(b).toLowerCase(Locale.ROOT);
  }

  private static Long parseLong(byte[] b) {
    try {
      return Long.parseLong(text(b));
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
