package io.respawn.bench.mirror;

import io.respawn.mirror.WanLink;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;

/**
 * Experiment E6, throughput (after SMFS's Figures 9–11): aggregate write throughput of many
 * clients and of one client, per acknowledgement mode, against link loss (at {@code
 * --loss-delay-ms}) and against one-way delay (at 0 % loss). One primary site and mirror serve
 * the whole run — the mode is per connection, the relay's loss and delay change between points —
 * with the link paced to {@code --bandwidth-mbit} and FEC (8, 3), so the WAN is the bottleneck
 * as in the paper. Each point: clients connect and pick their mode, warm up, then writes are
 * counted for {@code --measure-ms}; then the mirror catches up before the next point (the modes
 * share the link's queue, bounded by {@code --queue-bytes}). Writes {@code e6.csv} ({@code
 * mode,clients,loss_pct,delay_ms,ops_per_sec}) and charts {@code e6-loss.png}, {@code
 * e6-delay.png} into {@code --out}.
 */
@Command(name = "mirror-throughput", mixinStandardHelpOptions = true,
    description = "E6: write throughput per mirror mode vs link loss and one-way delay,"
        + " for many clients and for one.")
public final class MirrorThroughputBench implements Callable<Integer> {
  @Option(names = "--out", defaultValue = "docs/bench", description = "Output directory (default ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--modes", split = ",", defaultValue = "local,network,remote", description = "Modes (default ${DEFAULT-VALUE}).")
  List<String> modes;

  @Option(names = "--clients", split = ",", defaultValue = "64,1", description = "Client counts (default ${DEFAULT-VALUE}).")
  List<Integer> clientCounts;

  @Option(names = "--loss-pct", split = ",", defaultValue = "0,0.1,0.5,1", description = "Loss rates at --loss-delay-ms, in % (default ${DEFAULT-VALUE}).")
  List<Double> lossPcts;

  @Option(names = "--loss-delay-ms", defaultValue = "50", description = "One-way delay of the loss sweep (default ${DEFAULT-VALUE}).")
  double lossDelayMillis;

  @Option(names = "--delay-ms", split = ",", defaultValue = "25,50,100", description = "One-way delays at 0 % loss (default ${DEFAULT-VALUE}).")
  List<Double> delaysMillis;

  @Option(names = "--value-bytes", defaultValue = "1024", description = "Value size (default ${DEFAULT-VALUE}).")
  int valueBytes;

  @Option(names = "--keys", defaultValue = "10000", description = "Keys each client cycles through (default ${DEFAULT-VALUE}).")
  int keys;

  @Option(names = "--bandwidth-mbit", defaultValue = "20", description = "The primary paces the link to this (default ${DEFAULT-VALUE}).")
  double bandwidthMbit;

  @Option(names = "--warmup-ms", defaultValue = "1500", description = "Per point, before counting (default ${DEFAULT-VALUE}).")
  long warmupMillis;

  @Option(names = "--server-warmup-ms", defaultValue = "20000", description = "Once, before the first point: every mode's clients write uncounted so the servers' JIT is warm (default ${DEFAULT-VALUE}).")
  long serverWarmupMillis;

  @Option(names = "--measure-ms", defaultValue = "5000", description = "Per point, counted (default ${DEFAULT-VALUE}).")
  long measureMillis;

  @Option(names = "--queue-bytes", defaultValue = "1m", description = "The primary's send queue bound (--mirror-queue-bytes): what LOCAL may run ahead of the link, like a socket buffer (default ${DEFAULT-VALUE}).")
  String queueBytes;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the link's loss decisions (default ${DEFAULT-VALUE}).")
  long seed;

  record Row(String mode, int clients, double lossPct, double delayMillis, double opsPerSec) {
    String csv() {
      return String.format(Locale.ROOT, "%s,%d,%s,%s,%.1f", mode, clients,
          MirrorDisasterBench.pct(lossPct), MirrorDisasterBench.pct(delayMillis), opsPerSec);
    }
  }

  @Override
  public Integer call() throws Exception {
    Files.createDirectories(out);
    // The points: the loss sweep at lossDelayMillis, then the other delays at 0 % loss.
    List<double[]> points = new ArrayList<>();
    for (double loss : lossPcts) {
      points.add(new double[] {loss, lossDelayMillis});
    }
    for (double delay : delaysMillis) {
      if (!(delay == lossDelayMillis && lossPcts.contains(0.0))) {
        points.add(new double[] {0, delay});
      }
    }
    System.out.printf("E6 throughput: %d-byte values, link paced to %.0f Mbit/s, FEC (8, 3),"
        + " %d ms measured per point%n", valueBytes, bandwidthMbit, measureMillis);
    System.out.printf("%-8s %7s %8s %8s %12s%n", "mode", "clients", "loss_pct", "delay_ms",
        "ops_per_sec");
    List<Row> rows = new ArrayList<>();
    try (SitePair pair = SitePair.start(WanLink.Settings.delay((long) (points.get(0)[1] * 1e6)),
        seed, List.of("--mirror-fec", "8,3", "--mirror-bandwidth-mbit",
            Double.toString(bandwidthMbit), "--mirror-queue-bytes", queueBytes))) {
      for (String mode : modes) {
        measure(pair, mode, clientCounts.get(0), serverWarmupMillis / modes.size(), 1);
        pair.awaitDrained(120_000);
      }
      for (double[] point : points) {
        check(pair.relay.controlNow("loss " + point[0] / 100));
        check(pair.relay.controlNow("delay-ms " + point[1]));
        for (String mode : modes) {
          for (int clients : clientCounts) {
            Row r = new Row(mode, clients, point[0], point[1],
                measure(pair, mode, clients, warmupMillis, measureMillis));
            pair.awaitDrained(120_000); // the next point starts with an empty link
            System.out.printf("%-8s %7d %8s %8s %12.1f%n", r.mode(), r.clients(),
                MirrorDisasterBench.pct(r.lossPct()), MirrorDisasterBench.pct(r.delayMillis()),
                r.opsPerSec());
            rows.add(r);
          }
        }
      }
    }
    List<String> lines = new ArrayList<>();
    lines.add("mode,clients,loss_pct,delay_ms,ops_per_sec");
    rows.forEach(r -> lines.add(r.csv()));
    Files.write(out.resolve("e6.csv"), lines, StandardCharsets.UTF_8);
    charts(rows);
    System.out.println("wrote " + out.resolve("e6.csv") + ", e6-loss.png, e6-delay.png");
    return 0;
  }

  private static void check(String reply) {
    if (!reply.startsWith("OK")) {
      throw new IllegalStateException("relay: " + reply);
    }
  }

  /** Closed-loop clients in {@code mode}: writes acknowledged per second over the measurement. */
  private double measure(SitePair pair, String mode, int clients, long warmupMillis,
      long measureMillis) throws InterruptedException {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean counting = new AtomicBoolean();
    AtomicLong counted = new AtomicLong();
    String value = "v".repeat(valueBytes);
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < clients; t++) {
      int client = t;
      Thread th = new Thread(() -> {
        try (Jedis j = SitePair.jedis(pair.primaryPort, 60_000)) {
          j.sendCommand(() -> "RESPAWN".getBytes(StandardCharsets.UTF_8), "MIRROR", mode);
          for (long i = 0; !stop.get(); i++) {
            j.set("t" + client + ":" + (i % keys), value);
            if (counting.get()) {
              counted.incrementAndGet();
            }
          }
        } catch (RuntimeException e) {
          System.err.println("client " + client + ": " + e);
        }
      }, "e6-client-" + t);
      th.setDaemon(true);
      threads.add(th);
      th.start();
    }
    Thread.sleep(warmupMillis);
    counting.set(true);
    long start = System.nanoTime();
    Thread.sleep(measureMillis);
    counting.set(false);
    long elapsed = System.nanoTime() - start;
    long ops = counted.get();
    stop.set(true);
    for (Thread th : threads) {
      th.join(60_000);
    }
    return ops * 1e9 / elapsed;
  }

  private void charts(List<Row> rows) throws IOException {
    Map<String, List<Double>> byLoss = new LinkedHashMap<>();
    Map<String, List<Double>> byDelay = new LinkedHashMap<>();
    for (String mode : modes) {
      for (int clients : clientCounts) {
        String name = mode + ", " + clients + (clients == 1 ? " client" : " clients");
        List<Double> ys = new ArrayList<>();
        for (double loss : lossPcts) {
          ys.add(find(rows, mode, clients, loss, lossDelayMillis));
        }
        byLoss.put(name, ys);
        List<Double> ds = new ArrayList<>();
        for (double delay : delaysMillis) {
          ds.add(find(rows, mode, clients, 0, delay));
        }
        byDelay.put(name, ds);
      }
    }
    Bars.save(out.resolve("e6-loss.png"), "E6: write throughput vs link loss ("
        + MirrorDisasterBench.pct(lossDelayMillis) + " ms one way, paced to "
        + MirrorDisasterBench.pct(bandwidthMbit) + " Mbit/s)", "link loss (%)", "writes/s (log)",
        lossPcts.stream().map(MirrorDisasterBench::pct).toList(), byLoss, true);
    Bars.save(out.resolve("e6-delay.png"), "E6: write throughput vs one-way delay (0 % loss)",
        "one-way delay (ms)", "writes/s (log)",
        delaysMillis.stream().map(MirrorDisasterBench::pct).toList(), byDelay, true);
  }

  private static double find(List<Row> rows, String mode, int clients, double loss, double delay) {
    return rows.stream().filter(r -> r.mode().equals(mode) && r.clients() == clients
        && r.lossPct() == loss && r.delayMillis() == delay).mapToDouble(Row::opsPerSec)
        .findFirst().orElse(0);
  }
}
