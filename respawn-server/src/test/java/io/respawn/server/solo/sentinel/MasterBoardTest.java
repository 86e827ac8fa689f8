package io.respawn.server.solo.sentinel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class MasterBoardTest {
  static final HostPort A = new HostPort("127.0.0.1", 7001);
  static final HostPort B = new HostPort("127.0.0.1", 7002);

  @Test
  void switchMasterChangesTheViewBeforeItsEventsAreSeen() {
    MasterBoard board = new MasterBoard();
    board.put(MasterView.serving("mymaster", A, 1, 0, 1_000, 10_000));
    List<String> seen = new ArrayList<>();
    board.subscribe(e -> seen.add(e.channel() + " " + e.message()
        + " | now " + board.master("mymaster").address()));

    MasterView now = board.switchMaster("mymaster", B);

    assertThat(now.address()).isEqualTo(B);
    assertThat(now.configEpoch()).isEqualTo(1);
    assertThat(seen).containsExactly(
        "+switch-master mymaster 127.0.0.1 7001 127.0.0.1 7002 | now 127.0.0.1:7002",
        "+failover-end master mymaster 127.0.0.1 7001 | now 127.0.0.1:7002");
  }

  @Test
  void closedSubscriptionsGetNothingAndABrokenListenerCostsOnlyItself() {
    MasterBoard board = new MasterBoard();
    board.put(MasterView.serving("m", A, 1, 0, 1_000, 10_000));
    List<SentinelEvent> first = new ArrayList<>();
    List<SentinelEvent> second = new ArrayList<>();
    MonitoredMasters.Subscription s = board.subscribe(first::add);
    board.subscribe(e -> {
      throw new IllegalStateException("broken");
    });
    board.subscribe(second::add);
    s.close();
    s.close();
    board.publish(SentinelEvent.subjectivelyDown("m", A, true));
    assertThat(first).isEmpty();
    assertThat(second).containsExactly(new SentinelEvent("+sdown", "master m 127.0.0.1 7001"));
  }

  @Test
  void eventsKeepRedisFormats() {
    assertThat(SentinelEvent.objectivelyDown("m", A, true, 1, 1).message())
        .isEqualTo("master m 127.0.0.1 7001 #quorum 1/1");
    assertThat(SentinelEvent.objectivelyDown("m", A, false, 0, 1))
        .isEqualTo(new SentinelEvent("-odown", "master m 127.0.0.1 7001"));
    assertThat(SentinelEvent.tryFailover("m", A).channel()).isEqualTo("+try-failover");
  }

  @Test
  void badNamesAddressesAndMessagesAreRefused() {
    assertThatThrownBy(() -> new HostPort("127.0.0.1", 0)).hasMessageContaining("port");
    assertThatThrownBy(() -> new HostPort("a b", 1)).hasMessageContaining("space");
    assertThatThrownBy(() -> MasterView.serving("my master", A, 1, 0, 1, 1))
        .hasMessageContaining("name");
    assertThatThrownBy(() -> MasterView.serving("m", A, 0, 0, 1, 1)).hasMessageContaining("quorum");
    assertThatThrownBy(() -> new SentinelEvent("+x", "a\r\nb")).hasMessageContaining("CR or LF");
    assertThatThrownBy(() -> new SentinelEvent("+x", "a".repeat(SentinelEvent.MESSAGE_BYTES_MAX + 1)))
        .hasMessageContaining("MESSAGE_BYTES_MAX");
    assertThatThrownBy(() -> new MasterBoard("XYZ")).hasMessageContaining("run id");
    MasterBoard board = new MasterBoard();
    assertThatThrownBy(() -> board.switchMaster("nope", B)).hasMessageContaining("no master");
    assertThat(board.myId()).matches("[0-9a-f]{40}");
  }

  @Test
  void putReplacesByNameAndKeepsOrder() {
    MasterBoard board = new MasterBoard();
    board.put(MasterView.serving("a", A, 1, 0, 1, 1));
    board.put(MasterView.serving("b", B, 1, 0, 1, 1));
    board.put(MasterView.serving("a", B, 2, 3, 1, 1));
    assertThat(board.masters()).extracting(MasterView::name).containsExactly("a", "b");
    assertThat(board.master("a").quorum()).isEqualTo(2);
    assertThat(board.remove("a")).isTrue();
    assertThat(board.remove("a")).isFalse();
    assertThat(board.master("a")).isNull();
  }
}
