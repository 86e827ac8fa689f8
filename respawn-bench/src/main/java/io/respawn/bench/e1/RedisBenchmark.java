package io.respawn.bench.e1;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code redis-benchmark -t set,get} against one server and parses its {@code --csv}
 * lines ({@code "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms",
 * "p95_latency_ms","p99_latency_ms","max_latency_ms"}).
 *
 * <p>{@code redis-benchmark} does not follow redirects: one {@code MOVED} (the shard's primary
 * answers it, to itself, while it briefly does not serve, for example when its lease lapsed on
 * a starved machine) ends the run with an error. Such a run is repeated, at most {@link
 * #ATTEMPTS_MAX} times in all, and the repeats are counted in the row.
 */
final class RedisBenchmark {
  static final long TIMEOUT_MILLIS = 600_000;

  static final int ATTEMPTS_MAX = 3;

  /** One test's figures; {@code repeats}: failed runs before this one. */
  record Row(String test, double requestsPerSec, double p50Millis, double p99Millis,
      int repeats) {}

  private RedisBenchmark() {}

  static List<Row> run(int port, int clients, int pipeline, long requests, int valueBytes,
      long keySpace) throws IOException, InterruptedException {
    for (int attempt = 1; ; attempt++) {
      try {
        List<Row> rows = runOnce(port, clients, pipeline, requests, valueBytes, keySpace);
        int repeats = attempt - 1;
        return rows.stream().map(r -> new Row(r.test(), r.requestsPerSec(), r.p50Millis(),
            r.p99Millis(), repeats)).toList();
      } catch (IOException e) {
        if (attempt == ATTEMPTS_MAX) {
          throw e;
        }
        System.out.println("redis-benchmark failed (" + e.getMessage() + "); repeating");
      }
    }
  }

  private static List<Row> runOnce(int port, int clients, int pipeline, long requests, int valueBytes,
      long keySpace) throws IOException, InterruptedException {
    List<String> cmd = List.of("redis-benchmark", "-h", "127.0.0.1", "-p", Integer.toString(port),
        "-t", "set,get", "-n", Long.toString(requests), "-c", Integer.toString(clients),
        "-P", Integer.toString(pipeline), "-d", Integer.toString(valueBytes),
        "-r", Long.toString(keySpace), "--csv");
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    List<Row> rows = new ArrayList<>();
    List<String> lines = new ArrayList<>();
    try (BufferedReader r = new BufferedReader(
        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = r.readLine()) != null; ) {
        lines.add(line);
        String[] cells = line.replace("\"", "").split(",");
        if (cells.length >= 7 && (cells[0].equals("SET") || cells[0].equals("GET"))) {
          rows.add(new Row(cells[0], Double.parseDouble(cells[1]), Double.parseDouble(cells[4]),
              Double.parseDouble(cells[6]), 0));
        }
      }
    } finally {
      if (!p.waitFor(TIMEOUT_MILLIS, TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
      }
    }
    if (p.exitValue() != 0 || rows.size() != 2) {
      throw new IOException("redis-benchmark against port " + port + " exited with "
          + p.exitValue() + " and printed " + lines.subList(Math.max(0, lines.size() - 3),
              lines.size()));
    }
    return rows;
  }
}
