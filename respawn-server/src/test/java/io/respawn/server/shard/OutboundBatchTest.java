package io.respawn.server.shard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.respawn.core.Message;
import io.respawn.core.Message.AppendEntriesResponse;
import io.respawn.core.NodeId;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OutboundBatchTest {
  private static final NodeId LEADER = NodeId.of(1);
  private static final NodeId SELF = NodeId.of(2);
  private static final NodeId OTHER = NodeId.of(3);

  private final List<Message> sent = new ArrayList<>();
  private final OutboundBatch batch = new OutboundBatch((to, m) -> {
    assertThat(m.to()).isEqualTo(to);
    sent.add(m);
  });

  private static AppendEntriesResponse ack(NodeId to, long term, long match, long hb,
      long flushed) {
    return new AppendEntriesResponse(SELF, to, term, true, match, match, hb, flushed);
  }

  private void send(Message m) {
    batch.send(m.to(), m);
  }

  @Test
  void holdsMessagesUntilFlushedThenSendsThemInOrder() {
    Message a = ack(LEADER, 3, 10, 5, 8);
    Message b = new AppendEntriesResponse(SELF, OTHER, 3, true, 4, 4, 1, 0);
    send(a);
    send(b);
    assertThat(sent).isEmpty();
    assertThat(batch.heldCount()).isEqualTo(2);
    batch.flush();
    assertThat(sent).containsExactly(a, b);
    assertThat(batch.heldCount()).isZero();
    batch.flush();
    assertThat(sent).hasSize(2);
  }

  @Test
  void dropsAnAckThatALaterAckToTheSameLeaderCovers() {
    Message older = ack(LEADER, 3, 10, 5, 8);
    Message flushAck = ack(LEADER, 3, 10, 0, 10); // a flush's ack: no heartbeat sequence
    Message newer = ack(LEADER, 3, 12, 6, 10);
    send(older);
    send(flushAck);
    send(newer);
    batch.flush();
    assertThat(sent).containsExactly(newer);
    assertThat(batch.responsesDropped()).isEqualTo(2);
    assertThat(batch.messagesSent()).isEqualTo(1);
  }

  @Test
  void keepsAnAckWhenTheLaterOneTellsLessInAnyField() {
    Message heartbeatAck = ack(LEADER, 3, 10, 7, 8);
    Message flushAck = ack(LEADER, 3, 10, 0, 10); // more flushed, older heartbeat: both needed
    send(heartbeatAck);
    send(flushAck);
    batch.flush();
    assertThat(sent).containsExactly(heartbeatAck, flushAck);
    sent.clear();
    Message lowerMatch = ack(LEADER, 3, 12, 9, 10);
    Message laterLowerMatch = ack(LEADER, 3, 11, 9, 10); // reordered answers: match went down
    send(lowerMatch);
    send(laterLowerMatch);
    batch.flush();
    assertThat(sent).containsExactly(lowerMatch, laterLowerMatch);
  }

  @Test
  void neverDropsAcrossTermsLeadersOrRejections() {
    Message oldTerm = ack(LEADER, 3, 10, 5, 8);
    Message toOther = ack(OTHER, 4, 10, 5, 8);
    Message rejection = new AppendEntriesResponse(SELF, LEADER, 4, false, 0, 9, 6);
    Message newTerm = ack(LEADER, 4, 20, 9, 20);
    send(oldTerm);
    send(toOther);
    send(rejection);
    send(newTerm);
    batch.flush();
    assertThat(sent).containsExactly(oldTerm, toOther, rejection, newTerm);
  }

  @Test
  void flushesByItselfWhenFullOrHeldTooLong() throws InterruptedException {
    for (int i = 0; i < OutboundBatch.HELD_MAX; i++) {
      send(new AppendEntriesResponse(SELF, LEADER, 3, false, 0, i, i));
    }
    assertThat(sent).hasSize(OutboundBatch.HELD_MAX);
    assertThat(batch.heldCount()).isZero();

    send(ack(LEADER, 3, 1, 1, 0));
    batch.flushIfHeldLongerThan(60_000_000_000L);
    assertThat(batch.heldCount()).isEqualTo(1);
    Thread.sleep(2);
    batch.flushIfHeldLongerThan(1_000_000L);
    assertThat(batch.heldCount()).isZero();
    assertThat(sent).hasSize(OutboundBatch.HELD_MAX + 1);
  }

  @Test
  void refusesAMessageAddressedElsewhere() {
    assertThatThrownBy(() -> batch.send(OTHER, ack(LEADER, 3, 1, 1, 0)))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
