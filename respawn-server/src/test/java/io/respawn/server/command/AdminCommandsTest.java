package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.resp.Reply;
import io.respawn.server.resp.Request;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Durability;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StorageException;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Redis 7 semantics of the connection and server administration commands (CLIENT, COMMAND,
 * CONFIG, INFO, SLOWLOG, LATENCY, MONITOR, RESET, CLIENT PAUSE, CLIENT REPLY, SHUTDOWN, HELLO 3),
 * replies and error texts, run on the command thread's code with a settable clock.
 */
class AdminCommandsTest {
  private final MapKvStore store = new MapKvStore();
  private final CommandHarness h = new CommandHarness(store);

  private static Request request(String... args) {
    byte[][] b = new byte[args.length][];
    for (int i = 0; i < args.length; i++) {
      b[i] = args[i].getBytes(StandardCharsets.UTF_8);
    }
    return Request.of(b);
  }

  /** The lines a MONITOR session received since the last call, then forgets them. */
  private List<String> feed(Session monitor) {
    List<String> lines = new ArrayList<>();
    if (monitor.outbox != null) {
      for (Reply r : monitor.outbox) {
        assertThat(r.kind()).isEqualTo(Reply.Kind.UNSOLICITED);
        lines.add(CommandHarness.render(r.message()));
      }
    }
    monitor.outbox = null;
    h.dispatcher.takeMonitorsFed();
    return lines;
  }

  @Test
  void clientSubcommandsAndTheirErrors() {
    assertThat(h.call("CLIENT", "ID")).isEqualTo("(integer) " + h.session.id());
    assertThat(h.call("CLIENT", "GETNAME")).isEqualTo("(nil)");
    assertThat(h.call("CLIENT", "SETNAME", "w1")).isEqualTo("OK");
    assertThat(h.call("CLIENT", "GETNAME")).isEqualTo("\"w1\"");
    assertThat(h.call("CLIENT", "SETNAME", "")).isEqualTo("OK");
    assertThat(h.call("CLIENT", "GETNAME")).isEqualTo("(nil)");
    assertThat(h.call("client", "setname", "a\nb"))
        .isEqualTo("(error) ERR Client names cannot contain spaces, newlines or special characters.");
    assertThat(h.call("CLIENT")).isEqualTo("(error) ERR wrong number of arguments for 'client' command");
    assertThat(h.call("CLIENT", "KILL"))
        .isEqualTo("(error) ERR wrong number of arguments for 'client|kill' command");
    assertThat(h.call("CLIENT", "TRACKING", "on"))
        .isEqualTo("(error) ERR unknown subcommand 'TRACKING'. Try CLIENT HELP.");
    assertThat(h.call("CLIENT", "LIST", "foo")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("CLIENT", "LIST", "TYPE", "bogus"))
        .isEqualTo("(error) ERR Unknown client type 'bogus'");
    assertThat(h.call("CLIENT", "LIST", "ID", "x")).isEqualTo("(error) ERR Invalid client ID");
    assertThat(h.call("CLIENT", "LIST", "TYPE", "pubsub")).isEqualTo("\"\"");
    assertThat(h.call("CLIENT", "KILL", "1.2.3.4:5")).isEqualTo("(error) ERR No such client");
    assertThat(h.call("CLIENT", "KILL", "ID", "0"))
        .isEqualTo("(error) ERR client-id should be greater than 0");
    assertThat(h.call("CLIENT", "KILL", "ID", "x"))
        .isEqualTo("(error) ERR client-id should be greater than 0");
    assertThat(h.call("CLIENT", "KILL", "USER", "bob")).isEqualTo("(error) ERR No such user 'bob'");
    assertThat(h.call("CLIENT", "KILL", "TYPE", "bogus"))
        .isEqualTo("(error) ERR Unknown client type 'bogus'");
    assertThat(h.call("CLIENT", "KILL", "SKIPME", "maybe")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("CLIENT", "KILL", "ID", "1", "ADDR")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("CLIENT", "KILL", "BOGUS", "1")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("CLIENT", "KILL", "ID", "999999")).isEqualTo("(integer) 0");
    assertThat(h.call("CLIENT", "KILL", "USER", "default", "TYPE", "master"))
        .isEqualTo("(integer) 0");
    assertThat(h.call("CLIENT", "REPLY", "maybe")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("CLIENT", "NO-EVICT", "maybe")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("CLIENT", "NO-EVICT", "on")).isEqualTo("OK");
    assertThat(h.call("CLIENT", "NO-TOUCH", "off")).isEqualTo("OK");
    assertThat(h.call("CLIENT", "PAUSE", "x"))
        .isEqualTo("(error) ERR timeout is not an integer or out of range");
    assertThat(h.call("CLIENT", "PAUSE", "-1")).isEqualTo("(error) ERR timeout is negative");
    assertThat(h.call("CLIENT", "PAUSE", "10", "READ"))
        .isEqualTo("(error) ERR CLIENT PAUSE mode must be WRITE or ALL");
    assertThat(h.call("CLIENT", "UNPAUSE", "x"))
        .isEqualTo("(error) ERR wrong number of arguments for 'client|unpause' command");
    assertThat(h.call("CLIENT", "HELP"))
        .startsWith("[CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, ")
        .endsWith("HELP,     Print this help.]");
  }

  @Test
  void clientInfoHasRedisFieldsInRedisOrder() {
    h.call("CLIENT", "NO-EVICT", "on");
    h.call("CLIENT", "SETINFO", "LIB-NAME", "jedis");
    h.call("MULTI");
    h.call("SET", "k", "12345");
    String info = h.call("CLIENT", "INFO"); // queued: INFO describes the session in MULTI below
    assertThat(info).isEqualTo("QUEUED");
    h.call("DISCARD");
    String line = h.call("CLIENT", "INFO");
    List<String> names = new ArrayList<>();
    for (String field : line.substring(1, line.length() - 2).split(" ")) {
      names.add(field.substring(0, field.indexOf('=')));
    }
    assertThat(names).containsExactly("id", "addr", "laddr", "fd", "name", "age", "idle", "flags",
        "db", "sub", "psub", "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "obl",
        "oll", "omem", "tot-mem", "events", "cmd", "user", "redir", "resp", "lib-name", "lib-ver",
        "durability");
    assertThat(line).contains(" flags=e ").contains(" cmd=client|info ")
        .contains(" argv-mem=10 ").contains(" multi=-1 ").contains(" resp=2 ")
        .contains(" lib-name=jedis ").contains(" user=default ").endsWith(" durability=ordered\n\"");
    h.call("MULTI");
    h.call("SET", "k", "12345");
    // CLIENT INFO would be queued now: look at the line CLIENT LIST would print.
    String described = new ClientCommands(h.dispatcher).describe(h.session.connection);
    assertThat(described).contains(" flags=xe ").contains(" multi=1 ").contains(" multi-mem=9 ");
    h.call("DISCARD");
  }

  @Test
  void clientReplyOffSkipAndOn() {
    Reply off = h.send(h.session, "CLIENT", "REPLY", "OFF");
    Reply get = h.send(h.session, "GET", "k");
    Reply err = h.send(h.session, "GET");
    Reply on = h.send(h.session, "CLIENT", "REPLY", "ON");
    Reply skip = h.send(h.session, "CLIENT", "REPLY", "SKIP");
    Reply skipped = h.send(h.session, "PING");
    Reply after = h.send(h.session, "PING");
    h.dispatcher.endPass();
    assertThat(off.kind()).isEqualTo(Reply.Kind.SILENT);
    assertThat(get.kind()).isEqualTo(Reply.Kind.SILENT);
    assertThat(err.kind()).isEqualTo(Reply.Kind.SILENT);
    assertThat(on.kind()).isEqualTo(Reply.Kind.ANSWER);
    assertThat(CommandHarness.render(on)).isEqualTo("OK");
    assertThat(skip.kind()).isEqualTo(Reply.Kind.SILENT);
    assertThat(skipped.kind()).isEqualTo(Reply.Kind.SILENT);
    assertThat(after.kind()).isEqualTo(Reply.Kind.ANSWER);
    assertThat(CommandHarness.render(after)).isEqualTo("PONG");
  }

  @Test
  void clientPauseWriteHoldsWritesAndExpiryUntilUnpause() {
    Session admin = h.newSession();
    Session writer = h.newSession();
    h.call("SET", "t", "v", "PX", "10");
    assertThat(h.call(admin, "CLIENT", "PAUSE", "100000", "WRITE")).isEqualTo("OK");
    assertThat(h.dispatcher.execute(writer, request("SET", "a", "1"))).isNull();
    h.dispatcher.hold(writer, request("SET", "a", "1"));
    h.dispatcher.hold(writer, request("GET", "a")); // behind the held SET, like CommandLoop
    assertThat(h.call("GET", "a")).isEqualTo("(nil)"); // reads run
    assertThat(h.call("SET", "a")).startsWith("(error) ERR wrong number of arguments");
    assertThat(h.call("INFO", "clients")).contains("blocked_clients:1");
    // A write queued in MULTI is held too; a read-only EXEC is not.
    h.call("MULTI");
    assertThat(h.dispatcher.execute(h.session, request("INCR", "n"))).isNull();
    assertThat(h.call("GET", "a")).isEqualTo("QUEUED");
    assertThat(h.call("EXEC")).isEqualTo("[(nil)]");
    // Expiry waits: the key reads as absent but is not deleted.
    h.nowMillis += 1000;
    assertThat(h.call("GET", "t")).isEqualTo("(nil)");
    assertThat(h.call("INFO", "stats")).contains("expired_keys:0");
    assertThat(store.snapshot()).containsKey("t");
    int batches = store.batches().size();
    List<String> resumed = new ArrayList<>();
    h.dispatcher.resumeHeld((s, r) -> resumed.add(CommandHarness.render(r)));
    assertThat(resumed).isEmpty();
    assertThat(store.batches()).hasSize(batches);

    assertThat(h.call(admin, "CLIENT", "UNPAUSE")).isEqualTo("OK");
    List<Reply> replies = new ArrayList<>();
    h.dispatcher.resumeHeld((s, r) -> {
      assertThat(s).isSameAs(writer);
      replies.add(r);
    });
    h.dispatcher.endPass();
    replies.forEach(r -> resumed.add(CommandHarness.render(r)));
    assertThat(resumed).containsExactly("OK", "\"1\"");
    assertThat(writer.postponed).isNull();
    assertThat(h.call("INFO", "clients")).contains("blocked_clients:0");
    assertThat(h.call("GET", "t")).isEqualTo("(nil)");
    assertThat(h.call("INFO", "stats")).contains("expired_keys:1");
  }

  @Test
  void clientPauseAllHoldsEveryCommandUntilItsTimeout() {
    Session other = h.newSession();
    assertThat(h.call("CLIENT", "PAUSE", "500")).isEqualTo("OK");
    assertThat(h.dispatcher.execute(other, request("PING"))).isNull();
    assertThat(h.dispatcher.execute(h.session, request("CLIENT", "UNPAUSE"))).isNull();
    assertThat(h.call(other, "NOSUCH")).startsWith("(error) ERR unknown command");
    h.dispatcher.hold(other, request("PING"));
    List<String> resumed = new ArrayList<>();
    h.dispatcher.resumeHeld((s, r) -> resumed.add(CommandHarness.render(r)));
    assertThat(resumed).isEmpty();
    h.nowMillis += 501;
    h.dispatcher.resumeHeld((s, r) -> resumed.add(CommandHarness.render(r)));
    assertThat(resumed).containsExactly("PONG");
    // A longer pause wins over a shorter one, a stricter mode over a laxer one.
    h.call("CLIENT", "PAUSE", "1000", "WRITE");
    h.call("CLIENT", "PAUSE", "10", "ALL");
    h.nowMillis += 100;
    assertThat(h.dispatcher.execute(other, request("PING"))).isNull();
    h.nowMillis += 1000;
    assertThat(h.call(other, "PING")).isEqualTo("PONG");
  }

  @Test
  void monitorSeesExecutedCommandsInRedisFormat() {
    Session monitor = h.newSession();
    assertThat(h.call(monitor, "MONITOR")).isEqualTo("OK");
    h.call("SET", "k", "a \"q\"\n\u0001");
    h.call("GET");  // rejected: not shown
    h.call("CONFIG", "GET", "port"); // admin: not shown
    h.call("AUTH", "secret");
    assertThat(feed(monitor)).hasSize(2).satisfies(lines -> {
      assertThat(lines.get(0)).matches("\\d+\\.\\d{6} \\[0 \\] \"SET\" \"k\" "
          + "\"a \\\\\"q\\\\\"\\\\n\\\\x01\"");
      assertThat(lines.get(1)).endsWith("\"AUTH\" \"(redacted)\"");
    });
    h.call("MULTI");
    h.call("INCR", "n");
    assertThat(feed(monitor)).hasSize(1).allMatch(l -> l.endsWith("\"MULTI\""));
    h.call("EXEC");
    assertThat(feed(monitor)).satisfiesExactly(
        l -> assertThat(l).endsWith("\"INCR\" \"n\""),
        l -> assertThat(l).endsWith("\"EXEC\""));
    // The monitor itself may not touch keys; a second MONITOR answers nothing.
    assertThat(h.call(monitor, "GET", "k"))
        .isEqualTo("(error) ERR Replica can't interact with the keyspace");
    assertThat(h.send(monitor, "MONITOR").kind()).isEqualTo(Reply.Kind.SILENT);
    assertThat(h.call(monitor, "PING")).isEqualTo("PONG");
    feed(monitor);
    assertThat(h.call(monitor, "RESET")).isEqualTo("RESET");
    h.call("SET", "k", "v");
    assertThat(feed(monitor)).isEmpty();
    // MONITOR inside MULTI is refused when EXEC runs it.
    h.call("MULTI");
    h.call("MONITOR");
    assertThat(h.call("EXEC"))
        .isEqualTo("[(error) ERR MONITOR isn't allowed for DENY BLOCKING client]");
  }

  @Test
  void resetReturnsTheConnectionToItsInitialState() {
    CommandHarness auth = new CommandHarness(new MapKvStore(), "pw", Durability.ORDERED);
    Session s = auth.session;
    assertThat(auth.call(s, "AUTH", "pw")).isEqualTo("OK");
    auth.call(s, "CLIENT", "SETNAME", "n");
    auth.call(s, "HELLO", "3");
    auth.call(s, "RESPAWN", "DURABILITY", "DURABLE");
    auth.call(s, "WATCH", "k");
    auth.call(s, "MULTI");
    auth.call(s, "CLIENT", "REPLY", "OFF");
    assertThat(auth.call(s, "RESET")).isEqualTo("RESET");
    assertThat(s.transaction).isNull();
    assertThat(s.watched).isNull();
    assertThat(s.resp).isEqualTo(2);
    assertThat(s.replyOff).isFalse();
    assertThat(auth.call(s, "CLIENT", "GETNAME")).isEqualTo("(error) NOAUTH Authentication required.");
    assertThat(auth.call(s, "AUTH", "pw")).isEqualTo("OK");
    assertThat(auth.call(s, "CLIENT", "GETNAME")).isEqualTo("(nil)");
    assertThat(auth.call(s, "RESPAWN", "DURABILITY")).isEqualTo("\"ORDERED\"");
    assertThat(auth.call(s, "RESET", "x"))
        .isEqualTo("(error) ERR wrong number of arguments for 'reset' command");
  }

  @Test
  void commandCountListInfoDocsGetkeys() {
    int count = h.dispatcher.table.size();
    assertThat(h.call("COMMAND", "COUNT")).isEqualTo("(integer) " + count);
    String all = h.call("COMMAND", "LIST");
    assertThat(all).contains("\"get\"", "\"client|kill\"", "\"config|set\"", "\"slowlog|get\"");
    assertThat(h.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "client|k*"))
        .isEqualTo("[\"client|kill\"]");
    assertThat(h.call("COMMAND", "LIST", "FILTERBY", "pattern", "SLOW*"))
        .isEqualTo("[\"slowlog\", \"slowlog|get\", \"slowlog|help\", \"slowlog|len\", "
            + "\"slowlog|reset\"]");
    assertThat(h.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "transaction"))
        .isEqualTo("[\"discard\", \"exec\", \"multi\", \"unwatch\", \"watch\"]");
    assertThat(h.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuchcat")).isEqualTo("[]");
    assertThat(h.call("COMMAND", "LIST", "FILTERBY", "MODULE", "json")).isEqualTo("[]");
    assertThat(h.call("COMMAND", "LIST", "FILTERBY", "BOGUS", "x"))
        .isEqualTo("(error) ERR syntax error");
    assertThat(h.call("COMMAND", "LIST", "FILTERBY", "PATTERN"))
        .isEqualTo("(error) ERR syntax error");
    assertThat(h.call("COMMAND", "INFO", "get"))
        .isEqualTo("[[\"get\", (integer) 2, [readonly, fast], (integer) 1, (integer) 1, "
            + "(integer) 1, [@read, @string, @fast], [], [[\"flags\", [], \"begin_search\", "
            + "[\"type\", \"index\", \"spec\", [\"index\", (integer) 1]], \"find_keys\", "
            + "[\"type\", \"range\", \"spec\", [\"lastkey\", (integer) 0, \"keystep\", "
            + "(integer) 1, \"limit\", (integer) 0]]]], []]]");
    assertThat(h.call("COMMAND", "INFO", "nosuch", "CLIENT|KILL"))
        .startsWith("[(nil), [\"client|kill\", (integer) -3, [admin, noscript, loading, stale], "
            + "(integer) 0, (integer) 0, (integer) 0, [@admin, @slow, @dangerous, @connection]");
    assertThat(h.call("COMMAND", "INFO", "config"))
        .contains("[\"config|get\", (integer) -3, [admin, noscript, loading, stale]");
    assertThat(h.call("COMMAND", "DOCS", "client|kill")).isEqualTo("[\"client|kill\", "
        + "[\"summary\", \"Closes client connections by id, address, user or type.\", \"since\", "
        + "\"2.4.0\", \"group\", \"connection\"]]");
    assertThat(h.call("COMMAND", "GETKEYS", "SET", "k", "v", "EX", "10")).isEqualTo("[\"k\"]");
    assertThat(h.call("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"))
        .isEqualTo("[\"a\", \"b\"]");
    assertThat(h.call("COMMAND", "GETKEYS", "PING", "x"))
        .isEqualTo("(error) ERR The command has no key arguments");
    assertThat(h.call("COMMAND", "GETKEYS", "NOSUCH", "x"))
        .isEqualTo("(error) ERR Invalid command specified");
    assertThat(h.call("COMMAND", "GETKEYS", "GET", "a", "b"))
        .isEqualTo("(error) ERR Invalid number of arguments specified for command");
    assertThat(h.call("COMMAND", "GETKEYS"))
        .isEqualTo("(error) ERR wrong number of arguments for 'command|getkeys' command");
    assertThat(h.call("COMMAND", "NOPE"))
        .isEqualTo("(error) ERR unknown subcommand 'NOPE'. Try COMMAND HELP.");
    assertThat(h.call("COMMAND", "HELP")).startsWith("[COMMAND <subcommand>");
    assertThat(h.call("COMMAND")).contains("[\"set\", (integer) -3, [write, denyoom]");
  }

  @Test
  void configSetChangesOnlyWhatCanChangeAndIsAllOrNothing() {
    assertThat(h.call("CONFIG", "GET", "slowlog-*"))
        .isEqualTo("[\"slowlog-log-slower-than\", \"10000\", \"slowlog-max-len\", \"128\"]");
    assertThat(h.call("CONFIG", "SET", "slowlog-log-slower-than", "0", "SLOWLOG-MAX-LEN", "5",
        "latency-monitor-threshold", "100")).isEqualTo("OK");
    assertThat(h.call("CONFIG", "GET", "slowlog-*", "latency*"))
        .isEqualTo("[\"slowlog-log-slower-than\", \"0\", \"slowlog-max-len\", \"5\", "
            + "\"latency-monitor-threshold\", \"100\"]");
    assertThat(h.call("CONFIG", "SET", "slowlog-max-len", "7", "port", "1"))
        .isEqualTo("(error) ERR CONFIG SET failed (possibly related to argument 'port') - "
            + "can't change at run time in Respawn: restart with --port");
    assertThat(h.call("CONFIG", "GET", "slowlog-max-len"))
        .isEqualTo("[\"slowlog-max-len\", \"5\"]");
    assertThat(h.call("CONFIG", "SET", "appendonly", "no")).isEqualTo("OK");
    assertThat(h.call("CONFIG", "SET", "appendonly", "yes"))
        .isEqualTo("(error) ERR CONFIG SET failed (possibly related to argument 'appendonly') - "
            + "can't change at run time in Respawn: the log is always on");
    assertThat(h.call("CONFIG", "SET", "nosuch", "1"))
        .isEqualTo("(error) ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'");
    assertThat(h.call("CONFIG", "SET", "slowlog-max-len", "x"))
        .isEqualTo("(error) ERR CONFIG SET failed (possibly related to argument "
            + "'slowlog-max-len') - argument couldn't be parsed into an integer");
    assertThat(h.call("CONFIG", "SET", "slowlog-log-slower-than", "-2"))
        .isEqualTo("(error) ERR CONFIG SET failed (possibly related to argument "
            + "'slowlog-log-slower-than') - argument must be between -1 and "
            + "9223372036854775807 inclusive");
    assertThat(h.call("CONFIG", "SET", "slowlog-max-len", "100001"))
        .isEqualTo("(error) ERR CONFIG SET failed (possibly related to argument "
            + "'slowlog-max-len') - argument must be between 0 and 100000 inclusive");
    assertThat(h.call("CONFIG", "SET", "slowlog-max-len", "1", "slowlog-max-len", "2"))
        .isEqualTo("(error) ERR CONFIG SET failed (possibly related to argument "
            + "'slowlog-max-len') - duplicate parameter");
    assertThat(h.call("CONFIG", "SET", "a", "b", "c")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("CONFIG", "SET", "a"))
        .isEqualTo("(error) ERR wrong number of arguments for 'config|set' command");
    assertThat(h.call("CONFIG", "REWRITE"))
        .isEqualTo("(error) ERR The server is running without a config file");
    assertThat(h.call("CONFIG", "HELP")).startsWith("[CONFIG <subcommand>");
  }

  @Test
  void roleOfASingleNodeIsAPrimaryWithoutReplicas() {
    assertThat(h.call("ROLE")).isEqualTo("[\"master\", (integer) 0, []]");
    assertThat(h.call("ROLE", "x")).startsWith("(error) ERR wrong number of arguments");
    assertThat(h.call("INFO", "replication")).contains("role:master\r\nconnected_slaves:0");
  }

  @Test
  void infoCpuCommandstatsErrorstatsAndResetstat() {
    h.call("SET", "s", "text");
    h.call("GET", "s");
    h.call("GET");
    h.call("INCR", "s");
    h.call("CLIENT", "ID");
    String info = h.call("INFO");
    assertThat(info).contains("# CPU\r\nused_cpu_sys:").contains("\r\nused_cpu_user:")
        .contains("\r\nused_cpu_sys_main_thread:").contains("# Errorstats\r\nerrorstat_ERR:count=2")
        .contains("total_error_replies:2").doesNotContain("# Commandstats");
    assertThat(info.replaceAll("(?s).*used_cpu_user:([0-9.]+).*", "$1")).matches("\\d+\\.\\d{6}");
    String stats = h.call("INFO", "commandstats");
    assertThat(stats).startsWith("\"# Commandstats\r\n")
        .containsPattern("cmdstat_get:calls=1,usec=\\d+,usec_per_call=\\d+\\.\\d\\d,"
            + "rejected_calls=1,failed_calls=0\r\n")
        .containsPattern("cmdstat_incr:calls=1,usec=\\d+,usec_per_call=[0-9.]+,"
            + "rejected_calls=0,failed_calls=1\r\n")
        .contains("cmdstat_client|id:calls=1,")
        .doesNotContain("cmdstat_client:").doesNotContain("# Server");
    assertThat(h.call("INFO", "ALL")).contains("# Commandstats").contains("# Server");
    assertThat(h.call("INFO", "default")).doesNotContain("# Commandstats").contains("# Keyspace");
    assertThat(h.call("CONFIG", "RESETSTAT")).isEqualTo("OK");
    assertThat(h.call("INFO", "commandstats", "errorstats"))
        .doesNotContain("cmdstat_get").doesNotContain("errorstat_ERR")
        .contains("cmdstat_config|resetstat:calls=1,");
  }

  @Test
  void slowlogKeepsTheNewestTrimmedEntries() {
    assertThat(h.call("SLOWLOG", "LEN")).isEqualTo("(integer) 0");
    h.call("CONFIG", "SET", "slowlog-log-slower-than", "0", "slowlog-max-len", "4");
    h.call("CLIENT", "SETNAME", "slow-client");
    String[] big = new String[41];
    big[0] = "MSET";
    for (int i = 1; i < 41; i += 2) {
      big[i] = "k" + i;
      big[i + 1] = i == 1 ? "x".repeat(200) : "v";
    }
    h.call(big);
    h.call("AUTH", "pw");
    h.call("MULTI");
    h.call("PING");
    h.call("EXEC");
    // LEN answers before it is logged itself; the log keeps the newest 4.
    assertThat(h.call("SLOWLOG", "LEN")).isEqualTo("(integer) 4");
    String entries = h.call("SLOWLOG", "GET", "-1");
    assertThat(entries).contains("[\"SLOWLOG\", \"LEN\"]").contains("[\"PING\"]")
        .contains("[\"MULTI\"]").contains("[\"AUTH\", \"(redacted)\"]")
        .doesNotContain("EXEC").doesNotContain("MSET");
    h.call("CONFIG", "SET", "slowlog-max-len", "10");
    h.call(big);
    String last = h.call("SLOWLOG", "GET", "1");
    assertThat(last).startsWith("[[(integer) ").contains(", (integer) 1700000000, (integer) ")
        .contains("[\"MSET\", \"k1\", \"" + "x".repeat(128) + "... (72 more bytes)\", \"k3\"")
        .endsWith(", \"... (10 more arguments)\"], \"\", \"slow-client\"]]");
    assertThat(h.call("SLOWLOG", "GET", "-2"))
        .isEqualTo("(error) ERR count should be greater than or equal to -1");
    assertThat(h.call("SLOWLOG", "GET", "x"))
        .isEqualTo("(error) ERR count should be greater than or equal to -1");
    assertThat(h.call("SLOWLOG", "GET", "1", "2")).isEqualTo(
        "(error) ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.");
    assertThat(h.call("SLOWLOG", "RESET")).isEqualTo("OK");
    assertThat(h.call("SLOWLOG", "LEN")).isEqualTo("(integer) 1"); // the RESET itself
    h.call("CONFIG", "SET", "slowlog-log-slower-than", "-1");
    h.call("SLOWLOG", "RESET");
    h.call("PING");
    assertThat(h.call("SLOWLOG", "LEN")).isEqualTo("(integer) 0");
    assertThat(h.call("SLOWLOG", "HELP")).startsWith("[SLOWLOG <subcommand>");
  }

  @Test
  void latencyMonitorRecordsEventsOverTheThreshold() {
    assertThat(h.call("LATENCY", "LATEST")).isEqualTo("[]");
    assertThat(h.call("LATENCY", "DOCTOR")).contains("Latency monitoring is disabled");
    h.dispatcher.recordLatency("command", 500);
    assertThat(h.call("LATENCY", "LATEST")).isEqualTo("[]");
    h.call("CONFIG", "SET", "latency-monitor-threshold", "100");
    h.dispatcher.recordLatency("command", 50);
    h.dispatcher.recordLatency("command", 120);
    h.dispatcher.recordLatency("command", 300); // same second: the worst is kept
    h.nowMillis += 2000;
    h.dispatcher.recordLatency("command", 150);
    h.dispatcher.recordLatency("expire-cycle", 101);
    assertThat(h.call("LATENCY", "LATEST")).isEqualTo(
        "[[\"command\", (integer) 1700000002, (integer) 150, (integer) 300], "
            + "[\"expire-cycle\", (integer) 1700000002, (integer) 101, (integer) 101]]");
    assertThat(h.call("LATENCY", "HISTORY", "command")).isEqualTo(
        "[[(integer) 1700000000, (integer) 300], [(integer) 1700000002, (integer) 150]]");
    assertThat(h.call("LATENCY", "HISTORY", "nosuch")).isEqualTo("[]");
    assertThat(h.call("LATENCY", "DOCTOR")).contains("1. command: 2 seconds with a spike")
        .contains("Worst ever: 300 ms.");
    assertThat(h.call("LATENCY", "RESET", "COMMAND", "nosuch")).isEqualTo("(integer) 1");
    assertThat(h.call("LATENCY", "RESET")).isEqualTo("(integer) 1");
    assertThat(h.call("LATENCY", "DOCTOR")).contains("No latency event of 100 ms or more");
    assertThat(h.call("LATENCY", "GRAPH", "command"))
        .isEqualTo("(error) ERR unknown subcommand 'GRAPH'. Try LATENCY HELP.");
    assertThat(h.call("LATENCY", "HISTORY"))
        .isEqualTo("(error) ERR wrong number of arguments for 'latency|history' command");
    assertThat(h.call("LATENCY", "HELP")).startsWith("[LATENCY <subcommand>");
  }

  @Test
  void shutdownFlushesThenStopsAndRefusesWhatRedisRefuses() {
    assertThat(h.call("SHUTDOWN")).isEqualTo("(error) ERR Errors trying to SHUTDOWN. Check logs.");
    AtomicInteger stops = new AtomicInteger();
    h.dispatcher.onShutdown(stops::incrementAndGet);
    assertThat(h.call("SHUTDOWN", "BOGUS")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SHUTDOWN", "SAVE", "NOSAVE")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SHUTDOWN", "ABORT", "NOW")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SHUTDOWN", "ABORT")).isEqualTo("(error) ERR No shutdown in progress.");
    h.call("MULTI");
    assertThat(h.call("SHUTDOWN")).isEqualTo("(error) ERR Command not allowed inside a transaction");
    h.call("DISCARD");
    store.holdDurable(true);
    h.call("SET", "k", "v");
    Reply reply = h.send(h.session, "SHUTDOWN", "NOSAVE", "NOW", "FORCE");
    h.dispatcher.endPass();
    assertThat(stops).hasValue(0); // waits for the fsync
    store.releaseDurable();
    assertThat(stops).hasValue(1);
    assertThat(reply.isReady()).as("no reply: the connection closes").isFalse();
  }

  @Test
  void shutdownWithAFailingFsyncStaysUpUnlessNosave() {
    CommandHarness failing = new CommandHarness(new FlushFailingStore());
    AtomicInteger stops = new AtomicInteger();
    failing.dispatcher.onShutdown(stops::incrementAndGet);
    assertThat(failing.call("SHUTDOWN", "SAVE"))
        .isEqualTo("(error) ERR Errors trying to SHUTDOWN. Check logs.");
    assertThat(stops).hasValue(0);
    assertThat(failing.call("PING")).isEqualTo("PONG");
    failing.send(failing.session, "SHUTDOWN", "NOSAVE");
    assertThat(stops).hasValue(1);
  }

  @Test
  void hello3AnswersWithRedisResp3Types() {
    assertThat(h.call("HELLO", "3", "SETNAME", "r3"))
        .isEqualTo("{\"server\": \"redis\", \"version\": \"" + CommandSettings.REDIS_COMPAT_VERSION
            + "\", \"proto\": (integer) 3, \"id\": (integer) " + h.session.id()
            + ", \"mode\": \"standalone\", \"role\": \"master\", \"modules\": []}");
    assertThat(h.call("CLIENT", "GETNAME")).isEqualTo("\"r3\"");
    assertThat(h.call("GET", "nope")).isEqualTo("(null)");
    assertThat(h.call("CONFIG", "GET", "databases")).isEqualTo("{\"databases\": \"1\"}");
    assertThat(h.call("INFO", "replication"))
        .isEqualTo("(verbatim txt) \"# Replication\r\nrole:master\r\nconnected_slaves:0\r\n\"");
    assertThat(h.call("CLIENT", "INFO")).startsWith("(verbatim txt) \"id=").contains(" resp=3 ");
    assertThat(h.call("COMMAND", "INFO", "get"))
        .startsWith("[[\"get\", (integer) 2, ~[readonly, fast], (integer) 1, (integer) 1, "
            + "(integer) 1, ~[@read, @string, @fast], ~[], ~[{\"flags\": ~[], ");
    assertThat(h.call("COMMAND", "DOCS", "get")).isEqualTo("{\"get\": {\"summary\": "
        + "\"Returns the value of a key.\", \"since\": \"1.0.0\", \"group\": \"string\"}}");
    assertThat(h.call("GET")).isEqualTo("(error) ERR wrong number of arguments for 'get' command");
    Session other = h.newSession();
    h.call("WATCH", "w");
    h.call(other, "SET", "w", "1");
    h.call("MULTI");
    h.call("GET", "w");
    assertThat(h.call("EXEC")).isEqualTo("(null)");
    assertThat(h.call("HELLO")).contains("\"proto\": (integer) 3");
    assertThat(h.call("HELLO", "x"))
        .isEqualTo("(error) ERR Protocol version is not an integer or out of range");
    assertThat(h.call("HELLO", "3", "AUTH", "default"))
        .isEqualTo("(error) ERR Syntax error in HELLO option 'AUTH'");
    assertThat(h.call("HELLO", "2", "SETNAME", "a b")).isEqualTo(
        "(error) ERR Client names cannot contain spaces, newlines or special characters.");
    assertThat(h.call("HELLO", "2")).startsWith("[\"server\", \"redis\"");
    assertThat(h.call("CONFIG", "GET", "databases")).isEqualTo("[\"databases\", \"1\"]");
  }

  /** A store whose fsync always fails (a disk that refuses to flush). */
  private static final class FlushFailingStore implements KvStore {
    private final MapKvStore delegate = new MapKvStore();

    @Override
    public StoredValue get(byte[] key) {
      return delegate.get(key);
    }

    @Override
    public WriteTicket apply(List<Mutation> batch) {
      return delegate.apply(batch);
    }

    @Override
    public long keyCount() {
      return delegate.keyCount();
    }

    @Override
    public long expiringKeyCount() {
      return delegate.expiringKeyCount();
    }

    @Override
    public ScanPage scan(long cursor, int countHint) {
      return delegate.scan(cursor, countHint);
    }

    @Override
    public CompletableFuture<Void> flushAll() {
      return CompletableFuture.failedFuture(new StorageException("fsync failed: EIO"));
    }

    @Override
    public void close() {}
  }
}
