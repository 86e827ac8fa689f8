package io.respawn.server.cli;

import io.respawn.server.shard.NodeLoop;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code respawn status}: asks the member at {@code --host:--port} for the shard's members
 * (CLUSTER NODES), then each member for its state (INFO), and prints one line per member: id,
 * address, role, whether it votes (a member added online does not until promoted), status,
 * term, commit and applied index, lag behind the primary's log (a new member's catch-up
 * progress), its snapshot (the image it keeps, or how much of one it is receiving), lease left
 * and process id. A member that does not answer is shown as down. Against a standalone
 * server it prints that one node. Exit code 0 when every member answered, 1 otherwise.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
    description = "Show every member of the shard: role, term, commit/applied index, lag, snapshot, lease, pid.")
public final class StatusCommand implements Callable<Integer> {
  @Option(names = "--host", defaultValue = "127.0.0.1", description = "Any member's host (default ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", defaultValue = "7379", description = "Any member's RESP port (default ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--timeout-ms", defaultValue = "2000", description = "Per-member timeout (default ${DEFAULT-VALUE}).")
  int timeoutMillis;

  /** One member's row. */
  record Row(String address, Map<String, String> info) {}

  @Override
  public Integer call() {
    List<String> addresses = new ArrayList<>();
    try (RespClient c = new RespClient(host, port, timeoutMillis)) {
      Map<String, String> info = parseInfo((String) c.call("INFO", "all"));
      if ("1".equals(info.get("cluster_enabled"))) {
        for (String line : ((String) c.call("CLUSTER", "NODES")).split("\n")) {
          String[] f = line.trim().split(" ");
          if (f.length > 1) {
            addresses.add(f[1].substring(0, f[1].indexOf('@')));
          }
        }
      } else {
        addresses.add(host + ":" + port);
      }
    } catch (IOException | RuntimeException e) {
      System.err.println("respawn status: cannot reach " + host + ":" + port + ": "
          + e.getMessage());
      return 1;
    }
    List<Row> rows = new ArrayList<>();
    for (String a : addresses) {
      int colon = a.lastIndexOf(':');
      try (RespClient c = new RespClient(a.substring(0, colon),
          Integer.parseInt(a.substring(colon + 1)), timeoutMillis)) {
        rows.add(new Row(a, parseInfo((String) c.call("INFO", "all"))));
      } catch (IOException | RuntimeException e) {
        rows.add(new Row(a, null));
      }
    }
    print(rows, System.out);
    return rows.stream().allMatch(r -> r.info() != null) ? 0 : 1;
  }

  static void print(List<Row> rows, PrintStream out) {
    long primaryLast = -1;
    for (Row r : rows) {
      if (r.info() != null && "primary".equals(r.info().get("respawn_role"))) {
        primaryLast = parse(r.info().get("respawn_last_index"));
      }
    }
    String format = "%-3s %-21s %-8s %-5s %-12s %6s %10s %10s %8s %-16s %9s %8s%n";
    out.printf(format, "ID", "ADDRESS", "ROLE", "VOTES", "STATUS", "TERM", "COMMIT", "APPLIED",
        "LAG", "SNAPSHOT", "LEASE", "PID");
    for (Row r : rows) {
      Map<String, String> i = r.info();
      if (i == null) {
        out.printf(format, "?", r.address(), "-", "-", "down", "-", "-", "-", "-", "-", "-", "-");
        continue;
      }
      // A learner (a member added online, catching up) votes in nothing until promoted; its
      // LAG column is its catch-up progress.
      String votes = switch (i.getOrDefault("respawn_voting", "-")) {
        case "1" -> "yes";
        case "0" -> "no";
        default -> "-";
      };
      long applied = parse(i.get("respawn_applied_index"));
      // Members answer INFO one after another: one asked later may be ahead of what the
      // primary reported; that is no lag.
      String lag = primaryLast < 0 || applied < 0 ? "-"
          : Long.toString(Math.max(0, primaryLast - applied));
      String lease = "primary".equals(i.get("respawn_role"))
          ? i.getOrDefault("respawn_lease_remaining_ms", "-") : "-";
      out.printf(format, i.getOrDefault("respawn_node_id", "-"), r.address(),
          i.getOrDefault("respawn_role", "standalone"), votes, i.getOrDefault("respawn_status", "-"),
          i.getOrDefault("respawn_term", "-"), i.getOrDefault("respawn_commit_index", "-"),
          i.getOrDefault("respawn_applied_index", "-"), lag, snapshot(i),
          "-".equals(lease) ? "-" : lease + " ms", i.getOrDefault("process_id", "-"));
    }
    for (Row r : rows) {
      String standIns = standInLine(r.info());
      if (standIns != null) {
        out.println("stand-in on primary " + r.info().getOrDefault("respawn_node_id", "?") + " ("
            + r.address() + "): " + standIns);
      }
    }
    for (Row r : rows) {
      String recovery = recoveryLine(r.info());
      if (recovery != null) {
        out.println("recovery on " + r.info().getOrDefault("respawn_node_id", "?") + " ("
            + r.address() + "): " + recovery);
      }
    }
  }

  /**
   * The witnesses a primary lets stand in for backups that are away (INFO {@code
   * respawn_stand_ins}, "backup>witness" pairs), or null when none does.
   */
  static String standInLine(Map<String, String> i) {
    if (i == null || !"primary".equals(i.get("respawn_role"))) {
      return null;
    }
    String pairs = i.get("respawn_stand_ins");
    if (pairs == null || pairs.isEmpty() || "none".equals(pairs)) {
      return null;
    }
    StringBuilder b = new StringBuilder();
    boolean allHandedBack = true;
    for (String pair : pairs.split(",")) {
      boolean handingBack = pair.endsWith(NodeLoop.HANDING_BACK);
      allHandedBack &= handingBack;
      String[] bw = (handingBack ? pair.substring(0, pair.length()
          - NodeLoop.HANDING_BACK.length()) : pair).split(">", 2);
      b.append(b.isEmpty() ? "" : "; ").append("witness ").append(bw.length == 2 ? bw[1] : "?")
          .append(" stands in for backup ").append(bw[0])
          .append(handingBack ? ", which is back and caught up (handing back: writes need it "
              + "again; ends once it has flushed)" : "");
    }
    return b + (allHandedBack ? "" : " (writes commit without that backup until it is back and "
        + "caught up)");
  }

  /**
   * What a member recovering values says about it (docs/recovery.md), or null when it is not
   * recovering: mode and phase, keys left, keys and bytes pulled, priority pulls and their
   * latency.
   */
  static String recoveryLine(Map<String, String> i) {
    if (i == null || i.get("respawn_recovery_phase") == null
        || "none".equals(i.get("respawn_recovery_phase"))) {
      return null;
    }
    return String.format(java.util.Locale.ROOT, "%s, %s keys left, %s keys (%s bytes) pulled, "
            + "%s priority pulls (latency avg %s us, max %s us)",
        i.get("respawn_recovery_phase"), i.getOrDefault("respawn_recovery_keys_left", "?"),
        i.getOrDefault("respawn_keys_pulled", "?"),
        i.getOrDefault("respawn_recovery_bytes_pulled", "?"),
        i.getOrDefault("respawn_recovery_priority_pulls", "?"),
        i.getOrDefault("respawn_recovery_priority_latency_avg_us", "?"),
        i.getOrDefault("respawn_recovery_priority_latency_max_us", "?"));
  }

  /**
   * The SNAPSHOT column: while a member receives an image, its progress ({@code recv 42% @1200}:
   * 42 % of the body of the image at index 1200 staged); otherwise the index of the image it
   * keeps ({@code kept @1200}), or "-" (none yet, or snapshots off).
   */
  static String snapshot(Map<String, String> i) {
    long receiving = parse(i.get("respawn_snapshot_receiving"));
    long total = parse(i.get("respawn_snapshot_receiving_total_bytes"));
    if (receiving > 0 && total >= 0) {
      long got = Math.max(0, parse(i.get("respawn_snapshot_receiving_bytes")));
      long percent = total == 0 ? 100 : Math.min(100, got * 100 / total);
      return "recv " + percent + "% @" + receiving;
    }
    long kept = parse(i.get("respawn_snapshot_index"));
    return kept > 0 ? "kept @" + kept : "-";
  }

  /** A numeric INFO value, or -1 when missing or not a number. */
  public static long parse(String v) {
    try {
      return v == null ? -1 : Long.parseLong(v);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** INFO's text as field -> value (section headers and blank lines skipped). */
  public static Map<String, String> parseInfo(String text) {
    Map<String, String> out = new LinkedHashMap<>();
    for (String line : text.split("\r?\n")) {
      int colon = line.indexOf(':');
      if (colon > 0 && !line.startsWith("#")) {
        out.put(line.substring(0, colon), line.substring(colon + 1).trim());
      }
    }
    return out;
  }
}
