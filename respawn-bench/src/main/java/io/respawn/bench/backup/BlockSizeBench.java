package io.respawn.bench.backup;

import io.respawn.bench.CsvChart;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Sequential write throughput against block size on this disk (the seed's §7.6 experiment): the
 * curve the backup's {@code writebackBlockBytes} is chosen from. Two series per block size, each
 * into a fresh file as a log segment is:
 *
 * <ul>
 *   <li>{@code WRITE_FSYNC}: one write of the block, then fdatasync — what a writeback pass does
 *       when each pass writes one block;
 *   <li>{@code DIRECT}: O_DIRECT writes of the block, no page cache and no fsync — the device's
 *       own sequential write speed at that request size.
 * </ul>
 *
 * Prints MB/s per cell (the median of the rounds) and the knee of the curve: the smallest block
 * whose DIRECT throughput reaches 80 % of the best — the request size at which the device
 * itself is saturated (buffered writes reach the device as requests the kernel assembles, so the
 * device curve is what a larger writeback block can buy at most). WRITE_FSYNC is printed beside
 * it (and used if O_DIRECT is not supported): on the shared development machine it moves by
 * ±30 % between rounds at large blocks, too much to pick a knee from. 80 %, because blocks
 * within the noise of the best are on the plateau, and the smallest of them costs the least
 * memory.
 */
@Command(
    name = "blocks",
    mixinStandardHelpOptions = true,
    description = "Write throughput against block size (write+fsync per block, and O_DIRECT): "
        + "the curve the backup's writeback block size comes from.")
public final class BlockSizeBench implements Callable<Integer> {

  /** Share of the best throughput that counts as the plateau (see the class comment). */
  static final double KNEE_SHARE = 0.8;

  /** How a cell writes. */
  enum Series {
    /** One write of the block, then fdatasync. */
    WRITE_FSYNC,
    /** O_DIRECT writes, no fsync. */
    DIRECT
  }

  @Option(names = "--dir", description = "Directory to write in. Default: ${DEFAULT-VALUE}")
  Path dir = Path.of("data", "bench-blocks");

  @Option(names = "--sizes", split = ",", description = "Block sizes in bytes. Default: 4 KiB to 16 MiB, doubling")
  List<Integer> sizes = defaultSizes();

  @Option(names = "--seconds", description = "Seconds per cell at most. Default: ${DEFAULT-VALUE}")
  double seconds = 1.5;

  @Option(names = "--mib-max", description = "MiB written per cell at most. Default: ${DEFAULT-VALUE}")
  int mibMax = 512;

  @Option(names = "--rounds", description = "Rounds over all cells (the table shows each cell's median). Default: ${DEFAULT-VALUE}")
  int rounds = 3;

  @Option(names = "--csv", description = "Also write the cells as CSV.")
  Path csvOut;

  @Option(names = "--png", description = "Also render MB/s per block size as a PNG chart.")
  Path pngOut;

  static List<Integer> defaultSizes() {
    List<Integer> s = new ArrayList<>();
    for (int b = 4096; b <= (16 << 20); b *= 2) {
      s.add(b);
    }
    return s;
  }

  /** One measured cell. */
  record Cell(Series series, int blockBytes, double mbPerSecond) {}

  @Override
  public Integer call() throws Exception {
    for (int s : sizes) {
      if (s < 512 || s > (64 << 20) || s % 512 != 0) {
        throw new CommandLine.ParameterException(new CommandLine(this),
            "--sizes " + s + " must be a multiple of 512 between 512 and " + (64 << 20));
      }
    }
    if (rounds < 1 || rounds > 20 || seconds <= 0 || seconds > 60 || mibMax < 1) {
      throw new CommandLine.ParameterException(new CommandLine(this),
          "--rounds 1..20, --seconds (0, 60], --mib-max >= 1");
    }
    Files.createDirectories(dir);
    PrintStream out = System.out;
    out.printf("block-size curve: dir=%s, %.1f s or %d MiB per cell, %d rounds (median)%n",
        dir.toAbsolutePath(), seconds, mibMax, rounds);
    List<List<Cell>> byRound = new ArrayList<>();
    for (int r = 0; r < rounds; r++) {
      List<Cell> round = new ArrayList<>();
      for (int size : sizes) {
        for (Series series : Series.values()) {
          round.add(new Cell(series, size, measure(series, size)));
        }
      }
      byRound.add(round);
      out.printf("  round %d done%n", r + 1);
    }
    List<Cell> cells = new ArrayList<>();
    for (int i = 0; i < byRound.get(0).size(); i++) {
      double[] v = new double[rounds];
      for (int r = 0; r < rounds; r++) {
        v[r] = byRound.get(r).get(i).mbPerSecond();
      }
      java.util.Arrays.sort(v);
      Cell first = byRound.get(0).get(i);
      cells.add(new Cell(first.series(), first.blockBytes(), v[rounds / 2]));
    }
    out.println();
    out.printf("%12s %18s %14s%n", "block", "write+fsync MB/s", "O_DIRECT MB/s");
    boolean direct = cells.stream()
        .anyMatch(c -> c.series() == Series.DIRECT && !Double.isNaN(c.mbPerSecond()));
    Series by = direct ? Series.DIRECT : Series.WRITE_FSYNC;
    double best = 0;
    for (Cell c : cells) {
      if (c.series() == by) {
        best = Math.max(best, c.mbPerSecond());
      }
    }
    int knee = -1;
    for (int size : sizes) {
      double fsync = find(cells, Series.WRITE_FSYNC, size);
      double d = find(cells, Series.DIRECT, size);
      out.printf("%12s %18.1f %14s%n", human(size), fsync,
          Double.isNaN(d) ? "n/a" : String.format(Locale.ROOT, "%.1f", d));
      if (knee < 0 && find(cells, by, size) >= KNEE_SHARE * best) {
        knee = size;
      }
    }
    out.printf("%nknee: smallest block reaching %.0f%% of the best %s throughput (%.1f MB/s): %s%n",
        KNEE_SHARE * 100, direct ? "O_DIRECT" : "write+fsync", best, human(knee));
    if (csvOut != null || pngOut != null) {
      Path csv = csvOut != null ? csvOut : Files.createTempFile("blocks", ".csv");
      StringBuilder b = new StringBuilder("series,block,block_bytes,mb_per_sec\n");
      for (Cell c : cells) {
        if (!Double.isNaN(c.mbPerSecond())) {
          b.append(String.format(Locale.ROOT, "%s,%s,%d,%.1f%n", c.series(), human(c.blockBytes()),
              c.blockBytes(), c.mbPerSecond()));
        }
      }
      if (csv.toAbsolutePath().getParent() != null) {
        Files.createDirectories(csv.toAbsolutePath().getParent());
      }
      Files.writeString(csv, b.toString(), StandardCharsets.UTF_8);
      if (pngOut != null) {
        CsvChart.render(csv, pngOut, "sequential write MB/s by block size", "series",
            List.of("block"), "mb_per_sec");
        out.println("chart: " + pngOut);
      }
      if (csvOut == null) {
        Files.delete(csv);
      }
    }
    try {
      Files.deleteIfExists(dir);
    } catch (java.nio.file.DirectoryNotEmptyException keep) {
      // not ours to remove
    }
    return 0;
  }

  private static double find(List<Cell> cells, Series series, int size) {
    return cells.stream().filter(c -> c.series() == series && c.blockBytes() == size)
        .mapToDouble(Cell::mbPerSecond).findFirst().orElse(Double.NaN);
  }

  static String human(int bytes) {
    return bytes >= (1 << 20) && bytes % (1 << 20) == 0 ? (bytes >> 20) + " MiB"
        : bytes >= 1024 && bytes % 1024 == 0 ? (bytes >> 10) + " KiB" : bytes + " B";
  }

  /** MB/s (10^6 bytes) of one cell; NaN if the series cannot run here (no O_DIRECT). */
  private double measure(Series series, int blockBytes) throws IOException {
    Path file = dir.resolve("block-" + series + "-" + blockBytes + ".tmp");
    Files.deleteIfExists(file);
    ByteBuffer block = ByteBuffer.allocateDirect(blockBytes + 4096).alignedSlice(4096);
    block.limit(blockBytes);
    byte[] random = new byte[blockBytes];
    new SplittableRandom(blockBytes).nextBytes(random);
    block.put(random).flip();
    long bytesMax = (long) mibMax << 20;
    long deadline = System.nanoTime() + (long) (seconds * 1e9);
    FileChannel channel;
    try {
      channel = series == Series.DIRECT
          ? FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
              com.sun.nio.file.ExtendedOpenOption.DIRECT)
          : FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    } catch (UnsupportedOperationException | IOException e) {
      Files.deleteIfExists(file);
      if (series == Series.DIRECT) {
        return Double.NaN;
      }
      throw e;
    }
    long written = 0;
    long started = System.nanoTime();
    try (channel) {
      while (written < bytesMax && System.nanoTime() < deadline) {
        block.rewind();
        while (block.hasRemaining()) {
          written += channel.write(block, written);
        }
        if (series == Series.WRITE_FSYNC) {
          channel.force(false);
        }
      }
    } finally {
      Files.deleteIfExists(file);
    }
    double elapsed = (System.nanoTime() - started) / 1e9;
    return written / elapsed / 1e6;
  }
}
