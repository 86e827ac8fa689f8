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
 * Redis 7.0 semantics of the string and key command families and of transactions over them,
 * reply by reply, error texts included. Runs against the reference map store and the real log
 * engine (subclasses). The same sequences run side by side with a real Redis in
 * {@code StringKeyCommandsDiffIT}.
 */
abstract class StringKeySemanticsTest {
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

  // ---- transactions see their own writes; WATCH as in Redis 7.0 ----

  @Test
  void dbsizeScanAndKeysInsideMultiSeeTheTransactionsOwnWrites() {
    h.call("SET", "old", "1");
    h.call("MULTI");
    h.call("SET", "a", "1");
    h.call("DEL", "old");
    h.call("DBSIZE");
    h.call("SCAN", "0", "COUNT", "100");
    h.call("KEYS", "*");
    h.call("FLUSHALL");
    h.call("SET", "c", "3");
    h.call("SET", "d", "4");
    h.call("DEL", "d");
    h.call("DBSIZE");
    h.call("SCAN", "0", "MATCH", "c*");
    h.call("KEYS", "?");
    assertThat(h.call("EXEC")).isEqualTo("[OK, (integer) 1, (integer) 1, [\"0\", [\"a\"]], [\"a\"],"
        + " OK, OK, OK, (integer) 1, (integer) 1, [\"0\", [\"c\"]], [\"c\"]]");
    assertThat(h.call("DBSIZE")).isEqualTo("(integer) 1");
    assertThat(h.call("KEYS", "*")).isEqualTo("[\"c\"]");
  }

  @Test
  void watchedMissingKeySurvivesFlushallButAWatchedExistingKeyDoesNot() {
    Session other = h.newSession();
    h.call("SET", "present", "v");
    h.call("WATCH", "missing");
    h.call(other, "FLUSHALL");
    h.call("MULTI");
    h.call("SET", "x", "1");
    assertThat(h.call("EXEC")).isEqualTo("[OK]");

    h.call("WATCH", "x");
    h.call(other, "FLUSHDB");
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("(nil)");
  }

  @Test
  void watchedKeyThatExpiresAbortsExecEvenIfNobodyReadsIt() {
    h.call("SET", "t", "v", "PX", "100");
    h.call("WATCH", "t");
    h.nowMillis += 200;
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("(nil)");
  }

  @Test
  void keyAlreadyExpiredWhenWatchedIsNoChangeWhenRemoved() {
    Session other = h.newSession();
    h.call("SET", "stale", "v", "PX", "100");
    h.nowMillis += 200;
    h.call("WATCH", "stale");
    assertThat(h.call(other, "GET", "stale")).isEqualTo("(nil)"); // lazily removed
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("[]");

    h.call("SET", "stale2", "v", "PX", "100");
    h.nowMillis += 200;
    h.call("WATCH", "stale2");
    h.call(other, "FLUSHALL");
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("[]");

    h.call("SET", "stale3", "v", "PX", "100");
    h.nowMillis += 200;
    h.call("WATCH", "stale3");
    h.call(other, "SET", "stale3", "new"); // a new value is a change
    h.call("MULTI");
    assertThat(h.call("EXEC")).isEqualTo("(nil)");
  }

  // ---- strings ----

  @Test
  void setnxSetexPsetexGetdel() {
    assertThat(h.call("SETNX", "n", "1")).isEqualTo("(integer) 1");
    assertThat(h.call("SETNX", "n", "2")).isEqualTo("(integer) 0");
    assertThat(h.call("GET", "n")).isEqualTo("\"1\"");
    assertThat(h.call("SETNX", "n")).isEqualTo("(error) ERR wrong number of arguments for 'setnx' command");
    assertThat(h.call("SETEX", "e", "100", "v")).isEqualTo("OK");
    assertThat(h.call("PTTL", "e")).isEqualTo("(integer) 100000");
    assertThat(h.call("SETEX", "e", "0", "v")).isEqualTo("(error) ERR invalid expire time in 'setex' command");
    assertThat(h.call("SETEX", "e", "x", "v")).isEqualTo("(error) ERR value is not an integer or out of range");
    assertThat(h.call("SETEX", "e", "9223372036854775807", "v"))
        .isEqualTo("(error) ERR invalid expire time in 'setex' command");
    assertThat(h.call("PSETEX", "p", "1500", "v")).isEqualTo("OK");
    assertThat(h.call("PTTL", "p")).isEqualTo("(integer) 1500");
    assertThat(h.call("PSETEX", "p", "-1", "v")).isEqualTo("(error) ERR invalid expire time in 'psetex' command");
    assertThat(h.call("GETDEL", "p")).isEqualTo("\"v\"");
    assertThat(h.call("GETDEL", "p")).isEqualTo("(nil)");
    assertThat(h.call("EXISTS", "p")).isEqualTo("(integer) 0");
  }

  @Test
  void setParsesOptionsLikeRedis() {
    assertThat(h.call("SET", "k", "v", "EX", "100", "EX", "200")).isEqualTo("OK");
    assertThat(h.call("TTL", "k")).isEqualTo("(integer) 200");
    assertThat(h.call("SET", "k", "v", "EX", "0", "BOGUS")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SET", "k", "v", "EX", "10", "PX", "100")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SET", "k", "v", "PERSIST")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("SET", "k", "v", "EX", "0")).isEqualTo("(error) ERR invalid expire time in 'set' command");
  }

  @Test
  void getex() {
    h.call("SET", "g", "val");
    assertThat(h.call("GETEX", "g")).isEqualTo("\"val\"");
    assertThat(h.call("TTL", "g")).isEqualTo("(integer) -1");
    assertThat(h.call("GETEX", "g", "EX", "100")).isEqualTo("\"val\"");
    assertThat(h.call("TTL", "g")).isEqualTo("(integer) 100");
    assertThat(h.call("GETEX", "g", "PX", "1500")).isEqualTo("\"val\"");
    assertThat(h.call("PTTL", "g")).isEqualTo("(integer) 1500");
    long at = h.nowMillis + 5_000;
    assertThat(h.call("GETEX", "g", "PXAT", Long.toString(at))).isEqualTo("\"val\"");
    assertThat(h.call("PEXPIRETIME", "g")).isEqualTo("(integer) " + at);
    assertThat(h.call("GETEX", "g", "PERSIST")).isEqualTo("\"val\"");
    assertThat(h.call("TTL", "g")).isEqualTo("(integer) -1");
    assertThat(h.call("GETEX", "missing", "EX", "abc")).isEqualTo("(nil)");
    assertThat(h.call("GETEX", "g", "EX", "abc"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
    assertThat(h.call("GETEX", "g", "EX", "0")).isEqualTo("(error) ERR invalid expire time in 'getex' command");
    assertThat(h.call("GETEX", "g", "EX", "1", "PX", "1")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("GETEX", "g", "PERSIST", "EX", "1")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("GETEX", "g", "KEEPTTL")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("GETEX", "g", "EXAT", "1")).isEqualTo("\"val\"");
    assertThat(h.call("EXISTS", "g")).as("an EXAT in the past deletes").isEqualTo("(integer) 0");
    assertThat(h.call("GETEX")).isEqualTo("(error) ERR wrong number of arguments for 'getex' command");
  }

  @Test
  void getrangeSubstrSetrange() {
    h.call("SET", "s", "Hello World");
    assertThat(h.call("GETRANGE", "s", "0", "4")).isEqualTo("\"Hello\"");
    assertThat(h.call("GETRANGE", "s", "-5", "-1")).isEqualTo("\"World\"");
    assertThat(h.call("GETRANGE", "s", "-1", "-5")).isEqualTo("\"\"");
    assertThat(h.call("GETRANGE", "s", "-100", "100")).isEqualTo("\"Hello World\"");
    assertThat(h.call("SUBSTR", "s", "6", "-1")).isEqualTo("\"World\"");
    assertThat(h.call("GETRANGE", "missing", "0", "-1")).isEqualTo("\"\"");
    assertThat(h.call("GETRANGE", "s", "a", "1"))
        .isEqualTo("(error) ERR value is not an integer or out of range");
    assertThat(h.call("SETRANGE", "s", "6", "Redis")).isEqualTo("(integer) 11");
    assertThat(h.call("GET", "s")).isEqualTo("\"Hello Redis\"");
    assertThat(h.call("SETRANGE", "new", "0", "")).isEqualTo("(integer) 0");
    assertThat(h.call("EXISTS", "new")).isEqualTo("(integer) 0");
    assertThat(h.call("SETRANGE", "new", "2", "x")).isEqualTo("(integer) 3");
    assertThat(h.call("GET", "new")).isEqualTo("\"\u0000\u0000x\"");
    assertThat(h.call("SETRANGE", "new", "-1", "x")).isEqualTo("(error) ERR offset is out of range");
    assertThat(h.call("SETRANGE", "new", Long.toString(64L * 1024 * 1024), "x"))
        .isEqualTo("(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    assertThat(h.call("SETRANGE", "new", "9223372036854775807", "x"))
        .isEqualTo("(error) ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    h.call("SET", "t", "abc", "EX", "100");
    assertThat(h.call("SETRANGE", "t", "1", "X")).isEqualTo("(integer) 3");
    assertThat(h.call("TTL", "t")).as("SETRANGE keeps the TTL").isEqualTo("(integer) 100");
  }

  @Test
  void incrbyfloat() {
    assertThat(h.call("INCRBYFLOAT", "f", "10.5")).isEqualTo("\"10.5\"");
    assertThat(h.call("INCRBYFLOAT", "f", "0.1")).isEqualTo("\"10.6\"");
    // 80-bit long double, printed with 17 decimals: what Redis answers on x86-64
    assertThat(h.call("INCRBYFLOAT", "f", "-5.0e3")).isEqualTo("\"-4989.39999999999999991\"");
    assertThat(h.call("INCRBYFLOAT", "g", "0.1")).isEqualTo("\"0.1\"");
    assertThat(h.call("INCRBYFLOAT", "g", "0.2")).isEqualTo("\"0.3\"");
    assertThat(h.call("INCRBYFLOAT", "g", "-0.3")).isEqualTo("\"0\"");
    assertThat(h.call("INCRBYFLOAT", "g", "inf"))
        .isEqualTo("(error) ERR increment would produce NaN or Infinity");
    assertThat(h.call("INCRBYFLOAT", "g", "abc")).isEqualTo("(error) ERR value is not a valid float");
    h.call("SET", "bad", " 11");
    assertThat(h.call("INCRBYFLOAT", "bad", "1")).isEqualTo("(error) ERR value is not a valid float");
    h.call("SET", "t", "1", "EX", "100");
    assertThat(h.call("INCRBYFLOAT", "t", "1.25")).isEqualTo("\"2.25\"");
    assertThat(h.call("TTL", "t")).as("keeps the TTL").isEqualTo("(integer) 100");
  }

  @Test
  void lcs() {
    h.call("MSET", "a", "ohmytext", "b", "mynewtext");
    assertThat(h.call("LCS", "a", "b")).isEqualTo("\"mytext\"");
    assertThat(h.call("LCS", "a", "b", "LEN")).isEqualTo("(integer) 6");
    assertThat(h.call("LCS", "a", "b", "IDX")).isEqualTo("[\"matches\", ["
        + "[[(integer) 4, (integer) 7], [(integer) 5, (integer) 8]], "
        + "[[(integer) 2, (integer) 3], [(integer) 0, (integer) 1]]], \"len\", (integer) 6]");
    assertThat(h.call("LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN")).isEqualTo(
        "[\"matches\", [[[(integer) 4, (integer) 7], [(integer) 5, (integer) 8], (integer) 4]],"
            + " \"len\", (integer) 6]");
    assertThat(h.call("LCS", "a", "b", "LEN", "IDX"))
        .isEqualTo("(error) ERR If you want both the length and indexes, please just use IDX.");
    assertThat(h.call("LCS", "a", "b", "BOGUS")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("LCS", "a", "missing")).isEqualTo("\"\"");
  }

  @Test
  void lcsRefusesTablesOverTheBulkLimit() {
    String big = "x".repeat(5_000); // (5001)^2 × 4 bytes > 64 MiB
    h.call("MSET", "a", big, "b", big);
    assertThat(h.call("LCS", "a", "b", "LEN")).isEqualTo(
        "(error) ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len");
  }

  @Test
  void setbitGetbitBitcountBitpos() {
    assertThat(h.call("SETBIT", "b", "7", "1")).isEqualTo("(integer) 0");
    assertThat(h.call("SETBIT", "b", "7", "1")).isEqualTo("(integer) 1");
    assertThat(h.call("GET", "b")).isEqualTo("\"\u0001\"");
    assertThat(h.call("SETBIT", "b", "8", "1")).isEqualTo("(integer) 0");
    assertThat(h.call("STRLEN", "b")).isEqualTo("(integer) 2");
    assertThat(h.call("GETBIT", "b", "8")).isEqualTo("(integer) 1");
    assertThat(h.call("GETBIT", "b", "1000")).isEqualTo("(integer) 0");
    assertThat(h.call("GETBIT", "missing", "0")).isEqualTo("(integer) 0");
    assertThat(h.call("SETBIT", "b", "-1", "1"))
        .isEqualTo("(error) ERR bit offset is not an integer or out of range");
    assertThat(h.call("SETBIT", "b", Long.toString(64L * 1024 * 1024 * 8), "1"))
        .isEqualTo("(error) ERR bit offset is not an integer or out of range");
    assertThat(h.call("SETBIT", "b", "1", "2"))
        .isEqualTo("(error) ERR bit is not an integer or out of range");
    assertThat(h.call("GETBIT", "b", "x"))
        .isEqualTo("(error) ERR bit offset is not an integer or out of range");
    h.call("SET", "s", "foobar");
    assertThat(h.call("BITCOUNT", "s")).isEqualTo("(integer) 26");
    assertThat(h.call("BITCOUNT", "s", "1", "1")).isEqualTo("(integer) 6");
    assertThat(h.call("BITCOUNT", "s", "5", "30", "BIT")).isEqualTo("(integer) 17");
    assertThat(h.call("BITCOUNT", "s", "-1", "-2", "BOGUS")).isEqualTo("(integer) 0");
    assertThat(h.call("BITCOUNT", "s", "0", "1", "BOGUS")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("BITCOUNT", "s", "0")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("BITCOUNT", "missing", "x", "y")).isEqualTo("(integer) 0");
    assertThat(h.callBytes("SET", "p", new byte[] {(byte) 0xff, (byte) 0xf0, 0})).isEqualTo("OK");
    assertThat(h.call("BITPOS", "p", "0")).isEqualTo("(integer) 12");
    assertThat(h.call("BITPOS", "p", "1", "2")).isEqualTo("(integer) -1");
    assertThat(h.call("BITPOS", "p", "1", "7", "15", "BIT")).isEqualTo("(integer) 7");
    h.callBytes("SET", "ones", new byte[] {(byte) 0xff, (byte) 0xff});
    assertThat(h.call("BITPOS", "ones", "0")).as("past the end").isEqualTo("(integer) 16");
    assertThat(h.call("BITPOS", "ones", "0", "0", "-1")).as("explicit end").isEqualTo("(integer) -1");
    assertThat(h.call("BITPOS", "missing", "0")).isEqualTo("(integer) 0");
    assertThat(h.call("BITPOS", "missing", "1")).isEqualTo("(integer) -1");
    assertThat(h.call("BITPOS", "p", "2")).isEqualTo("(error) ERR The bit argument must be 1 or 0.");
    assertThat(h.call("BITPOS", "p", "1", "0", "1", "BITS")).isEqualTo("(error) ERR syntax error");
  }

  // ---- keys ----

  @Test
  void renameRenamenxCopy() {
    h.call("SET", "a", "1", "EX", "100");
    assertThat(h.call("RENAME", "a", "b")).isEqualTo("OK");
    assertThat(h.call("TTL", "b")).as("the TTL moves along").isEqualTo("(integer) 100");
    assertThat(h.call("RENAME", "a", "b")).isEqualTo("(error) ERR no such key");
    assertThat(h.call("RENAME", "b", "b")).isEqualTo("OK");
    assertThat(h.call("RENAMENX", "b", "b")).isEqualTo("(integer) 0");
    h.call("SET", "c", "2");
    assertThat(h.call("RENAMENX", "b", "c")).isEqualTo("(integer) 0");
    assertThat(h.call("RENAMENX", "b", "d")).isEqualTo("(integer) 1");
    assertThat(h.call("RENAME", "d", "c")).isEqualTo("OK");
    assertThat(h.call("GET", "c")).isEqualTo("\"1\"");
    assertThat(h.call("COPY", "c", "e")).isEqualTo("(integer) 1");
    assertThat(h.call("TTL", "e")).isEqualTo("(integer) 100");
    assertThat(h.call("COPY", "c", "e")).isEqualTo("(integer) 0");
    h.call("SET", "c", "3");
    assertThat(h.call("COPY", "c", "e", "REPLACE")).isEqualTo("(integer) 1");
    assertThat(h.call("GET", "e")).isEqualTo("\"3\"");
    assertThat(h.call("TTL", "e")).isEqualTo("(integer) -1");
    assertThat(h.call("COPY", "c", "c"))
        .isEqualTo("(error) ERR source and destination objects are the same");
    assertThat(h.call("COPY", "missing", "f")).isEqualTo("(integer) 0");
    assertThat(h.call("COPY", "c", "f", "DB", "1")).isEqualTo("(error) ERR DB index is out of range");
    assertThat(h.call("COPY", "c", "f", "DB", "0")).isEqualTo("(integer) 1");
    assertThat(h.call("COPY", "c", "g", "BOGUS")).isEqualTo("(error) ERR syntax error");
  }

  @Test
  void typeTouchUnlinkRandomkey() {
    assertThat(h.call("RANDOMKEY")).isEqualTo("(nil)");
    h.call("SET", "a", "1");
    assertThat(h.call("RANDOMKEY")).isEqualTo("\"a\"");
    h.call("SET", "b", "2");
    assertThat(h.call("TYPE", "a")).isEqualTo("string");
    assertThat(h.call("TYPE", "missing")).isEqualTo("none");
    assertThat(h.call("TOUCH", "a", "missing", "b", "a")).isEqualTo("(integer) 3");
    assertThat(h.call("UNLINK", "a", "missing")).isEqualTo("(integer) 1");
    assertThat(h.call("RANDOMKEY")).isEqualTo("\"b\"");
    h.call("SET", "t", "v", "PX", "10");
    h.call("DEL", "b");
    h.nowMillis += 100;
    assertThat(h.call("RANDOMKEY")).as("expired keys are not returned").isEqualTo("(nil)");
    assertThat(h.call("DBSIZE")).as("and were removed on the way").isEqualTo("(integer) 0");
  }

  @Test
  void randomkeyInsideMultiSeesTheTransactionsKeys() {
    h.call("MULTI");
    h.call("SET", "fresh", "1");
    h.call("RANDOMKEY");
    assertThat(h.call("EXEC")).isEqualTo("[OK, \"fresh\"]");
  }

  @Test
  void expireOptionsAndExpireTimes() {
    h.call("SET", "k", "v");
    assertThat(h.call("EXPIRETIME", "k")).isEqualTo("(integer) -1");
    assertThat(h.call("PEXPIRETIME", "missing")).isEqualTo("(integer) -2");
    long at = h.nowMillis / 1000 + 1_000;
    assertThat(h.call("EXPIREAT", "k", Long.toString(at))).isEqualTo("(integer) 1");
    assertThat(h.call("EXPIRETIME", "k")).isEqualTo("(integer) " + at);
    assertThat(h.call("PEXPIRETIME", "k")).isEqualTo("(integer) " + at * 1000);
    assertThat(h.call("PEXPIREAT", "k", Long.toString(at * 1000 + 500))).isEqualTo("(integer) 1");
    assertThat(h.call("EXPIRETIME", "k")).as("rounded").isEqualTo("(integer) " + (at + 1));
    assertThat(h.call("EXPIREAT", "k", Long.toString(at + 5), "NX")).isEqualTo("(integer) 0");
    assertThat(h.call("EXPIREAT", "k", Long.toString(at - 5), "GT")).isEqualTo("(integer) 0");
    assertThat(h.call("EXPIREAT", "k", Long.toString(at + 5), "GT")).isEqualTo("(integer) 1");
    assertThat(h.call("EXPIREAT", "k", Long.toString(at + 9), "LT")).isEqualTo("(integer) 0");
    assertThat(h.call("PERSIST", "k")).isEqualTo("(integer) 1");
    assertThat(h.call("PERSIST", "k")).isEqualTo("(integer) 0");
    assertThat(h.call("EXPIRE", "k", "100", "XX")).isEqualTo("(integer) 0");
    assertThat(h.call("EXPIRE", "k", "100", "GT")).as("no TTL counts as infinite").isEqualTo("(integer) 0");
    assertThat(h.call("EXPIRE", "k", "100", "LT")).isEqualTo("(integer) 1");
    assertThat(h.call("PEXPIRE", "k", "5000", "XX")).isEqualTo("(integer) 1");
    assertThat(h.call("PTTL", "k")).isEqualTo("(integer) 5000");
    assertThat(h.call("EXPIRE", "k", "abc", "BOGUS")).isEqualTo("(error) ERR Unsupported option BOGUS");
    assertThat(h.call("EXPIRE", "k", "10", "NX", "GT"))
        .isEqualTo("(error) ERR NX and XX, GT or LT options at the same time are not compatible");
    assertThat(h.call("EXPIRE", "k", "10", "GT", "LT"))
        .isEqualTo("(error) ERR GT and LT options at the same time are not compatible");
    assertThat(h.call("EXPIRE", "k", "9223372036854775807"))
        .isEqualTo("(error) ERR invalid expire time in 'expire' command");
    assertThat(h.call("PEXPIREAT", "k", "9223372036854775807")).isEqualTo("(integer) 1");
    assertThat(h.call("PEXPIRE", "k", "9223372036854775807"))
        .isEqualTo("(error) ERR invalid expire time in 'pexpire' command");
    assertThat(h.call("EXPIRE", "k", "-1")).isEqualTo("(integer) 1");
    assertThat(h.call("EXISTS", "k")).isEqualTo("(integer) 0");
  }

  @Test
  void objectAndMemoryUsage() {
    h.call("SET", "i", "12345");
    h.call("SET", "shared", "42");
    h.call("SET", "e", "hello");
    h.call("SET", "r", "x".repeat(45));
    assertThat(h.call("OBJECT", "ENCODING", "i")).isEqualTo("\"int\"");
    assertThat(h.call("OBJECT", "ENCODING", "e")).isEqualTo("\"embstr\"");
    assertThat(h.call("OBJECT", "ENCODING", "r")).isEqualTo("\"raw\"");
    assertThat(h.call("OBJECT", "ENCODING", "missing")).isEqualTo("(nil)");
    assertThat(h.call("OBJECT", "REFCOUNT", "shared")).isEqualTo("(integer) 2147483647");
    assertThat(h.call("OBJECT", "REFCOUNT", "i")).isEqualTo("(integer) 1");
    assertThat(h.call("OBJECT", "FREQ", "e")).startsWith(
        "(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked.");
    assertThat(h.call("OBJECT", "IDLETIME", "e")).isEqualTo("(integer) 0");
    h.nowMillis += 5_000;
    assertThat(h.call("OBJECT", "IDLETIME", "e")).isEqualTo("(integer) 5");
    h.call("TYPE", "e");
    h.call("TTL", "e");
    assertThat(h.call("OBJECT", "IDLETIME", "e")).as("TYPE/TTL are no access").isEqualTo("(integer) 5");
    h.call("GET", "e");
    assertThat(h.call("OBJECT", "IDLETIME", "e")).isEqualTo("(integer) 0");
    assertThat(h.call("OBJECT", "ENCODING"))
        .isEqualTo("(error) ERR wrong number of arguments for 'object|encoding' command");
    assertThat(h.call("OBJECT", "BOGUS", "e"))
        .isEqualTo("(error) ERR unknown subcommand 'BOGUS'. Try OBJECT HELP.");
    assertThat(h.call("OBJECT", "HELP"))
        .startsWith("[OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:, ENCODING <key>,")
        .endsWith("HELP,     Prints this help.]");
    // The engine's figure: the record (20-byte header + "e" + "hello" = 26 bytes) in its size
    // class of 32, plus 16 bytes of slot table.
    assertThat(h.call("MEMORY", "USAGE", "e")).isEqualTo("(integer) " + (32 + 16));
    assertThat(h.call("MEMORY", "USAGE", "missing")).isEqualTo("(nil)");
    assertThat(h.call("MEMORY", "USAGE", "e", "SAMPLES", "-1")).isEqualTo("(error) ERR syntax error");
    assertThat(h.call("MEMORY", "USAGE", "e", "SAMPLES", "5"))
        .as("SAMPLES only matters for nested values").isEqualTo("(integer) " + (32 + 16));
    assertThat(h.call("MEMORY", "BOGUS"))
        .isEqualTo("(error) ERR unknown subcommand 'BOGUS'. Try MEMORY HELP.");
  }

  @Test
  void flushdb() {
    h.call("MSET", "a", "1", "b", "2");
    assertThat(h.call("FLUSHDB")).isEqualTo("OK");
    assertThat(h.call("DBSIZE")).isEqualTo("(integer) 0");
    h.call("SET", "a", "1");
    assertThat(h.call("FLUSHDB", "ASYNC")).isEqualTo("OK");
    assertThat(h.call("KEYS", "*")).isEqualTo("[]");
    assertThat(h.call("FLUSHDB", "SYNC", "ASYNC")).isEqualTo("(error) ERR syntax error");
  }

  @Test
  void keysPatterns() {
    h.call("MSET", "hello", "1", "hallo", "1", "hxllo", "1", "h*llo", "1", "", "1");
    assertThat(h.call("KEYS", "h[ae]llo")).satisfiesAnyOf(
        r -> assertThat(r).isEqualTo("[\"hello\", \"hallo\"]"),
        r -> assertThat(r).isEqualTo("[\"hallo\", \"hello\"]"));
    assertThat(h.call("KEYS", "h\\*llo")).isEqualTo("[\"h*llo\"]");
    assertThat(h.call("KEYS", "h[^*-e]llo")).isEqualTo("[\"hxllo\"]");
    assertThat(h.call("DBSIZE")).isEqualTo("(integer) 5");
    assertThat(h.call("KEYS", "*").split(", ")).hasSize(5);
    assertThat(h.call("KEYS", "?")).isEqualTo("[]");
    assertThat(h.call("KEYS")).isEqualTo("(error) ERR wrong number of arguments for 'keys' command");
  }
}
