package io.respawn.core;

import static io.respawn.core.Cluster.n;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Leadership transfer (TimeoutNow): planned stops and giving leadership back to the primary. */
class TransferTest {

  /** A 1+1+1 shard led by the witness (node 3). */
  private static Cluster ledByWitness() {
    Cluster c = new Cluster(Cluster.shape(1, 1));
    c.run(3_000);
    if (c.leader().id().equals(n(1))) {
      assertThat(c.r(1).transferLeadership(n(3), c.now(n(1)))).isTrue();
      c.handle(n(1), c.r(1).ready());
      c.run(2_000);
    }
    assertThat(c.leader().id()).isEqualTo(n(3));
    return c;
  }

  @Test
  void theTargetTakesOverInTheNextTermWithoutWaitingForATimeout() {
    Cluster c = ledByWitness();
    c.propose("v1", "k1");
    c.run(100);
    Replica old = c.r(3);
    long term = old.term();
    assertThat(old.transferLeadership(n(1), c.now(n(3)))).isTrue();
    // From now on the old leader takes no writes and serves no reads in its term.
    assertThat(old.canPropose()).isFalse();
    assertThat(old.leaseExpiryNanos()).isEqualTo(Long.MIN_VALUE);
    c.handle(n(3), old.ready());
    c.deliverAll();
    assertThat(c.r(1).status()).isEqualTo(Status.LEADER);
    assertThat(c.r(1).term()).isEqualTo(term + 1);
    assertThat(old.status()).isEqualTo(Status.FOLLOWER);
    c.run(500);
    assertThat(c.r(1).log().entry(2).kind()).isEqualTo(EntryKind.NORMAL); // the write survived
    c.checkSafety();
  }

  @Test
  void transferIsRefusedToABackupToItselfAndWhenNotLeader() {
    Cluster c = ledByWitness();
    Replica leader = c.r(3);
    assertThat(leader.transferLeadership(n(2), c.now(n(3)))).as("backups never lead").isFalse();
    assertThat(leader.transferLeadership(n(3), c.now(n(3)))).isFalse();
    assertThat(c.r(1).transferLeadership(n(3), c.now(n(1)))).isFalse();
    assertThat(leader.canPropose()).isTrue();
  }

  @Test
  void votersGrantTheTransferCandidateDespiteTheirLeasePromise() {
    Cluster c = ledByWitness();
    c.run(300); // heartbeats: every follower has promised its vote to node 3
    assertThat(c.r(2).votePromiseExpiryNanos()).isGreaterThan(c.now(n(2)));
    assertThat(c.r(3).transferLeadership(n(1), c.now(n(3)))).isTrue();
    c.handle(n(3), c.r(3).ready());
    c.deliverAll();
    assertThat(c.r(1).status()).isEqualTo(Status.LEADER);
  }

  @Test
  void aTargetThatNeverAnswersMakesTheOldLeaderStepDownAndTheShardElectsAgain() {
    Cluster c = ledByWitness();
    c.down.add(n(1));
    Replica old = c.r(3);
    long term = old.term();
    assertThat(old.transferLeadership(n(1), c.now(n(3)))).isTrue();
    c.handle(n(3), old.ready());
    c.run(5_000);
    assertThat(old.term()).isGreaterThan(term);
    assertThat(c.leader()).isNotNull();
    assertThat(c.leader().id()).isEqualTo(n(3)); // node 1 is down; node 3 is elected again
    assertThat(c.leader().canPropose()).isTrue();
    c.checkSafety();
  }

  @Test
  void aStaleTimeoutNowIsIgnored() {
    Cluster c = ledByWitness();
    long term = c.r(1).term();
    c.deliver(new Message.TimeoutNow(n(3), n(1), term - 1));
    c.deliverAll();
    assertThat(c.r(1).status()).isEqualTo(Status.FOLLOWER);
    assertThat(c.r(1).term()).isEqualTo(term);
    c.deliver(new Message.TimeoutNow(n(2), n(1), term)); // not from the leader
    c.deliverAll();
    assertThat(c.r(1).term()).isEqualTo(term);
  }

  @Test
  void transferMessagesRoundTripThroughTheCodec() {
    Message t = new Message.TimeoutNow(n(3), n(1), 7);
    assertThat(io.respawn.core.codec.MessageCodec.decode(
        io.respawn.core.codec.MessageCodec.encode(t))).isEqualTo(t);
    Message v = new Message.RequestVote(n(1), n(2), 8, 5, 7, false, true);
    assertThat(io.respawn.core.codec.MessageCodec.decode(
        io.respawn.core.codec.MessageCodec.encode(v))).isEqualTo(v);
    java.nio.ByteBuffer bad = io.respawn.core.codec.MessageCodec.encode(
        new Message.RequestVote(n(1), n(2), 8, 5, 7, true));
    byte[] bytes = new byte[bad.remaining()];
    bad.get(bytes);
    bytes[bytes.length - 5] = 3; // preVote and transfer at once: refused (after a fresh CRC)
    java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
    crc.update(bytes, 0, bytes.length - 4);
    java.nio.ByteBuffer.wrap(bytes).putInt(bytes.length - 4, (int) crc.getValue());
    org.assertj.core.api.Assertions.assertThatThrownBy(() ->
        io.respawn.core.codec.MessageCodec.decode(java.nio.ByteBuffer.wrap(bytes)))
        .hasMessageContaining("vote flags 3");
  }
}
