package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.storage.KvStore;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Redis semantics of every command, checked reply by reply. Runs against the reference map store
 * and against the real log engine (subclasses), so the command layer and the engine agree.
 */
abstract class CommandSemanticsTest {
  @TempDir Path dir;
  CommandHarness h;

  abstract KvStore newStore(Path dir) throws IOException;

  @BeforeEach
  void setUp() throws IOException {
    h = new CommandHarness(newStore(dir));
  }

  @AfterEach
  void tearDown() throws IOException {
    h.store.close();
  }

  @Test
  void pingEchoSelect() {
    assertThat(h.call("PING")).isEqualTo("PONG");
    assertThat(h.call("ping", "hi")).isEqualTo("\"hi\"");
    assertThat(h.call("PING", "a", "b"))
        .isEqualTo("(error) ERR wrong number of arguments for 'ping' command");
    assertThat(h.call("ECHO", "x y")).isEqualTo("\"x y\"");
    assertThat(h.call("SELECT", "0")).isEqualTo("OK");
    assertThat(h.call("SELECT", "1")).isEqualTo("(error) ERR DB index is out of range");
    assertThat(h.call("SELECT", "x"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
  }

  @Test
  void unknownCommandAndArity() {
    assertThat(h.call("FOO", "a", "b"))
        .isEqualTo("(error) ERR unknown command 'FOO', with args beginning with: 'a' 'b' ");
    assertThat(h.call("get")).isEqualTo("(error) ERR wrong number of arguments for 'get' command");
    assertThat(h.call("GET", "a", "b"))
        .isEqualTo("(error) ERR wrong number of arguments for 'get' command");
    assertThat(h.call("MSET", "a", "1", "b"))
        .isEqualTo("(error) ERR wrong number of arguments for 'mset' command");
  }

  @Test
  void getSetGetsetDelExists() {
    assertThat(h.call("GET", "k")).isEqualTo("(nil)");
    assertThat(h.call("SET", "k", "v")).isEqualTo("OK");
    assertThat(h.call("GET", "k")).isEqualTo("\"v\"");
    assertThat(h.call("GETSET", "k", "w")).isEqualTo("\"v\"");
    assertThat(h.call("GET", "k")).isEqualTo("\"w\"");
    assertThat(h.call("SET", "e", "")).isEqualTo("OK");
    assertThat(h.call("GET", "e")).isEqualTo("\"\"");
    assertThat(h.call("EXISTS", "k", "k", "nope", "e")).isEqualTo("(integer) 3");
    assertThat(h.call("DEL", "k", "k", "nope")).isEqualTo("(integer) 1");
    assertThat(h.call("GET", "k")).isEqualTo("(nil)");
    assertThat(h.call("DBSIZE")).isEqualTo("(integer) 1");
  }

  @Test
  void setOptions() {
    assertThat(h.call("SET", "k", "1", "NX")).isEqualTo("OK");
    assertThat(h.call("SET", "k", "2", "NX")).isEqualTo("(nil)");
    assertThat(h.call("SET", "k", "3", "XX", "GET")).isEqualTo("\"1\"");
    assertThat(h.call("SET", "m", "3", "XX")).isEqualTo("(nil)");
    assertThat(h.call("SET", "k", "4", "NX", "GET")).isEqualTo("\"3\"");
    assertThat(h.call("SET", "k", "4", "NX", "XX")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SET", "k", "4", "EX", "1", "PX", "5")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SET", "k", "4", "EX")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SET", "k", "4", "BOGUS")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SET", "k", "4", "EX", "x"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
    assertThat(h.call("SET", "k", "4", "EX", "0"))
        .isEqualTo("(error) ERR invalid expire time in 'set' command");
    assertThat(h.call("SET", "k", "4", "EX", "9223372036854775807"))
        .isEqualTo("(error) ERR invalid expire time in 'set' command");
    assertThat(h.call("GET", "k")).isEqualTo("\"3\"");
  }

  @Test
  void expiryIsLazyOnReadAndTtlsReport() {
    assertThat(h.call("SET", "k", "v", "EX", "10")).isEqualTo("OK");
    assertThat(h.call("TTL", "k")).isEqualTo("(integer) 10");
    assertThat(h.call("PTTL", "k")).isEqualTo("(integer) 10000");
    h.nowMillis += 9_000;
    assertThat(h.call("TTL", "k")).isEqualTo("(integer) 1");
    assertThat(h.call("GET", "k")).isEqualTo("\"v\"");
    h.nowMillis += 1_001;
    assertThat(h.call("GET", "k")).isEqualTo("(nil)");
    assertThat(h.call("TTL", "k")).isEqualTo("(integer) -2");
    assertThat(h.store.get("k".getBytes())).as("lazily deleted").isNull();

    assertThat(h.call("SET", "p", "v", "PX", "500")).isEqualTo("OK");
    assertThat(h.call("SET", "p", "w", "KEEPTTL")).isEqualTo("OK");
    assertThat(h.call("PTTL", "p")).isEqualTo("(integer) 500");
    assertThat(h.call("SET", "p", "x")).isEqualTo("OK");
    assertThat(h.call("TTL", "p")).isEqualTo("(integer) -1");
    long at = h.nowMillis + 2_000;
    assertThat(h.call("SET", "q", "v", "PXAT", Long.toString(at))).isEqualTo("OK");
    assertThat(h.call("PTTL", "q")).isEqualTo("(integer) 2000");
    assertThat(h.call("SET", "q", "v", "EXAT", "1")).isEqualTo("OK");
    assertThat(h.call("EXISTS", "q")).isEqualTo("(integer) 0");
    assertThat(h.call("SETEX", "s", "5", "v")).isEqualTo("OK");
    assertThat(h.call("TTL", "s")).isEqualTo("(integer) 5");
    assertThat(h.call("PSETEX", "s", "0", "v"))
        .isEqualTo("(error) ERR invalid expire time in 'psetex' command");
  }

  @Test
  void expireAndPersist() {
    assertThat(h.call("EXPIRE", "nope", "10")).isEqualTo("(integer) 0");
    h.call("SET", "k", "v");
    assertThat(h.call("EXPIRE", "k", "10")).isEqualTo("(integer) 1");
    assertThat(h.call("EXPIRE", "k", "20", "NX")).isEqualTo("(integer) 0");
    assertThat(h.call("EXPIRE", "k", "5", "GT")).isEqualTo("(integer) 0");
    assertThat(h.call("EXPIRE", "k", "20", "GT")).isEqualTo("(integer) 1");
    assertThat(h.call("PEXPIRE", "k", "1500")).isEqualTo("(integer) 1");
    assertThat(h.call("PTTL", "k")).isEqualTo("(integer) 1500");
    assertThat(h.call("PERSIST", "k")).isEqualTo("(integer) 1");
    assertThat(h.call("TTL", "k")).isEqualTo("(integer) -1");
    assertThat(h.call("EXPIRE", "k", "x"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
    assertThat(h.call("EXPIRE", "k", "0")).isEqualTo("(integer) 1");
    assertThat(h.call("EXISTS", "k")).isEqualTo("(integer) 0");
  }

  @Test
  void counters() {
    assertThat(h.call("INCR", "n")).isEqualTo("(integer) 1");
    assertThat(h.call("INCRBY", "n", "41")).isEqualTo("(integer) 42");
    assertThat(h.call("DECR", "n")).isEqualTo("(integer) 41");
    assertThat(h.call("DECRBY", "n", "50")).isEqualTo("(integer) -9");
    assertThat(h.call("GET", "n")).isEqualTo("\"-9\"");
    h.call("SET", "s", "abc");
    assertThat(h.call("INCR", "s"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
    h.call("SET", "z", " 1");
    assertThat(h.call("INCR", "z"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
    h.call("SET", "big", "9223372036854775807");
    assertThat(h.call("INCR", "big"))
        .isEqualTo("(error) ERR increment or decrement would overflow");
    assertThat(h.call("INCRBY", "n", "1.5"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
    assertThat(h.call("DECRBY", "n", "-9223372036854775808"))
        .isEqualTo("(error) ERR decrement would overflow");
    h.call("SET", "t", "5", "EX", "100");
    h.call("INCR", "t");
    assertThat(h.call("TTL", "t")).as("INCR keeps the TTL").isEqualTo("(integer) 100");
  }

  @Test
  void appendStrlenMgetMsetMsetnx() {
    assertThat(h.call("APPEND", "a", "he")).isEqualTo("(integer) 2");
    assertThat(h.call("APPEND", "a", "llo")).isEqualTo("(integer) 5");
    assertThat(h.call("STRLEN", "a")).isEqualTo("(integer) 5");
    assertThat(h.call("STRLEN", "nope")).isEqualTo("(integer) 0");
    assertThat(h.call("MSET", "x", "1", "y", "2")).isEqualTo("OK");
    assertThat(h.call("MGET", "x", "nope", "y", "a")).isEqualTo("[\"1\", (nil), \"2\", \"hello\"]");
    assertThat(h.call("MSETNX", "y", "9", "w", "9")).isEqualTo("(integer) 0");
    assertThat(h.call("EXISTS", "w")).isEqualTo("(integer) 0");
    assertThat(h.call("MSETNX", "v", "8", "w", "9")).isEqualTo("(integer) 1");
    assertThat(h.call("MGET", "v", "w")).isEqualTo("[\"8\", \"9\"]");
    assertThat(h.call("GETDEL", "v")).isEqualTo("\"8\"");
    assertThat(h.call("GETDEL", "v")).isEqualTo("(nil)");
    assertThat(h.call("SETNX", "v", "1")).isEqualTo("(integer) 1");
    assertThat(h.call("SETNX", "v", "2")).isEqualTo("(integer) 0");
    assertThat(h.call("TYPE", "v")).isEqualTo("string");
    assertThat(h.call("TYPE", "nope")).isEqualTo("none");
  }

  @Test
  void scanKeysAndFlush() {
    for (int i = 0; i < 25; i++) {
      h.call("SET", "user:" + i, "v");
    }
    h.call("SET", "other", "v");
    java.util.Set<String> seen = new java.util.TreeSet<>();
    String cursor = "0";
    int rounds = 0;
    do {
      String reply = h.call("SCAN", cursor, "MATCH", "user:*", "COUNT", "7");
      // [ "cursor", [ "k1", "k2" ] ]
      String inner = reply.substring(1, reply.length() - 1);
      int comma = inner.indexOf(", ");
      cursor = inner.substring(1, comma - 1);
      String keys = inner.substring(comma + 2);
      for (String k : keys.substring(1, keys.length() - 1).split(", ")) {
        if (!k.isEmpty()) {
          seen.add(k.replace("\"", ""));
        }
      }
      assertThat(++rounds).isLessThan(100);
    } while (!cursor.equals("0"));
    assertThat(seen).hasSize(25).allMatch(k -> k.startsWith("user:"));
    assertThat(h.call("SCAN", "0", "COUNT", "0")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SCAN", "x")).isEqualTo("(error) ERR invalid cursor");
    assertThat(h.call("SCAN", "0", "TYPE", "hash", "COUNT", "100")).isEqualTo("[\"0\", []]");
    assertThat(h.call("KEYS", "oth?r")).isEqualTo("[\"other\"]");
    assertThat(h.call("FLUSHALL")).isEqualTo("OK");
    assertThat(h.call("DBSIZE")).isEqualTo("(integer) 0");
    assertThat(h.call("FLUSHDB", "BOGUS")).isEqualTo("(error) ERR syntax error");
  }

  @Test
  void multiExecIsOneBatchWithReadsOfItsOwnWrites() {
    assertThat(h.call("MULTI")).isEqualTo("OK");
    assertThat(h.call("SET", "a", "1")).isEqualTo("QUEUED");
    assertThat(h.call("INCR", "a")).isEqualTo("QUEUED");
    assertThat(h.call("GET", "a")).isEqualTo("QUEUED");
    assertThat(h.call("MULTI")).isEqualTo("(error) ERR MULTI calls can not be nested");
    assertThat(h.call("EXEC")).isEqualTo("[OK, (integer) 2, \"2\"]");
    assertThat(h.call("GET", "a")).isEqualTo("\"2\"");
    assertThat(h.call("EXEC")).isEqualTo("(error) ERR EXEC without MULTI");
    assertThat(h.call("DISCARD")).isEqualTo("(error) ERR DISCARD without MULTI");
  }

  @Test
  void watchAbortsExecWhenAnyClientChangesAWatchedKey() {
    Session other = h.newSession();
    h.call("SET", "balance", "10");
    assertThat(h.call("WATCH", "balance", "limit")).isEqualTo("OK");
    assertThat(h.call(other, "INCRBY", "balance", "5")).isEqualTo("(integer) 15");
    h.call("MULTI");
    assertThat(h.call("SET", "balance", "0")).isEqualTo("QUEUED");
    assertThat(h.call("EXEC")).isEqualTo("(nil)"); // a null array: nothing ran
    assertThat(h.call("GET", "balance")).isEqualTo("\"15\"");

    // EXEC ended the watch: the next transaction runs.
    h.call("MULTI");
    h.call("SET", "balance", "1");
    assertThat(h.call("EXEC")).isEqualTo("[OK]");

    // Untouched watched keys, and changes to other keys, let it run.
    h.call("WATCH", "balance");
    h.call(other, "SET", "unrelated", "x");
    h.call(other, "GET", "balance");
    h.call(other, "DEL", "missing"); // deleting nothing changes nothing
    h.call("MULTI");
    h.call("INCR", "balance");
    assertThat(h.call("EXEC")).isEqualTo("[(integer) 2]");
  }

  @Test
  void watchSeesOwnWritesDeletesExpiryAndFlushall() {
    h.call("SET", "k", "v");
    h.call("WATCH", "k");
    h.call("SET", "k", "mine"); // the watcher's own write counts too, as in Redis
    h.call("MULTI");
    h.call("GET", "k");
    assertThat(h.call("EXEC")).isEqualTo("(nil)");

    Session other = h.newSession();
    h.call("WATCH", "k");
    h.call(other, "DEL", "k");
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("(nil)");

    h.call("SET", "t", "v", "PX", "100");
    h.call("WATCH", "t");
    h.nowMillis += 200;
    assertThat(h.call(other, "GET", "t")).isEqualTo("(nil)"); // lazily expired: a change
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("(nil)");

    h.call("SET", "f", "v");
    h.call("WATCH", "f");
    h.call(other, "FLUSHALL"); // removes a watched key: a change
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("(nil)");

    h.call("WATCH", "nothing-here");
    h.call(other, "SET", "f", "v");
    h.call(other, "FLUSHALL"); // a missing watched key is not changed by a flush (Redis 7.0)
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("[]");
  }

  @Test
  void unwatchDiscardAndDisconnectForgetTheWatch() {
    Session other = h.newSession();
    h.call("WATCH", "a");
    assertThat(h.call("UNWATCH")).isEqualTo("OK");
    h.call(other, "SET", "a", "1");
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("[]");

    h.call("WATCH", "a");
    h.call("MULTI");
    assertThat(h.call("WATCH", "b")).isEqualTo("(error) ERR WATCH inside MULTI is not allowed");
    assertThat(h.call("DISCARD")).isEqualTo("OK");
    h.call(other, "SET", "a", "2");
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("[]");

    Session leaving = h.newSession();
    h.call(leaving, "WATCH", "a", "b");
    assertThat(h.dispatcher.watches.watchedKeys()).isEqualTo(2);
    h.dispatcher.connectionClosed(leaving.connection);
    assertThat(h.dispatcher.watches.watchedKeys()).isZero();
    assertThat(h.call("WATCH")).startsWith("(error) ERR wrong number of arguments");
  }

  @Test
  void execAbortsAfterQueueTimeErrorsAndKeepsRuntimeErrorsLocal() {
    h.call("MULTI");
    h.call("SET", "a", "1");
    assertThat(h.call("NOSUCH")).startsWith("(error) ERR unknown command");
    assertThat(h.call("EXEC"))
        .isEqualTo("(error) EXECABORT Transaction discarded because of previous errors.");
    assertThat(h.call("GET", "a")).isEqualTo("(nil)");

    h.call("SET", "s", "x");
    h.call("MULTI");
    h.call("SET", "a", "1");
    h.call("INCR", "s");
    h.call("SET", "b", "2");
    assertThat(h.call("EXEC"))
        .isEqualTo("[OK, (error) ERR value is not an integer or out of range, OK]");
    assertThat(h.call("MGET", "a", "b")).isEqualTo("[\"1\", \"2\"]");

    h.call("MULTI");
    h.call("SET", "c", "1");
    assertThat(h.call("DISCARD")).isEqualTo("OK");
    assertThat(h.call("GET", "c")).isEqualTo("(nil)");
    h.call("MULTI");
    assertThat(h.call("WAITAOF", "1", "0", "0"))
        .isEqualTo("(error) ERR Command not allowed inside a transaction");
    h.call("DISCARD");
  }

  @Test
  void connectionCommands() {
    assertThat(h.call("CLIENT", "SETNAME", "worker-1")).isEqualTo("OK");
    assertThat(h.call("CLIENT", "GETNAME")).isEqualTo("\"worker-1\"");
    assertThat(h.call("CLIENT", "SETNAME", "a b"))
        .isEqualTo("(error) ERR Client names cannot contain spaces, newlines or special characters.");
    assertThat(h.call("CLIENT", "SETINFO", "LIB-NAME", "jedis")).isEqualTo("OK");
    assertThat(h.call("CLIENT", "SETINFO", "BOGUS", "x"))
        .isEqualTo("(error) ERR Unrecognized option 'BOGUS'");
    assertThat(h.call("CLIENT", "ID")).startsWith("(integer) ");
    assertThat(h.call("CLIENT", "INFO")).contains("name=worker-1").contains("lib-name=jedis");
    assertThat(h.call("CLIENT", "SETNAME"))
        .isEqualTo("(error) ERR wrong number of arguments for 'client|setname' command");
    assertThat(h.call("CLIENT", "NOPE"))
        .isEqualTo("(error) ERR unknown subcommand 'NOPE'. Try CLIENT HELP.");
    assertThat(h.call("HELLO", "4")).isEqualTo("(error) NOPROTO unsupported protocol version");
    assertThat(h.call("HELLO", "1")).isEqualTo("(error) NOPROTO unsupported protocol version");
    assertThat(h.call("HELLO", "3")).startsWith("{\"server\": \"redis\", \"version\": ")
        .contains("\"proto\": (integer) 3");
    assertThat(h.call("GET", "nope")).isEqualTo("(null)");
    assertThat(h.call("HELLO", "2")).startsWith("[\"server\", \"redis\", \"version\"")
        .contains("\"proto\", (integer) 2");
    assertThat(h.call("GET", "nope")).isEqualTo("(nil)");
    assertThat(h.call("AUTH", "pw")).startsWith(
        "(error) ERR AUTH <password> called without any password configured");
    assertThat(h.call("QUIT")).isEqualTo("OK");
  }

  @Test
  void serverCommands() {
    h.call("SET", "a", "1");
    assertThat(h.call("INFO")).contains("# Server").contains("redis_version:")
        .contains("# Keyspace").contains("db0:keys=1,expires=0,");
    h.call("SET", "t1", "x", "EX", "100");
    h.call("SET", "t2", "x", "PX", "100000");
    h.call("SET", "a", "2", "EX", "5");
    h.call("SET", "t2", "y"); // a plain SET drops the TTL
    assertThat(h.call("INFO", "keyspace")).contains("db0:keys=3,expires=2,");
    h.call("PERSIST", "t1");
    h.call("DEL", "a");
    assertThat(h.call("INFO", "keyspace")).contains("db0:keys=2,expires=0,");
    h.call("DEL", "t1", "t2");
    h.call("SET", "a", "1"); // back to the one key the checks below expect
    assertThat(h.call("INFO", "stats")).contains("total_commands_processed:")
        .doesNotContain("# Server");
    assertThat(h.call("CONFIG", "GET", "save")).isEqualTo("[\"save\", \"\"]");
    assertThat(h.call("CONFIG", "GET", "appendonly")).isEqualTo("[\"appendonly\", \"no\"]");
    assertThat(h.call("CONFIG", "GET", "databases")).isEqualTo("[\"databases\", \"1\"]");
    assertThat(h.call("CONFIG", "GET", "nothing*")).isEqualTo("[]");
    assertThat(h.call("COMMAND", "COUNT")).startsWith("(integer) ");
    assertThat(h.call("COMMAND", "DOCS", "get", "nosuch")).isEqualTo("[\"get\", [\"summary\", "
        + "\"Returns the value of a key.\", \"since\", \"1.0.0\", \"group\", \"string\"]]");
    assertThat(h.call("COMMAND", "INFO", "get"))
        .startsWith("[[\"get\", (integer) 2, [readonly, fast], (integer) 1, (integer) 1");
    assertThat(h.call("COMMAND")).contains("\"set\", (integer) -3");
    assertThat(h.call("WAIT", "0", "0")).isEqualTo("(integer) 0");
    assertThat(h.call("WAIT", "1", "-1")).isEqualTo("(error) ERR timeout is negative");
    assertThat(h.call("WAITAOF", "1", "0", "0")).isEqualTo("[(integer) 1, (integer) 0]");
    assertThat(h.call("RESPAWN", "DURABILITY")).isEqualTo("\"ORDERED\"");
    assertThat(h.call("RESPAWN", "DURABILITY", "durable")).isEqualTo("OK");
    assertThat(h.call("RESPAWN", "DURABILITY")).isEqualTo("\"DURABLE\"");
    assertThat(h.call("RESPAWN", "DURABILITY", "fast")).startsWith("(error) ERR durability must");
    assertThat(h.call("RESPAWN", "STATUS")).contains("role:standalone").contains("keys:1");
    assertThat(h.call("SET", "b", "2")).isEqualTo("OK");
    assertThat(h.call("GET", "b")).isEqualTo("\"2\"");
  }
}
