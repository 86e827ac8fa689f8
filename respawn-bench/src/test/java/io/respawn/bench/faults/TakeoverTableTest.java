package io.respawn.bench.faults;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.respawn.bench.faults.TakeoverTable.Event;
import java.util.List;
import org.junit.jupiter.api.Test;

class TakeoverTableTest {

  @Test
  void summaryHasTheExactHeaderAndOneRowPerModeAndScenarioInOrder() {
    List<Event> events = List.of(
        new Event("hard-short", "kill", 0, 900, true, 2, 1, 2),
        new Event("hard-short", "stall-1s", 0, 1010, false, 0, 2, 2),
        new Event("hard-short", "kill", 1, 300, true, 1, 3, 4),
        new Event("hard-short", "kill", 2, 500, true, 0, 5, 6),
        new Event("speculative", "kill", 0, 250, true, 3, 1, 2));
    assertEquals(List.of(
        "mode,scenario,failover_ms,failovers,client_errors",
        "hard-short,kill,500,3,3",
        "hard-short,stall-1s,1010,0,0",
        "speculative,kill,250,1,3"), TakeoverTable.summaryLines(events));
  }

  @Test
  void medianOfAnEvenCountIsTheLowerMiddleAndUnrecoveredEventsAreLeftOut() {
    List<Event> events = List.of(
        new Event("hard-long", "stall-3s", 0, 4000, true, 5, 1, 2),
        new Event("hard-long", "stall-3s", 1, -1, false, 7, 2, 2),
        new Event("hard-long", "stall-3s", 2, 2000, true, 0, 2, 3));
    TakeoverTable.Row row = TakeoverTable.rows(events).get(0);
    assertEquals(2000, row.medianFailoverMillis());
    assertEquals(2, row.failovers());
    assertEquals(12, row.clientErrors());
    assertEquals(-1, TakeoverTable.rows(List.of(
        new Event("speculative", "kill", 0, -1, false, 0, 1, 1))).get(0).medianFailoverMillis());
  }

  @Test
  void eventsKeepEveryRepetitionAndRefuseNegativeMeasures() {
    List<String> lines = TakeoverTable.eventLines(List.of(
        new Event("speculative", "stall-0.5s", 1, 510, false, 0, 4, 4)));
    assertEquals(TakeoverTable.EVENTS_HEADER, lines.get(0));
    assertEquals("speculative,stall-0.5s,1,510,0,0,4,4", lines.get(1));
    assertThrows(IllegalArgumentException.class,
        () -> new Event("speculative", "kill", 0, -2, false, 0, 1, 1));
    assertThrows(IllegalArgumentException.class,
        () -> new Event("speculative", "kill", 0, 10, false, -1, 1, 1));
  }
}
