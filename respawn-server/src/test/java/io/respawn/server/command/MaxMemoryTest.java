package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.KvStore;
import io.respawn.storage.Mutation;
import io.respawn.storage.ScanPage;
import io.respawn.storage.StoredValue;
import io.respawn.storage.WriteTicket;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Redis's maxmemory rule in the command layer (processCommand with maxmemory-policy
 * noeviction): past the limit, DENY_OOM commands get -OOM and change nothing; reads, DEL and
 * FLUSHALL run; inside MULTI every command but EXEC/DISCARD is refused and flags the transaction;
 * EXEC is refused when it holds a DENY_OOM command.
 */
class MaxMemoryTest {
  static final String OOM = "(error) OOM command not allowed when used memory > 'maxmemory'.";

  /** A map store whose memory use the test sets. */
  static final class MeteredStore implements KvStore {
    final MapKvStore data = new MapKvStore();
    long usedBytes;

    @Override
    public StoredValue get(byte[] key) {
      return data.get(key);
    }

    @Override
    public WriteTicket apply(List<Mutation> batch) {
      return data.apply(batch);
    }

    @Override
    public long keyCount() {
      return data.keyCount();
    }

    @Override
    public long expiringKeyCount() {
      return data.expiringKeyCount();
    }

    @Override
    public ScanPage scan(long cursor, int countHint) {
      return data.scan(cursor, countHint);
    }

    @Override
    public CompletableFuture<Void> flushAll() {
      return data.flushAll();
    }

    @Override
    public long memoryUsedBytes() {
      return usedBytes;
    }

    @Override
    public void close() {}
  }

  private final MeteredStore store = new MeteredStore();
  private final CommandHarness h = new CommandHarness(store);

  private void overTheLimit(boolean over) {
    store.usedBytes = CommandHarness.MEMORY_BYTES_MAX + (over ? 1 : 0);
  }

  @Test
  void commandsThatMayGrowMemoryAreRefusedPastTheLimitAndChangeNothing() {
    assertThat(h.call("set", "a", "1")).isEqualTo("OK");
    overTheLimit(false); // at the limit exactly: still allowed, as in Redis (used > maxmemory)
    assertThat(h.call("set", "b", "2")).isEqualTo("OK");
    overTheLimit(true);
    for (String[] c : new String[][] {{"set", "a", "9"}, {"setnx", "c", "1"},
        {"setex", "c", "10", "1"}, {"psetex", "c", "10", "1"}, {"getset", "a", "9"},
        {"mset", "a", "9", "c", "1"}, {"msetnx", "c", "1"}, {"incr", "n"}, {"decr", "n"},
        {"incrby", "n", "2"}, {"decrby", "n", "2"}, {"append", "a", "9"}}) {
      assertThat(h.call(c)).as(String.join(" ", c)).isEqualTo(OOM);
    }
    assertThat(h.call("get", "a")).isEqualTo("\"1\"");
    assertThat(h.call("exists", "c", "n")).isEqualTo("(integer) 0");
    assertThat(h.call("del", "b")).isEqualTo("(integer) 1");
    assertThat(h.call("expire", "a", "100")).isEqualTo("(integer) 1");
    assertThat(h.call("info", "stats")).contains("respawn_oom_refusals:12");
    overTheLimit(false);
    assertThat(h.call("set", "a", "2")).isEqualTo("OK");
    overTheLimit(true);
    assertThat(h.call("flushall")).isEqualTo("OK");
    assertThat(h.call("dbsize")).isEqualTo("(integer) 0");
  }

  @Test
  void insideMultiEveryQueuedCommandIsRefusedAndExecAborts() {
    assertThat(h.call("multi")).isEqualTo("OK");
    overTheLimit(true);
    assertThat(h.call("get", "a")).isEqualTo(OOM);
    assertThat(h.call("exec")).startsWith("(error) EXECABORT");
    // A transaction queued under the limit whose EXEC comes past it: refused if it may grow.
    overTheLimit(false);
    assertThat(h.call("multi")).isEqualTo("OK");
    assertThat(h.call("set", "a", "1")).isEqualTo("QUEUED");
    overTheLimit(true);
    assertThat(h.call("exec")).isEqualTo(OOM); // the transaction stays open, flagged
    assertThat(h.call("exec")).as("still out of memory").isEqualTo(OOM);
    overTheLimit(false);
    assertThat(h.call("exec")).startsWith("(error) EXECABORT");
    assertThat(h.call("get", "a")).isEqualTo("(nil)");
    assertThat(h.call("multi")).isEqualTo("OK");
    assertThat(h.call("get", "a")).isEqualTo("QUEUED");
    overTheLimit(true);
    assertThat(h.call("exec")).isEqualTo("[(nil)]");
  }

  @Test
  void commandInfoShowsDenyoomAndConfigGetTheLimit() {
    assertThat(h.call("command", "info", "set")).contains("denyoom");
    assertThat(h.call("command", "info", "get")).doesNotContain("denyoom");
    assertThat(h.call("config", "get", "maxmemory"))
        .isEqualTo("[\"maxmemory\", \"" + CommandHarness.MEMORY_BYTES_MAX + "\"]");
    store.usedBytes = 12345;
    assertThat(h.call("info", "memory")).contains("used_memory:12345\r\n")
        .contains("maxmemory:" + CommandHarness.MEMORY_BYTES_MAX + "\r\n");
  }
}
