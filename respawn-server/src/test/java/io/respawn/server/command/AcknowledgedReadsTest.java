package io.respawn.server.command;

import static org.assertj.core.api.Assertions.assertThat;

import io.respawn.server.resp.Reply;
import io.respawn.server.shard.ReplicatedStore;
import io.respawn.server.testing.HeldShardWrites;
import io.respawn.server.testing.MapKvStore;
import io.respawn.storage.Mutation;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Reads on a replicated primary, through the command layer: which writes not yet acknowledged a
 * read sees, and which it waits for. A client that waits on nothing of its own reads one key from
 * the acknowledged state and is answered at once (another client's write of a hot key no longer
 * holds it up); a client that waits sees its own writes and what it read before, in order; and a
 * read that returned anything not yet acknowledged (in flight, or pending in the same pass) is
 * answered only once that is.
 */
class AcknowledgedReadsTest {
  private final MapKvStore stateMachine = new MapKvStore();
  private final HeldShardWrites shard = new HeldShardWrites(stateMachine);
  private final CommandHarness h = new CommandHarness(new ReplicatedStore(stateMachine, shard));
  private final Session writer = h.newSession();
  private final Session reader = h.newSession();

  private static byte[] b(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** A reply's message, without waiting for its gate. */
  private static String text(Reply r) {
    return CommandHarness.render(r.message());
  }

  /** Runs one command in a pass of its own; returns its reply, perhaps still gated. */
  private Reply run(Session s, String... args) {
    Reply r = h.send(s, args);
    h.dispatcher.endPass();
    return r;
  }

  @Test
  void anotherClientsWriteInFlightNeitherShowsNorHoldsAOneKeyRead() {
    stateMachine.apply(List.of(Mutation.put(b("k"), b("old"))));
    Reply set = run(writer, "set", "k", "new");
    assertThat(set.gate()).as("the write waits for its commit").isNotNull().isNotDone();

    Reply get = run(reader, "get", "k");
    assertThat(get.gate()).as("answered at once").isNull();
    assertThat(text(get)).isEqualTo("\"old\"");

    shard.commitAll();
    assertThat(set.gate()).isDone();
    Reply after = run(reader, "get", "k");
    assertThat(after.gate()).isNull();
    assertThat(text(after)).isEqualTo("\"new\"");
  }

  @Test
  void aClientWaitingOnItsOwnWriteReadsItInOrder() {
    run(writer, "set", "k", "mine");
    Reply get = run(writer, "get", "k");
    assertThat(text(get)).isEqualTo("\"mine\"");
    assertThat(get.gate()).as("it returned a write not yet committed").isNotNull().isNotDone();
    shard.commitAll();
    assertThat(get.gate()).isDone();
  }

  @Test
  void aClientThatReadAWriteInFlightKeepsSeeingIt() {
    run(writer, "set", "k", "new");
    Reply mget = run(reader, "mget", "k", "other"); // two keys: the full view
    assertThat(text(mget)).contains("\"new\"");
    assertThat(mget.gate()).isNotNull().isNotDone();
    Reply get = run(reader, "get", "k");
    assertThat(text(get)).as("never older than what it read before")
        .isEqualTo("\"new\"");
    assertThat(get.gate()).isNotNull().isNotDone();
    shard.commitAll();
  }

  /**
   * A read that returns another client's write pending in the same pass (not yet handed to the
   * store) waits for the pass's acknowledgement like the write does: answered at once, it let a
   * client read a write that a failover before its commit then lost.
   */
  @Test
  void aReadOfAWritePendingInTheSamePassWaitsForItsAcknowledgement() {
    h.send(writer, "set", "p", "pending");
    Reply mget = h.send(reader, "mget", "p", "q");
    h.dispatcher.endPass();
    assertThat(text(mget)).contains("\"pending\"");
    assertThat(mget.gate()).as("gated on the pass").isNotNull().isNotDone();
    shard.commitAll();
    assertThat(mget.gate()).isDone();
  }

  /**
   * A key whose acknowledged value has expired is read in the full view: expiring it from the
   * acknowledged state would delete a newer write still in flight.
   */
  @Test
  void anExpiredAcknowledgedValueIsReadInTheFullViewAndNotDeletedOverANewerWrite() {
    stateMachine.apply(List.of(Mutation.put(b("e"), b("stale"), h.nowMillis - 1_000)));
    run(writer, "set", "e", "fresh");
    Reply get = run(reader, "get", "e");
    assertThat(text(get)).isEqualTo("\"fresh\"");
    assertThat(get.gate()).isNotNull();
    assertThat(shard.proposed).as("no delete proposed over the newer write").hasSize(1);
    shard.commitAll();
  }
}
