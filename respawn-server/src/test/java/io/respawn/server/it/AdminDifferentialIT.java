package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection and server administration commands side by side with a real Redis 7 in the
 * same run: each test runs one sequence of commands over raw sockets against Respawn and against
 * {@code redis-server} and compares what came back, type by type (RESP2 and RESP3), with only
 * the values that must differ (ids, ports, times, versions) masked.
 */
class AdminDifferentialIT {
  @TempDir static Path tmp;
  static ServerProcess respawn;
  static RedisServerProcess redis;

  @BeforeAll
  static void start() throws Exception {
    redis = RedisServerProcess.start(tmp.resolve("redis"));
    respawn = ServerProcess.start(tmp.resolve("respawn"), ServerProcess.freePort());
  }

  @AfterAll
  static void stop() {
    if (respawn != null) {
      respawn.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  /** One sequence, run against a server given its port; returns what to compare. */
  @FunctionalInterface
  interface Sequence {
    List<Object> run(int port) throws Exception;
  }

  /** Runs the sequence against both servers and asserts the results are equal. */
  private static List<Object> sameOnBoth(Sequence sequence) throws Exception {
    List<Object> fromRedis = sequence.run(redis.port());
    List<Object> fromRespawn = sequence.run(respawn.port());
    assertThat(fromRespawn).as("Respawn (expected: what Redis answered)")
        .containsExactlyElementsOf(fromRedis);
    return fromRespawn;
  }

  /** Each command on one connection; their replies, HELLO's version and id masked. */
  private static List<Object> calls(int port, String[]... commands) throws IOException {
    List<Object> out = new ArrayList<>();
    try (TypedClient c = new TypedClient(port)) {
      for (String[] command : commands) {
        out.add(String.join(" ", command) + " -> " + maskHello(c.call(command)));
      }
    }
    return out;
  }

  private static String maskHello(String reply) {
    return reply.replaceAll("\\$version: \\$[0-9.]+", "\\$version: V")
        .replaceAll("\\$id: :\\d+", "\\$id: N");
  }

  private static String[] cmd(String... args) {
    return args;
  }

  /** The top-level elements of a rendered aggregate ({@code *[a, *[b, c], d]} gives 3). */
  static List<String> elements(String rendered) {
    int open = rendered.indexOf('[');
    int brace = rendered.indexOf('{');
    if (open < 0 || (brace >= 0 && brace < open)) {
      open = brace;
    }
    List<String> out = new ArrayList<>();
    int depth = 0;
    int start = open + 1;
    for (int i = open + 1; i < rendered.length() - 1; i++) {
      char ch = rendered.charAt(i);
      if (ch == '[' || ch == '{') {
        depth++;
      } else if (ch == ']' || ch == '}') {
        depth--;
      } else if (ch == ',' && depth == 0 && rendered.charAt(i + 1) == ' ') {
        out.add(rendered.substring(start, i));
        start = i + 2;
      }
    }
    if (start < rendered.length() - 1) {
      out.add(rendered.substring(start, rendered.length() - 1));
    }
    return out;
  }

  private static String field(String clientInfo, String name) {
    Matcher m = Pattern.compile("(?:^|[ =$])" + name + "=(\\S*)").matcher(clientInfo);
    return m.find() ? m.group(1) : null;
  }

  @Test
  void clientSubcommandErrorsAndRepliesMatchRedis() throws Exception {
    sameOnBoth(port -> calls(port,
        cmd("CLIENT"), cmd("CLIENT", "KILL"), cmd("CLIENT", "NOPE"),
        cmd("CLIENT", "KILL", "ID", "0"), cmd("CLIENT", "KILL", "ID", "x"),
        cmd("CLIENT", "KILL", "ID", "99999999"), cmd("CLIENT", "KILL", "USER", "bob"),
        cmd("CLIENT", "KILL", "TYPE", "bogus"), cmd("CLIENT", "KILL", "SKIPME", "maybe"),
        cmd("CLIENT", "KILL", "ID", "1", "ADDR"), cmd("CLIENT", "KILL", "BOGUS", "1"),
        cmd("CLIENT", "KILL", "1.2.3.4:5"), cmd("CLIENT", "KILL", "TYPE", "master"),
        cmd("CLIENT", "LIST", "foo"), cmd("CLIENT", "LIST", "TYPE", "bogus"),
        cmd("CLIENT", "LIST", "ID", "x"), cmd("CLIENT", "LIST", "TYPE", "pubsub"),
        cmd("CLIENT", "REPLY", "maybe"), cmd("CLIENT", "NO-EVICT", "maybe"),
        cmd("CLIENT", "NO-EVICT", "on"), cmd("CLIENT", "NO-EVICT", "off"),
        cmd("CLIENT", "PAUSE", "x"), cmd("CLIENT", "PAUSE", "-1"),
        cmd("CLIENT", "PAUSE", "10", "READ"), cmd("CLIENT", "UNPAUSE"),
        cmd("CLIENT", "UNPAUSE", "x"), cmd("CLIENT", "GETNAME"),
        cmd("CLIENT", "SETNAME", "a b"), cmd("CLIENT", "SETNAME", "w1"),
        cmd("CLIENT", "GETNAME"), cmd("CLIENT", "SETNAME", ""), cmd("CLIENT", "GETNAME")));
  }

  @Test
  void clientInfoHasEveryFieldRedisHasInRedisOrder() throws Exception {
    List<List<String>> names = new ArrayList<>();
    for (int port : new int[] {redis.port(), respawn.port()}) {
      try (TypedClient c = new TypedClient(port)) {
        c.call("CLIENT", "SETNAME", "fields");
        String info = c.call("CLIENT", "INFO");
        assertThat(info).startsWith("$id=");
        List<String> fieldNames = new ArrayList<>();
        for (String f : info.substring(1).strip().split(" ")) {
          fieldNames.add(f.substring(0, f.indexOf('=')));
        }
        names.add(fieldNames);
        assertThat(field(info, "name")).isEqualTo("fields");
        assertThat(field(info, "cmd")).isEqualTo("client|info");
        assertThat(field(info, "flags")).isEqualTo("N");
        assertThat(field(info, "resp")).isEqualTo("2");
        assertThat(field(info, "argv-mem")).isEqualTo("10");
        assertThat(field(info, "fd")).matches("\\d+");
        assertThat(c.call("CLIENT", "LIST")).contains("name=fields ");
      }
    }
    List<String> redisNames = new ArrayList<>(names.get(0));
    redisNames.removeAll(List.of("rbs", "rbp")); // read-buffer sizes: no equivalent here
    List<String> common = new ArrayList<>(names.get(1));
    common.retainAll(redisNames);
    assertThat(common).as("Redis' fields, in Redis' order").isEqualTo(redisNames);
  }

  @Test
  void commandIntrospectionMatchesRedis() throws Exception {
    sameOnBoth(port -> calls(port,
        cmd("COMMAND", "GETKEYS", "SET", "k", "v", "EX", "10"),
        cmd("COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"),
        cmd("COMMAND", "GETKEYS", "PING", "x"), cmd("COMMAND", "GETKEYS", "NOSUCH", "x"),
        cmd("COMMAND", "GETKEYS", "GET", "a", "b"), cmd("COMMAND", "GETKEYS"),
        cmd("COMMAND", "NOPE"), cmd("COMMAND", "LIST", "FILTERBY", "BOGUS", "x"),
        cmd("COMMAND", "LIST", "FILTERBY", "PATTERN"), cmd("COMMAND", "LIST", "x"),
        cmd("COMMAND", "LIST", "FILTERBY", "MODULE", "json"),
        cmd("COMMAND", "LIST", "FILTERBY", "PATTERN", "client|k*"),
        cmd("COMMAND", "INFO", "nosuch"), cmd("COMMAND", "DOCS", "nosuch")));
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient c = new TypedClient(port)) {
        out.add(new HashSet<>(elements(c.call("COMMAND", "LIST", "FILTERBY", "ACLCAT",
            "transaction"))));
        out.add(new HashSet<>(elements(c.call("COMMAND", "LIST", "FILTERBY", "PATTERN",
            "CONFIG|[gs]et"))));
        for (String name : List.of("get", "set", "mset", "del", "client|kill", "config|get",
            "info", "monitor", "shutdown", "exec", "ping", "hello", "slowlog|get", "reset")) {
          // name, arity, flags, first key, last key, step, ACL categories
          List<String> entry = elements(elements(c.call("COMMAND", "INFO", name)).get(0));
          out.add(name + " " + entry.subList(0, 6) + " " + Set.copyOf(elements(entry.get(6))));
        }
        List<String> client = elements(elements(c.call("COMMAND", "INFO", "client")).get(0));
        out.add(client.subList(0, 7));
      }
      return out;
    });
  }

  @Test
  void configSetErrorsAndRuntimeSettingsMatchRedis() throws Exception {
    sameOnBoth(port -> calls(port,
        cmd("CONFIG", "SET", "nosuch", "1"), cmd("CONFIG", "SET", "a", "b", "c"),
        cmd("CONFIG", "SET", "a"), cmd("CONFIG", "SET", "slowlog-max-len", "x"),
        cmd("CONFIG", "SET", "slowlog-log-slower-than", "-2"),
        cmd("CONFIG", "SET", "latency-monitor-threshold", "-1"),
        cmd("CONFIG", "SET", "slowlog-max-len", "1", "slowlog-max-len", "2"),
        // A threshold no command reaches on a loaded machine: later tests expect no events.
        cmd("CONFIG", "SET", "slowlog-log-slower-than", "5", "latency-monitor-threshold",
            "600000", "slowlog-max-len", "64"),
        cmd("CONFIG", "GET", "slowlog-log-slower-than"),
        cmd("CONFIG", "GET", "latency-monitor-threshold"),
        cmd("CONFIG", "GET", "slowlog-max-len"),
        cmd("CONFIG", "SET", "slowlog-log-slower-than", "10000", "latency-monitor-threshold",
            "0", "slowlog-max-len", "128"),
        cmd("CONFIG", "RESETSTAT"), cmd("CONFIG", "REWRITE"), cmd("CONFIG", "GET"),
        cmd("CONFIG", "NOPE")));
  }

  @Test
  void slowlogMatchesRedis() throws Exception {
    String[] mset = new String[41];
    mset[0] = "MSET";
    for (int i = 1; i < 41; i += 2) {
      mset[i] = "k" + i;
      mset[i + 1] = "v";
    }
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient c = new TypedClient(port)) {
        out.add(c.call("CONFIG", "SET", "slowlog-log-slower-than", "0"));
        out.add(c.call("SLOWLOG", "RESET"));
        out.add(c.call("CLIENT", "SETNAME", "slow"));
        out.add(c.call("SLOWLOG", "LEN"));
        out.add(c.call("SET", "big", "x".repeat(200)));
        out.add(c.call(mset));
        out.add(c.call("AUTH", "secret"));
        for (String entry : elements(c.call("SLOWLOG", "GET", "3"))) {
          List<String> f = elements(entry);
          out.add(f.size() + " args=" + f.get(3) + " name=" + f.get(5));
        }
        out.add(c.call("SLOWLOG", "GET", "-2"));
        out.add(c.call("SLOWLOG", "GET", "x"));
        out.add(c.call("SLOWLOG", "GET", "1", "2"));
        out.add(c.call("SLOWLOG", "NOPE"));
        out.add(c.call("CONFIG", "SET", "slowlog-log-slower-than", "-1"));
        out.add(c.call("SLOWLOG", "RESET"));
        out.add(c.call("PING"));
        out.add(c.call("SLOWLOG", "LEN"));
        out.add(c.call("SLOWLOG", "GET"));
        out.add(c.call("CONFIG", "SET", "slowlog-log-slower-than", "10000"));
      }
      return out;
    });
  }

  @Test
  void latencyWithoutEventsMatchesRedis() throws Exception {
    sameOnBoth(port -> calls(port,
        cmd("LATENCY", "RESET"), cmd("LATENCY", "LATEST"), cmd("LATENCY", "HISTORY", "command"),
        cmd("LATENCY", "RESET", "command", "nosuch"), cmd("LATENCY", "HISTORY"),
        cmd("LATENCY", "NOPE"), cmd("LATENCY")));
  }

  @Test
  void monitorFeedMatchesRedis() throws Exception {
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient monitor = new TypedClient(port); TypedClient c = new TypedClient(port)) {
        out.add(monitor.call("MONITOR"));
        c.call("SET", "k", "a\"b\n\u0001é");
        c.call("GET");
        c.call("CONFIG", "GET", "port");
        c.call("MULTI");
        c.call("INCR", "n");
        c.call("EXEC");
        c.call("AUTH", "secret");
        c.call("CLIENT", "SETNAME", "x");
        c.call("PING");
        for (int i = 0; i < 7; i++) {
          out.add(monitor.read().replaceFirst("^\\+\\d+\\.\\d{6} \\[0 127\\.0\\.0\\.1:\\d+\\] ",
              "+<time> [0 <addr>] "));
        }
        out.add(monitor.silentFor(200));
        monitor.send("MONITOR"); // already monitoring: no reply
        out.add(monitor.call("GET", "k"));
        out.add(monitor.call("PING"));
        out.add(monitor.read().replaceFirst("^\\+\\d+\\.\\d{6} \\[0 127\\.0\\.0\\.1:\\d+\\] ",
            "+<time> [0 <addr>] "));
        out.add(monitor.call("RESET"));
        c.call("SET", "k", "v");
        out.add(monitor.silentFor(200));
        out.add(monitor.call("GET", "k"));
        c.call("MULTI");
        c.call("MONITOR");
        out.add(c.call("EXEC"));
      }
      // In RESP3 the feed is still status replies, not push frames, as in Redis.
      try (TypedClient monitor = new TypedClient(port); TypedClient c = new TypedClient(port)) {
        monitor.call("HELLO", "3");
        out.add(monitor.call("MONITOR"));
        c.call("ECHO", "resp3");
        out.add(monitor.read().replaceFirst("^\\+\\d+\\.\\d{6} \\[0 127\\.0\\.0\\.1:\\d+\\] ",
            "+<time> [0 <addr>] "));
      }
      return out;
    });
  }

  @Test
  void clientReplyMatchesRedis() throws Exception {
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient c = new TypedClient(port)) {
        c.send("CLIENT", "REPLY", "OFF").send("SET", "a", "1").send("GET")
            .send("CLIENT", "REPLY", "ON").send("CLIENT", "REPLY", "SKIP").send("PING")
            .send("PING", "second").send("CLIENT", "REPLY", "OFF").send("CLIENT", "REPLY", "SKIP")
            .send("ECHO", "hidden").send("RESET").send("ECHO", "end");
        for (int i = 0; i < 4; i++) {
          out.add(c.read());
        }
        out.add(c.silentFor(200));
      }
      return out;
    });
  }

  @Test
  void clientPauseHoldsWritesThenAllMatchesRedis() throws Exception {
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient admin = new TypedClient(port); TypedClient writer = new TypedClient(port);
          TypedClient reader = new TypedClient(port)) {
        reader.call("DEL", "p");
        try {
          out.add(admin.call("CLIENT", "PAUSE", "100000", "WRITE"));
          writer.send("SET", "p", "1").send("GET", "p");
          out.add(writer.silentFor(300));
          out.add(reader.call("GET", "p"));
          out.add(reader.call("SET"));
          out.add(reader.call("INFO", "clients").contains("blocked_clients:1"));
          reader.send("MULTI");
          out.add(reader.read());
          out.add(reader.call("GET", "p"));
          out.add(reader.call("EXEC"));
          out.add(admin.call("CLIENT", "UNPAUSE"));
          out.add(writer.read());
          out.add(writer.read());
          out.add(admin.call("CLIENT", "PAUSE", "400", "ALL"));
          reader.send("GET", "p");
          out.add(reader.silentFor(150));
          out.add(reader.read()); // once the pause times out
        } finally {
          try (TypedClient cleanup = new TypedClient(port)) {
            cleanup.send("CLIENT", "UNPAUSE");
          }
        }
      }
      return out;
    });
  }

  @Test
  void clientKillMatchesRedis() throws Exception {
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient admin = new TypedClient(port); TypedClient victim = new TypedClient(port);
          TypedClient second = new TypedClient(port)) {
        String victimId = victim.call("CLIENT", "ID").substring(1);
        out.add(admin.call("CLIENT", "KILL", "ID", victimId));
        out.add(victim.closedByServer());
        String addr = field(second.call("CLIENT", "INFO"), "addr");
        String laddr = field(second.call("CLIENT", "INFO"), "laddr");
        out.add(admin.call("CLIENT", "KILL", "LADDR", laddr, "ID", "99999999"));
        out.add(admin.call("CLIENT", "KILL", addr));
        out.add(second.closedByServer());
        String adminId = admin.call("CLIENT", "ID").substring(1);
        out.add(admin.call("CLIENT", "KILL", "ID", adminId));
        out.add(admin.call("CLIENT", "KILL", "ID", adminId, "SKIPME", "no"));
        out.add(admin.closedByServer());
      }
      return out;
    });
  }

  @Test
  void commandstatsErrorstatsAndCpuMatchRedis() throws Exception {
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient c = new TypedClient(port)) {
        c.call("SET", "s", "text");
        out.add(c.call("CONFIG", "RESETSTAT"));
        c.call("GET", "s");
        c.call("GET");
        c.call("INCR", "s");
        c.call("CLIENT", "ID");
        String stats = c.call("INFO", "commandstats");
        List<String> lines = new ArrayList<>();
        for (String line : stats.split("\r\n")) {
          lines.add(line.replaceAll("usec=\\d+", "usec=N")
              .replaceAll("usec_per_call=\\d+\\.\\d\\d", "usec_per_call=N.NN"));
        }
        lines.sort(null);
        out.add(lines);
        out.add(c.call("INFO", "errorstats"));
        String cpu = c.call("INFO", "cpu");
        for (String name : List.of("used_cpu_sys", "used_cpu_user", "used_cpu_sys_children",
            "used_cpu_user_children", "used_cpu_sys_main_thread", "used_cpu_user_main_thread")) {
          out.add(name + " " + Pattern.compile("\r\n" + name + ":\\d+\\.\\d{6}\r\n").matcher(cpu)
              .find());
        }
        out.add(c.call("INFO", "stats").contains("\r\ntotal_error_replies:2\r\n"));
      }
      return out;
    });
  }

  @Test
  void resetMatchesRedis() throws Exception {
    sameOnBoth(port -> calls(port,
        cmd("MULTI"), cmd("SET", "x", "1"), cmd("RESET"), cmd("EXEC"),
        cmd("CLIENT", "SETNAME", "n"), cmd("RESET"), cmd("CLIENT", "GETNAME"),
        cmd("HELLO", "3", "SETNAME", "r3"), cmd("GET", "nope"), cmd("RESET"), cmd("GET", "nope"),
        cmd("RESET", "x")));
  }

  @Test
  void resp3RepliesMatchRedis() throws Exception {
    sameOnBoth(port -> {
      List<Object> out = new ArrayList<>();
      try (TypedClient c = new TypedClient(port); TypedClient other = new TypedClient(port)) {
        out.add(c.call("HELLO", "4"));
        out.add(c.call("HELLO", "x"));
        out.add(c.call("HELLO", "3", "AUTH", "default"));
        out.add(maskHello(c.call("HELLO", "3")));
        out.add(c.call("GET", "nope"));
        out.add(c.call("SET", "r3", "v"));
        out.add(c.call("GET", "r3"));
        out.add(c.call("MGET", "r3", "nope"));
        out.add(c.call("CONFIG", "GET", "slowlog-max-len"));
        out.add(c.call("CONFIG", "GET", "nosuch"));
        out.add(c.call("INFO", "server").substring(0, 13));
        out.add(c.call("CLIENT", "INFO").substring(0, 8));
        out.add(c.call("CLIENT", "LIST").substring(0, 8));
        List<String> get = elements(elements(c.call("COMMAND", "INFO", "get")).get(0));
        out.add(get.subList(0, 7));
        out.add(c.call("COMMAND", "DOCS", "nosuch"));
        out.add(c.call("COMMAND", "GETKEYS", "MSET", "a", "1"));
        out.add(c.call("WATCH", "w"));
        other.call("SET", "w", "1");
        out.add(c.call("MULTI"));
        out.add(c.call("GET", "w"));
        out.add(c.call("EXEC"));
        out.add(c.call("SLOWLOG", "GET", "0"));
        c.call("LATENCY", "RESET");
        out.add(c.call("LATENCY", "LATEST"));
        out.add(c.call("HELLO", "2").startsWith("*["));
        out.add(c.call("GET", "nope"));
        out.add(c.call("CONFIG", "GET", "slowlog-max-len"));
        c.call("DEL", "r3", "w");
      }
      return out;
    });
  }

  @Test
  void shutdownErrorsMatchRedis() throws Exception {
    sameOnBoth(port -> calls(port,
        cmd("SHUTDOWN", "ABORT"), cmd("SHUTDOWN", "BOGUS"), cmd("SHUTDOWN", "SAVE", "NOSAVE"),
        cmd("SHUTDOWN", "ABORT", "NOW"), cmd("MULTI"), cmd("SHUTDOWN"), cmd("DISCARD"),
        cmd("MONITOR", "x")));
  }

  @Test
  void elementsSplitsOnlyTopLevel() {
    assertThat(elements("*[$a, *[:1, :2], %{$k: $v}, $b]"))
        .containsExactly("$a", "*[:1, :2]", "%{$k: $v}", "$b");
    assertThat(elements("*[]")).isEmpty();
  }
}
