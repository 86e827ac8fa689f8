package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.resp.Reply;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Durability;
import io.respawn.storage.Mutation;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Dispatcher behaviour beyond single replies: batching, durability gates, failures, auth. */
class DispatcherTest {
  private final MapKvStore store = new MapKvStore();

  @Test
  void commandsOfOnePassShareOneBatchAndMsetIsOneBatch() {
    CommandHarness h = new CommandHarness(store);
    List<String> replies = h.pass(
        new String[] {"SET", "a", "1"}, new String[] {"GET", "a"},
        new String[] {"MSET", "b", "2", "c", "3"}, new String[] {"INCR", "a"});
    assertThat(replies).containsExactly("OK", "\"1\"", "OK", "(integer) 2");
    assertThat(store.batches()).hasSize(1);
    assertThat(store.batches().get(0)).hasSize(4);
    h.call("MSET", "x", "1", "y", "2", "z", "3");
    assertThat(store.batches()).hasSize(2);
    assertThat(store.batches().get(1)).extracting(Mutation::kind)
        .containsOnly(Mutation.Kind.PUT).hasSize(3);
  }

  @Test
  void durableRepliesWaitForTheFsyncOrderedOnesDoNot() {
    store.holdDurable(true);
    CommandHarness h = new CommandHarness(store, null, Durability.DURABLE);
    Session ordered = h.newSession();
    h.call(ordered, "RESPAWN", "DURABILITY", "ORDERED");
    Reply durableSet = h.send(h.session, "SET", "a", "1");
    Reply orderedSet = h.send(ordered, "SET", "b", "2");
    Reply read = h.send(h.session, "GET", "b");
    h.dispatcher.endPass();
    assertThat(durableSet.isReady()).isFalse();
    assertThat(orderedSet.isReady()).isTrue();
    assertThat(read.isReady()).as("reads are not gated").isTrue();
    store.releaseDurable();
    assertThat(durableSet.isReady()).isTrue();
    assertThat(CommandHarness.render(durableSet)).isEqualTo("OK");
  }

  @Test
  void waitaofWaitsUntilThisClientsWritesAreDurable() {
    store.holdDurable(true);
    CommandHarness h = new CommandHarness(store);
    assertThat(h.call("WAITAOF", "1", "0", "0")).isEqualTo("[(integer) 1, (integer) 0]");
    h.call("SET", "a", "1");
    Reply wait = h.send(h.session, "WAITAOF", "1", "0", "0");
    h.dispatcher.endPass();
    assertThat(wait.isReady()).isFalse();
    store.releaseDurable();
    assertThat(CommandHarness.render(wait)).isEqualTo("[(integer) 1, (integer) 0]");
    h.call("SET", "a", "2");
    assertThat(h.call("WAITAOF", "1", "0", "50")).isEqualTo("[(integer) 0, (integer) 0]");
  }

  @Test
  void storageFailureIsAnErrorReplyAndReadsKeepWorking() {
    CommandHarness h = new CommandHarness(store);
    h.call("SET", "a", "1");
    store.failWrites("disk I/O error: No space left on device");
    assertThat(h.call("SET", "b", "2"))
        .isEqualTo("(error) ERR disk I/O error: No space left on device");
    assertThat(h.call("GET", "a")).isEqualTo("\"1\"");
    assertThat(h.call("INFO", "persistence")).contains("respawn_write_errors:1");
  }

  @Test
  void oversizedKeyOrValueFailsAloneAndWritesNothing() {
    CommandHarness h = new CommandHarness(store);
    String bigKey = "k".repeat(64 * 1024 + 1);
    List<String> replies = h.pass(
        new String[] {"SET", "a", "1"},
        new String[] {"MSET", "b", "2", bigKey, "3"},
        new String[] {"SET", "c", "3"});
    assertThat(replies.get(0)).isEqualTo("OK");
    assertThat(replies.get(1)).isEqualTo(
        "(error) ERR key of 65537 bytes exceeds keyBytesMax 65536");
    assertThat(replies.get(2)).isEqualTo("OK");
    assertThat(store.snapshot()).containsOnlyKeys("a", "c");
  }

  @Test
  void aFailingCommandInAPassIsRolledBackWithoutLosingOthers() {
    CommandHarness h = new CommandHarness(store);
    h.call("SET", "s", "text");
    List<String> replies = h.pass(
        new String[] {"SET", "a", "1"}, new String[] {"INCR", "s"}, new String[] {"DEL", "a"},
        new String[] {"SET", "b", "2"});
    assertThat(replies).containsExactly("OK",
        "(error) ERR value is not an integer or out of range", "(integer) 1", "OK");
    assertThat(store.snapshot()).containsOnlyKeys("s", "b");
  }

  @Test
  void requirepassGatesCommandsUntilAuth() {
    CommandHarness h = new CommandHarness(store, "s3cret", Durability.ORDERED);
    assertThat(h.call("GET", "a")).isEqualTo("(error) NOAUTH Authentication required.");
    assertThat(h.call("NOSUCH")).startsWith("(error) ERR unknown command");
    assertThat(h.call("HELLO", "2")).startsWith("(error) NOAUTH HELLO must be called");
    assertThat(h.call("AUTH", "wrong"))
        .isEqualTo("(error) WRONGPASS invalid username-password pair or user is disabled.");
    assertThat(h.call("AUTH", "bob", "s3cret"))
        .isEqualTo("(error) WRONGPASS invalid username-password pair or user is disabled.");
    assertThat(h.call("AUTH", "s3cret")).isEqualTo("OK");
    assertThat(h.call("GET", "a")).isEqualTo("(nil)");
    Session other = h.newSession();
    assertThat(h.call(other, "HELLO", "2", "AUTH", "default", "s3cret", "SETNAME", "x"))
        .contains("\"proto\", (integer) 2");
    assertThat(h.call(other, "CLIENT", "GETNAME")).isEqualTo("\"x\"");
  }

  @Test
  void activeExpirySweepDeletesExpiredKeys() {
    CommandHarness h = new CommandHarness(store);
    h.call("SET", "a", "1", "PX", "10");
    h.call("SET", "b", "1");
    h.nowMillis += 11;
    long cursor = 0;
    do {
      cursor = h.dispatcher.keyspace.sweepExpired(cursor, 1);
    } while (cursor != 0);
    assertThat(store.snapshot()).containsOnlyKeys("b");
    assertThat(h.call("INFO", "stats")).contains("expired_keys:1");
  }

  @Test
  void transactionWritesAreOneBatch() {
    CommandHarness h = new CommandHarness(store);
    h.call("MULTI");
    h.call("SET", "a", "1");
    h.call("SET", "b", "2");
    h.call("DEL", "a");
    int before = store.batches().size();
    assertThat(h.call("EXEC")).isEqualTo("[OK, OK, (integer) 1]");
    assertThat(store.batches()).hasSize(before + 1);
    assertThat(store.snapshot()).containsOnlyKeys("b");
  }
}
