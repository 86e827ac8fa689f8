package io.respawn.server.command;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Redis' latency monitor: for each event class ({@code command}, {@code fast-command}, {@code
 * expire-cycle}, {@code durable-fsync}) the latest {@value #HISTORY_LENGTH} seconds in which it
 * took at least {@code thresholdMillis} (one sample per second: the worst), and its all-time
 * maximum. Off while the threshold is 0 (the default, as in Redis). Memory: at most
 * {@value #HISTORY_LENGTH} samples per event class, and there are four classes.
 *
 * <p>Owned by the command thread.
 */
final class LatencyMonitor {
  /** Samples kept per event, as Redis' LATENCY_TS_LEN. */
  static final int HISTORY_LENGTH = 160;

  /** One second's worst latency of an event. */
  record Sample(long unixSeconds, long millis) {}

  /** Ring of samples, oldest overwritten first. */
  static final class Series {
    private final Sample[] samples = new Sample[HISTORY_LENGTH];
    private int next;
    private int count;
    private long maxMillis;

    void add(long unixSeconds, long millis) {
      maxMillis = Math.max(maxMillis, millis);
      Sample last = latest();
      if (last != null && last.unixSeconds() == unixSeconds) {
        if (millis > last.millis()) {
          samples[(next + HISTORY_LENGTH - 1) % HISTORY_LENGTH] = new Sample(unixSeconds, millis);
        }
        return;
      }
      samples[next] = new Sample(unixSeconds, millis);
      next = (next + 1) % HISTORY_LENGTH;
      count = Math.min(count + 1, HISTORY_LENGTH);
    }

    Sample latest() {
      return count == 0 ? null : samples[(next + HISTORY_LENGTH - 1) % HISTORY_LENGTH];
    }

    /** Oldest first. */
    List<Sample> history() {
      List<Sample> out = new ArrayList<>(count);
      for (int i = 0; i < count; i++) {
        out.add(samples[(next + HISTORY_LENGTH - count + i) % HISTORY_LENGTH]);
      }
      return out;
    }

    long maxMillis() {
      return maxMillis;
    }
  }

  private final Map<String, Series> events = new TreeMap<>();
  /** Redis' latency-monitor-threshold; 0 = off. */
  private long thresholdMillis;

  long thresholdMillis() {
    return thresholdMillis;
  }

  void thresholdMillis(long millis) {
    assert millis >= 0 : "negative latency threshold";
    thresholdMillis = millis;
  }

  /** Records {@code millis} for {@code event} if the monitor is on and it reaches the threshold. */
  void addIfNeeded(String event, long millis, long unixSeconds) {
    if (thresholdMillis > 0 && millis >= thresholdMillis) {
      events.computeIfAbsent(event, e -> new Series()).add(unixSeconds, millis);
    }
  }

  Map<String, Series> events() {
    return events;
  }

  /** Forgets the named events (all when none is named); returns how many it forgot. */
  int reset(List<String> names) {
    if (names.isEmpty()) {
      int n = events.size();
      events.clear();
      return n;
    }
    int n = 0;
    for (String name : names) {
      // Redis compares event names case-insensitively here.
      String match = events.keySet().stream().filter(e -> e.equalsIgnoreCase(name)).findFirst()
          .orElse(null);
      if (match != null) {
        events.remove(match);
        n++;
      }
    }
    return n;
  }

  /** LATENCY DOCTOR: a plain report of what was measured, without advice it cannot back. */
  String doctor(long nowUnixSeconds) {
    StringBuilder sb = new StringBuilder();
    if (thresholdMillis == 0) {
      sb.append("Latency monitoring is disabled: latency-monitor-threshold is 0.\n");
      sb.append("Enable it with CONFIG SET latency-monitor-threshold <milliseconds>; every event\n");
      sb.append("that takes at least that long is then recorded.\n");
      return sb.toString();
    }
    if (events.isEmpty()) {
      sb.append("No latency event of ").append(thresholdMillis)
          .append(" ms or more was recorded since monitoring started or was last reset.\n");
      return sb.toString();
    }
    sb.append("Latency events of ").append(thresholdMillis).append(" ms or more, per class:\n\n");
    int i = 1;
    for (Map.Entry<String, Series> e : events.entrySet()) {
      List<Sample> h = e.getValue().history();
      long sum = 0;
      for (Sample s : h) {
        sum += s.millis();
      }
      double avg = (double) sum / h.size();
      double deviation = 0;
      for (Sample s : h) {
        deviation += Math.abs(s.millis() - avg);
      }
      deviation /= h.size();
      long period = Math.max(1, nowUnixSeconds - h.get(0).unixSeconds());
      sb.append(i++).append(". ").append(e.getKey()).append(": ").append(h.size())
          .append(h.size() == 1 ? " second" : " seconds").append(" with a spike in the last ")
          .append(period).append(" s (average ")
          .append(String.format(Locale.ROOT, "%.0f", avg)).append(" ms, mean deviation ")
          .append(String.format(Locale.ROOT, "%.0f", deviation)).append(" ms). Worst ever: ")
          .append(e.getValue().maxMillis()).append(" ms.\n");
    }
    sb.append("\nWhat the classes measure: command and fast-command are single commands (see\n");
    sb.append("SLOWLOG GET for which ones), expire-cycle is one active-expiry pass, durable-fsync\n");
    sb.append("is the fsync a pass of DURABLE writes waited for (a slow disk shows here).\n");
    return sb.toString();
  }
}
