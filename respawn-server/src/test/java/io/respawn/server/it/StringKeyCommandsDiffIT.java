package io.respawn.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.args.ExpiryOption;
import redis.clients.jedis.params.GetExParams;
import redis.clients.jedis.params.LCSParams;

/**
 * Differential test: the string and key command families, transactions over them and glob
 * matching, sent to a Respawn server process and to a real {@code redis-server} started in the
 * same test, reply compared with reply (types, bytes and error texts). Where an answer depends on
 * the clock, on chance or on the implementation (TTLs, RANDOMKEY, MEMORY USAGE) the test states
 * the rule both must follow instead.
 */
class StringKeyCommandsDiffIT {
  @TempDir static Path tmp;
  static ServerProcess respawn;
  static RedisServerProcess redis;
  SideBySide s;

  @BeforeAll
  static void startServers() throws Exception {
    respawn = ServerProcess.start(tmp.resolve("respawn"), ServerProcess.freePort());
    redis = RedisServerProcess.start(tmp.resolve("redis"));
  }

  @AfterAll
  static void stopServers() {
    if (respawn != null) {
      respawn.close();
    }
    if (redis != null) {
      redis.close();
    }
  }

  @BeforeEach
  void connect() throws Exception {
    s = new SideBySide(respawn.port(), redis.port(), 10_000);
    s.both("FLUSHALL");
  }

  @AfterEach
  void disconnect() throws Exception {
    s.close();
  }

  /** The elements of a flat rendered array of simple values, sorted (order is unspecified). */
  private static List<String> sorted(String array) {
    assertThat(array).startsWith("[").endsWith("]");
    String inner = array.substring(1, array.length() - 1);
    List<String> out = new ArrayList<>(inner.isEmpty() ? List.of() : Arrays.asList(inner.split(", ")));
    out.sort(null);
    return out;
  }

  private void bothSorted(String... args) {
    s.both((mine, theirs) -> assertThat(sorted(mine)).as(String.join(" ", args))
        .isEqualTo(sorted(theirs)), args);
  }

  /** Every key a full SCAN MATCH iteration returns on one server, sorted, duplicates removed. */
  private static List<String> scanAll(java.util.function.Function<String[], String> server,
      String pattern) {
    java.util.TreeSet<String> keys = new java.util.TreeSet<>();
    String cursor = "0";
    int pages = 0;
    do {
      String page = server.apply(new String[] {"SCAN", cursor, "MATCH", pattern, "COUNT", "3"});
      int split = page.indexOf(", [");
      cursor = page.substring(2, split - 1);
      keys.addAll(sorted(page.substring(split + 2, page.length() - 1)));
      assertThat(++pages).isLessThan(1_000);
    } while (!cursor.equals("0"));
    return new ArrayList<>(keys);
  }

  // ---- glob matching (KEYS, SCAN MATCH) ----

  @Test
  void keysAndScanMatchAgreeWithRedisOnGlobPatterns() {
    for (String key : new String[] {"", "a", "ab", "abc", "h*llo", "hello", "hallo", "hxllo",
        "a]b", "a-b", "a^b", "a\\b", "x?y", "user:1", "user:22", "[", "]", "-", "^"}) {
      s.both("SET", key, "v");
    }
    for (String pattern : new String[] {"*", "**", "", "a*", "*b", "?", "??", "h?llo",
        "h[ae]llo", "h[^e]llo", "h[a-b]llo", "h[b-a]llo", "h\\*llo", "a[\\]]b", "a[]]b",
        "a[-]b", "a[^]b", "[", "[a", "[^", "a\\", "\\", "user:?", "user:*", "*:*2", "[a-]",
        "x\\?y", "*[", "*\\"}) {
      bothSorted("KEYS", pattern);
      assertThat(scanAll(s::respawn, pattern)).as("SCAN MATCH %s", pattern)
          .isEqualTo(scanAll(s::redis, pattern));
    }
  }

  @Test
  void pathologicalPatternAnswersAtOnce() {
    s.both("SET", "a".repeat(40), "v");
    for (int i = 0; i < 50; i++) {
      s.both("SET", "a".repeat(39 - Integer.toString(i).length()) + "c" + i, "v");
    }
    String pattern = "a*a*a*a*a*a*a*a*a*a*b";
    // An exponential matcher needs seconds to minutes per 40-byte key; the read timeout is 10 s.
    long start = System.nanoTime();
    s.both("KEYS", pattern);
    long keysMillis = (System.nanoTime() - start) / 1_000_000;
    assertThat(scanAll(s::respawn, pattern)).isEmpty();
    assertThat(scanAll(s::redis, pattern)).isEmpty();
    System.out.printf("KEYS %s over 51 keys of 40 bytes: %d ms (both servers)%n", pattern,
        keysMillis);
  }

  // ---- transactions see their own writes; WATCH as in Redis 7.0 ----

  @Test
  void dbsizeScanAndKeysInsideMultiSeeTheTransactionsOwnWrites() {
    s.both("SET", "old", "1");
    s.both("MULTI");
    s.both("SET", "a", "1");
    s.both("DEL", "old");
    s.both("DBSIZE");
    s.both("SCAN", "0", "COUNT", "100");
    s.both("KEYS", "*");
    s.both("FLUSHALL");
    s.both("SET", "c", "3");
    s.both("DBSIZE");
    s.both("KEYS", "*");
    assertThat(s.both("EXEC")).isEqualTo("[+OK, :1, :1, [\"0\", [\"a\"]], [\"a\"], +OK, +OK, :1,"
        + " [\"c\"]]");
  }

  @Test
  void watchAgainstFlushesAndExpiryAsRedis70() throws Exception {
    try (SideBySide other = new SideBySide(respawn.port(), redis.port(), 10_000)) {
      s.both("WATCH", "missing");
      other.both("SET", "present", "v");
      other.both("FLUSHALL");
      s.both("MULTI");
      s.both("SET", "x", "1");
      assertThat(s.both("EXEC")).isEqualTo("[+OK]");

      s.both("WATCH", "x");
      other.both("FLUSHDB");
      s.both("MULTI");
      assertThat(s.both("EXEC")).isEqualTo("(nil array)");

      s.both("SET", "stale", "v", "PX", "50");
      Thread.sleep(120);
      s.both("WATCH", "stale");
      other.both("GET", "stale");
      s.both("MULTI");
      assertThat(s.both("EXEC")).isEqualTo("[]");

      s.both("SET", "t", "v", "PX", "100");
      s.both("WATCH", "t");
      Thread.sleep(200);
      s.both("MULTI");
      assertThat(s.both("EXEC")).isEqualTo("(nil array)");
    }
  }

  // ---- string commands ----

  @Test
  void setFamilyGetexGetdel() {
    s.both("SET", "k", "v", "EX", "100", "EX", "200"); // a repeated EX: the last one counts
    s.both("TTL", "k");
    s.both("SET", "k", "v", "EX", "0", "BOGUS"); // syntax is checked before the time
    s.both("SET", "k", "v", "EX", "abc", "BOGUS");
    s.both("SET", "k", "v", "EX", "10", "PX", "100");
    s.both("SET", "k", "v", "KEEPTTL", "EX", "10");
    s.both("SET", "k", "v", "EX", "10", "KEEPTTL");
    s.both("SET", "k", "v", "NX", "XX");
    s.both("SET", "k", "v", "GET", "GET");
    s.both("SET", "k", "v", "PXAT", "0");
    s.both("SET", "k", "v", "EXAT", "9223372036854775807");
    s.both("SET", "k", "v", "PX", "9223372036854775807");
    s.both("SET", "k", "v", "PERSIST");
    s.both("SETNX", "n", "1");
    s.both("SETNX", "n", "2");
    s.both("GET", "n");
    s.both("SETNX", "n");
    s.both("SETEX", "e", "100", "v");
    s.both("TTL", "e");
    s.both("SETEX", "e", "0", "v");
    s.both("SETEX", "e", "-5", "v");
    s.both("SETEX", "e", "x", "v");
    s.both("SETEX", "e", "9223372036854775807", "v");
    s.both("PSETEX", "p", "100000", "v");
    s.both("TTL", "p");
    s.both("PSETEX", "p", "0", "v");
    s.both("PSETEX", "p", "9223372036854775807", "v");
    s.both("GETDEL", "p");
    s.both("GETDEL", "p");
    s.both("EXISTS", "p");
    s.both("GETDEL", "p", "q");
    s.both("SET", "g", "val");
    s.both("GETEX", "g");
    s.both("TTL", "g");
    s.both("GETEX", "g", "EX", "100");
    s.both("TTL", "g");
    s.both("GETEX", "g", "PERSIST");
    s.both("TTL", "g");
    s.both("GETEX", "g", "PX", "50000");
    s.both("TTL", "g");
    s.both("GETEX", "g", "EXAT", "4000000000");
    s.both("EXPIRETIME", "g");
    s.both("GETEX", "g", "PXAT", "4000000000123");
    s.both("PEXPIRETIME", "g");
    s.both("GETEX", "missing", "EX", "abc"); // nil before the time is read
    s.both("GETEX", "g", "EX", "abc");
    s.both("GETEX", "g", "EX", "0");
    s.both("GETEX", "g", "EX", "-1");
    s.both("GETEX", "g", "EX", "9223372036854775807");
    s.both("GETEX", "g", "EX", "10", "PX", "10");
    s.both("GETEX", "g", "PERSIST", "EX", "10");
    s.both("GETEX", "g", "EX", "10", "PERSIST");
    s.both("GETEX", "g", "KEEPTTL");
    s.both("GETEX", "g", "NX");
    s.both("GETEX", "g", "EX");
    s.both("GETEX", "g", "EXAT", "1"); // in the past: the value, then the key is gone
    s.both("EXISTS", "g");
    s.both("GETEX");
  }

  @Test
  void getrangeSubstrSetrange() {
    s.both("SET", "s", "Hello World");
    for (String[] r : new String[][] {{"0", "4"}, {"-5", "-1"}, {"-1", "-5"}, {"0", "-1"},
        {"5", "3"}, {"-100", "100"}, {"100", "200"}, {"0", "0"}, {"-1", "-1"}, {"10", "-1"},
        {"3", "-100"}, {"-3", "2"}, {"0", "9223372036854775807"}}) {
      s.both("GETRANGE", "s", r[0], r[1]);
      s.both("SUBSTR", "s", r[0], r[1]);
    }
    s.both("GETRANGE", "missing", "0", "-1");
    s.both("GETRANGE", "s", "a", "1");
    s.both("GETRANGE", "s", "0", "1.5");
    s.both("GETRANGE", "s", "0");
    s.both("SET", "i", "12345");
    s.both("GETRANGE", "i", "1", "2");
    s.both("SET", "e", "");
    s.both("GETRANGE", "e", "0", "-1");
    s.both("SETRANGE", "s", "6", "Redis");
    s.both("GET", "s");
    s.both("SETRANGE", "s", "20", "!");
    s.both("GET", "s");
    s.both("SETRANGE", "s", "0", "");
    s.both("SETRANGE", "new", "0", "");
    s.both("EXISTS", "new");
    s.both("SETRANGE", "new", "3", "x");
    s.both("GET", "new");
    s.both("SETRANGE", "new", "-1", "x");
    s.both("SETRANGE", "new", "abc", "x");
    s.both("SETRANGE", "new", "536870911", "xx");
    s.both("SETRANGE", "new", "9223372036854775807", "x");
    s.both("SET", "t", "abc", "EX", "100");
    s.both("SETRANGE", "t", "1", "X");
    s.both("TTL", "t");
    s.both("GET", "t");
  }

  @Test
  void incrbyfloat() {
    s.both("INCRBYFLOAT", "f", "10.5");
    s.both("INCRBYFLOAT", "f", "0.1");
    s.both("INCRBYFLOAT", "f", "-5.0e3");
    s.both("INCRBYFLOAT", "g", "0.1");
    s.both("INCRBYFLOAT", "g", "0.2");
    s.both("SET", "h", "-163.7");
    s.both("INCRBYFLOAT", "h", "-150.961622");
    s.both("SET", "big", "17179869184");
    s.both("INCRBYFLOAT", "big", "1.5");
    s.both("INCRBYFLOAT", "big", "0x10");
    s.both("INCRBYFLOAT", "big", "1e308");
    s.both("INCRBYFLOAT", "big", "-1e308");
    s.both("INCRBYFLOAT", "z", "0.5");
    s.both("INCRBYFLOAT", "z", "-0.5");
    s.both("GET", "z");
    s.both("INCRBYFLOAT", "z", "inf");
    s.both("INCRBYFLOAT", "z", "+inf");
    s.both("INCRBYFLOAT", "z", "nan");
    s.both("INCRBYFLOAT", "z", "abc");
    s.both("INCRBYFLOAT", "z", " 1");
    s.both("INCRBYFLOAT", "z", "1 ");
    s.both("INCRBYFLOAT", "z", "");
    s.both("INCRBYFLOAT", "z", "1e5000");
    s.both("INCRBYFLOAT", "z", "1e-5000");
    s.both("SET", "bad", "1.5x");
    s.both("INCRBYFLOAT", "bad", "1");
    s.both("SET", "spaces", " 11 ");
    s.both("INCRBYFLOAT", "spaces", "1");
    s.both("SET", "nul", "1\u00002");
    s.both("INCRBYFLOAT", "nul", "1");
    s.both("SET", "t", "1", "EX", "100");
    s.both("INCRBYFLOAT", "t", "1.25");
    s.both("TTL", "t");
    java.util.Random random = new java.util.Random(42);
    for (int i = 0; i < 300; i++) {
      String increment = switch (random.nextInt(4)) {
        case 0 -> Double.toString(random.nextDouble() * 1000 - 500);
        case 1 -> Long.toString(random.nextLong() >> random.nextInt(64));
        case 2 -> String.format("%.6f", random.nextGaussian());
        default -> random.nextInt(100) + "e" + (random.nextInt(40) - 20);
      };
      s.both("INCRBYFLOAT", "r" + (i % 7), increment);
    }
  }

  @Test
  void lcs() {
    s.both("MSET", "a", "ohmytext", "b", "mynewtext");
    s.both("LCS", "a", "b");
    s.both("LCS", "a", "b", "LEN");
    s.both("LCS", "a", "b", "IDX");
    s.both("LCS", "a", "b", "IDX", "WITHMATCHLEN");
    s.both("LCS", "a", "b", "IDX", "MINMATCHLEN", "4");
    s.both("LCS", "a", "b", "IDX", "MINMATCHLEN", "-4", "WITHMATCHLEN");
    s.both("LCS", "a", "b", "LEN", "IDX");
    s.both("LCS", "a", "b", "MINMATCHLEN");
    s.both("LCS", "a", "b", "MINMATCHLEN", "x");
    s.both("LCS", "a", "b", "BOGUS");
    s.both("LCS", "a", "missing");
    s.both("LCS", "missing", "other", "IDX");
    s.both("LCS", "a");
    java.util.Random random = new java.util.Random(7);
    for (int i = 0; i < 40; i++) {
      s.both("SET", "x", randomText(random, 1 + random.nextInt(60), "abc"));
      s.both("SET", "y", randomText(random, 1 + random.nextInt(60), "abc"));
      s.both("LCS", "x", "y");
      s.both("LCS", "x", "y", "IDX", "WITHMATCHLEN");
      s.both("LCS", "x", "y", "IDX", "MINMATCHLEN", "2");
    }
  }

  @Test
  void lcsTableIsCappedBelowTheBulkLimit() {
    String big = "x".repeat(5_000); // a 100 MB table: under Redis's 512 MB bound, over Respawn's cap
    s.respawn("MSET", "a", big, "b", big);
    assertThat(s.respawn("LCS", "a", "b", "LEN")).isEqualTo("-ERR Insufficient memory, transient "
        + "memory for LCS exceeds 67108864 bytes (lcsTableBytesMax)");
    s.respawn("SET", "b", "x".repeat(4_000));
    s.redis("MSET", "a", "x".repeat(4_000), "b", "x".repeat(4_000));
    s.respawn("SET", "a", "x".repeat(4_000));
    s.both("LCS", "a", "b", "LEN"); // 64 MB: computed by both
  }

  private static String randomText(java.util.Random random, int length, String alphabet) {
    StringBuilder sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
    }
    return sb.toString();
  }

  @Test
  void bitmaps() {
    s.both("SETBIT", "b", "7", "1");
    s.both("SETBIT", "b", "7", "1");
    s.both("SETBIT", "b", "7", "0");
    s.both("SETBIT", "b", "100", "1");
    s.both("GET", "b");
    s.both("STRLEN", "b");
    s.both("GETBIT", "b", "100");
    s.both("GETBIT", "b", "101");
    s.both("GETBIT", "b", "100000");
    s.both("GETBIT", "missing", "3");
    s.both("SETBIT", "b", "-1", "1");
    s.both("SETBIT", "b", "x", "1");
    s.both("SETBIT", "b", "4294967296", "1");
    s.both("SETBIT", "b", "1", "2");
    s.both("SETBIT", "b", "1", "-1");
    s.both("SETBIT", "b", "1", "x");
    s.both("GETBIT", "b", "-1");
    s.both("GETBIT", "b", "4294967296");
    s.both("SET", "s", "foobar");
    s.both("BITCOUNT", "s");
    for (String[] r : new String[][] {{"0", "0"}, {"1", "1"}, {"1", "-1"}, {"-2", "-1"},
        {"-1", "-2"}, {"5", "30"}, {"0", "-100"}}) {
      s.both("BITCOUNT", "s", r[0], r[1]);
      s.both("BITCOUNT", "s", r[0], r[1], "BYTE");
      s.both("BITCOUNT", "s", r[0], r[1], "BIT");
      s.both("BITCOUNT", "s", r[0], r[1], "bit");
    }
    s.both("BITCOUNT", "s", "5", "30", "BITS");
    s.both("BITCOUNT", "s", "-1", "-2", "BITS"); // the empty-range answer comes first
    s.both("BITCOUNT", "s", "0");
    s.both("BITCOUNT", "s", "0", "1", "BIT", "extra");
    s.both("BITCOUNT", "s", "a", "1");
    s.both("BITCOUNT", "missing", "a", "b");
    s.both("SET", "p", "\u00ff\u00f0\u0000");
    s.both("BITPOS", "p", "0");
    s.both("BITPOS", "p", "1");
    s.both("SET", "ones", "\u00ff\u00ff\u00ff");
    s.both("BITPOS", "ones", "0");
    s.both("BITPOS", "ones", "0", "0", "-1");
    s.both("BITPOS", "ones", "0", "1");
    s.both("BITPOS", "missing", "0");
    s.both("BITPOS", "missing", "1");
    s.both("BITPOS", "missing", "1", "x", "y");
    s.both("SET", "e", "");
    s.both("BITPOS", "e", "0");
    s.both("BITPOS", "e", "1");
    s.both("BITPOS", "p", "2");
    s.both("BITPOS", "p", "x");
    s.both("BITPOS", "p", "1", "0", "1", "BITS");
    s.both("BITPOS", "p", "1", "0", "x", "BITS");
    s.both("BITPOS", "p", "1", "0", "1", "BIT", "more");
    java.util.Random random = new java.util.Random(3);
    for (int i = 0; i < 60; i++) {
      String value = randomText(random, 1 + random.nextInt(6), "\u0000\u00ff\u000f\u00f0\u0081\u0018");
      s.both("SET", "r", value);
      for (String bit : new String[] {"0", "1"}) {
        int start = random.nextInt(60) - 30;
        int end = random.nextInt(60) - 30;
        s.both("BITPOS", "r", bit, Integer.toString(start));
        s.both("BITPOS", "r", bit, Integer.toString(start), Integer.toString(end));
        s.both("BITPOS", "r", bit, Integer.toString(start), Integer.toString(end), "BIT");
        s.both("BITPOS", "r", bit, Integer.toString(start), Integer.toString(end), "BYTE");
        s.both("BITCOUNT", "r", Integer.toString(start), Integer.toString(end), "BIT");
        s.both("BITCOUNT", "r", Integer.toString(start), Integer.toString(end));
      }
    }
  }

  // ---- key commands ----

  @Test
  void renameCopyTouchTypeUnlink() {
    s.both("SET", "a", "1", "EX", "100");
    s.both("RENAME", "a", "b");
    s.both("TTL", "b");
    s.both("EXISTS", "a");
    s.both("RENAME", "a", "b");
    s.both("RENAME", "b", "b");
    s.both("RENAMENX", "b", "b");
    s.both("RENAMENX", "missing", "x");
    s.both("SET", "c", "2");
    s.both("RENAMENX", "b", "c");
    s.both("RENAMENX", "b", "d");
    s.both("GET", "d");
    s.both("RENAME", "d", "c");
    s.both("GET", "c");
    s.both("TTL", "c");
    s.both("RENAME", "c");
    s.both("COPY", "c", "e");
    s.both("TTL", "e");
    s.both("COPY", "c", "e");
    s.both("SET", "c", "3");
    s.both("COPY", "c", "e", "REPLACE");
    s.both("GET", "e");
    s.both("TTL", "e");
    s.both("COPY", "c", "c");
    s.both("COPY", "missing", "f");
    s.both("COPY", "c", "f", "DB", "0");
    s.both("COPY", "c", "g", "DB", "x");
    s.both("COPY", "c", "g", "DB");
    s.both("COPY", "c", "g", "BOGUS");
    s.both("COPY", "c", "g", "DB", "99999999999");
    s.both("TYPE", "c");
    s.both("TYPE", "missing");
    s.both("TOUCH", "c", "missing", "e", "c");
    s.both("UNLINK", "c", "missing", "e");
    s.both("UNLINK");
    s.both("TOUCH");
    s.both("TYPE", "a", "b");
    s.both("RANDOMKEY", "x");
    s.both("FLUSHALL");
    s.both("RANDOMKEY");
    s.both("SET", "only", "v");
    s.both("RANDOMKEY");
  }

  @Test
  void randomkeyReturnsLiveKeysAndCoversTheKeyspace() {
    for (int i = 0; i < 20; i++) {
      s.both("SET", "k" + i, "v");
    }
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (int i = 0; i < 400; i++) {
      String key = s.respawn("RANDOMKEY");
      assertThat(key).matches("\"k\\d+\"");
      seen.add(key);
    }
    assertThat(seen).as("distinct keys over 400 calls").hasSizeGreaterThan(15);
  }

  @Test
  void expiryCommands() {
    s.both("SET", "k", "v");
    s.both("EXPIRETIME", "k");
    s.both("PEXPIRETIME", "k");
    s.both("EXPIRETIME", "missing");
    s.both("PEXPIRETIME", "missing");
    s.both("EXPIREAT", "k", "4000000000");
    s.both("EXPIRETIME", "k");
    s.both("PEXPIRETIME", "k");
    s.both("PEXPIREAT", "k", "4000000000500");
    s.both("EXPIRETIME", "k"); // rounded
    s.both("PEXPIRETIME", "k");
    s.both("EXPIREAT", "k", "4000000001", "NX");
    s.both("EXPIREAT", "k", "4000000001", "XX");
    s.both("EXPIREAT", "k", "3000000000", "GT");
    s.both("EXPIREAT", "k", "5000000000", "GT");
    s.both("EXPIREAT", "k", "5000000001", "LT");
    s.both("EXPIREAT", "k", "3000000000", "LT");
    s.both("EXPIRETIME", "k");
    s.both("PERSIST", "k");
    s.both("PERSIST", "k");
    s.both("PERSIST", "missing");
    s.both("EXPIRE", "k", "100", "XX");
    s.both("EXPIRE", "k", "100", "GT");
    s.both("EXPIRE", "k", "100", "LT");
    s.both("TTL", "k");
    s.both("EXPIRE", "k", "100", "NX");
    s.both("EXPIRE", "k", "100", "NX", "XX");
    s.both("EXPIRE", "k", "100", "GT", "LT");
    s.both("EXPIRE", "k", "100", "NX", "GT");
    s.both("EXPIRE", "k", "100", "BOGUS");
    s.both("EXPIRE", "k", "abc", "BOGUS"); // the option is checked first
    s.both("EXPIRE", "k", "abc");
    s.both("EXPIRE", "k", "9223372036854775807");
    s.both("EXPIRE", "k", "-9223372036854775808");
    s.both("PEXPIRE", "k", "9223372036854775807");
    s.both("PEXPIREAT", "k", "9223372036854775807");
    s.both("EXPIREAT", "k", "9223372036854775");
    s.both("EXPIREAT", "k", "9223372036854776");
    s.both("PEXPIRE", "k", "-1");
    s.both("EXISTS", "k");
    s.both("SET", "k", "v");
    s.both("EXPIREAT", "k", "1");
    s.both("EXISTS", "k");
    s.both("SET", "k", "v", "EX", "100");
    s.both("EXPIRE", "k", "-100", "LT");
    s.both("EXISTS", "k");
    s.both("EXPIRE", "missing", "10");
    s.both("EXPIRE", "k");
    s.both("TTL", "k", "x");
  }

  @Test
  void objectAndMemory() {
    s.both("SET", "i", "12345");
    s.both("SET", "small", "9999");
    s.both("SET", "neg", "-5");
    s.both("SET", "notint", "012");
    s.both("SET", "e", "hello");
    s.both("SET", "r", "x".repeat(45));
    s.both("SET", "edge", "y".repeat(44));
    s.both("SET", "huge", "99999999999999999999");
    for (String key : new String[] {"i", "small", "neg", "notint", "e", "r", "edge", "huge"}) {
      s.both("OBJECT", "ENCODING", key);
      s.both("OBJECT", "REFCOUNT", key);
    }
    s.both("INCR", "counter");
    s.both("OBJECT", "ENCODING", "counter");
    s.both("OBJECT", "REFCOUNT", "counter");
    s.both("OBJECT", "ENCODING", "missing");
    s.both("OBJECT", "REFCOUNT", "missing");
    s.both("OBJECT", "IDLETIME", "missing");
    s.both("OBJECT", "FREQ", "missing");
    s.both("OBJECT", "FREQ", "e");
    // "e" was written a few dozen round trips ago: each server's one-second clock may have
    // stepped since, at its own instant (a loaded machine saw 1 here and 0 at Redis).
    s.both((mine, theirs) -> {
      assertThat(theirs).isIn(":0", ":1", ":2");
      assertThat(mine).isIn(":0", ":1", ":2");
      assertThat(Math.abs(Long.parseLong(mine.substring(1))
          - Long.parseLong(theirs.substring(1)))).isLessThanOrEqualTo(1);
    }, "OBJECT", "IDLETIME", "e");
    s.both("OBJECT", "encoding", "e");
    s.both("OBJECT", "ENCODING");
    s.both("OBJECT", "ENCODING", "e", "f");
    s.both("OBJECT", "BOGUS", "e");
    s.both("OBJECT");
    s.both("OBJECT", "HELP");
    s.both("OBJECT", "HELP", "x");
    s.both("MEMORY", "USAGE", "missing");
    s.both((mine, theirs) -> {
      assertThat(theirs).startsWith(":");
      assertThat(mine).startsWith(":");
      assertThat(Long.parseLong(mine.substring(1))).isGreaterThan(5 + 16);
    }, "MEMORY", "USAGE", "e");
    s.both((mine, theirs) -> assertThat(mine).startsWith(":"), "MEMORY", "USAGE", "e", "SAMPLES", "0");
    s.both("MEMORY", "USAGE", "e", "SAMPLES", "-1");
    s.both("MEMORY", "USAGE", "e", "SAMPLES", "x");
    s.both("MEMORY", "USAGE", "e", "SAMPLES");
    s.both("MEMORY", "USAGE", "e", "BOGUS");
    s.both("MEMORY", "USAGE");
    s.both("MEMORY");
    s.both("MEMORY", "BOGUS");
  }

  @Test
  void objectIdletimeGrowsUntilTheKeyIsRead() throws Exception {
    s.both("SET", "k", "v");
    Thread.sleep(2_100);
    // Both clocks have one-second steps, read at slightly different instants: 2 or 3 each.
    s.both((mine, theirs) -> {
      assertThat(mine).isIn(":2", ":3");
      assertThat(theirs).isIn(":2", ":3");
    }, "OBJECT", "IDLETIME", "k");
    s.both("TYPE", "k"); // not an access
    s.both("EXISTS", "k");
    s.both((mine, theirs) -> assertThat(mine).isIn(":2", ":3"), "OBJECT", "IDLETIME", "k");
    s.both("GET", "k");
    s.both("OBJECT", "IDLETIME", "k");
  }

  @Test
  void flushdbAndFlushall() {
    s.both("MSET", "a", "1", "b", "2");
    s.both("FLUSHDB");
    s.both("DBSIZE");
    s.both("SET", "a", "1");
    s.both("FLUSHDB", "ASYNC");
    s.both("DBSIZE");
    s.both("SET", "a", "1");
    s.both("FLUSHDB", "sync");
    s.both("DBSIZE");
    s.both("FLUSHDB", "BOGUS");
    s.both("FLUSHDB", "ASYNC", "SYNC");
    s.both("FLUSHALL", "BOGUS");
  }

  @Test
  void scanCursorParsing() {
    s.both("SET", "a", "1");
    s.both("SCAN", "0");
    s.both("SCAN", "");
    s.both("SCAN", "x");
    s.both("SCAN", " 0");
    s.both("SCAN", "0 ");
    s.both("SCAN", "18446744073709551616");
    s.both("SCAN", "+");
    s.both("SCAN", "0", "COUNT", "x");
    s.both("SCAN", "0", "COUNT", "0");
    s.both("SCAN", "0", "MATCH");
    s.both("SCAN", "0", "TYPE", "STRING");
    s.both("SCAN", "0", "TYPE", "list");
  }

  // ---- a real client's typed view ----

  /** Runs the same Jedis calls against both servers; their typed results must be equal. */
  @Test
  void jedisTypedRepliesAgree() {
    List<List<Object>> results = new ArrayList<>();
    for (int port : new int[] {respawn.port(), redis.port()}) {
      try (Jedis j = new Jedis("127.0.0.1", port, 10_000)) {
        j.flushAll();
        List<Object> r = new ArrayList<>();
        r.add(j.set("a", "ohmytext"));
        r.add(j.set("b", "mynewtext"));
        r.add(j.getEx("a", GetExParams.getExParams().ex(100)));
        r.add(j.ttl("a"));
        r.add(j.getrange("a", 2, -1));
        r.add(j.setrange("a", 0, "OH"));
        r.add(j.incrByFloat("f", 0.1));
        r.add(j.incrByFloat("f", 0.2));
        r.add(j.lcs("a", "b", LCSParams.LCSParams()).getMatchString());
        r.add(j.lcs("a", "b", LCSParams.LCSParams().len()).getLen());
        r.add(j.setbit("bits", 9, true));
        r.add(j.getbit("bits", 9));
        r.add(j.bitcount("bits"));
        r.add(j.bitpos("bits", true));
        r.add(j.copy("a", "c", false));
        r.add(j.rename("c", "d"));
        r.add(j.renamenx("d", "b"));
        r.add(j.type("d"));
        r.add(j.touch("a", "d", "missing"));
        r.add(j.unlink("d"));
        r.add(j.expireAt("a", 4_000_000_000L));
        r.add(j.expireTime("a"));
        r.add(j.pexpireTime("a"));
        r.add(j.expire("a", 50, ExpiryOption.GT));
        r.add(j.persist("a"));
        r.add(j.objectEncoding("b")); // not "a": raw in Redis after SETRANGE (ObjectCommands)
        r.add(j.objectRefcount("b"));
        r.add(j.getDel("b"));
        r.add(j.setnx("n", "1"));
        r.add(j.setex("e", 100, "v"));
        r.add(j.psetex("p", 100_000, "v"));
        r.add(new java.util.TreeSet<>(j.keys("*")));
        r.add(j.memoryUsage("missing"));
        r.add(j.flushDB());
        r.add(j.randomKey());
        results.add(r);
      }
    }
    assertThat(results.get(0)).isEqualTo(results.get(1));
  }
}
