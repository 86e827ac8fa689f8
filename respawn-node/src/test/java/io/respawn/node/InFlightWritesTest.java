package io.respawn.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.core.Variant;
import io.respawn.storage.Mutation;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A leader's writes in flight: what later commands see, and what their replies wait for. */
class InFlightWritesTest {
  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  private static String valueOf(InFlightWrites.Change c) {
    return c.deleted() ? null : new String(c.value().value(), StandardCharsets.UTF_8);
  }

  @Test
  void theNewestChangeOfAKeyIsSeenWithItsCommitFutureUntilItsBatchSettles() {
    InFlightWrites w = new InFlightWrites();
    CompletableFuture<Void> first = new CompletableFuture<>();
    CompletableFuture<Void> second = new CompletableFuture<>();
    w.add(1, List.of(Mutation.put(b("k"), b("1"))), first);
    w.add(2, List.of(Mutation.put(b("k"), b("2")), Mutation.delete(b("j"))), second);

    assertThat(valueOf(w.lookup(b("k")))).isEqualTo("2");
    assertThat(w.lookup(b("k")).sequence()).isEqualTo(2);
    assertThat(w.lookup(b("k")).gate()).isSameAs(second);
    assertThat(w.lookup(b("j")).deleted()).isTrue();
    assertThat(w.lookup(b("other"))).isNull();

    w.settle(1); // the first batch applied: the state machine has k = 1, but 2 is newer
    assertThat(valueOf(w.lookup(b("k")))).isEqualTo("2");
    w.settle(2);
    assertThat(w.lookup(b("k"))).as("settled: the state machine answers").isNull();
    assertThat(w.size()).isZero();
  }

  @Test
  void aKeyUntouchedSinceAClearInFlightReadsAsDeleted() {
    InFlightWrites w = new InFlightWrites();
    CompletableFuture<Void> cleared = new CompletableFuture<>();
    w.add(1, List.of(Mutation.clear()), cleared);
    w.add(2, List.of(Mutation.put(b("k"), b("1"))), new CompletableFuture<>());
    assertThat(w.lookup(b("j")).deleted()).isTrue();
    assertThat(w.lookup(b("j")).gate()).isSameAs(cleared);
    assertThat(valueOf(w.lookup(b("k")))).isEqualTo("1");
    w.settle(1);
    assertThat(w.lookup(b("j"))).isNull();
  }

  /**
   * A batch refused at once (its future failed at proposal) while an earlier one is still in
   * flight: the earlier change stays visible. Settling "everything up to" the refused batch, as
   * this class did before, dropped it, and a later INCR read the applied state under it.
   */
  @Test
  void aBatchSettledAheadOfEarlierOnesLeavesThemInFlight() {
    InFlightWrites w = new InFlightWrites();
    CompletableFuture<Void> first = new CompletableFuture<>();
    w.add(1, List.of(Mutation.put(b("k"), b("1")), Mutation.clear()), first);
    w.add(2, List.of(Mutation.put(b("k"), b("2"))), new CompletableFuture<>());
    w.add(3, List.of(Mutation.put(b("j"), b("3"))), new CompletableFuture<>());
    w.settle(2);
    w.settle(2); // twice: nothing more
    assertThat(w.size()).isEqualTo(2);
    assertThat(w.lookup(b("k")).deleted()).as("the CLEAR of batch 1 again").isTrue();
    assertThat(w.lookup(b("k")).gate()).isSameAs(first);
    assertThat(valueOf(w.lookup(b("j")))).isEqualTo("3");
    w.settle(1);
    w.settle(3);
    assertThat(w.lookup(b("k"))).isNull();
    assertThat(w.lookup(b("j"))).isNull();
  }

  @Test
  void theBrokenVariantsLoseWhatTheRulesKeep() {
    InFlightWrites invisible = new InFlightWrites(Variant.IN_FLIGHT_INVISIBLE);
    invisible.add(1, List.of(Mutation.put(b("k"), b("1"))), new CompletableFuture<>());
    assertThat(invisible.lookup(b("k"))).isNull();

    InFlightWrites ungated = new InFlightWrites(Variant.OVERLAY_READ_UNGATED);
    ungated.add(1, List.of(Mutation.put(b("k"), b("1"))), new CompletableFuture<>());
    assertThat(valueOf(ungated.lookup(b("k")))).isEqualTo("1");
    assertThat(ungated.lookup(b("k")).gate()).isNull();
  }
}
