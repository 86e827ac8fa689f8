package io.respawn.mirror;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Layered-interleaving FEC against naive reference decoders, over seeded random streams and loss
 * patterns (the seed is in every failure message; rerun one with {@code -Dtest=FecPropertyTest}
 * and the seed as the only source value).
 *
 * <p>The main reference solves the received repair equations by brute force over GF(2): a lost
 * packet can be recovered exactly when its unit vector lies in the span of the equations, so the decoder must recover exactly those — no fewer (it missed a repairable
 * pattern) and no more (it invented data) — with the original bytes.
 */
class FecPropertyTest {
  /** Seeds per CI run; each runs {@link #PATTERNS_PER_SEED} loss patterns: 10,240 in all. */
  static final int SEEDS = 64;
  static final int PATTERNS_PER_SEED = 160;

  static List<Long> seeds() {
    List<Long> seeds = new ArrayList<>();
    for (long s = 1; s <= SEEDS; s++) {
      seeds.add(s);
    }
    return seeds;
  }

  /** One encoded stream: frames, and the repairs in the order the encoder emitted them. */
  record Stream(FecParams params, byte[][] frames, List<RepairSymbol> repairs) {}

  static FecParams randomParams(Random rnd) {
    int r = 1 + rnd.nextInt(8);
    int c = rnd.nextInt(4);
    if (rnd.nextInt(4) == 0 && c > 0) {
      int[] interleaves = new int[c];
      for (int j = 0; j < c; j++) {
        interleaves[j] = 1 + rnd.nextInt(20);
      }
      return new FecParams(r, interleaves);
    }
    if (Math.pow(r, Math.max(0, c - 1)) > 64) {
      c = 2;
    }
    return FecParams.of(r, c);
  }

  static Stream encode(Random rnd, FecParams params, int packets, int frameBytesMax, double flushChance) {
    FecEncoder encoder = new FecEncoder(params, frameBytesMax);
    byte[][] frames = new byte[packets][];
    List<RepairSymbol> repairs = new ArrayList<>();
    for (int s = 0; s < packets; s++) {
      byte[] frame = new byte[1 + rnd.nextInt(frameBytesMax)];
      rnd.nextBytes(frame);
      frames[s] = frame;
      encoder.add(s, frame, frame.length, FecDecoder.crc32c(frame), repairs);
      if (rnd.nextDouble() < flushChance) {
        encoder.flush(repairs);
      }
    }
    encoder.flush(repairs);
    return new Stream(params, frames, repairs);
  }

  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void decoderRecoversExactlyWhatTheEquationsDetermine(long seed) {
    Random rnd = new Random(seed);
    int differences = 0;
    List<String> firstDifferences = new ArrayList<>();
    for (int pattern = 0; pattern < PATTERNS_PER_SEED; pattern++) {
      FecParams params = randomParams(rnd);
      double[] lossRates = {0.005, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5};
      double loss = lossRates[rnd.nextInt(lossRates.length)];
      // Heavy loss joins most equations into one system: keep those streams short (the joint
      // patterns that plain peeling misses are common there anyway).
      int packets = 1 + rnd.nextInt(rnd.nextBoolean() || loss > 0.3 ? 50 : 160);
      Stream stream = encode(rnd, params, packets, 48, rnd.nextInt(3) == 0 ? 0.05 : 0);
      boolean bursty = rnd.nextInt(3) == 0;
      boolean[] dataLost = lose(rnd, packets, loss, bursty);
      boolean[] repairLost = lose(rnd, stream.repairs().size(), loss, bursty);

      // Deliver what survived in a random order.
      List<Object> arrivals = new ArrayList<>();
      for (int s = 0; s < packets; s++) {
        if (!dataLost[s]) {
          arrivals.add(s);
        }
      }
      List<RepairSymbol> received = new ArrayList<>();
      for (int i = 0; i < stream.repairs().size(); i++) {
        if (!repairLost[i]) {
          arrivals.add(stream.repairs().get(i));
          received.add(stream.repairs().get(i));
        }
      }
      Collections.shuffle(arrivals, rnd);
      FecDecoder decoder = new FecDecoder(packets + 1, 1 << 20, 1 << 20, 48);
      Map<Long, byte[]> recovered = new HashMap<>();
      List<FecDecoder.Recovered> out = new ArrayList<>();
      for (Object a : arrivals) {
        out.clear();
        if (a instanceof Integer s) {
          decoder.addData(s, stream.frames()[s], FecDecoder.crc32c(stream.frames()[s]), out);
        } else {
          decoder.addRepair((RepairSymbol) a, out);
        }
        for (FecDecoder.Recovered rec : out) {
          assertThat(recovered.put(rec.seq(), rec.frame()))
              .as("seed %d pattern %d: seq %d recovered twice", seed, pattern, rec.seq())
              .isNull();
          // A received packet may be recovered too, before its own datagram arrives.
          assertThat(rec.frame()).as("seed %d pattern %d: recovered seq %d", seed, pattern,
              rec.seq()).isEqualTo(stream.frames()[(int) rec.seq()]);
        }
      }

      TreeSet<Integer> expected = ReferenceDecoder.gaussian(packets, dataLost, received);
      TreeSet<Integer> actual = new TreeSet<>();
      for (int s = 0; s < packets; s++) {
        byte[] held = decoder.frame(s);
        if (dataLost[s] && held != null) {
          actual.add(s);
          assertThat(recovered).as("seed %d pattern %d: seq %d held but never reported", seed,
              pattern, s).containsKey((long) s);
        }
        if (held != null) {
          assertThat(held).as("seed %d pattern %d seq %d bytes", seed, pattern, s)
              .isEqualTo(stream.frames()[s]);
        }
      }
      if (!expected.equals(actual)) {
        differences++;
        if (firstDifferences.size() < 3) {
          firstDifferences.add("pattern " + pattern + " " + params + " packets " + packets
              + ": reference recovers " + expected + ", decoder " + actual);
        }
      }
    }
    assertThat(differences).as("seed %d: %s", seed, firstDifferences).isZero();
  }

  /** The default elimination bound never recovers less than plain peeling, nor more than the equations allow. */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void boundedEliminationSitsBetweenPeelingAndTheOptimum(long seed) {
    Random rnd = new Random(seed * 7919);
    for (int pattern = 0; pattern < 20; pattern++) {
      FecParams params = randomParams(rnd);
      int packets = 50 + rnd.nextInt(250);
      Stream stream = encode(rnd, params, packets, 32, 0.02);
      boolean[] dataLost = lose(rnd, packets, 0.3, false);
      boolean[] repairLost = lose(rnd, stream.repairs().size(), 0.3, false);
      List<RepairSymbol> received = new ArrayList<>();
      FecDecoder decoder = new FecDecoder(packets + 1, 4096, 64, 32);
      List<FecDecoder.Recovered> out = new ArrayList<>();
      for (int s = 0; s < packets; s++) {
        if (!dataLost[s]) {
          decoder.addData(s, stream.frames()[s], FecDecoder.crc32c(stream.frames()[s]), out);
        }
      }
      for (int i = 0; i < stream.repairs().size(); i++) {
        if (!repairLost[i]) {
          received.add(stream.repairs().get(i));
          decoder.addRepair(stream.repairs().get(i), out);
        }
      }
      TreeSet<Integer> actual = new TreeSet<>();
      for (int s = 0; s < packets; s++) {
        if (dataLost[s] && decoder.frame(s) != null) {
          actual.add(s);
          assertThat(decoder.frame(s)).isEqualTo(stream.frames()[s]);
        }
      }
      assertThat(actual).as("seed %d pattern %d", seed, pattern)
          .containsAll(ReferenceDecoder.peeling(packets, dataLost, received));
      assertThat(ReferenceDecoder.gaussian(packets, dataLost, received))
          .as("seed %d pattern %d", seed, pattern).containsAll(actual);
    }
  }

  /** A burst of up to I_j consecutive lost data packets is repaired by layer j alone. */
  @ParameterizedTest(name = "seed {0}")
  @MethodSource("seeds")
  void burstsUpToTheInterleaveAreRepairedByOneLayer(long seed) {
    Random rnd = new Random(seed * 31);
    for (int trial = 0; trial < 20; trial++) {
      FecParams params = rnd.nextBoolean() ? FecParams.of(8, 3) : randomParams(rnd);
      if (params.layers() == 0) {
        continue;
      }
      int layer = rnd.nextInt(params.layers());
      int interleave = params.interleave(layer);
      int packets = interleave * params.r() * 3 + rnd.nextInt(200);
      Stream stream = encode(rnd, params, packets, 24, rnd.nextBoolean() ? 0.01 : 0);
      int burst = 1 + rnd.nextInt(interleave);
      int start = rnd.nextInt(packets - burst + 1);
      FecDecoder decoder = new FecDecoder(packets + 1, 1 << 16, 1, 24); // peeling only
      List<FecDecoder.Recovered> out = new ArrayList<>();
      for (int s = 0; s < packets; s++) {
        if (s < start || s >= start + burst) {
          decoder.addData(s, stream.frames()[s], FecDecoder.crc32c(stream.frames()[s]), out);
        }
      }
      for (RepairSymbol r : stream.repairs()) {
        if (r.layer() == layer) {
          decoder.addRepair(r, out);
        }
      }
      for (int s = start; s < start + burst; s++) {
        assertThat(decoder.frame(s))
            .as("seed %d %s layer %d: burst [%d, %d) seq %d", seed, params, layer, start,
                start + burst, s)
            .isEqualTo(stream.frames()[s]);
      }
    }
  }

  /** Staggered starts: a layer never emits more than two repairs within r consecutive packets. */
  @Test
  void staggeredBinsSpreadRepairsThroughTheStream() {
    for (int r = 2; r <= 8; r++) {
      for (int c = 1; c <= 3; c++) {
        FecParams params = FecParams.of(r, c);
        FecEncoder encoder = new FecEncoder(params, 8);
        int packets = params.spanPackets() * 4;
        int[][] emittedAt = new int[c][packets];
        List<RepairSymbol> out = new ArrayList<>();
        for (int s = 0; s < packets; s++) {
          out.clear();
          encoder.add(s, new byte[] {(byte) s}, 1, 0, out);
          for (RepairSymbol repair : out) {
            emittedAt[repair.layer()][s]++;
            assertThat(repair.count()).isLessThanOrEqualTo(r);
          }
        }
        for (int j = 0; j < c; j++) {
          int worst = 0;
          for (int s = 0; s + r <= packets; s++) {
            int inWindow = 0;
            for (int k = s; k < s + r; k++) {
              inWindow += emittedAt[j][k];
            }
            worst = Math.max(worst, inWindow);
          }
          assertThat(worst).as("r %d layer %d (I = %d)", r, j, params.interleave(j))
              .isLessThanOrEqualTo(2);
        }
      }
    }
  }

  /** Every packet is covered by exactly one repair per layer, once the stream is flushed. */
  @Test
  void everyPacketIsCoveredOncePerLayer() {
    Random rnd = new Random(5);
    for (int trial = 0; trial < 200; trial++) {
      FecParams params = randomParams(rnd);
      int packets = 1 + rnd.nextInt(300);
      Stream stream = encode(rnd, params, packets, 16, 0.03);
      int[][] covered = new int[params.layers()][packets];
      for (RepairSymbol repair : stream.repairs()) {
        assertThat(repair.stride()).isEqualTo(params.interleave(repair.layer()));
        for (int k = 0; k < repair.count(); k++) {
          covered[repair.layer()][(int) repair.seq(k)]++;
        }
      }
      for (int[] layer : covered) {
        for (int count : layer) {
          assertThat(count).isEqualTo(1);
        }
      }
    }
  }

  static boolean[] lose(Random rnd, int n, double rate, boolean bursty) {
    boolean[] lost = new boolean[n];
    if (!bursty) {
      for (int i = 0; i < n; i++) {
        lost[i] = rnd.nextDouble() < rate;
      }
      return lost;
    }
    // Gilbert-Elliott: long good runs, bad runs of mean length 1 / 0.3 with 70 % loss.
    boolean bad = false;
    for (int i = 0; i < n; i++) {
      bad = bad ? rnd.nextDouble() > 0.3 : rnd.nextDouble() < rate / 2;
      lost[i] = bad ? rnd.nextDouble() < 0.7 : rnd.nextDouble() < rate / 10;
    }
    return lost;
  }

  /** Naive decoders: they look at which seqs each repair covers, never at bytes. */
  static final class ReferenceDecoder {
    private ReferenceDecoder() {}

    /** Lost seqs determined by the equations: span membership tests over GF(2). */
    static TreeSet<Integer> gaussian(int packets, boolean[] lost, List<RepairSymbol> repairs) {
      List<Integer> unknowns = new ArrayList<>();
      Map<Integer, Integer> column = new HashMap<>();
      for (int s = 0; s < packets; s++) {
        if (lost[s]) {
          column.put(s, unknowns.size());
          unknowns.add(s);
        }
      }
      List<BitSet> rows = new ArrayList<>();
      for (RepairSymbol r : repairs) {
        BitSet row = new BitSet();
        for (int k = 0; k < r.count(); k++) {
          Integer c = column.get((int) r.seq(k));
          if (c != null) {
            row.set(c);
          }
        }
        if (!row.isEmpty()) {
          rows.add(row);
        }
      }
      // A basis of the equations' span, one row per pivot (its lowest set bit).
      Map<Integer, BitSet> basis = new HashMap<>();
      for (BitSet row : rows) {
        insert(basis, (BitSet) row.clone());
      }
      TreeSet<Integer> determined = new TreeSet<>();
      for (int c = 0; c < unknowns.size(); c++) {
        BitSet unit = new BitSet();
        unit.set(c);
        if (inSpan(basis, unit)) {
          determined.add(unknowns.get(c));
        }
      }
      return determined;
    }

    private static void insert(Map<Integer, BitSet> basis, BitSet v) {
      while (!v.isEmpty()) {
        BitSet row = basis.get(v.nextSetBit(0));
        if (row == null) {
          basis.put(v.nextSetBit(0), v);
          return;
        }
        v.xor(row);
      }
    }

    private static boolean inSpan(Map<Integer, BitSet> basis, BitSet v) {
      while (!v.isEmpty()) {
        BitSet row = basis.get(v.nextSetBit(0));
        if (row == null) {
          return false;
        }
        v.xor(row);
      }
      return true;
    }

    /** Lost seqs plain peeling recovers: any equation missing exactly one, until nothing changes. */
    static TreeSet<Integer> peeling(int packets, boolean[] lost, List<RepairSymbol> repairs) {
      boolean[] known = new boolean[packets];
      for (int s = 0; s < packets; s++) {
        known[s] = !lost[s];
      }
      TreeSet<Integer> recovered = new TreeSet<>();
      boolean changed = true;
      while (changed) {
        changed = false;
        for (RepairSymbol r : repairs) {
          int missing = -1;
          int count = 0;
          for (int k = 0; k < r.count(); k++) {
            if (!known[(int) r.seq(k)]) {
              missing = (int) r.seq(k);
              count++;
            }
          }
          if (count == 1) {
            known[missing] = true;
            recovered.add(missing);
            changed = true;
          }
        }
      }
      return recovered;
    }
  }
}
