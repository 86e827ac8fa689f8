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
}
