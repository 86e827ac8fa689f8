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
}
