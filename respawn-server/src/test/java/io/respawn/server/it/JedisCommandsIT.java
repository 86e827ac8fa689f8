package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;
import redis.clients.jedis.Transaction;
import redis.clients.jedis.commands.ProtocolCommand;
import redis.clients.jedis.exceptions.JedisDataException;
import redis.clients.jedis.params.ScanParams;
import redis.clients.jedis.params.SetParams;
import redis.clients.jedis.resps.ScanResult;
import redis.clients.jedis.util.KeyValue;

/**
 * Every command through a real client (Jedis 8) against a real server process, plus malformed and
 * oversized input over a raw socket. The server runs with a 1 MiB bulk limit so the oversized
 * case stays cheap.
 */
class JedisCommandsIT {
  @TempDir static Path tmp;
  static ServerProcess server;
  Jedis jedis;

  static final ProtocolCommand RESPAWN = () -> "RESPAWN".getBytes(StandardCharsets.US_ASCII);
  static final ProtocolCommand SET = () -> "SET".getBytes(StandardCharsets.US_ASCII);
  static final ProtocolCommand HELLO = () -> "HELLO".getBytes(StandardCharsets.US_ASCII);
  static final ProtocolCommand COMMAND = () -> "COMMAND".getBytes(StandardCharsets.US_ASCII);

  @BeforeAll
  static void startServer() throws Exception {
    server = ServerProcess.start(tmp.resolve("data"), ServerProcess.freePort(),
        "--bulk-length-max", "1m");
  }

  @AfterAll
  static void stopServer() {
    if (server != null) {
      server.close();
    }
  }

  @BeforeEach
  void connect() {
    jedis = new Jedis("127.0.0.1", server.port(), 10_000);
    jedis.flushAll();
  }

  @org.junit.jupiter.api.AfterEach
  void disconnect() {
    jedis.close();
  }

  private static String str(Object reply) {
    return reply == null ? null : new String((byte[]) reply, StandardCharsets.UTF_8);
  }

  @Test
  void stringsAndKeys() {
    assertThat(jedis.ping()).isEqualTo("PONG");
    assertThat(jedis.echo("hi")).isEqualTo("hi");
    assertThat(jedis.select(0)).isEqualTo("OK");
    assertThatThrownBy(() -> jedis.select(3)).hasMessage("ERR DB index is out of range");
    assertThat(jedis.set("a", "1")).isEqualTo("OK");
    assertThat(jedis.get("a")).isEqualTo("1");
    assertThat(jedis.get("missing")).isNull();
    assertThat(jedis.getSet("a", "2")).isEqualTo("1");
    assertThat(jedis.getDel("a")).isEqualTo("2");
    assertThat(jedis.exists("a")).isFalse();
    assertThat(jedis.mset("x", "1", "y", "2")).isEqualTo("OK");
    assertThat(jedis.mget("x", "nope", "y")).containsExactly("1", null, "2");
    assertThat(jedis.msetnx("y", "3", "z", "4")).isEqualTo(0);
    assertThat(jedis.msetnx("z", "4", "w", "5")).isEqualTo(1);
    assertThat(jedis.exists("x", "y", "z", "nope")).isEqualTo(3);
    assertThat(jedis.del("x", "y", "nope")).isEqualTo(2);
    assertThat(jedis.incr("n")).isEqualTo(1);
    assertThat(jedis.incrBy("n", 10)).isEqualTo(11);
    assertThat(jedis.decr("n")).isEqualTo(10);
    assertThat(jedis.decrBy("n", 20)).isEqualTo(-10);
    jedis.set("s", "abc");
    assertThatThrownBy(() -> jedis.incr("s"))
        .isInstanceOf(JedisDataException.class)
        .hasMessage("ERR value is not an integer or out of range");
    assertThat(jedis.append("s", "def")).isEqualTo(6);
    assertThat(jedis.strlen("s")).isEqualTo(6);
    assertThat(jedis.dbSize()).isEqualTo(4);
    assertThatThrownBy(() -> jedis.sendCommand(() -> "FOO".getBytes(), "bar"))
        .hasMessage("ERR unknown command 'FOO', with args beginning with: 'bar' ");
  }

  @Test
  void setOptionsAndExpiry() {
    assertThat(jedis.set("k", "v", SetParams.setParams().nx())).isEqualTo("OK");
    assertThat(jedis.set("k", "v2", SetParams.setParams().nx())).isNull();
    assertThat(jedis.set("k", "v3", SetParams.setParams().xx().ex(100))).isEqualTo("OK");
    assertThat(jedis.ttl("k")).isBetween(99L, 100L);
    assertThat(str(jedis.sendCommand(SET, "k", "v4", "GET", "KEEPTTL"))).isEqualTo("v3");
    assertThat(jedis.ttl("k")).isBetween(99L, 100L);
    assertThat(jedis.persist("k")).isEqualTo(1);
    assertThat(jedis.ttl("k")).isEqualTo(-1);
    assertThat(jedis.ttl("nope")).isEqualTo(-2);
    assertThat(jedis.expire("k", 50)).isEqualTo(1);
    assertThat(jedis.pexpire("k", 1500)).isEqualTo(1);
    assertThat(jedis.pttl("k")).isBetween(1000L, 1500L);
    assertThat(jedis.set("short", "v", SetParams.setParams().px(100))).isEqualTo("OK");
    assertThat(jedis.set("at", "v", SetParams.setParams().pxAt(System.currentTimeMillis() + 60_000)))
        .isEqualTo("OK");
    assertThat(jedis.pttl("at")).isBetween(50_000L, 60_000L);
    Awaitility.await().atMost(5, TimeUnit.SECONDS).until(() -> jedis.get("short") == null);
    assertThatThrownBy(() -> jedis.set("k", "v", SetParams.setParams().ex(0)))
        .hasMessage("ERR invalid expire time in 'set' command");
    assertThatThrownBy(() -> jedis.sendCommand(SET, "k", "v", "NX", "XX"))
        .hasMessage("ERR syntax error");
  }

  @Test
  void activeExpiryRemovesKeysNobodyReads() {
    for (int i = 0; i < 50; i++) {
      jedis.set("tmp:" + i, "v", SetParams.setParams().px(50));
    }
    jedis.set("keep", "v");
    Awaitility.await().atMost(10, TimeUnit.SECONDS).until(() -> jedis.dbSize() == 1);
  }

  @Test
  void scanWithMatchAndCount() {
    for (int i = 0; i < 300; i++) {
      jedis.set("user:" + i, "v");
    }
    jedis.set("other", "v");
    Set<String> seen = new HashSet<>();
    String cursor = ScanParams.SCAN_POINTER_START;
    int calls = 0;
    do {
      ScanResult<String> page = jedis.scan(cursor, new ScanParams().match("user:*").count(50));
      seen.addAll(page.getResult());
      cursor = page.getCursor();
      assertThat(++calls).isLessThan(1000);
    } while (!cursor.equals("0"));
    assertThat(seen).hasSize(300).allMatch(k -> k.startsWith("user:"));
    assertThat(jedis.keys("oth*")).containsExactly("other");
    assertThat(jedis.flushAll()).isEqualTo("OK");
    assertThat(jedis.dbSize()).isZero();
    jedis.set("again", "v");
    assertThat(jedis.flushDB()).isEqualTo("OK");
    assertThat(jedis.dbSize()).isZero();
  }

  @Test
  void transactions() {
    Transaction t = jedis.multi();
    t.set("a", "1");
    t.incr("a");
    t.get("a");
    List<Object> results = t.exec();
    assertThat(results).hasSize(3);
    assertThat(results.get(0)).isEqualTo("OK");
    assertThat(results.get(1)).isEqualTo(2L);
    assertThat(results.get(2)).isEqualTo("2");

    Transaction discarded = jedis.multi();
    discarded.set("b", "1");
    assertThat(discarded.discard()).isEqualTo("OK");
    assertThat(jedis.exists("b")).isFalse();
  }

  @Test
  void watchedTransactionAbortsWhenAnotherClientWrites() {
    jedis.set("counter", "1");
    assertThat(jedis.watch("counter")).isEqualTo("OK");
    try (Jedis other = new Jedis("127.0.0.1", server.port(), 10_000)) {
      other.incr("counter");
    }
    Transaction t = jedis.multi();
    t.set("counter", "100");
    assertThat(t.exec()).isNull(); // Jedis maps the null array to null: aborted
    assertThat(jedis.get("counter")).isEqualTo("2");

    jedis.watch("counter");
    Transaction ok = jedis.multi();
    ok.incr("counter");
    assertThat(ok.exec()).containsExactly(3L);
    assertThat(jedis.unwatch()).isEqualTo("OK");
  }

  @Test
  void execAbortAfterQueueTimeError() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      c.command("MULTI").command("SET", "t", "1").command("NOSUCH").command("EXEC");
      assertThat(c.read()).isEqualTo("+OK");
      assertThat(c.read()).isEqualTo("+QUEUED");
      assertThat(c.read()).startsWith("-ERR unknown command 'NOSUCH'");
      assertThat(c.read()).isEqualTo("-EXECABORT Transaction discarded because of previous errors.");
    }
    assertThat(jedis.exists("t")).isFalse();
  }

  @Test
  void connectionAndServerCommands() {
    assertThat(jedis.clientSetname("it-client")).isEqualTo("OK");
    assertThat(jedis.clientGetname()).isEqualTo("it-client");
    assertThat(jedis.clientId()).isPositive();
    assertThat(jedis.clientList()).contains("name=it-client");
    assertThatThrownBy(() -> jedis.sendCommand(HELLO, "4"))
        .hasMessage("NOPROTO unsupported protocol version");
    @SuppressWarnings("unchecked")
    List<Object> hello = (List<Object>) jedis.sendCommand(HELLO, "2");
    assertThat(str(hello.get(0))).isEqualTo("server");
    assertThat(hello).contains(2L);
    String info = jedis.info();
    assertThat(info).contains("# Server", "# Clients", "# Memory", "# Persistence", "# Stats",
        "# Keyspace", "redis_version:", "connected_clients:", "used_memory:");
    jedis.set("a", "1");
    assertThat(jedis.info("keyspace")).contains("db0:keys=1");
    Map<String, String> config = jedis.configGet("*");
    assertThat(config).containsEntry("save", "").containsEntry("appendonly", "no")
        .containsEntry("databases", "1");
    // No --maxmemory given: the default limit, half of the machine's memory.
    assertThat(Long.parseLong(config.get("maxmemory"))).isPositive();
    assertThat(jedis.info("memory")).contains("maxmemory:" + config.get("maxmemory") + "\r\n");
    assertThat(jedis.commandCount()).isGreaterThan(40);
    List<?> docs = (List<?>) jedis.sendCommand(COMMAND, "DOCS", "get", "nosuch");
    assertThat(docs).hasSize(2);
    assertThat(str(docs.get(0))).isEqualTo("get");
    assertThat((List<?>) jedis.sendCommand(COMMAND)).hasSizeGreaterThan(40);
    assertThat(jedis.waitReplicas(0, 0)).isZero();
    KeyValue<Long, Long> aof = jedis.waitAOF(1, 0, 1000);
    assertThat(aof.getKey()).isEqualTo(1L);
    assertThat(aof.getValue()).isEqualTo(0L);
  }

  @Test
  void respawnExtensions() {
    assertThat(str(jedis.sendCommand(RESPAWN, "DURABILITY"))).isEqualTo("ORDERED");
    assertThat(str(jedis.sendCommand(RESPAWN, "DURABILITY", "DURABLE"))).isEqualTo("OK");
    assertThat(str(jedis.sendCommand(RESPAWN, "DURABILITY"))).isEqualTo("DURABLE");
    for (int i = 0; i < 20; i++) {
      assertThat(jedis.set("d" + i, "v")).isEqualTo("OK");
    }
    assertThat(str(jedis.sendCommand(RESPAWN, "STATUS"))).contains("role:standalone")
        .contains("connection_durability:DURABLE");
    assertThatThrownBy(() -> jedis.sendCommand(RESPAWN, "NOPE"))
        .hasMessage("ERR unknown subcommand 'NOPE'. Try RESPAWN HELP.");
  }

  @Test
  void pipelinedRepliesComeBackInOrder() {
    Pipeline p = jedis.pipelined();
    List<Response<Long>> incrs = new java.util.ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      p.set("p" + (i % 10), Integer.toString(i));
      incrs.add(p.incr("counter"));
    }
    p.sync();
    for (int i = 0; i < incrs.size(); i++) {
      assertThat(incrs.get(i).get()).isEqualTo(i + 1L);
    }
    assertThat(jedis.get("p9")).isEqualTo("4999");
  }

  @Test
  void inlineCommandsWork() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      c.send("SET inline \"a b\"\r\nGET inline\r\nPING\r\n");
      assertThat(c.read()).isEqualTo("+OK");
      assertThat(c.read()).isEqualTo("$a b");
      assertThat(c.read()).isEqualTo("+PONG");
      c.send("QUIT\r\n");
      assertThat(c.read()).isEqualTo("+OK");
      assertThat(c.isClosedByServer()).isTrue();
    }
  }

  @Test
  void malformedInputClosesOnlyThatConnection() throws Exception {
    String[] bad = {
        "*2\r\n$3\r\nGET\r\n:1\r\n",
        "*1\r\n$3\r\nGETXX\r\n",
        "*x\r\n",
        "*2\r\n$3\r\nGET\r\n*1\r\n$1\r\na\r\n",
        "SET \"open quote\r\n",
    };
    for (String b : bad) {
      try (RawClient c = new RawClient(server.port())) {
        c.command("SET", "before", "1");
        c.send(b);
        assertThat(c.read()).isEqualTo("+OK");
        assertThat(c.read()).as(b).startsWith("-ERR Protocol error: ");
        assertThat(c.isClosedByServer()).as(b).isTrue();
      }
      assertThat(jedis.ping()).isEqualTo("PONG");
    }
  }

  @Test
  void oversizedValuesAreRefusedAndNothingIsWritten() throws Exception {
    try (RawClient c = new RawClient(server.port())) {
      // Announced length over --bulk-length-max: refused at the header, connection closed.
      c.send("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$" + (2 * 1024 * 1024) + "\r\n");
      c.send(new byte[64 * 1024]);
      assertThat(c.read()).isEqualTo("-ERR Protocol error: invalid bulk length");
    }
    assertThat(jedis.exists("big")).isFalse();
    // A key over the engine's key limit: an error for that command only.
    String bigKey = "k".repeat(64 * 1024 + 10);
    assertThatThrownBy(() -> jedis.set(bigKey, "v"))
        .hasMessage("ERR key of 65546 bytes exceeds keyBytesMax 65536");
    assertThat(jedis.dbSize()).isZero();
    assertThat(jedis.set("fine", "x".repeat(1024 * 1024))).isEqualTo("OK");
    assertThat(jedis.strlen("fine")).isEqualTo(1024 * 1024);
    assertThatThrownBy(() -> jedis.append("fine", "more"))
        .hasMessage("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
  }
}
