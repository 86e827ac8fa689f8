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
import java.util.concurrent.atomic.AtomicLongArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import redis.clients.jedis.Jedis;
import redis.clients.jedis.Pipeline;
import redis.clients.jedis.Response;

/**
 * Experiment E5, a rolling disaster (after SMFS's Figures 6 and 7): a primary site mirrors over
 * the emulated WAN (one-way delay, the link paced to a bandwidth, FEC (8, c)) while clients
 * write unique keys and count what was acknowledged; the link then loses packets at the given
 * rate for a burst, and at the end of the burst the primary is killed (SIGKILL) and the link cut
 * (at its entrance, once the relay has taken what the dead site had handed over; what is inside
 * the link still arrives, nothing can be resent); the mirror is promoted, and every
 * acknowledged write is looked up there. Lost = acknowledged but missing at the mirror.
 *
 * <p>Points, each run {@code --runs} times on fresh processes (run k with seed + k; acked and
 * lost are summed): every mode at every loss rate with c = 3, then every mode with c = 0, 1, 2
 * at {@code --c-sweep-loss-pct}. Each run prints the relay's counts at the cut (datagrams lost,
 * and dropped by the kernel at the relay's sockets, which must be 0) and the mirror's state at
 * promotion. Writes {@code e5.csv} ({@code mode,loss_pct,c,acked,lost}) and charts {@code
 * e5.png} (by loss rate, c = 3) and {@code e5-c.png} (by c) into {@code --out}.
 */
@Command(name = "mirror-disaster", mixinStandardHelpOptions = true,
    description = "E5: rolling disaster (loss burst, then cut + kill -9 of the primary site):"
        + " acknowledged writes missing at the promoted mirror, per mode, loss rate and FEC c.")
public final class MirrorDisasterBench implements Callable<Integer> {
  @Option(names = "--out", defaultValue = "docs/bench", description = "Output directory (default ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--modes", split = ",", defaultValue = "local,network,remote", description = "Modes (default ${DEFAULT-VALUE}).")
  List<String> modes;

  @Option(names = "--loss-pct", split = ",", defaultValue = "0,0.1,0.5,1", description = "Loss rates of the burst, in % (default ${DEFAULT-VALUE}).")
  List<Double> lossPcts;

  @Option(names = "--c", split = ",", defaultValue = "0,1,2", description = "FEC layers swept at --c-sweep-loss-pct besides 3 (default ${DEFAULT-VALUE}).")
  List<Integer> cSweep;

  @Option(names = "--c-sweep-loss-pct", defaultValue = "1", description = "Loss rate of the c sweep, in % (default ${DEFAULT-VALUE}).")
  double cSweepLossPct;

  @Option(names = "--clients", defaultValue = "16", description = "Writing clients (default ${DEFAULT-VALUE}).")
  int clients;

  @Option(names = "--value-bytes", defaultValue = "4096", description = "Value size; 4 KiB as the paper's messages, four datagrams a write (default ${DEFAULT-VALUE}).")
  int valueBytes;

  @Option(names = "--delay-ms", defaultValue = "50", description = "One-way delay (default ${DEFAULT-VALUE}).")
  double delayMillis;

  @Option(names = "--bandwidth-mbit", defaultValue = "5", description = "The primary paces the link to this; below the clients' rate, so the WAN is the bottleneck as in the paper (default ${DEFAULT-VALUE}).")
  double bandwidthMbit;

  @Option(names = "--run-ms", defaultValue = "5000", description = "Writing before the loss burst, after warm-up (default ${DEFAULT-VALUE}).")
  long runMillis;

  @Option(names = "--burst-ms", defaultValue = "500", description = "Length of the loss burst (default ${DEFAULT-VALUE}).")
  long burstMillis;

  @Option(names = "--queue-bytes", defaultValue = "1m", description = "The primary's send queue bound (--mirror-queue-bytes): what LOCAL may run ahead of the link, like a socket buffer (default ${DEFAULT-VALUE}).")
  String queueBytes;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the link's loss decisions; run k of a point uses seed + k (default ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--runs", defaultValue = "1", description = "Runs per point, each on fresh processes; acked and lost are their sums (default ${DEFAULT-VALUE}).")
  int runs;

  /**
   * One point's outcome (summed over its runs); {@code linkLost}: datagrams the link lost from
   * the primary towards the mirror (all during the bursts), printed, not in the CSV.
   */
  record Row(String mode, double lossPct, int c, long acked, long lost, long linkLost) {
    String csv() {
      return String.format(Locale.ROOT, "%s,%s,%d,%d,%d", mode, pct(lossPct), c, acked, lost);
    }
  }

  static String pct(double p) {
    return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
  }

  @Override
  public Integer call() throws Exception {
    if (runs < 1) {
      throw new IllegalArgumentException("--runs must be >= 1, got " + runs);
    }
    Files.createDirectories(out);
    List<Row> rows = new ArrayList<>();
    System.out.printf("E5 rolling disaster: %d clients, %d-byte values, %.0f ms one way, link paced"
        + " to %.0f Mbit/s, %d ms writing, then a %d ms loss burst, then cut + kill -9%n",
        clients, valueBytes, delayMillis, bandwidthMbit, runMillis, burstMillis);
    System.out.printf("%-8s %8s %3s %10s %8s %9s   (%d run%s per point)%n", "mode", "loss_pct",
        "c", "acked", "lost", "link_lost", runs, runs == 1 ? "" : "s");
    for (String mode : modes) {
      for (double loss : lossPcts) {
        rows.add(print(point(mode, loss, 3)));
      }
    }
    for (int c : cSweep) {
      for (String mode : modes) {
        rows.add(print(point(mode, cSweepLossPct, c)));
      }
    }
    List<String> lines = new ArrayList<>();
    lines.add("mode,loss_pct,c,acked,lost");
    rows.forEach(r -> lines.add(r.csv()));
    Files.write(out.resolve("e5.csv"), lines, StandardCharsets.UTF_8);
    charts(rows);
    System.out.println("wrote " + out.resolve("e5.csv") + ", e5.png, e5-c.png");
    return 0;
  }

  private static Row print(Row r) {
    System.out.printf("%-8s %8s %3d %10d %8d %9d%n", r.mode(), pct(r.lossPct()), r.c(),
        r.acked(), r.lost(), r.linkLost());
    return r;
  }

  /** {@code --runs} runs of one point, summed. */
  Row point(String mode, double lossPct, int c) throws Exception {
    long acked = 0;
    long lost = 0;
    long linkLost = 0;
    for (int k = 0; k < runs; k++) {
      Row r = run(mode, lossPct, c, seed + k);
      acked += r.acked();
      lost += r.lost();
      linkLost += r.linkLost();
    }
    return new Row(mode, lossPct, c, acked, lost, linkLost);
  }

  Row run(String mode, double lossPct, int c, long runSeed) throws Exception {
    try (SitePair pair = SitePair.start(WanLink.Settings.delay((long) (delayMillis * 1e6)), runSeed,
        List.of("--mirror-ack", mode, "--mirror-fec", "8," + c, "--mirror-bandwidth-mbit",
            Double.toString(bandwidthMbit), "--mirror-queue-bytes", queueBytes))) {
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLongArray acked = new AtomicLongArray(clients);
      List<Thread> threads = new ArrayList<>();
      String value = "v".repeat(valueBytes);
      for (int t = 0; t < clients; t++) {
        int client = t;
        Thread th = new Thread(() -> {
          try (Jedis j = SitePair.jedis(pair.primaryPort, 30_000)) {
            for (long i = 0; !stop.get(); i++) {
              j.set("c" + client + ":" + i, value);
              acked.set(client, i + 1);
            }
          } catch (RuntimeException e) {
            // the primary site died
          }
        }, "e5-client-" + t);
        th.setDaemon(true);
        threads.add(th);
        th.start();
      }
      long warm = System.nanoTime() + 60_000_000_000L;
      while (total(acked) < clients && System.nanoTime() < warm) {
        Thread.sleep(20);
      }
      Thread.sleep(runMillis);
      pair.relay.controlNow("loss " + lossPct / 100);
      Thread.sleep(burstMillis);
      String link = pair.killPrimaryAndCut();
      System.out.println("  (" + mode + ", " + pct(lossPct) + " %, c=" + c + ") link at the cut: "
          + link.substring(3));
      stop.set(true);
      for (Thread th : threads) {
        th.join(30_000);
      }
      // What was inside the link at the cut still arrives; promote once the mirror is quiet.
      pair.awaitMirrorQuiet((long) (2 * delayMillis) + 500);
      Map<String, String> ms = pair.mirrorStatus();
      System.out.println("  mirror at promotion: applied_position=" + ms.get("applied_position")
          + " highest_position_seen=" + ms.get("highest_position_seen") + " missing_packets="
          + ms.get("missing_packets") + " recovered_by_fec=" + ms.get("recovered_by_fec")
          + " packets_nacked=" + ms.get("packets_nacked") + " kernel_drops="
          + ms.get("kernel_drops"));
      pair.promote();
      long ackedTotal = total(acked);
      long lost = 0;
      try (Jedis m = SitePair.jedis(pair.mirrorPort, 60_000)) {
        for (int t = 0; t < clients; t++) {
          for (long from = 0; from < acked.get(t); from += 1000) {
            Pipeline p = m.pipelined();
            List<Response<Boolean>> exists = new ArrayList<>();
            for (long i = from; i < Math.min(from + 1000, acked.get(t)); i++) {
              exists.add(p.exists("c" + t + ":" + i));
            }
            p.sync();
            for (Response<Boolean> e : exists) {
              if (!e.get()) {
                lost++;
              }
            }
          }
        }
      }
      System.out.printf("  (%s, %s %%, c=%d, seed %d) acked %d, lost %d%n", mode, pct(lossPct), c,
          runSeed, ackedTotal, lost);
      return new Row(mode, lossPct, c, ackedTotal, lost, SitePair.forwardLost(link));
    }
  }

  private static long total(AtomicLongArray a) {
    long sum = 0;
    for (int i = 0; i < a.length(); i++) {
      sum += a.get(i);
    }
    return sum;
  }

  private void charts(List<Row> rows) throws IOException {
    List<String> losses = lossPcts.stream().map(MirrorDisasterBench::pct).toList();
    Map<String, List<Double>> byLoss = new LinkedHashMap<>();
    for (String mode : modes) {
      List<Double> ys = new ArrayList<>();
      for (double loss : lossPcts) {
        ys.add(rows.stream().filter(r -> r.mode().equals(mode) && r.c() == 3
            && r.lossPct() == loss).mapToDouble(Row::lost).findFirst().orElse(0));
      }
      byLoss.put(mode, ys);
    }
    Bars.save(out.resolve("e5.png"), "E5: acknowledged writes lost in a rolling disaster, FEC (8, 3)",
        "link loss during the burst (%)", "acknowledged writes lost", losses, byLoss, false);
    List<Integer> cs = new ArrayList<>(cSweep);
    if (!cs.contains(3)) {
      cs.add(3);
    }
    Map<String, List<Double>> byC = new LinkedHashMap<>();
    for (String mode : modes) {
      List<Double> ys = new ArrayList<>();
      for (int c : cs) {
        ys.add(rows.stream().filter(r -> r.mode().equals(mode) && r.c() == c
            && r.lossPct() == cSweepLossPct).mapToDouble(Row::lost).findFirst().orElse(0));
      }
      byC.put(mode, ys);
    }
    Bars.save(out.resolve("e5-c.png"), "E5: acknowledged writes lost vs FEC layers c at "
        + pct(cSweepLossPct) + " % loss", "c (repair layers, r = 8)", "acknowledged writes lost",
        cs.stream().map(String::valueOf).toList(), byC, false);
  }
}
