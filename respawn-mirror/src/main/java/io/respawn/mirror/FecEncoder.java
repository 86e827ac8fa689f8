package io.respawn.mirror;

import java.util.List;

/**
 * The sending half of layered-interleaving FEC. Data packets are added in seq order (0, 1, 2,
 * …); packet {@code s} is XORed into bin {@code s mod I_j} of every layer {@code j}, and a bin
 * that has collected its XOR's last packet emits a {@link RepairSymbol} and starts over.
 *
 * <p><b>Staggered starts.</b> Left alone, the I bins of a layer fill in lockstep and all close
 * within the same I packets: a burst of I repair packets every r × I data packets. Instead bin
 * {@code b} closes its XORs at a phase of its own: after its k-th packet (k = 0, 1, … counting
 * the bin's packets) when {@code (k - b) mod r == 0} — its first XOR holds {@code b mod r + 1}
 * packets, every later one r. Bin b's closes then fall at seqs {@code b + ((b mod r) + m r) I},
 * which spreads a layer's repairs through the stream (with I = r: one every r + 1 packets)
 * instead of bunching them.
 *
 * <p><b>Flush.</b> A packet is only fully protected once every layer's XOR holding it has been
 * emitted; at a low rate a bin may wait long for r packets, so the owner {@link #flush}es when
 * the link goes idle: every open bin emits the XOR of what it holds (fewer than r packets, as
 * little as one: then the repair is a copy). The phases above are absolute, so a flush does not
 * re-synchronise the bins.
 *
 * <p>Owned by one thread (the shipper's owner). Memory: one open XOR of up to {@code
 * frameBytesMax} bytes per bin, {@code sum(I_j)} bins.
 */
public final class FecEncoder {
  private final FecParams params;
  private final Bin[][] bins;
  private long nextSeq;
  private int openBins;

  /** One bin's XOR in progress. */
  private static final class Bin {
    final byte[] xor;
    long firstSeq = -1;
    int count;
    int longest;
    int lengthXor;
    int crcXor;

    Bin(int frameBytesMax) {
      this.xor = new byte[frameBytesMax];
    }
  }

  public FecEncoder(FecParams params, int frameBytesMax) {
    this.params = params;
    this.bins = new Bin[params.layers()][];
    for (int j = 0; j < params.layers(); j++) {
      bins[j] = new Bin[params.interleave(j)];
      for (int b = 0; b < bins[j].length; b++) {
        bins[j][b] = new Bin(frameBytesMax);
      }
    }
  }

  public FecParams params() {
    return params;
  }

  /** The seq the next {@link #add} must carry. */
  public long nextSeq() {
    return nextSeq;
  }

  /** Some bin holds packets whose XOR has not been emitted yet. */
  public boolean hasOpenBins() {
    return openBins > 0;
  }

  /**
   * Adds data packet {@code seq} (its frame bytes and their CRC-32C) to every layer; appends to
   * {@code out} the repairs this packet completes, in layer order.
   */
  public void add(long seq, byte[] frame, int frameLength, int frameCrc, List<RepairSymbol> out) {
    if (seq != nextSeq) {
      throw new IllegalArgumentException("data packets are encoded in seq order: expected "
          + nextSeq + ", got " + seq);
    }
    nextSeq++;
    int r = params.r();
    for (int j = 0; j < bins.length; j++) {
      int interleave = bins[j].length;
      int b = (int) (seq % interleave);
      Bin bin = bins[j][b];
      if (frameLength > bin.xor.length) {
        throw new IllegalArgumentException(
            "frame of " + frameLength + " bytes exceeds frameBytesMax " + bin.xor.length);
      }
      if (bin.count == 0) {
        bin.firstSeq = seq;
        openBins++;
      }
      for (int i = 0; i < frameLength; i++) {
        bin.xor[i] ^= frame[i];
      }
      bin.count++;
      bin.longest = Math.max(bin.longest, frameLength);
      bin.lengthXor ^= frameLength;
      bin.crcXor ^= frameCrc;
      long k = seq / interleave; // the bin's packet index
      if (Math.floorMod(k - b, r) == 0 || bin.count == r) {
        out.add(emit(j, interleave, bin));
      }
    }
  }

  /** Emits every open bin's XOR (fewer than r packets each), in layer then bin order. */
  public void flush(List<RepairSymbol> out) {
    if (openBins == 0) {
      return;
    }
    for (int j = 0; j < bins.length; j++) {
      for (Bin bin : bins[j]) {
        if (bin.count > 0) {
          out.add(emit(j, bins[j].length, bin));
        }
      }
    }
    assert openBins == 0;
  }

  private RepairSymbol emit(int layer, int interleave, Bin bin) {
    assert bin.count >= 1 && bin.count <= params.r();
    byte[] xor = new byte[bin.longest];
    System.arraycopy(bin.xor, 0, xor, 0, bin.longest);
    RepairSymbol repair = new RepairSymbol(
        layer, interleave, bin.firstSeq, bin.count, bin.lengthXor, bin.crcXor, xor);
    java.util.Arrays.fill(bin.xor, 0, bin.longest, (byte) 0);
    bin.firstSeq = -1;
    bin.count = 0;
    bin.longest = 0;
    bin.lengthXor = 0;
    bin.crcXor = 0;
    openBins--;
    return repair;
  }
}
