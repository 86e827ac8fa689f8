package io.respawn.bench.faults;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The E3 replicated table: one row per mode and scenario (in the order first measured) with the
 * median failover time over the repetitions, the failovers they caused and the client errors
 * they saw. Pure: {@link TakeoverBench} feeds it events and writes its lines.
 */
final class TakeoverTable {
  static final String HEADER = "mode,scenario,failover_ms,failovers,client_errors";
  static final String EVENTS_HEADER =
      "mode,scenario,repetition,failover_ms,failovers,client_errors,term_before,term_after";

  /**
   * One fault event. {@code failoverMillis} is the kill or SIGSTOP to the first acknowledged
   * write invoked after it, or -1 if no write was acknowledged within the bench's wait.
   */
  record Event(String mode, String scenario, int repetition, long failoverMillis,
      boolean failover, long clientErrors, long termBefore, long termAfter) {
    Event {
      if (failoverMillis < -1 || clientErrors < 0) {
        throw new IllegalArgumentException("negative measure in " + mode + "/" + scenario);
      }
    }

    String csv() {
      return String.join(",", mode, scenario, Integer.toString(repetition),
          Long.toString(failoverMillis), failover ? "1" : "0", Long.toString(clientErrors),
          Long.toString(termBefore), Long.toString(termAfter));
    }
  }

  /** One summary row. */
  record Row(String mode, String scenario, long medianFailoverMillis, int failovers,
      long clientErrors) {
    String csv() {
      return String.join(",", mode, scenario, Long.toString(medianFailoverMillis),
          Integer.toString(failovers), Long.toString(clientErrors));
    }
  }

  private TakeoverTable() {}

  /**
   * Groups {@code events} by mode and scenario. The median is over the events that saw a write
   * acknowledged (the lower middle of an even count); -1 if none did.
   */
  static List<Row> rows(List<Event> events) {
    Map<String, List<Event>> groups = new LinkedHashMap<>();
    for (Event e : events) {
      groups.computeIfAbsent(e.mode() + "," + e.scenario(), k -> new ArrayList<>()).add(e);
    }
    List<Row> rows = new ArrayList<>();
    for (List<Event> group : groups.values()) {
      List<Long> measured = new ArrayList<>();
      int failovers = 0;
      long errors = 0;
      for (Event e : group) {
        if (e.failoverMillis() >= 0) {
          measured.add(e.failoverMillis());
        }
        failovers += e.failover() ? 1 : 0;
        errors += e.clientErrors();
      }
      measured.sort(null);
      long median = measured.isEmpty() ? -1 : measured.get((measured.size() - 1) / 2);
      rows.add(new Row(group.get(0).mode(), group.get(0).scenario(), median, failovers, errors));
    }
    return rows;
  }

  /** The summary CSV: header then one line per row. */
  static List<String> summaryLines(List<Event> events) {
    List<String> lines = new ArrayList<>();
    lines.add(HEADER);
    for (Row r : rows(events)) {
      lines.add(r.csv());
    }
    return lines;
  }

  /** The events CSV: header then every event. */
  static List<String> eventLines(List<Event> events) {
    List<String> lines = new ArrayList<>();
    lines.add(EVENTS_HEADER);
    for (Event e : events) {
      lines.add(e.csv());
    }
    return lines;
  }
}
