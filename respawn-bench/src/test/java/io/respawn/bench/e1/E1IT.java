package io.respawn.bench.e1;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code respawn bench e1} in miniature on real processes: every system whose programs are
 * installed here (the shard always; Redis with redis-server; etcd with etcd), every workload,
 * one round of one second. Checks the shape of {@code e1.csv} (the header, one row per system
 * and workload, nonzero throughput, p50 ≤ p99), the chart, the redis-benchmark table, and that
 * no operation failed. Speed is not judged here.
 */
class E1IT {
  static final List<String> WORKLOADS = List.of("ycsb-b", "ycsb-c", "write-only");

  @Test
  void runsEveryInstalledSystemAndWritesTheTables(@TempDir Path tmp) throws Exception {
    List<String> systems = new ArrayList<>(List.of("respawn-ordered", "respawn-durable"));
    boolean redis = E1Bench.onPath("redis-server") && E1Bench.onPath("redis-benchmark");
    if (redis) {
      systems.addAll(List.of("redis-everysec", "redis-replica-wait"));
    }
    if (E1Bench.onPath("etcd")) {
      systems.add("etcd");
    }
    Path out = tmp.resolve("out");
    int code = new CommandLine(new E1Bench()).execute(
        "--seconds", "1", "--warmup-seconds", "0.5", "--warmup-round-seconds", "0.5",
        "--rounds", "1", "--records", "300",
        "--systems", String.join(",", systems),
        "--redis-benchmark-requests", redis ? "2000" : "0",
        "--out", out.toString(), "--data", tmp.resolve("data").toString(),
        "--member-java-opts", "-Xmx256m -XX:+UseSerialGC");
    assertThat(code).as("exit code (1: an operation failed)").isZero();

    List<String> lines = Files.readAllLines(out.resolve("e1.csv"), StandardCharsets.UTF_8);
    assertThat(lines.get(0)).isEqualTo("system,workload,ops_per_sec,p50_ms,p99_ms");
    Set<String> cells = new HashSet<>();
    for (String line : lines.subList(1, lines.size())) {
      String[] c = line.split(",");
      assertThat(c).as(line).hasSize(5);
      assertThat(systems).as(line).contains(c[0]);
      assertThat(WORKLOADS).as(line).contains(c[1]);
      assertThat(Double.parseDouble(c[2])).as("ops/s in " + line).isPositive();
      assertThat(Double.parseDouble(c[3])).as("p50 in " + line).isPositive()
          .isLessThanOrEqualTo(Double.parseDouble(c[4]));
      cells.add(c[0] + "/" + c[1]);
    }
    assertThat(cells).hasSize(systems.size() * WORKLOADS.size());
    assertThat(Files.size(out.resolve("e1.png"))).isPositive();
    assertThat(Files.readAllLines(out.resolve("e1-rounds.csv"))).hasSize(1 + cells.size());
    if (redis) {
      List<String> rb = Files.readAllLines(out.resolve("e1-redis-benchmark.csv"));
      assertThat(rb.get(0)).isEqualTo("system,test,pipeline,requests_per_sec,p50_ms,p99_ms");
      // Redis: SET and GET, -P 1 and 16. The shard's rows are missing when its primary answered
      // MOVED (its lease lapsed on a starved machine), which redis-benchmark cannot follow:
      // reported by the run, not a failed operation (docs/benchmarks.md, E1).
      assertThat(rb.stream().filter(l -> l.startsWith("redis-everysec,"))).hasSize(4);
      assertThat(rb.stream().filter(l -> l.startsWith("respawn-ordered,")).count())
          .isIn(0L, 2L, 4L);
    }
    // The run's data directory is removed; every process it started was stopped.
    try (var left = Files.list(tmp.resolve("data"))) {
      assertThat(left.toList()).isEmpty();
    }
  }
}
