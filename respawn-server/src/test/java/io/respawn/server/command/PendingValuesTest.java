package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * Online recovery in the command layer: a command whose key's value is still on a backup is held
 * (with its client's later requests) while a pull is asked for, and runs once the value is here.
 */
class PendingValuesTest {
  private final MapKvStore store = new MapKvStore();
  private final CommandHarness h = new CommandHarness(store);
  private final Set<String> pending = new HashSet<>();
  private final List<List<String>> pulls = new ArrayList<>();
  private final List<CompletableFuture<Void>> answers = new ArrayList<>();
  private final AtomicInteger wakes = new AtomicInteger();

  PendingValuesTest() {
    h.dispatcher.enablePendingValues(new PendingValues() {
      @Override
      public boolean any() {
        return !pending.isEmpty();
      }

      @Override
      public boolean pending(byte[] key) {
        return pending.contains(new String(key, StandardCharsets.UTF_8));
      }

      @Override
      public CompletableFuture<Void> pull(List<byte[]> keys) {
        pulls.add(keys.stream().map(k -> new String(k, StandardCharsets.UTF_8)).toList());
        CompletableFuture<Void> f = new CompletableFuture<>();
        answers.add(f);
        return f;
      }
    });
    h.dispatcher.wakeHeld(wakes::incrementAndGet);
  }

  /** The value arrives from the backup: stored, no longer pending, the pulls answered. */
  private void arrive(String key, String value) {
    store.apply(List.of(Mutation.put(key.getBytes(StandardCharsets.UTF_8),
        value.getBytes(StandardCharsets.UTF_8))));
    pending.remove(key);
    answers.forEach(f -> f.complete(null));
  }

  @Test
  void aReadOfAPendingKeyWaitsForItsPullAndTheClientsLaterRequestsWaitBehindIt() {
    pending.addAll(List.of("a", "b"));
    Session s = h.session;
    assertThat(h.submit(s, "GET", "a")).as("held").isNull();
    assertThat(pulls).containsExactly(List.of("a"));
    // Pipelined behind it: waits in order, and asks for its own key at once.
    assertThat(h.submit(s, "GET", "b")).isNull();
    assertThat(h.submit(s, "PING")).isNull();
    assertThat(pulls).containsExactly(List.of("a"), List.of("b"));
    // Another client is not held by them.
    assertThat(h.call(h.newSession(), "GET", "other")).isEqualTo("(nil)");

    arrive("a", "1");
    assertThat(wakes.get()).as("the answer wakes the command loop").isPositive();
    assertThat(h.resumeHeld()).as("b is still pending: a runs, b waits again").containsExactly("\"1\"");
    arrive("b", "2");
    assertThat(h.resumeHeld()).containsExactly("\"2\"", "PONG");
    assertThat(s.postponed).isNull();
  }

  /**
   * A write that replaces a value whatever it was needs no pull (DESIGN.md §5.3): SET with at
   * most an expiry, SETEX, PSETEX and MSET run at once on a pending key; SET with NX, XX, GET or
   * KEEPTTL, and DEL (whose reply counts the keys it removed), wait for the value.
   */
  @Test
  void aBlindOverwriteOfAPendingKeyRunsAtOnceAndAConditionalOneWaits() {
    pending.addAll(List.of("a", "b", "c", "d", "e", "f"));
    Session s = h.session;
    assertThat(h.call(s, "SET", "a", "1")).isEqualTo("OK");
    assertThat(h.call(s, "SET", "b", "2", "EX", "100")).isEqualTo("OK");
    assertThat(h.call(s, "SETEX", "c", "100", "3")).isEqualTo("OK");
    assertThat(h.call(s, "MSET", "d", "4", "e", "5")).isEqualTo("OK");
    assertThat(pulls).as("no pull for a blind overwrite").isEmpty();
    pending.remove("a"); // its entry applied: the key is known with the written value
    assertThat(h.call(h.newSession(), "GET", "a")).isEqualTo("\"1\"");

    Session t = h.newSession();
    assertThat(h.submit(t, "SET", "f", "6", "NX")).as("NX answers from the old value").isNull();
    assertThat(pulls).containsExactly(List.of("f"));
    Session u = h.newSession();
    assertThat(h.submit(u, "SET", "f", "7", "KEEPTTL")).isNull();
    Session v = h.newSession();
    assertThat(h.submit(v, "DEL", "f")).isNull();
    assertThat(pulls).hasSize(3);
    arrive("f", "old");
    assertThat(h.resumeHeld()).containsExactly("(nil)", "OK", "(integer) 1");
  }

  @Test
  void aTransactionWaitsAtExecForTheKeysItsCommandsTouch() {
    pending.add("k");
    Session s = h.session;
    assertThat(CommandHarness.render(h.submit(s, "MULTI"))).isEqualTo("OK");
    assertThat(CommandHarness.render(h.submit(s, "INCR", "k"))).isEqualTo("QUEUED");
    assertThat(pulls).as("queuing reads nothing").isEmpty();
    assertThat(h.submit(s, "EXEC")).isNull();
    assertThat(pulls).containsExactly(List.of("k"));
    arrive("k", "41");
    assertThat(h.resumeHeld()).containsExactly("[(integer) 42]");
  }

  @Test
  void wholeKeyspaceReadsWaitForEveryValueAndFlushallDoesNot() {
    pending.add("x");
    store.apply(List.of(Mutation.put("y".getBytes(StandardCharsets.UTF_8),
        "1".getBytes(StandardCharsets.UTF_8))));
    Session s = h.session;
    assertThat(h.submit(s, "DBSIZE")).as("held: x is not counted yet").isNull();
    assertThat(pulls).as("nothing to ask for by key").isEmpty();
    assertThat(h.resumeHeld()).as("still pending").isEmpty();
    arrive("x", "2");
    assertThat(h.resumeHeld()).containsExactly("(integer) 2");
    pending.add("z");
    assertThat(h.call(h.newSession(), "FLUSHALL")).isEqualTo("OK");
  }

  @Test
  void aCommandThatWaitedTooLongIsToldToRetry() {
    pending.add("a");
    Session s = h.session;
    assertThat(h.submit(s, "GET", "a")).isNull();
    s.valuesWaitSinceNanos = System.nanoTime() - Dispatcher.VALUES_WAIT_NANOS_MAX - 1;
    assertThat(h.resumeHeld()).singleElement().asString()
        .startsWith("(error) TRYAGAIN the value of a key this command needs is still being "
            + "pulled from a backup");
    assertThat(s.postponed).isNull();
  }

  @Test
  void inSteadyStateNothingIsCheckedOrHeld() {
    assertThat(h.call("SET", "a", "1")).isEqualTo("OK");
    assertThat(h.call("GET", "a")).isEqualTo("\"1\"");
    assertThat(pulls).isEmpty();
  }
}
